//! The organization part of a workspace: the SCP documents in `policies/` and their size
//! limits, `catalog/organization.yaml` (OUs, their depth, tags and attached SCPs, the root's
//! SCPs) and the tag rules shared by every file. It does not read accounts, pipelines or
//! portfolios.

use super::raw::*;
use super::{
    Cx, MAX_OU_DEPTH, MAX_POLICY_BYTES, MAX_SCPS_PER_TARGET, ORGANIZATION, origin, rules, stem, yaml,
};
use crate::model::*;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

impl Cx<'_> {
    pub(super) fn policies(&mut self) {
        let files = self.files;
        for (path, bytes) in files.folder("catalog/policies/", ".json") {
            let name = stem(path);
            let at = Origin::file(path);
            if let Err(e) = rules::policy_name(&name) {
                self.err("bad-name", &at, format!("policy name '{name}' {e}"));
                continue;
            }
            if bytes.len() > MAX_POLICY_BYTES {
                self.err(
                    "policy-size",
                    &at,
                    format!("SCP document is {} bytes; AWS allows at most {MAX_POLICY_BYTES}", bytes.len()),
                );
            }
            let value: serde_json::Value = match serde_json::from_slice(bytes) {
                Ok(v) => v,
                Err(e) => {
                    let at = Origin::new(path, e.line().max(1) as u32, e.column().max(1) as u32);
                    self.err("policy-json", &at, format!("SCP document is not valid JSON: {e}"));
                    continue;
                }
            };
            if !value.get("Statement").is_some_and(|s| s.is_array() || s.is_object()) {
                self.err("policy-invalid", &at, "SCP document needs a \"Statement\" (object or list)");
                continue;
            }
            if bytes.len() > MAX_POLICY_BYTES {
                continue;
            }
            let content = String::from_utf8_lossy(bytes).into_owned();
            self.desired.policies.insert(name.clone(), DesiredPolicy { name, content, origin: at });
        }
    }

    /// Check a `policies:` list for a target: known, no duplicates, at most five managed.
    pub(super) fn policy_list(&mut self, list: &[Spanned<String>], file: &str, target: &str) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for p in list {
            let at = origin(file, p);
            if !self.desired.policies.contains_key(&p.value) {
                if self.files.get(&format!("catalog/policies/{}.json", p.value)).is_some() {
                    // The document exists but is invalid: already reported there.
                } else {
                    self.err(
                        "unknown-policy",
                        &at,
                        format!("SCP '{}' has no document catalog/policies/{}.json", p.value, p.value),
                    );
                }
                continue;
            }
            if out.contains(&p.value) {
                self.err("duplicate-policy", &at, format!("SCP '{}' is listed twice for {target}", p.value));
                continue;
            }
            out.push(p.value.clone());
        }
        if out.len() > MAX_SCPS_PER_TARGET
            && let Some(first) = list.first()
        {
            self.err(
                "scp-limit",
                &origin(file, first),
                format!(
                    "{target} would have {} SCPs managed by vend; AWS allows at most {MAX_SCPS_PER_TARGET} per target",
                    out.len()
                ),
            );
        }
        out
    }

    pub(super) fn organization(&mut self) {
        let Some(bytes) = self.files.get(ORGANIZATION) else {
            return;
        };
        let Some(raw) = yaml::parse::<RawOrganization>(ORGANIZATION, bytes, &mut self.diags) else {
            self.org_failed = true;
            return;
        };
        self.desired.root_origin = raw
            .root_policies
            .first()
            .map(|p| origin(ORGANIZATION, p))
            .unwrap_or_else(|| Origin::file(ORGANIZATION));
        self.desired.root_policies = self.policy_list(&raw.root_policies, ORGANIZATION, "the root");
        self.units(&raw.units, None, 1);
    }

    fn units(&mut self, units: &BTreeMap<String, Spanned<RawUnit>>, parent: Option<&str>, depth: usize) {
        for (name, unit) in units {
            let at = origin(ORGANIZATION, unit);
            let path = match parent {
                Some(p) => format!("{p}/{name}"),
                None => name.clone(),
            };
            if let Err(e) = rules::ou_name(name) {
                self.err("bad-name", &at, format!("OU name '{name}' {e}"));
                continue;
            }
            if depth > MAX_OU_DEPTH {
                self.err(
                    "ou-depth",
                    &at,
                    format!(
                        "OU '{path}' is {depth} levels below the root; AWS allows at most {MAX_OU_DEPTH}"
                    ),
                );
                continue;
            }
            let policies = self.policy_list(&unit.value.policies, ORGANIZATION, &format!("OU '{path}'"));
            let tags = self.tags_of(ORGANIZATION, &unit.value.tags);
            self.desired.ous.insert(
                path.clone(),
                DesiredOu {
                    path: path.clone(),
                    name: name.clone(),
                    parent: parent.map(str::to_string),
                    tags,
                    policies,
                    origin: at,
                },
            );
            self.units(&unit.value.units, Some(&path), depth + 1);
        }
    }

    /// Validated tags plus vend's ownership tag.
    pub(super) fn tags_of(&mut self, file: &str, raw: &BTreeMap<String, Spanned<String>>) -> Tags {
        let mut tags = Tags::new();
        for (k, v) in raw {
            if let Err(e) = rules::tag(k, &v.value) {
                self.err("bad-tag", &origin(file, v), e);
                continue;
            }
            tags.insert(k.clone(), v.value.clone());
        }
        tags.insert(self.desired.settings.ownership_tag.clone(), "true".into());
        tags
    }
}
