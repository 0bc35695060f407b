//! The commands over the audit log and the lock: `vend audit verify`, `vend audit log` (its text
//! listing), `vend metrics`, `vend approve FILE`, `vend force-unlock ID` and `vend operator key`
//! (the key that signs them, and its line for `operators:`). Each returns its exit code and
//! prints through the `Console`.

use super::Console;
use crate::adapter::s3_lock::LockInfo;
use crate::adapter::{audit, keys};
use crate::config::Config;
use crate::model::operators::{self, KeyStatus};
use crate::{app, governance, render};
use std::path::Path;

/// `vend audit verify`: the local file, or with --backend the shared log's objects: the same
/// checks.
pub fn verify(config: &Config, console: &mut dyn Console) -> anyhow::Result<u8> {
    let (verified, log) = app::verify_audit(config)?;
    match verified {
        Ok(r) => {
            match &r.key {
                None => console.say(&format!("Audit log {log}: empty, nothing to verify.")),
                Some(_) if r.pinned => console.say(&format!(
                    "Audit log {log} is intact: {} records, last seq {} ({}), signed by a pinned operator key \
                     of {}.",
                    r.records,
                    r.last_seq,
                    r.last_hash,
                    r.operators.join(", ")
                )),
                Some(key) => console.say(&format!(
                    "Audit log {log} is intact: {} records, last seq {} ({}), signed by {key} (the log's first \
                     key (no operators pinned)).",
                    r.records, r.last_seq, r.last_hash
                )),
            }
            Ok(0)
        }
        Err(f) => {
            console.note(&format!("error: audit log {log} does not verify: {f}"));
            Ok(1)
        }
    }
}

/// `vend audit log [--json]`: every record, as stored or one line each, naming its operator (the
/// pinned name it carries, else the one the current pins give its key, else its user).
pub fn log(config: &Config, json: bool, console: &mut dyn Console) -> anyhow::Result<u8> {
    let (records, log) = app::read_audit(config)?;
    // A record written before its key was pinned is named by the pins in force (listing only:
    // an unreadable vend.yaml just leaves the users).
    let pins = if json { None } else { app::pinned_operators(config).ok() };
    for r in &records {
        if json {
            console.say(&audit::json_row(r)?);
        } else {
            let pinned = pins.as_ref().and_then(|p| p.status(&r.actor.key)).map(|s| s.name().to_string());
            let who = r.actor.operator.clone().or(pinned).unwrap_or_else(|| r.actor.user.clone());
            console.say(&audit::text_row_as(r, &who));
        }
    }
    if records.is_empty() && !json {
        console.say(&format!("The audit log {log} is empty."));
    }
    Ok(0)
}

/// `vend operator key [--json]`: this operator's public key (created on first use, announced
/// as every signer announces it) and the line to paste under `operators:` — on standard output
/// the key, then the line; the hint on standard error.
pub fn operator_key(config: &Config, json: bool, console: &mut dyn Console) -> anyhow::Result<u8> {
    let env = &config.env;
    let config_dir = env.config_dir.clone().map_err(|e| anyhow::anyhow!(e))?;
    let (op, location) = keys::load_or_create(env.key_store, &config_dir, &env.user)?;
    if location.is_file() || location.created() {
        console.note(&format!("vend: audit records and approvals are signed with the {location}"));
    }
    let name = operators::yaml_name(&env.user);
    let line = operators::pin_line(&name, &op.public_key_hex);
    // Already pinned in this workspace? (No workspace, or one that does not load: not said.)
    let pinned = app::pinned_operators(config).ok().and_then(|p| {
        p.status(&op.public_key_hex).map(|s| match s {
            KeyStatus::Current { name } => format!("pinned as `{name}`"),
            KeyStatus::Retired { name, until } => format!("retired under `{name}` (until {until})"),
        })
    });
    if json {
        let value = serde_json::json!({
            "key": format!("ed25519:{}", op.public_key_hex),
            "name": name,
            "identity": env.user,
            "identity_source": env.user_source.to_string(),
            "line": line,
            "pinned": pinned,
        });
        console.say(&serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    console.say(&format!("ed25519:{}", op.public_key_hex));
    console.say(&line);
    let status = pinned.map(|p| format!(" This key is {p} in this workspace.")).unwrap_or_default();
    console.note(&format!(
        "vend: paste the second line under `operators:` in catalog/vend.yaml (name from {}; any YAML-safe \
         name will do; a second machine's key goes under the same name's `keys:`).{status}",
        env.user_source
    ));
    Ok(0)
}

/// `vend metrics [--json]`.
pub fn metrics(config: &Config, json: bool, console: &mut dyn Console) -> anyhow::Result<u8> {
    let m = governance::metrics(config)?;
    if json {
        console.say(&serde_json::to_string_pretty(&m)?);
    } else {
        console.out_lines(&render::metrics_text(&m));
    }
    Ok(0)
}

/// `vend approve FILE`.
pub fn approve(config: &Config, file: &Path, console: &mut dyn Console) -> anyhow::Result<u8> {
    let done = governance::approve(config, file)?;
    for note in done.notes {
        console.note(&note);
    }
    console.say(&done.message);
    Ok(0)
}

/// `vend force-unlock ID` (see `app::force_unlock`): confirmation by the typed word `yes` on a
/// terminal, or `--force`; without either it refuses.
pub fn force_unlock(config: &Config, id: &str, force: bool, console: &mut dyn Console) -> anyhow::Result<u8> {
    let terminal = config.env.stdin_tty;
    let outcome = {
        let mut confirm = |info: &LockInfo, ended: bool| -> anyhow::Result<bool> {
            if force {
                return Ok(true);
            }
            if !terminal {
                console.note(&format!(
                    "error: no terminal to confirm on; pass --force to remove lock {} held by {}",
                    info.id, info.holder
                ));
                return Ok(false);
            }
            console.say(&format!("The shared lock is held by {}.", info.describe()));
            if ended {
                console.say("Its lease has ended: its holder stopped renewing it.");
            } else {
                console.say(
                    "Its lease is still running: its holder may be alive, and removing the lock lets another apply start while it writes.",
                );
            }
            Ok(console.ask("Remove it? Only 'yes' will be accepted: ")? == "yes")
        };
        app::force_unlock(config, id, &mut confirm)?
    };
    match outcome {
        app::ForceUnlock::Removed { message, notes } => {
            for note in notes {
                console.note(&note);
            }
            console.say(&message);
            Ok(0)
        }
        app::ForceUnlock::Refused(why) => {
            console.note(&format!("error: {why}"));
            Ok(1)
        }
    }
}
