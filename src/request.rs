//! Requests made by people — the TUI's request form and `vend request account|pipeline` — as one
//! pure function: `check` turns a `Request` into the YAML file it would write under `catalog/`
//! and every diagnostic that file brings. The rules are the loader's because the check *is*
//! `workspace::load` on the workspace with the new file laid over it (and, given the state,
//! `plan::build`, for uniqueness against what exists and OUs that must exist). Each diagnostic is
//! mapped back to the form field it is about. No I/O, no clock: the caller stamps
//! `requested_at`/`requested_by` and writes the file.

use crate::model::{Diagnostic, Origin, State};
use crate::workspace::{self, Files, Loaded, rules};
use std::collections::BTreeMap;

/// What is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestKind {
    #[default]
    Account,
    Pipeline,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Account => "account",
            RequestKind::Pipeline => "pipeline",
        }
    }
}

/// An account or pipeline request as typed (empty strings mean "not given").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub kind: RequestKind,
    /// `name@version` of an account or pipeline blueprint.
    pub blueprint: String,
    pub name: String,
    /// Account requests: the account's root e-mail.
    pub email: String,
    /// Account requests: the owning team (optional).
    pub owner: String,
    /// Pipeline requests: the account to launch the pipeline in.
    pub account: String,
    pub params: BTreeMap<String, String>,
    /// Account requests: tags (the blueprint's required tags among them).
    pub tags: BTreeMap<String, String>,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
}

/// The part of a request a diagnostic is about (a form field).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Blueprint,
    Name,
    Email,
    Owner,
    Account,
    Param(String),
    Tag(String),
    Reason,
    /// Not one field: a file elsewhere (a baseline pipeline, the blueprint) or the whole request.
    Other,
}

/// A checked request: where it goes, its text, and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Workspace-relative path, `catalog/accounts/<name>.yaml` or `catalog/pipelines/<name>.yaml`.
    pub path: String,
    pub text: String,
    /// Diagnostics this request adds to the workspace (errors and warnings), in loader order.
    pub diagnostics: Vec<Diagnostic>,
    /// Which field each line of `text` holds (1-based line numbers).
    lines: Vec<(u32, Field)>,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn is_valid(&self) -> bool {
        self.errors() == 0
    }

    /// The field a diagnostic points at.
    pub fn field_of(&self, d: &Diagnostic) -> Field {
        // The blueprint's access or contacts use {owner} (reported at the blueprint's entry).
        if d.code == "missing-owner" {
            return Field::Owner;
        }
        if d.file.as_deref() != Some(self.path.as_str()) {
            return Field::Other;
        }
        let Some(line) = d.line else { return Field::Other };
        let field =
            self.lines.iter().find(|(l, _)| *l == line).map(|(_, f)| f.clone()).unwrap_or(Field::Other);
        // Missing parameters and tags are reported at the name: give them to their own field.
        let quoted = d.message.split('\'').nth(1).map(str::to_string);
        match (d.code.as_str(), field, quoted) {
            ("missing-param", _, Some(p)) => Field::Param(p),
            ("missing-tag", _, Some(t)) => Field::Tag(t),
            (_, f, _) => f,
        }
    }

    /// Diagnostics for one field.
    pub fn for_field(&self, field: &Field) -> Vec<&Diagnostic> {
        self.diagnostics.iter().filter(|d| &self.field_of(d) == field).collect()
    }
}

/// The request file's path inside the workspace.
pub fn path_of(req: &Request) -> String {
    match req.kind {
        RequestKind::Account => format!("catalog/accounts/{}.yaml", req.name),
        RequestKind::Pipeline => format!("catalog/pipelines/{}.yaml", req.name),
    }
}

/// Check `req` against the workspace `files` (already loaded as `base`) and, when given, the
/// current `state`. Returns the file to write and the diagnostics it adds; write it only when
/// `is_valid()`.
pub fn check(files: &Files, base: &Loaded, state: Option<&State>, req: &Request) -> Checked {
    let path = path_of(req);
    let (text, lines) = to_yaml(req);
    let mut checked = Checked { path: path.clone(), text, diagnostics: vec![], lines };
    let at_name = Origin::new(path.clone(), line_of(&checked.lines, &Field::Name), 7);
    if let Err(e) = rules::key_name(&req.name) {
        let code = match req.kind {
            RequestKind::Account => "bad-account-name",
            RequestKind::Pipeline => "bad-name",
        };
        checked.diagnostics.push(
            Diagnostic::error(code, format!("name '{}' {e} (it names the file)", req.name)).at(&at_name),
        );
        return checked;
    }
    if files.get(&path).is_some() {
        checked.diagnostics.push(
            Diagnostic::error("request-exists", format!("{path} already exists; edit that file instead"))
                .at(&at_name),
        );
        return checked;
    }
    let mut overlaid = files.clone();
    overlaid.entries.insert(path.clone(), checked.text.clone().into_bytes());
    let loaded = workspace::load(&overlaid);
    checked.diagnostics = added(&base.diagnostics, &loaded.diagnostics);
    if let Some(d) = deprecated_account_blueprint(&loaded, req, &path, &checked.lines) {
        checked.diagnostics.push(d);
    }
    let clean = !loaded.diagnostics.iter().any(Diagnostic::is_error);
    if let Some(state) = state
        && clean
    {
        let before = crate::plan::build(&base.desired, state).diagnostics;
        let after = crate::plan::build(&loaded.desired, state).diagnostics;
        checked.diagnostics.extend(added(&before, &after));
    }
    checked
}

/// A new account request on a deprecated account blueprint version is refused (existing requests
/// keep working: the plan only warns, `blueprint-deprecated-in-use`), naming the newest version.
/// Pipeline requests on a deprecated version are refused by the plan itself
/// (`version-deprecated-launch`: Service Catalog takes no new launches on one).
fn deprecated_account_blueprint(
    loaded: &Loaded,
    req: &Request,
    path: &str,
    lines: &[(u32, Field)],
) -> Option<Diagnostic> {
    if req.kind != RequestKind::Account {
        return None;
    }
    let (name, version) = req.blueprint.split_once('@')?;
    let deprecated = loaded.desired.deprecated_account_blueprints.get(name)?;
    if !deprecated.iter().any(|v| v == version) {
        return None;
    }
    let newest =
        loaded.desired.account_blueprints.get(name).and_then(|vs| {
            vs.iter().filter(|v| !deprecated.contains(v)).max_by(|a, b| rules::version_cmp(a, b))
        });
    let advice = match newest {
        Some(n) => format!("request {name}@{n}, the newest version"),
        None => format!("no version of {name} is current: publish one first"),
    };
    let at = Origin::new(path.to_string(), line_of(lines, &Field::Blueprint), 12);
    Some(
        Diagnostic::error(
            "blueprint-deprecated-request",
            format!("account blueprint {name}@{version} is deprecated: existing accounts keep it, new requests may not; {advice}"),
        )
        .at(&at),
    )
}

/// The diagnostics of `after` that `before` does not have (as a multiset).
fn added(before: &[Diagnostic], after: &[Diagnostic]) -> Vec<Diagnostic> {
    let mut left: Vec<&Diagnostic> = before.iter().collect();
    let mut out = vec![];
    for d in after {
        match left.iter().position(|b| *b == d) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => out.push(d.clone()),
        }
    }
    out
}

fn line_of(lines: &[(u32, Field)], field: &Field) -> u32 {
    lines.iter().find(|(_, f)| f == field).map(|(l, _)| *l).unwrap_or(1)
}

/// A YAML scalar for a string: bare when that reads back as the same string, else double-quoted
/// (JSON string syntax is valid YAML).
fn text_scalar(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || "._-@+/".contains(c))
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain { v.to_string() } else { serde_json::to_string(v).unwrap_or_else(|_| format!("\"{v}\"")) }
}

/// A parameter or tag value: booleans and canonical numbers bare (typed), the rest as text.
fn typed_scalar(v: &str) -> String {
    if v == "true" || v == "false" {
        return v.to_string();
    }
    if v.parse::<i64>().is_ok_and(|i| i.to_string() == v)
        || v.parse::<f64>().is_ok_and(|f| f.is_finite() && f.to_string() == v)
    {
        return v.to_string();
    }
    text_scalar(v)
}

/// The request file's text and which line holds which field.
fn to_yaml(req: &Request) -> (String, Vec<(u32, Field)>) {
    let mut out = String::new();
    let mut lines = vec![];
    let mut line = |out: &mut String, text: String, field: Field| {
        out.push_str(&text);
        out.push('\n');
        lines.push((out.lines().count() as u32, field));
    };
    line(&mut out, format!("blueprint: {}", text_scalar(&req.blueprint)), Field::Blueprint);
    match req.kind {
        RequestKind::Account => {
            line(&mut out, format!("name: {}", text_scalar(&req.name)), Field::Name);
            line(&mut out, format!("email: {}", text_scalar(&req.email)), Field::Email);
            if !req.owner.is_empty() {
                line(&mut out, format!("owner: {}", text_scalar(&req.owner)), Field::Owner);
            }
        }
        RequestKind::Pipeline => {
            line(&mut out, format!("account: {}", text_scalar(&req.account)), Field::Account);
            line(&mut out, format!("name: {}", text_scalar(&req.name)), Field::Name);
        }
    }
    let params: Vec<(&String, &String)> = req.params.iter().filter(|(_, v)| !v.is_empty()).collect();
    if !params.is_empty() {
        line(&mut out, "params:".into(), Field::Other);
        for (k, v) in params {
            line(&mut out, format!("  {}: {}", text_scalar(k), typed_scalar(v)), Field::Param(k.clone()));
        }
    }
    let tags: Vec<(&String, &String)> = req.tags.iter().filter(|(k, _)| !k.is_empty()).collect();
    if req.kind == RequestKind::Account && !tags.is_empty() {
        line(&mut out, "tags:".into(), Field::Other);
        for (k, v) in tags {
            line(&mut out, format!("  {}: {}", text_scalar(k), typed_scalar(v)), Field::Tag(k.clone()));
        }
    }
    if !req.requested_by.is_empty() {
        line(&mut out, format!("requested_by: {}", text_scalar(&req.requested_by)), Field::Other);
    }
    if !req.requested_at.is_empty() {
        let at = serde_json::to_string(&req.requested_at).unwrap_or_default();
        line(&mut out, format!("requested_at: {at}"), Field::Other);
    }
    if !req.reason.is_empty() {
        line(&mut out, format!("reason: {}", text_scalar(&req.reason)), Field::Reason);
    }
    // The editor's schema, last as in every catalog/ file (`workspace::schema`).
    if let Some(modeline) = workspace::schema::modeline(&path_of(req)) {
        line(&mut out, modeline, Field::Other);
    }
    (out, lines)
}

/// Parse `k=v` pairs from the command line.
pub fn parse_pairs(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for p in pairs {
        match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.to_string());
            }
            _ => return Err(format!("'{p}' is not of the form key=value")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_written() {
        assert_eq!(text_scalar("workload@v2"), "workload@v2");
        assert_eq!(text_scalar("yes"), "\"yes\"");
        assert_eq!(text_scalar("a b: c"), "\"a b: c\"");
        assert_eq!(typed_scalar("4711"), "4711");
        assert_eq!(typed_scalar("007"), "\"007\"");
        assert_eq!(typed_scalar("true"), "true");
    }

    #[test]
    fn pairs() {
        assert_eq!(parse_pairs(&["a=b=c".into()]).unwrap().get("a").map(String::as_str), Some("b=c"));
        assert!(parse_pairs(&["nokey".into()]).is_err());
    }
}
