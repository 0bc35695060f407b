//! The human plan, Terraform-style: changes grouped by kind in plan order, a symbol and a word
//! per action, field-level diffs for updates, line diffs (`similar`) for SCP documents and
//! templates, and a closing summary line. Built from the same `Plan` as the JSON view.

use super::{Line, Tone};
use crate::model::{Diagnostic, Severity};
use crate::plan::{Action, Change, Kind, Plan, Summary, scope};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeMap;

pub fn symbol(a: Action) -> &'static str {
    match a {
        Action::Create => "+",
        Action::Update => "~",
        Action::Move => "->",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::Close => "!",
        Action::Adopt => "<=",
        Action::Deprecate => "~-",
        Action::Repair => "*",
        Action::Rename => "~>",
    }
}

pub fn tone(a: Action) -> Tone {
    match a {
        Action::Create => Tone::Create,
        Action::Update => Tone::Update,
        Action::Move => Tone::Move,
        Action::Replace => Tone::Replace,
        Action::Delete => Tone::Delete,
        Action::Close => Tone::Close,
        Action::Adopt => Tone::Adopt,
        Action::Deprecate => Tone::Deprecate,
        Action::Repair => Tone::Repair,
        Action::Rename => Tone::Update,
    }
}

/// Fields shown as line diffs, not as values.
const TEXT_FIELDS: [&str; 2] = ["content", "template_body"];

/// The fields of a change shown as line diffs: the documents and templates, and a launch role's
/// policy (a `policy` elsewhere is an SCP's name).
fn text_fields(kind: crate::model::Kind) -> &'static [&'static str] {
    if kind == crate::model::Kind::LaunchRole { &["policy"] } else { &TEXT_FIELDS }
}
/// Fields only used to show something else.
const HIDDEN_FIELDS: [&str; 3] = ["previous_template_body", "previous_version", "root_id"];

/// The whole human plan.
pub fn plan_text(plan: &Plan) -> Vec<Line> {
    let mut out = vec![];
    // A plan with an `excluded` list (`--target`/`--exclude`, or the TUI's review) shows what
    // is applied; a line says how many changes are left out.
    let included = scope::included(plan);
    let left_out = plan.changes.len() - included.len();
    if plan.changes.is_empty() {
        let note = if !plan.applyable {
            " Nothing can be planned until the errors below are fixed."
        } else if plan.diagnostics.is_empty() {
            " The organization matches the workspace."
        } else {
            " See the warnings below."
        };
        out.push(Line::new().push("No changes.", Tone::Heading).push(note, Tone::Plain));
    } else if !included.is_empty() {
        out.push(Line::plain("vend will perform the following actions, in this order:"));
        // Group by kind, keeping plan order inside each group.
        let mut groups: BTreeMap<Kind, Vec<&Change>> = BTreeMap::new();
        for c in &included {
            groups.entry(c.kind).or_default().push(*c);
        }
        let position = |c: &Change| plan.changes.iter().position(|x| x.address == c.address).unwrap_or(0);
        for kind in Kind::ALL {
            let Some(changes) = groups.get(&kind) else { continue };
            out.push(Line::new());
            out.push(Line::new().push(kind.title(), Tone::Heading));
            for c in changes {
                change_lines(c, position(c) + 1, &mut out);
            }
        }
    }
    if left_out > 0 {
        if !included.is_empty() {
            out.push(Line::new());
        }
        out.push(Line::new().push(
            format!(
                "{left_out} of {} change(s) left out by --target/--exclude (the plan's excluded list); they are not applied.",
                plan.changes.len()
            ),
            Tone::Warning,
        ));
    }
    if let Some(unchanged) = plan.unchanged.as_ref().filter(|u| !u.is_empty()) {
        out.push(Line::new());
        out.push(Line::new().push(format!("Unchanged ({})", unchanged.len()), Tone::Heading));
        for a in unchanged {
            out.push(Line::new().push(format!("    = {a}"), Tone::Muted));
        }
    }
    out.extend(super::effective_text(plan));
    if !plan.diagnostics.is_empty() {
        out.push(Line::new());
        out.extend(diagnostics_text(&plan.diagnostics));
    }
    out.push(Line::new());
    out.push(summary_line(plan));
    if !plan.applyable {
        out.push(
            Line::new()
                .push("This plan cannot be applied: ", Tone::Error)
                .push("fix the errors above and plan again.", Tone::Plain),
        );
    }
    out
}

pub fn summary_line(plan: &Plan) -> Line {
    if plan.changes.is_empty() {
        return Line::new().push("Plan: no changes.", Tone::Heading);
    }
    // Counts what is applied: the changes a plan's `excluded` list leaves out are not (its
    // JSON `summary` counts every change).
    let summary = if plan.excluded.is_some() {
        Summary::of(&scope::included(plan).into_iter().cloned().collect::<Vec<_>>())
    } else {
        plan.summary.clone()
    };
    let mut line = Line::new().push("Plan: ", Tone::Heading);
    let parts: Vec<(String, Tone)> = Action::ALL
        .iter()
        .filter(|a| a.always_listed() || summary.get(**a) > 0)
        .map(|a| {
            let n = summary.get(*a);
            let t = if n > 0 { tone(*a) } else { Tone::Muted };
            (format!("{n} to {a}"), t)
        })
        .collect();
    for (i, (text, t)) in parts.into_iter().enumerate() {
        if i > 0 {
            line = line.push(", ", Tone::Plain);
        }
        line = line.push(text, t);
    }
    line.push(".", Tone::Plain)
}

/// One change as the CLI shows it (`n`: its position in apply order): the heading line, the
/// reason, field diffs and document/template line diffs. The TUI's drill-down uses the same lines.
pub fn change_text(c: &Change, n: usize) -> Vec<Line> {
    let mut out = vec![];
    change_lines(c, n, &mut out);
    out
}

fn change_lines(c: &Change, n: usize, out: &mut Vec<Line>) {
    let t = tone(c.action);
    let mut heading = Line::new()
        .push(format!("  {:>3} ", symbol(c.action)), t)
        .push(c.address.clone(), Tone::Heading)
        .push(format!("  {}", c.action), t);
    if let (Action::Rename, Some(crate::plan::Payload::Ou(old))) = (c.action, &c.before) {
        heading = heading.push(format!("  (renamed from {})", old.path), t);
    }
    out.push(heading.push(format!("  #{n}"), Tone::Muted));
    out.push(Line::new().push(format!("        # {}", c.reason), Tone::Muted));
    for f in field_diffs(c) {
        out.push(match f {
            FieldDiff::Added { key, value } => {
                Line::new().push(format!("        + {key} = {value}"), Tone::Create)
            }
            FieldDiff::Removed { key, value } => {
                Line::new().push(format!("        - {key} = {value}"), Tone::Delete)
            }
            FieldDiff::Changed { key, before, after } => {
                Line::new().push(format!("        ~ {key}: {before} -> {after}"), Tone::Update)
            }
        });
    }
    for doc in doc_diffs(c) {
        out.push(Line::new().push(format!("        {}:", doc.label), Tone::Plain));
        for hunk in doc.hunks {
            out.push(Line::new().push(format!("          {}", hunk.header), Tone::Muted));
            for (tag, text) in hunk.lines {
                let (sign, t) = match tag {
                    ChangeTag::Delete => ("-", Tone::Delete),
                    ChangeTag::Insert => ("+", Tone::Create),
                    ChangeTag::Equal => (" ", Tone::Plain),
                };
                out.push(Line::new().push(format!("          {sign} {text}"), t));
            }
        }
    }
}

/// One field of a change as the plan shows it (values as compact JSON, strings quoted; an id
/// only known after apply as `(known after apply)`). Documents and templates are left to
/// [`doc_diffs`]. Shared by the text and markdown views.
pub(super) enum FieldDiff {
    Added { key: String, value: String },
    Removed { key: String, value: String },
    Changed { key: String, before: String, after: String },
}

/// The field diffs of a change: every field a create sets, what identifies a deleted resource,
/// and for the other actions the fields that differ.
pub(super) fn field_diffs(c: &Change) -> Vec<FieldDiff> {
    let mut out = vec![];
    let text_fields = text_fields(c.kind);
    let before = c.before_json().as_ref().map(flatten).unwrap_or_default();
    let after = c.after_json().as_ref().map(flatten).unwrap_or_default();
    match c.action {
        Action::Create => {
            for (k, v) in after {
                if !text_fields.contains(&k.as_str()) && !HIDDEN_FIELDS.contains(&k.as_str()) && v != "null" {
                    out.push(FieldDiff::Added { key: k, value: v });
                }
            }
        }
        Action::Delete => {
            let keys: &[&str] = match c.kind {
                crate::model::Kind::AccountAssignment => &["account_id", "group", "permission_set"],
                crate::model::Kind::AlternateContact => &["account_id", "type", "name", "email"],
                _ => &["id", "name", "policy", "target", "target_id", "arn", "value"],
            };
            for key in keys.iter().copied() {
                if let Some(v) = before.get(key).filter(|v| *v != "null") {
                    out.push(FieldDiff::Removed { key: key.to_string(), value: v.clone() });
                }
            }
        }
        _ => {
            let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            for k in keys {
                if text_fields.contains(&k.as_str()) || HIDDEN_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let key = k.clone();
                match (before.get(k), after.get(k)) {
                    (Some(b), Some(a)) if a != b => {
                        let a = if a == "null" { "(known after apply)" } else { a.as_str() };
                        out.push(FieldDiff::Changed { key, before: b.clone(), after: a.to_string() });
                    }
                    (None, Some(a)) if a != "null" => out.push(FieldDiff::Added { key, value: a.clone() }),
                    (Some(b), None) if c.after.is_some() => {
                        out.push(FieldDiff::Removed { key, value: b.clone() })
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// A line diff of one document or template of a change: what it is (`document`, `policy`,
/// `template (compared with v2)`) and its hunks.
pub(super) struct DocDiff {
    pub label: String,
    pub hunks: Vec<Hunk>,
}

/// One hunk of a unified diff (three lines of context): its `@@ -a,b +c,d @@` header and lines.
pub(super) struct Hunk {
    pub header: String,
    pub lines: Vec<(ChangeTag, String)>,
}

/// The line diffs of a change's documents and templates (SCP documents compared
/// pretty-printed; a new product version against the previous version's template).
pub(super) fn doc_diffs(c: &Change) -> Vec<DocDiff> {
    let (before_json, after_json) = (c.before_json(), c.after_json());
    let text = |v: &Option<Value>, k: &str| {
        v.as_ref().and_then(|v| v.get(k)).and_then(Value::as_str).map(str::to_string)
    };
    let mut out = vec![];
    for &field in text_fields(c.kind) {
        let old = text(&before_json, field);
        let mut new = text(&after_json, field);
        if c.action == Action::Delete {
            new = None;
        }
        let (old, label) = match (old, field) {
            (None, "template_body") => match text(&after_json, "previous_template_body") {
                Some(prev) => {
                    let v = text(&after_json, "previous_version").unwrap_or_default();
                    (Some(prev), format!("template (compared with {v})"))
                }
                None => (None, "template".to_string()),
            },
            (o, "content") => (o, "document".to_string()),
            (o, "policy") => (o, "policy".to_string()),
            (o, _) => (o, "template".to_string()),
        };
        if old.is_none() && new.is_none() {
            continue;
        }
        if old == new {
            continue;
        }
        out.push(DocDiff {
            label,
            hunks: line_diff(old.as_deref().unwrap_or(""), new.as_deref().unwrap_or("")),
        });
    }
    out
}

/// Unified line diff with three lines of context.
fn line_diff(old: &str, new: &str) -> Vec<Hunk> {
    let old = pretty_json(old);
    let new = pretty_json(new);
    let diff = TextDiff::from_lines(old.as_str(), new.as_str());
    let mut out = vec![];
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let o = first.old_range().start..last.old_range().end;
        let n = first.new_range().start..last.new_range().end;
        let mut hunk = Hunk {
            header: format!("@@ -{},{} +{},{} @@", o.start + 1, o.len(), n.start + 1, n.len()),
            lines: vec![],
        };
        for op in &group {
            for change in diff.iter_changes(op) {
                hunk.lines.push((change.tag(), change.value().trim_end_matches('\n').to_string()));
            }
        }
        out.push(hunk);
    }
    out
}

/// SCP documents are compared pretty-printed, so whitespace-only differences vanish.
fn pretty_json(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => {
            let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string());
            s.push('\n');
            s
        }
        _ => {
            let mut s = text.to_string();
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
    }
}

/// Flatten an object into `a.b` keys with compact JSON values (strings quoted).
fn flatten(v: &Value) -> BTreeMap<String, String> {
    fn go(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(m) => {
                // An empty map shows nothing: its entries, when it gets some, speak for it.
                for (k, x) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    go(&key, x, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    go("", v, &mut out);
    out
}

/// Diagnostics as `error[code]: file:line:col: message` lines.
pub fn diagnostics_text(diags: &[Diagnostic]) -> Vec<Line> {
    diags
        .iter()
        .map(|d| {
            let (word, t) = match d.severity {
                Severity::Error => ("error", Tone::Error),
                Severity::Warning => ("warning", Tone::Warning),
            };
            let mut line = Line::new().push(format!("{word}[{}]", d.code), t).push(": ", Tone::Plain);
            if let Some(loc) = d.location() {
                line = line.push(format!("{loc}: "), Tone::Heading);
            }
            line.push(d.message.clone(), Tone::Plain)
        })
        .collect()
}
