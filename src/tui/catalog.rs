//! The blueprint catalog as data for the catalog screen and the request form: every account and
//! pipeline blueprint version with its status (published / default / deprecated / draft /
//! invalid), who uses it, its parameters and files; and the line diff between two versions
//! (`similar`). Pure: built from `workspace::Files` and the loaded workspace; no I/O.

use super::access::AccessInfo;
use super::text::TextView;
use crate::render::{Line, Tone};
use crate::request::RequestKind;
use crate::workspace::{self, Files, Loaded, raw::ParamType, rules};
use similar::{ChangeTag, TextDiff};

/// Blueprints and their versions, for the catalog screen and the request form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub blueprints: Vec<BlueprintEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlueprintEntry {
    pub kind: RequestKind,
    pub name: String,
    pub versions: Vec<VersionEntry>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionEntry {
    pub name: String,
    /// Offered to requests (account blueprints: loads without error; pipelines: a portfolio
    /// publishes it).
    pub published: bool,
    /// The version a new request gets by default (the newest published, not deprecated).
    pub default: bool,
    pub deprecated: bool,
    /// A pipeline version no portfolio publishes yet.
    pub draft: bool,
    /// The version's files have errors (see `vend validate`).
    pub invalid: bool,
    pub description: String,
    /// Accounts or pipelines requesting this version.
    pub used_by: Vec<String>,
    pub params: Vec<ParamInfo>,
    pub required_tags: Vec<String>,
    /// Other facts worth showing (OU, SCPs, e-mail pattern, product, owner, baseline pipelines).
    pub facts: Vec<(String, String)>,
    /// The version's files (path inside the version, text), for diffs.
    pub files: Vec<(String, String)>,
    /// Account blueprints: who gets in (`access:`, `request_access:`, `contacts:`).
    pub access: Option<AccessInfo>,
}

impl VersionEntry {
    /// Status words, in a fixed order (readable without colour).
    pub fn status_words(&self) -> Vec<&'static str> {
        let mut out = vec![];
        if self.invalid {
            out.push("invalid");
        }
        if self.draft {
            out.push("draft");
        }
        if self.published {
            out.push("published");
        }
        if self.default {
            out.push("default");
        }
        if self.deprecated {
            out.push("deprecated");
        }
        out
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    pub description: String,
    pub default: Option<String>,
    pub allowed: Option<Vec<String>>,
    /// Other constraints in words (pattern, length, range, type).
    pub constraint: String,
}

/// Catalog screen state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogView {
    /// Index into `catalog::rows`.
    pub selected: usize,
    /// The version marked as the base of a diff: (blueprint index, version index).
    pub mark: Option<(usize, usize)>,
    pub diff: Option<TextView>,
}

/// Build the catalog.
pub fn build(files: &Files, loaded: &Loaded) -> Catalog {
    let (bps, _) = workspace::load_blueprints(files);
    let desired = &loaded.desired;
    let mut out = Catalog::default();
    for (name, versions) in group(&bps.account_versions) {
        let mut entry = BlueprintEntry { kind: RequestKind::Account, name: name.clone(), versions: vec![] };
        for v in versions {
            let key = (name.clone(), v.clone());
            let reference = format!("{name}@{v}");
            let path = format!("blueprints/accounts/{name}/{v}.yaml");
            let mut ve = VersionEntry {
                name: v.clone(),
                used_by: desired
                    .accounts
                    .values()
                    .filter(|a| a.blueprint == reference)
                    .map(|a| a.name.clone())
                    .collect(),
                files: text_of(files, &path).map(|t| vec![(format!("{v}.yaml"), t)]).unwrap_or_default(),
                ..VersionEntry::default()
            };
            match bps.accounts.get(&key) {
                Some(bp) => {
                    ve.published = true;
                    // `deprecated: true` in the version file (the lifecycle's mark).
                    ve.deprecated = bp.deprecated;
                    ve.description = bp.description.clone();
                    ve.params = bp
                        .params
                        .iter()
                        .map(|(k, p)| ParamInfo {
                            name: k.clone(),
                            description: p.description.clone(),
                            default: p.default.clone(),
                            allowed: p.allowed.clone(),
                            constraint: [
                                match p.param_type {
                                    ParamType::String => String::new(),
                                    ParamType::Number => "a number".into(),
                                    ParamType::Boolean => "true or false".into(),
                                },
                                p.pattern
                                    .as_ref()
                                    .map(|r| format!("matches {}", r.as_str()))
                                    .unwrap_or_default(),
                            ]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(", "),
                        })
                        .collect();
                    ve.required_tags = bp.required_tags.clone();
                    ve.facts.push(("OU".into(), bp.ou.clone()));
                    let pols: Vec<&str> = bp.policies.iter().map(|(p, _)| p.as_str()).collect();
                    ve.facts
                        .push(("SCPs".into(), if pols.is_empty() { "none".into() } else { pols.join(", ") }));
                    if let Some(re) = &bp.email_pattern {
                        ve.facts.push(("e-mail".into(), re.as_str().to_string()));
                    }
                    if !bp.default_tags.is_empty() {
                        let tags: Vec<String> =
                            bp.default_tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        ve.facts.push(("default tags".into(), tags.join(", ")));
                    }
                    for p in &bp.pipelines {
                        ve.facts.push(("baseline".into(), format!("{} ({})", p.name, p.blueprint)));
                    }
                    ve.access = Some(AccessInfo::of(bp));
                }
                None => ve.invalid = true,
            }
            entry.versions.push(ve);
        }
        // The newest published version that is not deprecated is the default.
        if let Some(last) = entry.versions.iter_mut().rev().find(|v| v.published && !v.deprecated) {
            last.default = true;
        }
        out.blueprints.push(entry);
    }
    for (name, versions) in group(&bps.pipeline_versions) {
        let mut entry = BlueprintEntry { kind: RequestKind::Pipeline, name: name.clone(), versions: vec![] };
        for v in versions {
            let key = (name.clone(), v.clone());
            let dir = format!("blueprints/pipelines/{name}/{v}/");
            let mut ve = VersionEntry {
                name: v.clone(),
                files: files
                    .entries
                    .range(dir.clone()..)
                    .take_while(|(p, _)| p.starts_with(&dir))
                    .map(|(p, b)| (p[dir.len()..].to_string(), String::from_utf8_lossy(b).into_owned()))
                    .collect(),
                ..VersionEntry::default()
            };
            match bps.pipelines.get(&key) {
                Some(pv) => {
                    ve.description = pv.description.clone();
                    let published = desired.products.get(&pv.product).and_then(|p| p.versions.get(&v));
                    ve.published = published.is_some();
                    ve.draft = published.is_none();
                    ve.deprecated = published.is_some_and(|d| d.deprecated);
                    ve.used_by = desired
                        .pipelines
                        .values()
                        .filter(|p| p.product == pv.product && p.version == v)
                        .map(|p| format!("{}/{}", p.account, p.name))
                        .collect();
                    ve.facts.push(("product".into(), pv.product.clone()));
                    ve.facts.push(("owner".into(), pv.owner.clone()));
                    ve.facts.push(("sha256".into(), pv.sha256.chars().take(16).collect::<String>() + "…"));
                    ve.params = pv
                        .parameters
                        .iter()
                        .map(|(k, p)| {
                            let mut c = vec![];
                            if p.param_type != "String" {
                                c.push(p.param_type.clone());
                            }
                            if let Some(pat) = &p.pattern {
                                c.push(format!("matches {pat}"));
                            }
                            match (p.min_length, p.max_length) {
                                (Some(a), Some(b)) => c.push(format!("{a}-{b} characters")),
                                (Some(a), None) => c.push(format!("at least {a} characters")),
                                (None, Some(b)) => c.push(format!("at most {b} characters")),
                                _ => {}
                            }
                            match (p.min_value, p.max_value) {
                                (Some(a), Some(b)) => c.push(format!("{a} to {b}")),
                                (Some(a), None) => c.push(format!(">= {a}")),
                                (None, Some(b)) => c.push(format!("<= {b}")),
                                _ => {}
                            }
                            ParamInfo {
                                name: k.clone(),
                                description: p.description.clone(),
                                default: p.default.clone(),
                                allowed: p.allowed.clone(),
                                constraint: c.join(", "),
                            }
                        })
                        .collect();
                }
                None => ve.invalid = true,
            }
            entry.versions.push(ve);
        }
        if let Some(last) = entry.versions.iter_mut().rev().find(|v| v.published && !v.deprecated) {
            last.default = true;
        }
        out.blueprints.push(entry);
    }
    out
}

fn text_of(files: &Files, path: &str) -> Option<String> {
    files.get(path).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// (name, versions in version order), names in order.
fn group(set: &std::collections::BTreeSet<(String, String)>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = vec![];
    for (n, v) in set {
        match out.last_mut() {
            Some((last, vs)) if last == n => vs.push(v.clone()),
            _ => out.push((n.clone(), vec![v.clone()])),
        }
    }
    for (_, vs) in &mut out {
        vs.sort_by(|a, b| rules::version_cmp(a, b));
    }
    out
}

/// The catalog list: a blueprint row `(b, None)` followed by its version rows `(b, Some(v))`.
pub fn rows(catalog: &Catalog) -> Vec<(usize, Option<usize>)> {
    let mut out = vec![];
    for (b, bp) in catalog.blueprints.iter().enumerate() {
        out.push((b, None));
        for v in 0..bp.versions.len() {
            out.push((b, Some(v)));
        }
    }
    out
}

/// `name@version` of every version of a kind a new request may name: published and not
/// deprecated, newest first per blueprint (`rules::version_cmp`, the order `versions` is in).
pub fn choices(catalog: &Catalog, kind: RequestKind) -> Vec<String> {
    let mut out = vec![];
    for bp in catalog.blueprints.iter().filter(|b| b.kind == kind) {
        for v in bp.versions.iter().rev().filter(|v| v.published && !v.deprecated) {
            out.push(format!("{}@{}", bp.name, v.name));
        }
    }
    out
}

/// Find a version by `name@version`.
pub fn find<'a>(catalog: &'a Catalog, kind: RequestKind, reference: &str) -> Option<&'a VersionEntry> {
    let (n, v) = workspace::parse_ref(reference)?;
    catalog
        .blueprints
        .iter()
        .find(|b| b.kind == kind && b.name == n)
        .and_then(|b| b.versions.iter().find(|x| x.name == v))
}

/// Unified diff of two versions' files (`old` -> `new`), three lines of context.
pub fn diff(bp: &BlueprintEntry, old: usize, new: usize) -> TextView {
    let (Some(a), Some(b)) = (bp.versions.get(old), bp.versions.get(new)) else {
        return TextView::default();
    };
    let mut lines = vec![];
    let mut names: Vec<&String> =
        a.files.iter().map(|(n, _)| n).chain(b.files.iter().map(|(n, _)| n)).collect();
    names.sort();
    names.dedup();
    // Account blueprints are one file named after the version: compare them with each other.
    let pairs: Vec<(String, String, String)> = if bp.kind == RequestKind::Account {
        let text = |v: &VersionEntry| v.files.first().map(|(_, t)| t.clone()).unwrap_or_default();
        vec![(format!("{}.yaml -> {}.yaml", a.name, b.name), text(a), text(b))]
    } else {
        names
            .iter()
            .map(|n| {
                let get = |v: &VersionEntry| {
                    v.files.iter().find(|(f, _)| f == *n).map(|(_, t)| t.clone()).unwrap_or_default()
                };
                ((*n).clone(), get(a), get(b))
            })
            .collect()
    };
    let mut changed = 0;
    for (label, old_text, new_text) in pairs {
        if old_text == new_text {
            lines.push(Line::new().push(format!("  {label}: unchanged"), Tone::Muted));
            continue;
        }
        changed += 1;
        lines.push(Line::new().push(format!("--- {}/{label}", a.name), Tone::Delete));
        lines.push(Line::new().push(format!("+++ {}/{label}", b.name), Tone::Create));
        let d = TextDiff::from_lines(old_text.as_str(), new_text.as_str());
        for group in d.grouped_ops(3) {
            let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
            let o = first.old_range().start..last.old_range().end;
            let n = first.new_range().start..last.new_range().end;
            lines.push(Line::new().push(
                format!("@@ -{},{} +{},{} @@", o.start + 1, o.len(), n.start + 1, n.len()),
                Tone::Muted,
            ));
            for op in &group {
                for c in d.iter_changes(op) {
                    let text = c.value().trim_end_matches('\n').to_string();
                    let (sign, t) = match c.tag() {
                        ChangeTag::Delete => ("-", Tone::Delete),
                        ChangeTag::Insert => ("+", Tone::Create),
                        ChangeTag::Equal => (" ", Tone::Plain),
                    };
                    lines.push(Line::new().push(format!("{sign}{text}"), t));
                }
            }
        }
    }
    if changed == 0 {
        lines.push(Line::plain("The two versions have the same files."));
    }
    TextView { title: format!("{} {} -> {}", bp.name, a.name, b.name), lines, scroll: 0 }
}

/// The details of a catalog row (a blueprint, or one of its versions) that the catalog screen
/// shows beside the list.
pub fn details(bp: &BlueprintEntry, v: Option<usize>) -> Vec<Line> {
    let mut d: Vec<Line> = vec![];
    match v {
        None => {
            d.push(Line::new().push(format!("{} blueprint {}", bp.kind.as_str(), bp.name), Tone::Heading));
            d.push(Line::plain(format!("{} version(s)", bp.versions.len())));
            let uses: usize = bp.versions.iter().map(|v| v.used_by.len()).sum();
            let what = if bp.kind == RequestKind::Account { "account(s)" } else { "pipeline(s)" };
            d.push(Line::plain(format!("used by {uses} {what}")));
            for ve in &bp.versions {
                d.push(Line::plain(format!(
                    "  {}: {} ({} use(s))",
                    ve.name,
                    ve.status_words().join(", "),
                    ve.used_by.len()
                )));
            }
        }
        Some(vi) => {
            let ve = &bp.versions[vi];
            d.push(
                Line::new()
                    .push(format!("{}@{}", bp.name, ve.name), Tone::Heading)
                    .push(format!("  {}", ve.status_words().join(", ")), Tone::Plain),
            );
            if !ve.description.is_empty() {
                d.push(Line::plain(ve.description.clone()));
            }
            for (k, v) in &ve.facts {
                d.push(Line::new().push(format!("{k}: "), Tone::Muted).push(v.clone(), Tone::Plain));
            }
            if !ve.params.is_empty() {
                d.push(Line::new().push("parameters:", Tone::Heading));
                for p in &ve.params {
                    let mut extra = vec![];
                    match &p.default {
                        Some(x) => extra.push(format!("default {}", if x.is_empty() { "empty" } else { x })),
                        None => extra.push("required".into()),
                    }
                    if let Some(a) = &p.allowed {
                        extra.push(format!("one of {}", a.join("|")));
                    }
                    d.push(Line::plain(format!("  {} ({})", p.name, extra.join("; "))));
                }
            }
            if !ve.required_tags.is_empty() {
                d.push(Line::plain(format!("required tags: {}", ve.required_tags.join(", "))));
            }
            if let Some(a) = &ve.access {
                d.extend(a.lines());
            }
            let what = if bp.kind == RequestKind::Account { "accounts" } else { "pipelines" };
            d.push(Line::new().push(format!("used by {} {what}:", ve.used_by.len()), Tone::Heading));
            for u in &ve.used_by {
                d.push(Line::plain(format!("  {u}")));
            }
        }
    }
    d
}
