//! `vend request account|pipeline`: stamp the request with who asks and when, check it against
//! the workspace and the state (`request::check`), write the file and its `request` record, or
//! show the diagnostics and write nothing.

use super::Console;
use crate::adapter::fs;
use crate::config::Config;
use crate::request::Request;
use crate::{app, render, workspace};

/// Check and write `req` (from the flags); returns the exit code.
pub fn run(config: &Config, mut req: Request, console: &mut dyn Console) -> anyhow::Result<u8> {
    req.requested_by = config.env.user.clone();
    req.requested_at = app::now();
    let files = fs::read_workspace(&config.workspace)?;
    let loaded = workspace::load(&files);
    if loaded.diagnostics.iter().any(crate::model::Diagnostic::is_error) {
        console.err_lines(&render::diagnostics_text(&loaded.diagnostics));
        console.note("error: the workspace is invalid; fix it before adding a request");
        return Ok(1);
    }
    let (state, note) = app::read_state(config, &loaded)?;
    if let Some(note) = note {
        console.note(&note);
    }
    let checked = crate::request::check(&files, &loaded, Some(&state), &req);
    console.err_lines(&render::diagnostics_text(&checked.diagnostics));
    if !checked.is_valid() {
        console.note(&format!(
            "error: the {} request is invalid ({} error(s)); nothing was written",
            req.kind.as_str(),
            checked.errors()
        ));
        return Ok(1);
    }
    for note in app::write_request(config, &req, &checked)? {
        console.note(&note);
    }
    console.say(&format!(
        "Wrote {} (logged as a request event); run `vend plan` to see its plan.",
        checked.path
    ));
    Ok(0)
}
