//! The workspace files `vend import` writes, as serde structs serialised to YAML by
//! serde-saphyr (the YAML library vend reads them with), and the naming rules that turn AWS
//! names into file names and keys. Field order is the order the files show; empty optional
//! parts are left out so a file says only what the organization holds.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// `catalog/vend.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct VendYaml {
    pub region: String,
    pub management_account: String,
    pub template_bucket: String,
    pub ownership_tag: String,
    pub protected: Vec<String>,
    pub required_approvals: u32,
}

/// `catalog/organization.yaml`.
#[derive(Debug, Default, Serialize)]
pub(super) struct OrganizationYaml {
    pub units: BTreeMap<String, Unit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub root_policies: Vec<String>,
}

/// One OU of `organization.yaml`.
#[derive(Debug, Default, Serialize)]
pub(super) struct Unit {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub units: BTreeMap<String, Unit>,
}

/// `blueprints/accounts/<name>/v1.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct AccountBlueprintYaml {
    pub description: String,
    pub ou: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    #[serde(skip_serializing_if = "BlueprintTags::is_empty")]
    pub tags: BlueprintTags,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct BlueprintTags {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub defaults: BTreeMap<String, Value>,
}

impl BlueprintTags {
    fn is_empty(&self) -> bool {
        self.required.is_empty() && self.defaults.is_empty()
    }
}

/// `catalog/accounts/<key>.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct AccountRequestYaml {
    pub blueprint: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Value>,
    pub lifecycle: &'static str,
    pub reason: String,
}

/// `catalog/portfolios.yaml`.
#[derive(Debug, Default, Serialize)]
pub(super) struct PortfoliosYaml {
    pub portfolios: BTreeMap<String, PortfolioYaml>,
}

#[derive(Debug, Serialize)]
pub(super) struct PortfolioYaml {
    pub description: String,
    pub provider: String,
    pub products: BTreeMap<String, ProductEntryYaml>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_principals: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_role: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct ProductEntryYaml {
    pub versions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deprecated: Vec<String>,
    pub lifecycle: &'static str,
}

/// `blueprints/pipelines/<name>/<version>/blueprint.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct PipelineBlueprintYaml {
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub owner: String,
    pub template: &'static str,
}

/// `catalog/pipelines/<account key>/<name>.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct PipelineRequestYaml {
    pub blueprint: String,
    pub account: String,
    pub name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Value>,
    pub lifecycle: &'static str,
    pub reason: String,
}

/// A tag or parameter value: AWS holds text; a boolean or a number in canonical form is
/// written bare (as `vend request` does) so a `Number` template parameter reads back as one,
/// everything else as a string (quoted by the serialiser where YAML would read it otherwise).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(super) enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    pub fn of(v: &str) -> Value {
        match v {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
        if let Ok(i) = v.parse::<i64>()
            && i.to_string() == v
        {
            return Value::Int(i);
        }
        if let Ok(f) = v.parse::<f64>()
            && f.is_finite()
            && f.to_string() == v
            && v.contains('.')
        {
            return Value::Float(f);
        }
        Value::Text(v.to_string())
    }

    pub fn text(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

/// The YAML text of `value`, with a header comment.
pub(super) fn yaml<T: Serialize>(header: &str, value: &T) -> Result<Vec<u8>, String> {
    let body = serde_saphyr::to_string(value).map_err(|e| format!("writing YAML: {e}"))?;
    Ok(format!("# {header}\n{body}").into_bytes())
}

/// Is `name` usable as it is as a file name and a key (`workspace::rules::key_name`, at most
/// `max` characters)?
pub(super) fn file_safe(name: &str, max: usize) -> bool {
    name.len() <= max && crate::workspace::rules::key_name(name).is_ok()
}

/// A file-safe form of `name`: lower case ASCII letters and digits, every other run of
/// characters one `-`, at most `max` characters; `fallback` when nothing is left.
pub(super) fn slug(name: &str, max: usize, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(max).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { fallback.to_string() } else { out }
}

/// Names handed out so far, compared case-insensitively (two files differing only in case
/// are one file on macOS and Windows).
#[derive(Debug, Default)]
pub(super) struct Taken(BTreeSet<String>);

impl Taken {
    pub fn take(&mut self, name: &str) -> bool {
        self.0.insert(name.to_ascii_lowercase())
    }

    /// `base`, or `base-2`, `base-3`, … — the first one free — taken.
    pub fn bump(&mut self, base: &str) -> String {
        if self.take(base) {
            return base.to_string();
        }
        (2..).map(|n| format!("{base}-{n}")).find(|n| self.take(n)).unwrap_or_else(|| base.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_values() {
        assert_eq!(slug("Payments Prod/EU", 36, "x"), "payments-prod-eu");
        assert_eq!(slug("***", 36, "account"), "account");
        assert!(file_safe("payments-prod", 50));
        assert!(!file_safe("Payments Prod", 50));
        assert!(matches!(Value::of("4711"), Value::Int(4711)));
        assert!(matches!(Value::of("007"), Value::Text(_)));
        assert!(matches!(Value::of("1.5"), Value::Float(_)));
        assert!(matches!(Value::of("1e3"), Value::Text(_)));
        let mut t = Taken::default();
        assert_eq!(t.bump("a"), "a");
        assert_eq!(t.bump("A"), "A-2");
    }
}
