//! The commands around plans and state: `vend validate`, `vend plan` (saved and signed with
//! `--out`), `vend show FILE` and `vend snapshot save`. Each returns its exit code (DESIGN §5:
//! 0 ok / no changes, 1 error, 2 changes with `--detailed-exitcode`) and prints through the
//! `Console`.

use super::Console;
use crate::adapter::fs;
use crate::app::{self, now};
use crate::config::Config;
use crate::{governance, plan, render, workspace};
use std::path::{Path, PathBuf};

/// How `plan` and `show` print the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// The human plan (`render::plan_text`).
    #[default]
    Text,
    /// The plan JSON document (format v1).
    Json,
    /// GitHub-flavoured markdown for a pull-request comment (`render::plan_markdown`).
    Markdown,
}

/// `vend plan`'s options.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// How to print the plan.
    pub format: Format,
    /// Also save the plan to this file.
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes.
    pub detailed_exitcode: bool,
    /// List resources that need no change too.
    pub show_unchanged: bool,
    /// Propose upgrades of deprecated blueprint versions.
    pub upgrade: bool,
    /// `--target` / `--exclude`: the changes left out are listed in the plan's `excluded`.
    pub selection: plan::scope::Selection,
}

/// `vend validate`: the workspace alone.
pub fn validate(config: &Config, console: &mut dyn Console) -> anyhow::Result<u8> {
    let files = fs::read_workspace(&config.workspace)?;
    let loaded = workspace::load(&files);
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = loaded.diagnostics.len() - errors;
    console.err_lines(&render::diagnostics_text(&loaded.diagnostics));
    let d = &loaded.desired;
    if errors > 0 {
        console.note(&format!("Workspace is invalid: {errors} error(s), {warnings} warning(s)."));
        Ok(1)
    } else {
        console.say(&format!(
            "Workspace is valid: {} OUs, {} SCPs, {} accounts, {} portfolios, {} products, {} pipelines ({warnings} warning(s)).",
            d.ous.len(),
            d.policies.len(),
            d.accounts.len(),
            d.portfolios.len(),
            d.products.len(),
            d.pipelines.len()
        ));
        Ok(0)
    }
}

/// `vend plan`.
pub fn plan(config: &Config, args: &PlanOptions, console: &mut dyn Console) -> anyhow::Result<u8> {
    let files = fs::read_workspace(&config.workspace)?;
    let loaded = workspace::load_with(&files, args.upgrade);
    let (state, note) = app::read_state(config, &loaded)?;
    if let Some(note) = note {
        console.note(&note);
    }
    let mut p = app::make_selected_plan(&loaded, &state, now(), &args.selection)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.show_unchanged {
        p.unchanged = Some(plan::unchanged(&loaded.desired, &p));
    }
    if let Some(file) = &args.out {
        if loaded.desired.settings.required_approvals > 0 {
            // Separation of duties: the saved plan names its author (their approval won't count).
            for note in governance::sign_author(&mut p, &config.env)? {
                console.note(&note);
            }
        }
        fs::write_plan(file, &p)?;
    }
    match args.format {
        // The same document `--out` saves (with its digest), so `plan --json > FILE` is a plan
        // file `show`/`apply`/`approve` accept.
        Format::Json => console.out(&String::from_utf8_lossy(&fs::plan_file_bytes(&p))),
        Format::Markdown => {
            let full = match &args.out {
                Some(file) => format!("vend show {}", file.display()),
                None => "vend plan".to_string(),
            };
            console.out(&render::plan_markdown(&p, &markdown_options(full, Some(&loaded.desired.settings))));
            // Standard output is the comment: the note goes to standard error.
            if let Some(file) = &args.out {
                console.note(&format!("Saved the plan to {}.", file.display()));
            }
        }
        Format::Text => {
            console.out_lines(&render::plan_text(&p));
            if let Some(file) = &args.out {
                console.say(&format!("Saved the plan to {}.", file.display()));
            }
        }
    }
    Ok(if !p.applyable {
        1
    } else if args.detailed_exitcode && p.has_changes() {
        2
    } else {
        0
    })
}

/// `vend show FILE`: a saved plan, as text, JSON or markdown (approvals judged by the
/// configuration's workspace when it can be read).
pub fn show(config: &Config, file: &Path, format: Format, console: &mut dyn Console) -> anyhow::Result<u8> {
    // Refuses a plan file edited after it was saved (and an unsupported format).
    let plan = fs::read_plan(file)?;
    match format {
        Format::Json => console.out(&render::plan_json(&plan)),
        Format::Markdown => {
            let settings = fs::read_workspace(&config.workspace)
                .ok()
                .filter(|files| files.get(workspace::SETTINGS).is_some())
                .map(|files| workspace::load(&files).desired.settings);
            let options = markdown_options(format!("vend show {}", file.display()), settings.as_ref());
            console.out(&render::plan_markdown(&plan, &options));
        }
        Format::Text => console.out_lines(&render::plan_text(&plan)),
    }
    Ok(if plan.applyable { 0 } else { 1 })
}

/// The markdown renderer's options: GitHub's comment limit, the command that shows it all, and
/// the approval rules of the workspace's settings (none: approvals listed without a verdict).
fn markdown_options(
    full_command: String,
    settings: Option<&crate::model::Settings>,
) -> render::MarkdownOptions {
    render::MarkdownOptions {
        approvals: settings
            .map(|s| render::ApprovalRules { pinned: s.operators.clone(), required: s.required_approvals }),
        ..render::MarkdownOptions::new(full_command)
    }
}

/// `vend snapshot save --out FILE [--for-import]`: the current state (AWS or the local file),
/// format v1. `--for-import`: what `vend import --state FILE` needs — with `--aws` read as the
/// import reads (every member account a portfolio is shared with searched for provisioned
/// products) — plus the template body of every product version; exit 1 when part of that could
/// not be read (the file is still written, and the notes say what is missing).
pub fn snapshot_save(
    config: &Config,
    file: &Path,
    for_import: bool,
    console: &mut dyn Console,
) -> anyhow::Result<u8> {
    let mut incomplete = false;
    let mut state = if config.uses_aws() && for_import {
        let (mut state, found, unread, _) = super::import::read(config)?;
        for (account, why) in unread {
            console.note(&format!("provisioned products in account {account} not recorded: {why}"));
            incomplete = true;
        }
        incomplete |= record_templates(&mut state, found, console);
        state
    } else if config.uses_aws() {
        // Outside a workspace no member account is named: the snapshot then holds the
        // pipelines of the caller's own account only.
        // In a workspace (one with settings), its region too (`app::in_workspace`).
        let loaded = fs::read_workspace(&config.workspace)
            .ok()
            .filter(|files| files.get(workspace::SETTINGS).is_some())
            .map(|files| workspace::load(&files));
        match loaded {
            Some(loaded) => app::aws_state(&app::in_workspace(config, &loaded), Some(&loaded))?,
            None => app::aws_state(config, None)?,
        }
    } else {
        let (mut state, seeded) = app::local_state(config)?;
        announce(&seeded, console);
        if for_import {
            let path = config
                .state_file()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| config.workspace.join(".vend/state.json"));
            let found = super::import::templates(&state, None, Some(&path));
            incomplete |= record_templates(&mut state, found, console);
        }
        state
    };
    state.captured_at = now();
    state.source = if config.uses_aws() { "aws" } else { "state-file" }.into();
    fs::write_state(file, &state)?;
    console.note(&format!("Saved the state to {}.", file.display()));
    if incomplete {
        console.note("The snapshot is incomplete for `vend import` (see above).");
    }
    Ok(u8::from(incomplete))
}

/// Put the templates found into `state`; says which were not, and whether any.
fn record_templates(
    state: &mut crate::model::State,
    found: super::import::Templates,
    console: &mut dyn Console,
) -> bool {
    for (url, why) in &found.failed {
        console.note(&format!("template {url} not recorded: {why}"));
    }
    state.templates =
        found.ok.into_iter().map(|(url, body)| crate::model::TemplateBody { url, body }).collect();
    state.normalize();
    !found.failed.is_empty()
}

fn announce(seeded: &fs::Seeded, console: &mut dyn Console) {
    if let Some(note) = app::seeded_note(seeded) {
        console.note(&note);
    }
}
