//! YAML text -> `Raw*` values, with every parse failure turned into a diagnostic at the right
//! file, line and column. Alias expansion is bounded by serde-saphyr's budget; duplicate keys
//! are rejected.

use crate::model::{Diagnostic, Diagnostics, Origin};
use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;

/// Where a spanned value was written.
pub fn origin<T>(file: &str, s: &Spanned<T>) -> Origin {
    let loc = s.referenced;
    Origin::new(file, loc.line().max(1) as u32, loc.column().max(1) as u32)
}

/// Parse `bytes` of `file` as `T`. On failure, push one diagnostic and return `None`.
pub fn parse<T: DeserializeOwned>(file: &str, bytes: &[u8], diags: &mut Diagnostics) -> Option<T> {
    match parse_one(file, bytes) {
        Ok(v) => Some(v),
        Err(d) => {
            diags.push(*d);
            None
        }
    }
}

/// Parse many files of one schema on all cores; results come back in input order.
/// (A failure is boxed: a diagnostic is large next to most parsed values.)
pub fn parse_many<T: DeserializeOwned + Send>(items: &[(&str, &[u8])]) -> Vec<Result<T, Box<Diagnostic>>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    if threads < 2 || items.len() < 64 {
        return items.iter().map(|(f, b)| parse_one(f, b)).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|(f, b)| parse_one::<T>(f, b)).collect::<Vec<_>>())
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for (h, part) in handles.into_iter().zip(items.chunks(chunk)) {
            match h.join() {
                Ok(results) => out.extend(results),
                // A parser thread cannot panic on input (serde-saphyr is panic-free); should one
                // die anyway, parse its share here rather than lose it.
                Err(_) => out.extend(part.iter().map(|(f, b)| parse_one::<T>(f, b))),
            }
        }
        out
    })
}

fn parse_one<T: DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T, Box<Diagnostic>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Err(Box::new(
                Diagnostic::error("encoding", format!("not valid UTF-8 (byte {})", e.valid_up_to()))
                    .at(&Origin::file(file)),
            ));
        }
    };
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let (line, column) =
            e.location().map(|l| (l.line().max(1) as u32, l.column().max(1) as u32)).unwrap_or((1, 1));
        let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        let message = clean_message(&e.render_with_options(opts));
        let code = classify(&message);
        Box::new(Diagnostic::error(code, message).at(&Origin::new(file, line, column)))
    })
}

/// Drop the location suffix (we report it in fields) and library advice meant for programmers.
fn clean_message(raw: &str) -> String {
    let mut m = raw.trim().to_string();
    if let Some(i) = m.rfind(" at line ") {
        m.truncate(i);
    }
    if let Some(i) = m.find(", set DuplicateKeyPolicy") {
        m.truncate(i);
    }
    m
}

fn classify(message: &str) -> &'static str {
    if message.starts_with("unknown field") {
        "unknown-field"
    } else if message.starts_with("duplicate mapping key") {
        "duplicate-key"
    } else if message.starts_with("missing field") {
        "missing-field"
    } else if message.starts_with("unknown variant")
        || message.starts_with("invalid type")
        || message.starts_with("invalid")
        || message.starts_with("expected")
    {
        "schema"
    } else if message.contains("budget") || message.contains("alias") {
        "yaml-budget"
    } else {
        "yaml-syntax"
    }
}
