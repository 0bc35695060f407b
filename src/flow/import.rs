//! `vend import`: read the organization (AWS with `--aws`, else a snapshot or state file),
//! fetch the templates of its product versions, build the workspace (`crate::import`) and put
//! it in place so that an interrupted import leaves nothing half-written: every file is
//! written into a fresh folder beside `catalog/` and `blueprints/` first, then the two folders
//! are moved in by rename (with `--force`, the old ones are moved aside first and removed
//! last). Reports what it wrote and what it left out; exit 1 when anything was left out.

use super::Console;
use crate::adapter::aws::AwsCloud;
use crate::adapter::fs;
use crate::adapter::local_cloud::LocalCloud;
use crate::app;
use crate::config::Config;
use crate::import::{self, Import};
use crate::model::State;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `vend import`'s options.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Import only this OU path and what is below it.
    pub ou: Option<String>,
    /// Replace an existing workspace's `catalog/` and `blueprints/`.
    pub force: bool,
}

/// The folders an import writes.
const TOPS: [&str; 2] = ["catalog", "blueprints"];
/// The staging folder's name prefix (in the workspace, so the moves are renames).
const STAGING: &str = ".vend-import-";

/// `vend import`.
pub fn import(config: &Config, args: &ImportOptions, console: &mut dyn Console) -> anyhow::Result<u8> {
    let root = &config.workspace;
    recover(root)?;
    if !args.force
        && let Some(top) = TOPS.iter().find(|t| non_empty(&root.join(t)))
    {
        anyhow::bail!(
            "{} already holds a workspace ({top}/ is not empty); import into an empty folder (-C DIR), or add --force to replace its catalog/ and blueprints/",
            root.display()
        );
    }
    let (state, templates, unread, region) = read(config)?;
    let opts = import::Options {
        region,
        ou: args.ou.clone(),
        ownership_tag: crate::model::Settings::default().ownership_tag,
    };
    let Import { files, mut report } =
        import::build(&state, &templates.ok, &opts).map_err(anyhow::Error::msg)?;
    report.notes.push(format!(
        "region {} in catalog/vend.yaml (from --region, the AWS configuration, the template bucket or the template URLs, else us-east-1): check it",
        opts.region
    ));
    for (url, why) in &templates.failed {
        report.notes.push(format!("template {url}: {why}"));
    }
    for (account, why) in unread {
        report.left_out.push(import::LeftOut {
            what: format!("provisioned products in account {account}"),
            reason: format!("the account could not be searched: {why}"),
        });
    }
    place(root, &files, args.force)?;
    console.say(&format!("Imported the organization {} into {}:", state.organization.id, root.display()));
    for c in &report.counts {
        console.say(&format!("  {c}"));
    }
    console.say(&format!("  {} files written under catalog/ and blueprints/", files.len()));
    section(console, "Renamed (names that are not file names, or repeat):", &report.renamed);
    section(console, "To fill in (AWS never returns NoEcho parameter values):", &report.fill_in);
    section(console, "Notes:", &report.notes);
    section(console, "Not only adoptions (the first plan changes these):", &report.not_only_adoptions);
    let left: Vec<String> = report.left_out.iter().map(|l| format!("{}: {}", l.what, l.reason)).collect();
    section(console, "Left out (not in the workspace; vend leaves it as it is):", &left);
    let next = if config.uses_aws() { "vend plan --aws" } else { "vend plan" };
    if left.is_empty() && report.not_only_adoptions.is_empty() {
        console.say(&format!(
            "Nothing was left out. Next: `{next}` shows only adoptions; apply it to take ownership."
        ));
        Ok(0)
    } else {
        console.say(&format!(
            "{} item(s) were left out and {} need more than an adoption (see above). Next: `{next}`.",
            left.len(),
            report.not_only_adoptions.len()
        ));
        Ok(1)
    }
}

fn section(console: &mut dyn Console, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    console.say(title);
    for l in lines {
        console.say(&format!("  - {l}"));
    }
}

fn non_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// Template bodies fetched, and the URLs that could not be read (URL -> why).
#[derive(Debug, Default)]
pub struct Templates {
    pub ok: BTreeMap<String, String>,
    pub failed: BTreeMap<String, String>,
}

/// The template URLs of `state`'s product versions.
fn urls(s: &State) -> Vec<String> {
    let mut u: Vec<String> =
        s.products.iter().flat_map(|p| p.versions.iter().map(|v| v.template_url.clone())).collect();
    u.sort();
    u.dedup();
    u
}

/// The template body of each product version of `state`: from S3 through `aws`, else from the
/// state file at `path` (its `templates`, and what was uploaded through its cloud).
pub fn templates(state: &State, aws: Option<&mut AwsCloud>, path: Option<&Path>) -> Templates {
    let mut t = Templates::default();
    if let Some(cloud) = aws {
        for (url, body) in cloud.template_bodies(&urls(state)) {
            match body {
                Ok(b) => t.ok.insert(url, b),
                Err(e) => t.failed.insert(url, e),
            };
        }
        return t;
    }
    let uploaded = path.map(LocalCloud::uploaded_templates).unwrap_or_default();
    for url in urls(state) {
        let body = state.templates.iter().find(|x| x.url == url).map(|x| x.body.clone());
        match body.or_else(|| uploaded.get(&url).cloned()) {
            Some(b) => t.ok.insert(url, b),
            None => t.failed.insert(url, "the state file holds no body for it".into()),
        };
    }
    t
}

/// The organization, its template bodies, the member accounts that could not be searched, and
/// the region for `vend.yaml`.
pub type Read = (State, Templates, Vec<(String, String)>, String);

/// What `vend import` reads (also `vend snapshot save --for-import`).
pub fn read(config: &Config) -> anyhow::Result<Read> {
    if config.uses_aws() {
        let mut cloud = app::aws_cloud(config)?;
        cloud.search_shared_accounts();
        let state = crate::port::Cloud::read_state(&mut cloud)
            .map_err(|e| anyhow::anyhow!("reading the organization from AWS: {e}"))?;
        let t = templates(&state, Some(&mut cloud), None);
        let region =
            config.aws.region.clone().or_else(|| cloud.region()).unwrap_or_else(|| "us-east-1".into());
        return Ok((state, t, cloud.unread_accounts(), region));
    }
    let path: PathBuf = match config.state_file() {
        Some(p) => p.to_path_buf(),
        None => {
            let default = config.workspace.join(".vend").join("state.json");
            if !default.exists() {
                anyhow::bail!(
                    "vend import reads an organization: add --aws (the live organization), or --state FILE (a snapshot, e.g. from `vend snapshot save --aws --for-import`)"
                );
            }
            default
        }
    };
    if !path.exists() {
        return Err(fs::FsError::MissingState(path.display().to_string()).into());
    }
    let state = LocalCloud::catch_up(&path, fs::read_state(&path)?)?;
    let t = templates(&state, None, Some(&path));
    // `--region`, else the template bucket's region when the state knows it, else the one the
    // template URLs name, else us-east-1 (the report says to check it).
    let region = config
        .aws
        .region
        .clone()
        .or_else(|| {
            state
                .launch_path
                .as_ref()
                .and_then(|l| l.buckets.iter().find(|b| !b.region.is_empty()).map(|b| b.region.clone()))
        })
        .or_else(|| urls(&state).iter().find_map(|u| crate::adapter::aws::region_of_url(u)))
        .unwrap_or_else(|| "us-east-1".into());
    Ok((state, t, vec![], region))
}

/// Marker files in a staging folder: `tops` (the folders `new/` holds, written before the swap)
/// and `done` (written once both are in place).
const TOPS_FILE: &str = "tops";
const DONE: &str = "done";

/// Write `files` into a staging folder in `root`, then swap `catalog/` and `blueprints/` in by
/// rename (the old ones moved to `old/` first). A failed swap is rolled back at once; one a
/// kill interrupted is rolled back by the next import (`recover`) — never deleted with the old
/// folders still in it.
fn place(root: &Path, files: &BTreeMap<String, Vec<u8>>, force: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(root).map_err(|e| anyhow::anyhow!("creating {}: {e}", root.display()))?;
    recover(root)?;
    if !force && let Some(top) = TOPS.iter().find(|t| non_empty(&root.join(t))) {
        anyhow::bail!("{} appeared while importing; nothing was changed", root.join(top).display());
    }
    let staging = root.join(format!("{STAGING}{}", std::process::id()));
    let io = |p: &Path, e: std::io::Error| anyhow::anyhow!("{}: {e}", p.display());
    for (rel, bytes) in files {
        let path = staging.join("new").join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
    }
    let tops: Vec<&str> = TOPS.into_iter().filter(|t| staging.join("new").join(t).exists()).collect();
    let list = staging.join(TOPS_FILE);
    std::fs::write(&list, tops.join("\n")).map_err(|e| io(&list, e))?;
    let swapped = (|| -> anyhow::Result<()> {
        for top in TOPS {
            let (from, to) = (staging.join("new").join(top), root.join(top));
            if to.exists() {
                let old = staging.join("old");
                std::fs::create_dir_all(&old).map_err(|e| io(&old, e))?;
                std::fs::rename(&to, old.join(top)).map_err(|e| io(&to, e))?;
            }
            if from.exists() {
                std::fs::rename(&from, &to).map_err(|e| io(&from, e))?;
            }
        }
        Ok(())
    })();
    if let Err(e) = swapped {
        rollback(root, &staging)?;
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e.context("nothing was changed"));
    }
    let done = staging.join(DONE);
    std::fs::write(&done, "").map_err(|e| io(&done, e))?;
    std::fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
    Ok(())
}

/// Staging folders an interrupted import left in `root`: a finished swap's is removed, an
/// unfinished one is rolled back first (the workspace as it was before that import).
fn recover(root: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(root) else { return Ok(()) };
    let mut left: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(STAGING))
        .map(|e| e.path())
        .collect();
    left.sort();
    for staging in left {
        if !staging.join(DONE).exists() {
            rollback(root, &staging)?;
        }
        std::fs::remove_dir_all(&staging).map_err(|e| anyhow::anyhow!("{}: {e}", staging.display()))?;
    }
    Ok(())
}

/// Undo the swap in `staging`: a folder that came from `new/` goes, the one in `old/` comes back.
fn rollback(root: &Path, staging: &Path) -> anyhow::Result<()> {
    let listed = std::fs::read_to_string(staging.join(TOPS_FILE)).unwrap_or_default();
    let io = |p: &Path, e: std::io::Error| {
        anyhow::anyhow!("rolling back an interrupted import: {}: {e}", p.display())
    };
    for top in TOPS {
        let to = root.join(top);
        let placed = listed.lines().any(|l| l == top) && !staging.join("new").join(top).exists();
        if placed && to.exists() {
            std::fs::remove_dir_all(&to).map_err(|e| io(&to, e))?;
        }
        let old = staging.join("old").join(top);
        if old.exists() {
            if to.exists() {
                anyhow::bail!(
                    "an interrupted import left {} beside {}: move one of them by hand",
                    old.display(),
                    to.display()
                );
            }
            std::fs::rename(&old, &to).map_err(|e| io(&old, e))?;
        }
    }
    Ok(())
}
