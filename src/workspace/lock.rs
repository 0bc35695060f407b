//! `blueprints/accounts.lock`: the content hashes of published account blueprint versions, so
//! that an edit of a published version is an error (`version-modified`) with the state file and
//! with `--aws` alike. Pipeline versions carry their hash in Service Catalog (`vend-sha256:`);
//! an account only carries `vend:blueprint=<name>@<version>`, so the hashes live in the
//! workspace, committed with it.
//!
//! The lock is written by `vend apply` (`flow::apply`, through [`updated`]): a version counts as
//! published once a vend-managed account uses it (in the state before the apply, or through a
//! change the apply carried out), and its entry is added with the file's hash at that moment.
//! Entries are only ever added, never changed or removed. A workspace without the lock is not
//! checked (a workspace from before the lock plans as it did); the next apply writes it. A lock
//! that does not parse is an error; an entry whose hash no longer matches its file is
//! `version-modified` at the file (whether the file or the lock was edited); a version in use
//! but missing from an existing lock is the plan warning `version-unlocked`
//! (`plan::lifecycle`). Pure: the caller hands in the files and writes the text.

use super::raw::RawAccountLock;
use super::{Cx, Files, origin, parse_ref, rules, yaml};
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

/// Where the lock lives in a workspace.
pub const ACCOUNT_LOCK: &str = "blueprints/accounts.lock";

/// The path of an account blueprint version's file.
pub fn account_blueprint_file(name: &str, version: &str) -> String {
    format!("blueprints/accounts/{name}/{version}.yaml")
}

/// The content hash of an account blueprint version: hex SHA-256 of the file's bytes without its
/// top-level `deprecated:` line(s) — marking a published version deprecated (or no longer) is
/// the one edit a published version may take (README, "Blueprint lifecycle").
pub fn account_version_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if !is_deprecated_line(line) {
            h.update(line);
        }
    }
    hex::encode(h.finalize())
}

/// `deprecated:` as a key at column 1 (a top-level key of the version file).
fn is_deprecated_line(line: &[u8]) -> bool {
    line.strip_prefix(b"deprecated")
        .map(|rest| rest.iter().find(|b| **b != b' ' && **b != b'\t') == Some(&b':'))
        .unwrap_or(false)
}

/// The entries of the workspace's lock (`name@version` -> hex hash), `None` without a lock or
/// when it does not parse (the loader reports that).
pub fn read(files: &Files) -> Option<BTreeMap<String, String>> {
    let bytes = files.get(ACCOUNT_LOCK)?;
    let raw: RawAccountLock = yaml::parse(ACCOUNT_LOCK, bytes, &mut Diagnostics::default())?;
    Some(raw.versions.into_iter().map(|(k, v)| (k, v.value)).collect())
}

/// The lock's new text once the versions `used` (`name@version`) count as published, and the
/// entries it adds; `None` when nothing is to be added (every used version already has an entry,
/// or has no file in the workspace to hash) or the lock does not parse. Existing entries are kept
/// as they are.
pub fn updated(files: &Files, used: &BTreeSet<String>) -> Option<(String, Vec<String>)> {
    let mut entries = match files.get(ACCOUNT_LOCK) {
        Some(_) => read(files)?,
        None => BTreeMap::new(),
    };
    let mut added = vec![];
    for reference in used {
        let Some((name, version)) = parse_ref(reference) else { continue };
        let Some(bytes) = files.get(&account_blueprint_file(name, version)) else { continue };
        if !entries.contains_key(reference) {
            entries.insert(reference.clone(), account_version_hash(bytes));
            added.push(reference.clone());
        }
    }
    (!added.is_empty()).then(|| (render(&entries), added))
}

/// The lock file's text: a header, then one `name@version: <hex>` line per entry, sorted.
pub fn render(entries: &BTreeMap<String, String>) -> String {
    let mut out = String::from(
        "# Published account blueprint versions and the SHA-256 of each version's file (without its\n\
         # `deprecated:` line). Written by `vend apply`; commit it with the workspace. A published\n\
         # version may not change: add a new version instead (README: \"Versions are immutable\").\n\
         versions:\n",
    );
    if entries.is_empty() {
        out = out.replace("versions:\n", "versions: {}\n");
    }
    for (reference, hash) in entries {
        out.push_str(&format!("  {reference}: {hash}\n"));
    }
    out
}

impl Cx<'_> {
    /// Check `blueprints/accounts.lock` against the account blueprint files; record which
    /// versions it lists (`Desired::account_lock`) for the plan's `version-unlocked` warning.
    pub(super) fn account_lock(&mut self) {
        let Some(bytes) = self.files.get(ACCOUNT_LOCK) else { return };
        let Some(raw) = yaml::parse::<RawAccountLock>(ACCOUNT_LOCK, bytes, &mut self.diags) else { return };
        let mut listed = BTreeSet::new();
        for (reference, hash) in &raw.versions {
            let at = origin(ACCOUNT_LOCK, hash);
            let Some((name, version)) = parse_ref(reference)
                .filter(|(n, v)| rules::key_name(n).is_ok() && rules::version_name(v).is_ok())
            else {
                self.err(
                    "bad-reference",
                    &at,
                    format!("'{reference}' is not an account blueprint version of the form name@version"),
                );
                continue;
            };
            if hash.value.len() != 64
                || !hash.value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                self.err(
                    "schema",
                    &at,
                    format!(
                        "the hash of {reference} must be 64 lowercase hex digits (SHA-256), not '{}'",
                        hash.value
                    ),
                );
                continue;
            }
            listed.insert(reference.clone());
            let file = account_blueprint_file(name, version);
            let Some(content) = self.files.get(&file) else { continue };
            let now = account_version_hash(content);
            if now != hash.value {
                self.err(
                    "version-modified",
                    &Origin::file(&file),
                    format!(
                        "account blueprint {reference} is published ({ACCOUNT_LOCK}:{} records sha256 {}), but {file} now hashes to {now}; published versions are immutable: restore {file} and add the change as a new version beside it (then move the requests to it); if the lock was edited instead, restore it from version control",
                        at.line,
                        hash.value,
                    ),
                );
            }
        }
        self.desired.account_lock = Some(listed);
    }
}
