//! The request form as data: which fields a kind and blueprint version ask for (with hints and
//! choices from the catalog), the `request::Request` the fields describe, and which form field a
//! `request::Field` diagnostic belongs to. Validation itself is `request::check`, shared with
//! `vend request`. Pure.

use super::catalog;
use super::catalog::Catalog;
use crate::request::Checked;
use crate::request::{Field, Request, RequestKind};

/// A request form field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldId {
    Kind,
    Blueprint,
    Name,
    Email,
    Owner,
    Account,
    Param(String),
    Tag(String),
    /// Further tags as `k=v, k=v`.
    ExtraTags,
    Reason,
    Submit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub id: FieldId,
    pub label: String,
    pub value: String,
    pub hint: String,
    /// Values to cycle through with Left/Right (empty: free text).
    pub choices: Vec<String>,
}

/// Request form state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    pub fields: Vec<FormField>,
    pub focus: usize,
    /// The last check of the request as typed (None until the first answer).
    pub checked: Option<Checked>,
    pub checking: bool,
    pub submitting: bool,
}

fn field(id: FieldId, label: &str, hint: impl Into<String>) -> FormField {
    FormField { id, label: label.into(), value: String::new(), hint: hint.into(), choices: vec![] }
}

/// The fields for `kind` and `blueprint` (`name@version`; empty: the first offered), keeping the
/// values of fields that stay.
pub fn layout(catalog: &Catalog, kind: RequestKind, blueprint: &str, old: &[FormField]) -> Vec<FormField> {
    let choices = catalog::choices(catalog, kind);
    let blueprint = if choices.iter().any(|c| c == blueprint) {
        blueprint.to_string()
    } else {
        // Prefer a default version.
        catalog
            .blueprints
            .iter()
            .filter(|b| b.kind == kind)
            .flat_map(|b| {
                b.versions.iter().filter(|v| v.default).map(move |v| format!("{}@{}", b.name, v.name))
            })
            .next()
            .or_else(|| choices.first().cloned())
            .unwrap_or_default()
    };
    let version = catalog::find(catalog, kind, &blueprint);
    let mut fields = vec![];
    let mut k = field(FieldId::Kind, "Request", "account or pipeline (←/→)");
    k.choices = vec!["account".into(), "pipeline".into()];
    k.value = kind.as_str().into();
    fields.push(k);
    let mut b = field(
        FieldId::Blueprint,
        "Blueprint",
        version.map(|v| format!("{} [{}]", v.description, v.status_words().join(", "))).unwrap_or_default(),
    );
    b.choices = choices;
    b.value = blueprint;
    fields.push(b);
    match kind {
        RequestKind::Account => {
            fields.push(field(
                FieldId::Name,
                "Name",
                "account name, also the file name (letters, digits, ._-)",
            ));
            let pattern = version
                .and_then(|v| {
                    v.facts.iter().find(|(k, _)| k == "e-mail").map(|(_, p)| format!("must match {p}"))
                })
                .unwrap_or_else(|| "the account's root e-mail".into());
            fields.push(field(FieldId::Email, "E-mail", pattern));
            let owner_needed = version.and_then(|v| v.access.as_ref()).is_some_and(|a| a.uses_owner());
            let hint = if owner_needed {
                "owning team (required: the blueprint uses {owner})"
            } else {
                "owning team (optional)"
            };
            fields.push(field(FieldId::Owner, "Owner", hint));
        }
        RequestKind::Pipeline => {
            fields.push(field(FieldId::Account, "Account", "the account to launch the pipeline in"));
            fields.push(field(FieldId::Name, "Name", "pipeline name, also the file name"));
        }
    }
    if let Some(v) = version {
        for p in &v.params {
            let mut hint = p.description.clone();
            let mut extra = vec![];
            if let Some(d) = &p.default {
                extra.push(format!("default {}", if d.is_empty() { "empty" } else { d }));
            } else {
                extra.push("required".to_string());
            }
            if !p.constraint.is_empty() {
                extra.push(p.constraint.clone());
            }
            if !extra.is_empty() {
                hint = format!("{hint} ({})", extra.join("; "));
            }
            let mut f = field(FieldId::Param(p.name.clone()), &p.name, hint);
            if let Some(allowed) = &p.allowed {
                // An optional choice may be left empty (the default applies).
                f.choices = if p.default.is_some() && kind == RequestKind::Pipeline {
                    std::iter::once(String::new()).chain(allowed.iter().cloned()).collect()
                } else {
                    allowed.clone()
                };
                f.value = match (kind, &p.default) {
                    (RequestKind::Account, Some(d)) => d.clone(),
                    (RequestKind::Pipeline, Some(_)) => String::new(),
                    _ => allowed.first().cloned().unwrap_or_default(),
                };
            } else if kind == RequestKind::Account {
                f.value = p.default.clone().unwrap_or_default();
            }
            fields.push(f);
        }
        if kind == RequestKind::Account {
            for t in &v.required_tags {
                fields.push(field(FieldId::Tag(t.clone()), &format!("tag {t}"), "required by the blueprint"));
            }
        }
    }
    if kind == RequestKind::Account {
        fields.push(field(FieldId::ExtraTags, "More tags", "key=value, key=value (optional)"));
    }
    fields.push(field(FieldId::Reason, "Reason", "why (kept in the request file; optional)"));
    fields.push(field(
        FieldId::Submit,
        "[ Submit ]",
        "Enter or Ctrl-S writes the request file and shows its plan",
    ));
    // Keep what was typed in fields that stay (not the kind and blueprint themselves).
    for f in
        fields.iter_mut().filter(|f| !matches!(f.id, FieldId::Kind | FieldId::Blueprint | FieldId::Submit))
    {
        if let Some(o) = old.iter().find(|o| o.id == f.id)
            && (f.choices.is_empty() || f.choices.contains(&o.value))
        {
            f.value = o.value.clone();
        }
    }
    fields
}

pub fn value(form: &Form, id: &FieldId) -> String {
    form.fields.iter().find(|f| &f.id == id).map(|f| f.value.clone()).unwrap_or_default()
}

pub fn kind(form: &Form) -> RequestKind {
    if value(form, &FieldId::Kind) == "pipeline" { RequestKind::Pipeline } else { RequestKind::Account }
}

/// The request the form describes (`requested_by`/`requested_at` are stamped by the runtime).
pub fn to_request(form: &Form) -> Request {
    let mut r = Request {
        kind: kind(form),
        blueprint: value(form, &FieldId::Blueprint).trim().to_string(),
        name: value(form, &FieldId::Name).trim().to_string(),
        email: value(form, &FieldId::Email).trim().to_string(),
        owner: value(form, &FieldId::Owner).trim().to_string(),
        account: value(form, &FieldId::Account).trim().to_string(),
        reason: value(form, &FieldId::Reason).trim().to_string(),
        ..Request::default()
    };
    for f in &form.fields {
        match &f.id {
            FieldId::Param(p) if !f.value.trim().is_empty() => {
                r.params.insert(p.clone(), f.value.trim().to_string());
            }
            FieldId::Tag(t) if !f.value.trim().is_empty() => {
                r.tags.insert(t.clone(), f.value.trim().to_string());
            }
            FieldId::ExtraTags => {
                for pair in f.value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    r.tags.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
            _ => {}
        }
    }
    r
}

/// Who gets into the account the form describes: the chosen account blueprint version's access,
/// request_access and contacts with `{name}`, `{owner}` and parameters filled from the form
/// (defaults where a parameter is empty; what is not known yet stays as written). Empty for a
/// pipeline request or a version that declares none.
pub fn who_gets_in(form: &Form, catalog: &Catalog) -> Vec<crate::render::Line> {
    if kind(form) != RequestKind::Account {
        return vec![];
    }
    let blueprint = value(form, &FieldId::Blueprint);
    let Some(version) = catalog::find(catalog, RequestKind::Account, &blueprint) else { return vec![] };
    let Some(info) = version.access.as_ref().filter(|a| !a.is_empty()) else { return vec![] };
    let lookup = |k: &str| {
        let typed = |id: FieldId| Some(value(form, &id).trim().to_string()).filter(|v| !v.is_empty());
        match k {
            "name" => typed(FieldId::Name),
            "owner" => typed(FieldId::Owner),
            _ => typed(FieldId::Param(k.to_string()))
                .or_else(|| version.params.iter().find(|p| p.name == k).and_then(|p| p.default.clone())),
        }
    };
    info.filled(&lookup)
}

/// The form field a diagnostic's request field is shown under.
pub fn field_id(f: &Field) -> FieldId {
    match f {
        Field::Blueprint => FieldId::Blueprint,
        Field::Name => FieldId::Name,
        Field::Email => FieldId::Email,
        Field::Owner => FieldId::Owner,
        Field::Account => FieldId::Account,
        Field::Param(p) => FieldId::Param(p.clone()),
        Field::Tag(t) => FieldId::Tag(t.clone()),
        Field::Reason => FieldId::Reason,
        Field::Other => FieldId::Submit,
    }
}

/// Error and warning texts for one form field.
pub fn messages(form: &Form, id: &FieldId) -> Vec<(bool, String)> {
    let Some(checked) = &form.checked else { return vec![] };
    checked
        .diagnostics
        .iter()
        .filter(|d| {
            let fid = field_id(&checked.field_of(d));
            // A tag typed in "More tags" has no field of its own.
            &fid == id
                || (id == &FieldId::ExtraTags
                    && matches!(&fid, FieldId::Tag(t) if !form.fields.iter().any(|f| f.id == FieldId::Tag(t.clone()))))
        })
        .map(|d| (d.is_error(), format!("{}[{}]: {}", if d.is_error() { "error" } else { "warning" }, d.code, d.message)))
        .collect()
}
