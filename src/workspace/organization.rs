//! The organization part of a workspace: the SCP documents in `policies/` and their size
//! limits, `catalog/organization.yaml` (OUs, their depth, tags and attached SCPs, the root's
//! SCPs) and the tag rules shared by every file. It does not read accounts, pipelines or
//! portfolios.

use super::raw::*;
use super::{
    Cx, MAX_OU_DEPTH, MAX_POLICY_BYTES, MAX_ROLE_POLICY_CHARS, MAX_SCPS_PER_TARGET, ORGANIZATION, origin,
    rules, stem, yaml,
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
                self.err_rule(
                    "organizations.policy-name",
                    "bad-name",
                    &at,
                    format!("policy name '{name}' {e}"),
                );
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
            if let Err(e) = rules::scp_document(&value) {
                self.err("policy-invalid", &at, format!("SCP document: {e}"));
                continue;
            }
            if bytes.len() > MAX_POLICY_BYTES {
                continue;
            }
            let content = String::from_utf8_lossy(bytes).into_owned();
            self.desired.policies.insert(name.clone(), DesiredPolicy { name, content, origin: at });
        }
    }

    /// `catalog/launch_roles/<role>.json`: the permission policy of a launch role vend manages
    /// (an IAM policy document; IAM allows 10,240 characters of inline policy per role, not
    /// counting whitespace — IAM User Guide, "IAM and AWS STS quotas").
    pub(super) fn launch_roles(&mut self) {
        let files = self.files;
        for (path, bytes) in files.folder("catalog/launch_roles/", ".json") {
            let name = stem(path);
            let at = Origin::file(path);
            if let Err(e) = rules::role_name(&name) {
                self.err("bad-role", &at, format!("launch role name '{name}' {e}"));
                continue;
            }
            let value: serde_json::Value = match serde_json::from_slice(bytes) {
                Ok(v) => v,
                Err(e) => {
                    let at = Origin::new(path, e.line().max(1) as u32, e.column().max(1) as u32);
                    self.err("policy-json", &at, format!("launch role policy is not valid JSON: {e}"));
                    continue;
                }
            };
            if let Err(e) = rules::iam_policy_document(&value) {
                self.err("policy-invalid", &at, format!("launch role policy: {e}"));
                continue;
            }
            let policy = canonical_json(&value);
            let size = policy.chars().filter(|c| !c.is_whitespace()).count();
            if size > MAX_ROLE_POLICY_CHARS {
                self.err(
                    "policy-size",
                    &at,
                    format!("launch role policy is {size} characters; IAM allows at most {MAX_ROLE_POLICY_CHARS} per role"),
                );
                continue;
            }
            self.desired.launch_roles.insert(name.clone(), DesiredLaunchRole { name, policy, origin: at });
        }
    }

    /// A launch role file no portfolio names: nothing needs the role (vend removes the roles
    /// it created), which is worth a word.
    pub(super) fn unused_launch_roles(&mut self) {
        let used: Vec<String> =
            self.desired.portfolios.values().filter_map(|p| p.launch_role.clone()).collect();
        let unused: Vec<(String, Origin)> = self
            .desired
            .launch_roles
            .values()
            .filter(|r| !used.contains(&r.name))
            .map(|r| (r.name.clone(), r.origin.clone()))
            .collect();
        for (name, at) in unused {
            self.warn(
                "unused-launch-role",
                &at,
                format!("no portfolio has launch_role '{name}': vend creates this role nowhere (and removes the ones it created)"),
            );
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
        self.units(&raw.units, None, None, 1);
    }

    /// The OUs under one parent (`parent`: its path now, `old_parent`: its path before the
    /// renames `renamed_from:` asks for).
    fn units(
        &mut self,
        units: &BTreeMap<String, Spanned<RawUnit>>,
        parent: Option<&str>,
        old_parent: Option<&str>,
        depth: usize,
    ) {
        let mut claimed: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, unit) in units {
            let at = origin(ORGANIZATION, unit);
            let path = match parent {
                Some(p) => format!("{p}/{name}"),
                None => name.clone(),
            };
            if let Err(e) = rules::ou_name(name) {
                self.err_rule("organizations.ou-name", "bad-name", &at, format!("OU name '{name}' {e}"));
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
            let renamed_from = match &unit.value.renamed_from {
                Some(raw) => {
                    if !self.renamed_from(units, &mut claimed, name, &path, raw) {
                        continue;
                    }
                    Some(RenamedFrom {
                        old_path: match old_parent {
                            Some(p) => format!("{p}/{}", raw.value),
                            None => raw.value.clone(),
                        },
                        name: raw.value.clone(),
                        origin: origin(ORGANIZATION, raw),
                    })
                }
                None => None,
            };
            let old_path = match (&renamed_from, old_parent) {
                (Some(r), _) => r.old_path.clone(),
                (None, Some(p)) => format!("{p}/{name}"),
                (None, None) => name.clone(),
            };
            if old_path != path {
                self.desired.ou_aliases.insert(old_path.clone(), path.clone());
            }
            let policies = self.policy_list(&unit.value.policies, ORGANIZATION, &format!("OU '{path}'"));
            let tags = self.tags_of(ORGANIZATION, &unit.value.tags, "organizations.tag-shape");
            self.desired.ous.insert(
                path.clone(),
                DesiredOu {
                    path: path.clone(),
                    name: name.clone(),
                    parent: parent.map(str::to_string),
                    tags,
                    policies,
                    origin: at,
                    renamed_from,
                },
            );
            self.units(&unit.value.units, Some(&path), Some(&old_path), depth + 1);
        }
    }

    /// Check `renamed_from: <old>` on the OU `name` among its `siblings`: an OU name, not the
    /// OU's own, naming no sibling that is still declared, and claimed by one OU only (`claimed`:
    /// old name -> the OU that claimed it). Does it pass?
    fn renamed_from<'u>(
        &mut self,
        siblings: &'u BTreeMap<String, Spanned<RawUnit>>,
        claimed: &mut BTreeMap<&'u str, &'u str>,
        name: &'u str,
        path: &str,
        old: &'u Spanned<String>,
    ) -> bool {
        let at = origin(ORGANIZATION, old);
        let problem = if let Err(e) = rules::ou_name(&old.value) {
            self.err("bad-name", &at, format!("renamed_from of OU '{path}': OU name '{}' {e}", old.value));
            return false;
        } else if old.value == name {
            format!("OU '{path}' is renamed_from its own name '{name}'; remove renamed_from")
        } else if siblings.contains_key(&old.value) {
            format!(
                "OU '{path}' is renamed_from '{}', but an OU '{}' is still declared beside it: a rename leaves no OU of the old name (remove renamed_from, or the other OU)",
                old.value, old.value
            )
        } else if let Some(first) = claimed.get(old.value.as_str()) {
            format!(
                "OUs '{first}' and '{name}' are both renamed_from '{}' under the same parent; only one OU can take over its id",
                old.value
            )
        } else {
            claimed.insert(&old.value, name);
            return true;
        };
        self.err("bad-rename", &at, problem);
        false
    }

    /// Rewrite what names an OU by its path before a `renamed_from:` rename (an account
    /// blueprint's `ou:`, a portfolio share) to the path now, and remember which old paths are
    /// still in use (the planner hints that an unused `renamed_from:` can go once applied).
    pub(super) fn renamed_references(&mut self) {
        if self.desired.ou_aliases.is_empty() {
            return;
        }
        let d = &mut self.desired;
        let mut used = std::collections::BTreeSet::new();
        for a in d.accounts.values_mut() {
            if let Some((new, old)) = renamed_path(&d.ou_aliases, &a.ou) {
                used.insert(old.to_string());
                a.ou = new;
            }
        }
        for p in d.portfolios.values_mut() {
            let mut shares: Vec<ShareTarget> = Vec::with_capacity(p.shares.len());
            for s in std::mem::take(&mut p.shares) {
                let s = match &s {
                    ShareTarget::Ou(path) => match renamed_path(&d.ou_aliases, path) {
                        Some((new, old)) => {
                            used.insert(old.to_string());
                            let renamed = ShareTarget::Ou(new);
                            if let Some(at) = p.share_origins.remove(&s.key()) {
                                p.share_origins.entry(renamed.key()).or_insert(at);
                            }
                            renamed
                        }
                        None => s,
                    },
                    _ => s,
                };
                if !shares.contains(&s) {
                    shares.push(s);
                }
            }
            p.shares = shares;
        }
        d.ou_aliases_used.extend(used);
    }

    /// Validated tags plus vend's ownership tag.
    /// `rule`: the AWS rule on tags of that resource (Organizations' or Service Catalog's).
    pub(super) fn tags_of(
        &mut self,
        file: &str,
        raw: &BTreeMap<String, Spanned<String>>,
        rule: &str,
    ) -> Tags {
        let mut tags = Tags::new();
        for (k, v) in raw {
            if let Err(e) = rules::tag(k, &v.value) {
                self.err_rule(rule, "bad-tag", &origin(file, v), e);
                continue;
            }
            tags.insert(k.clone(), v.value.clone());
        }
        tags.insert(self.desired.settings.ownership_tag.clone(), "true".into());
        tags
    }
}
