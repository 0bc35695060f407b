//! `vend schema` and the writing half of `vend man --all`: text that needs no workspace, state
//! or AWS — printed through the `Console`, or written as files into a folder the user names.
//! (The completion scripts and man pages themselves come from the clap definitions, in `cli`.)

use super::Console;
use crate::workspace::schema::{self, SCHEMAS};
use anyhow::{Context, anyhow};
use std::path::Path;

/// `vend schema [NAME] [--out DIR]`: print the schema NAME; with `out`, write it (or every
/// schema) as `DIR/<name>.schema.json`; with neither, list the schemas and the files they cover.
pub fn schema(name: Option<&str>, out: Option<&Path>, console: &mut dyn Console) -> anyhow::Result<u8> {
    let chosen: Vec<&schema::FileSchema> = match name {
        Some(n) => vec![schema::by_name(n).ok_or_else(|| anyhow!("no schema named '{n}'"))?],
        None => SCHEMAS.iter().collect(),
    };
    match (name, out) {
        (_, Some(dir)) => {
            let files: Vec<(String, String)> = chosen.iter().map(|s| (s.file_name(), s.text())).collect();
            write_files(dir, &files, console)
        }
        (Some(_), None) => {
            for s in chosen {
                console.out(&s.text());
            }
            Ok(0)
        }
        (None, None) => {
            let width = SCHEMAS.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for s in SCHEMAS {
                console.say(&format!("{:width$}  {}", s.name, s.glob));
            }
            console.note(&format!(
                "print one with `vend schema NAME`; write them all for the catalog/ modelines with `vend schema --out {}`",
                schema::DIR
            ));
            Ok(0)
        }
    }
}

/// Write `files` (name, text) into `dir`, created if missing, each named on standard error.
pub fn write_files(dir: &Path, files: &[(String, String)], console: &mut dyn Console) -> anyhow::Result<u8> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        console.note(&format!("wrote {}", path.display()));
    }
    Ok(0)
}
