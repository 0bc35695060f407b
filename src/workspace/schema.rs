//! JSON Schemas (draft 2020-12) of the workspace's YAML files, derived with schemars from the
//! serde mirrors in [`super::raw`] — never written by hand, so a field added there is in the
//! schema too. `deny_unknown_fields` is `additionalProperties: false`; a `Spanned` value is the
//! schema of the value it wraps. `vend schema` prints or writes them; the files of `catalog/`
//! name theirs in a `yaml-language-server` modeline ([`modeline`], their last line), under
//! [`DIR`] (where `vend schema --out .vend/schemas` writes them). Blueprint files are hashed as
//! published and carry no modeline: editors map them by [`FileSchema::glob`].

use super::raw::{
    RawAccountBlueprint, RawAccountRequest, RawGuardrails, RawOrganization, RawPermissionSet,
    RawPipelineBlueprint, RawPipelineRequest, RawPortfolios, RawSettings,
};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// Where the modelines of `catalog/` files look for the schemas, from the workspace's root
/// (git-ignored, like the rest of `.vend/`).
pub const DIR: &str = ".vend/schemas";

/// One schema: its name (`vend schema NAME`, the file `NAME.schema.json`), the workspace files it
/// describes (a glob from the workspace's root) and the raw type it is derived from.
pub struct FileSchema {
    pub name: &'static str,
    pub glob: &'static str,
    pub title: &'static str,
    generate: fn() -> Value,
}

impl FileSchema {
    /// The schema as a JSON value, `$schema` draft 2020-12, titled after the file.
    pub fn schema(&self) -> Value {
        // `$schema` and the title first, then what schemars derived, in its order.
        let mut v = serde_json::Map::new();
        if let Value::Object(derived) = (self.generate)() {
            v.insert("$schema".into(), derived.get("$schema").cloned().unwrap_or(Value::Null));
            v.insert("title".into(), Value::String(self.title.into()));
            v.extend(derived.into_iter().filter(|(k, _)| k != "$schema" && k != "title"));
        }
        Value::Object(v)
    }

    /// `NAME.schema.json`.
    pub fn file_name(&self) -> String {
        format!("{}.schema.json", self.name)
    }

    /// The schema's text as `vend schema` prints and writes it (pretty, with a final newline).
    pub fn text(&self) -> String {
        let pretty = serde_json::to_string_pretty(&self.schema()).unwrap_or_default();
        format!("{pretty}\n")
    }
}

fn generate<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<T>().to_value()
}

/// Every schema, in the order `vend schema` lists them.
pub const SCHEMAS: &[FileSchema] = &[
    FileSchema {
        name: "vend",
        glob: "catalog/vend.yaml",
        title: "vend workspace settings (catalog/vend.yaml)",
        generate: generate::<RawSettings>,
    },
    FileSchema {
        name: "organization",
        glob: "catalog/organization.yaml",
        title: "vend OU tree and SCPs (catalog/organization.yaml)",
        generate: generate::<RawOrganization>,
    },
    FileSchema {
        name: "portfolios",
        glob: "catalog/portfolios.yaml",
        title: "vend Service Catalog portfolios (catalog/portfolios.yaml)",
        generate: generate::<RawPortfolios>,
    },
    FileSchema {
        name: "guardrails",
        glob: "catalog/guardrails.yaml",
        title: "vend plan guardrails and template lint (catalog/guardrails.yaml)",
        generate: generate::<RawGuardrails>,
    },
    FileSchema {
        name: "permission-set",
        glob: "catalog/permission_sets/*.yaml",
        title: "vend IAM Identity Center permission set (catalog/permission_sets/<name>.yaml)",
        generate: generate::<RawPermissionSet>,
    },
    FileSchema {
        name: "account-request",
        glob: "catalog/accounts/*.yaml",
        title: "vend account request (catalog/accounts/<name>.yaml)",
        generate: generate::<RawAccountRequest>,
    },
    FileSchema {
        name: "pipeline-request",
        glob: "catalog/pipelines/**/*.yaml",
        title: "vend pipeline request (catalog/pipelines/[<account>/]<name>.yaml)",
        generate: generate::<RawPipelineRequest>,
    },
    FileSchema {
        name: "account-blueprint",
        glob: "blueprints/accounts/*/*.yaml",
        title: "vend account blueprint (blueprints/accounts/<name>/<version>.yaml)",
        generate: generate::<RawAccountBlueprint>,
    },
    FileSchema {
        name: "pipeline-blueprint",
        glob: "blueprints/pipelines/*/*/blueprint.yaml",
        title: "vend pipeline blueprint (blueprints/pipelines/<name>/<version>/blueprint.yaml)",
        generate: generate::<RawPipelineBlueprint>,
    },
];

/// The schema named `name`.
pub fn by_name(name: &str) -> Option<&'static FileSchema> {
    SCHEMAS.iter().find(|s| s.name == name)
}

/// The schema of the workspace file at `path` (workspace-relative, `/`-separated), if it has one.
pub fn for_path(path: &str) -> Option<&'static FileSchema> {
    let parts: Vec<&str> = path.split('/').collect();
    let name = match parts.as_slice() {
        ["catalog", "vend.yaml"] => "vend",
        ["catalog", "organization.yaml"] => "organization",
        ["catalog", "portfolios.yaml"] => "portfolios",
        ["catalog", "guardrails.yaml"] => "guardrails",
        ["catalog", "accounts", f] if f.ends_with(".yaml") => "account-request",
        ["catalog", "permission_sets", f] if f.ends_with(".yaml") => "permission-set",
        ["catalog", "pipelines", f] | ["catalog", "pipelines", _, f] if f.ends_with(".yaml") => {
            "pipeline-request"
        }
        ["blueprints", "accounts", _, f] if f.ends_with(".yaml") => "account-blueprint",
        ["blueprints", "pipelines", _, _, "blueprint.yaml"] => "pipeline-blueprint",
        _ => return None,
    };
    by_name(name)
}

/// The `yaml-language-server` modeline a `catalog/` YAML file at `path` carries as its last line
/// (without the newline): the schema under [`DIR`], relative to the file. `None` for every other
/// file — blueprint files above all, whose bytes are hashed as published. Last, not first, so
/// the lines that diagnostics and reviews point at stay where they were (the language server
/// reads a modeline from any comment line).
pub fn modeline(path: &str) -> Option<String> {
    if !path.starts_with("catalog/") {
        return None;
    }
    let schema = for_path(path)?;
    let up = "../".repeat(path.matches('/').count());
    Some(format!("# yaml-language-server: $schema={up}{DIR}/{}", schema.file_name()))
}

/// `text` with `path`'s modeline added as its last line, unless it has a modeline already (or
/// the file gets none).
pub fn with_modeline(path: &str, text: &str) -> String {
    match modeline(path) {
        Some(line) if !text.lines().any(|l| l.starts_with("# yaml-language-server:")) => {
            let sep = if text.is_empty() || text.ends_with('\n') { "" } else { "\n" };
            format!("{text}{sep}{line}\n")
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_modelines() {
        assert_eq!(for_path("catalog/vend.yaml").map(|s| s.name), Some("vend"));
        assert_eq!(for_path("catalog/pipelines/a/b.yaml").map(|s| s.name), Some("pipeline-request"));
        assert_eq!(
            for_path("blueprints/pipelines/p/v1/blueprint.yaml").map(|s| s.name),
            Some("pipeline-blueprint")
        );
        assert!(for_path("catalog/policies/x.json").is_none());
        assert_eq!(
            modeline("catalog/accounts/a.yaml").as_deref(),
            Some("# yaml-language-server: $schema=../../.vend/schemas/account-request.schema.json")
        );
        assert_eq!(
            modeline("catalog/vend.yaml").as_deref(),
            Some("# yaml-language-server: $schema=../.vend/schemas/vend.schema.json")
        );
        assert!(modeline("blueprints/accounts/w/v1.yaml").is_none());
        let once = with_modeline("catalog/vend.yaml", "region: x");
        assert_eq!(once, "region: x\n# yaml-language-server: $schema=../.vend/schemas/vend.schema.json\n");
        assert_eq!(with_modeline("catalog/vend.yaml", &once), once);
        assert_eq!(with_modeline("blueprints/accounts/w/v1.yaml", "ou: x\n"), "ou: x\n");
    }

    #[test]
    fn strict_objects_and_draft() {
        for s in SCHEMAS {
            let v = s.schema();
            assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema", "{}", s.name);
            assert_eq!(v["additionalProperties"], false, "{}", s.name);
        }
    }
}
