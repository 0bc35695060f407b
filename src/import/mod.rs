//! `vend import` (issue 15): the workspace an existing organization is, such that the first
//! plan only adopts (takes ownership: tags, a version's recorded hash) and the re-plan after
//! applying it is empty. Pure: a `State` and the template bodies of its product versions in,
//! file paths and bytes plus a `Report` out; the same organization always gives the same bytes.
//!
//! What is written: `catalog/vend.yaml`; `catalog/organization.yaml` (the OU tree, each
//! target's customer SCPs; AWS-managed policies are left alone as vend always does);
//! `catalog/policies/<name>.json` (documents as AWS returns them: declaring the identical
//! document adopts the policy); one `lifecycle: adopt` request per account (the management
//! account is `management_account`/`protected` in vend.yaml instead), each through an account
//! blueprint inferred per (OU, account-level SCPs) with the tags its accounts share; the
//! Service Catalog part in `catalog.rs`.
//!
//! What cannot be represented is left out *whole* and said in the report with the reason —
//! never half: a portfolio written without one of its shares would plan that share's deletion.
//! This module must not do I/O; the flow (`flow::import`) reads the state and the templates
//! and writes the files.

mod catalog;
mod files;

use crate::model::{Account, BLUEPRINT_TAG, PIPELINES_TAG, State};
use files::{
    AccountBlueprintYaml, AccountRequestYaml, BlueprintTags, OrganizationYaml, Taken, Value, VendYaml,
    file_safe, slug, yaml,
};
use std::collections::{BTreeMap, BTreeSet};

const SCP: &str = "SERVICE_CONTROL_POLICY";
const OWNER_TAG: &str = "vend:owner";
/// The longest key vend makes from a name (room for `-<account id>` within 50 characters).
const KEY_MAX: usize = 36;

/// What to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace's region (`vend.yaml`).
    pub region: String,
    /// Import only this OU and what is below it (`--ou PATH`).
    pub ou: Option<String>,
    /// The ownership tag the workspace uses.
    pub ownership_tag: String,
}

/// The files to write (workspace-relative path -> bytes) and what the import says about them.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub files: BTreeMap<String, Vec<u8>>,
    pub report: Report,
}

/// What `vend import` reports. `left_out` non-empty makes the command exit 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// One line per kind: how many were written.
    pub counts: Vec<String>,
    /// Names that became other file names or keys (not file-safe, or a collision).
    pub renamed: Vec<String>,
    /// Values AWS never returns (NoEcho parameters), written as placeholders to fill in.
    pub fill_in: Vec<String>,
    /// What the first plan will show besides adoptions, and other things worth knowing.
    pub notes: Vec<String>,
    /// What the workspace does not represent, with the reason.
    pub left_out: Vec<LeftOut>,
    /// Written, but the first plan will do more than adopt it (a TAINTED pipeline is repaired).
    pub not_only_adoptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeftOut {
    pub what: String,
    pub reason: String,
}

/// The placeholder written for a NoEcho parameter (AWS returns `****`).
pub use crate::model::FILL_IN;

/// Everything the import decided, shared by the organization and the catalog parts.
struct Importer<'a> {
    s: &'a State,
    opts: &'a Options,
    files: BTreeMap<String, Vec<u8>>,
    report: Report,
    /// OU id -> path, for the OUs vend can name (no `/` in any name on the way).
    ou_path: BTreeMap<&'a str, String>,
    /// Account id -> the key of its request.
    account_key: BTreeMap<&'a str, String>,
    /// Account id -> its parent's path ("" for the root), for the accounts written.
    account_ou: BTreeMap<&'a str, String>,
    /// File names and keys handed out, per folder.
    taken: BTreeMap<&'static str, Taken>,
    /// The folder of the management account's pipeline requests.
    mgmt_folder: String,
}

/// The workspace `state` is, within `opts`. `templates`: template URL -> body, for the
/// product versions whose template could be fetched. Fails only when `--ou` names no OU.
pub fn build(state: &State, templates: &BTreeMap<String, String>, opts: &Options) -> Result<Import, String> {
    let mut im = Importer {
        s: state,
        opts,
        files: BTreeMap::new(),
        report: Report::default(),
        ou_path: BTreeMap::new(),
        account_key: BTreeMap::new(),
        account_ou: BTreeMap::new(),
        taken: BTreeMap::new(),
        mgmt_folder: "management".into(),
    };
    im.ou_paths();
    if let Some(p) = &opts.ou
        && !im.ou_path.values().any(|x| x == p.trim_matches('/'))
    {
        return Err(format!("--ou {p}: no OU with that path in the organization"));
    }
    im.settings()?;
    let policies = im.policies()?;
    im.organization(&policies)?;
    im.accounts(&policies)?;
    im.catalog(templates)?;
    im.launch_roles();
    Ok(Import { files: im.files, report: im.report })
}

impl<'a> Importer<'a> {
    fn left_out(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.report.left_out.push(LeftOut { what: what.into(), reason: reason.into() });
    }

    /// Add a file; a `catalog/` YAML file ends with its schema's modeline (`workspace::schema`),
    /// as the demo's do.
    fn put(&mut self, path: String, bytes: Vec<u8>) {
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => crate::workspace::schema::with_modeline(&path, &text).into_bytes(),
            Err(e) => e.into_bytes(),
        };
        self.files.insert(path, bytes);
    }

    fn taken(&mut self, folder: &'static str) -> &mut Taken {
        self.taken.entry(folder).or_default()
    }

    /// The scope `--ou` names, without slashes around it.
    fn scope(&self) -> Option<&str> {
        self.opts.ou.as_deref().map(|p| p.trim_matches('/'))
    }

    /// Is the OU at `path` ("" = root) inside the imported scope?
    fn in_scope(&self, path: &str) -> bool {
        match self.scope() {
            None => true,
            Some(p) => path == p || path.starts_with(&format!("{p}/")),
        }
    }

    fn ou_paths(&mut self) {
        let s = self.s;
        let by_id: BTreeMap<&str, &crate::model::OrgUnit> =
            s.organizational_units.iter().map(|o| (o.id.as_str(), o)).collect();
        for ou in &s.organizational_units {
            let mut names = vec![];
            let mut at = ou;
            let mut ok = true;
            loop {
                if crate::workspace::rules::ou_name(&at.name).is_err() || names.len() > 8 {
                    ok = false;
                    break;
                }
                names.push(at.name.as_str());
                if at.parent_id == s.organization.root_id {
                    break;
                }
                match by_id.get(at.parent_id.as_str()) {
                    Some(p) => at = p,
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                names.reverse();
                self.ou_path.insert(ou.id.as_str(), names.join("/"));
            }
        }
        let mut bad: Vec<(String, String)> = s
            .organizational_units
            .iter()
            .filter(|o| !self.ou_path.contains_key(o.id.as_str()))
            .filter(|o| crate::workspace::rules::ou_name(&o.name).is_err())
            .map(|o| (format!("OU '{}' ({}) and everything below it", o.name, o.id), o.name.clone()))
            .collect();
        bad.sort();
        for (what, name) in bad {
            let reason = match crate::workspace::rules::ou_name(&name) {
                Err(e) => format!("its name {e}"),
                Ok(()) => "its parent cannot be named".into(),
            };
            self.left_out(what, reason);
        }
    }

    /// The path of a parent id: "" for the root, the OU's path, or `None` (unnameable).
    fn parent_path(&self, parent_id: &str) -> Option<String> {
        if parent_id == self.s.organization.root_id {
            Some(String::new())
        } else {
            self.ou_path.get(parent_id).cloned()
        }
    }

    fn settings(&mut self) -> Result<(), String> {
        let mgmt = self.s.organization.management_account_id.clone();
        let v = VendYaml {
            region: self.opts.region.clone(),
            management_account: mgmt.clone(),
            template_bucket: crate::model::Settings::default().template_bucket,
            ownership_tag: self.opts.ownership_tag.clone(),
            protected: vec![mgmt.clone()],
            required_approvals: 0,
        };
        let text = yaml("Written by `vend import`: workspace settings (see the README).", &v)?;
        self.put("catalog/vend.yaml".into(), text);
        self.report.notes.push(format!(
            "the management account {mgmt} is `management_account` and `protected` in catalog/vend.yaml (vend never moves, changes or closes it), not an account request"
        ));
        Ok(())
    }

    /// vend's own launch roles (the ownership tag and vend's inline policy) as
    /// `catalog/launch_roles/<role>.json`, so the plan keeps them as they are; roles without
    /// the tag are the user's and need no file (vend uses them as they are).
    fn launch_roles(&mut self) {
        let Some(lp) = self.s.launch_path.as_ref() else { return };
        let mut policies: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for r in &lp.roles {
            if r.tags.get(&self.opts.ownership_tag).is_some_and(|v| v == "true") && !r.policy.is_empty() {
                policies.entry(r.name.as_str()).or_default().insert(r.policy.as_str());
            }
        }
        for (name, docs) in policies {
            match docs.iter().next() {
                Some(doc) if docs.len() == 1 => {
                    let pretty = serde_json::from_str::<serde_json::Value>(doc)
                        .ok()
                        .and_then(|v| serde_json::to_string_pretty(&v).ok())
                        .unwrap_or_else(|| doc.to_string());
                    self.put(format!("catalog/launch_roles/{name}.json"), format!("{pretty}\n").into_bytes());
                }
                _ => self.left_out(
                    format!("launch role {name}"),
                    "vend's role of that name has different policies in different accounts; one file holds one policy",
                ),
            }
        }
    }

    /// The customer SCPs to write: name -> (its targets: "root", OU ids, account ids). With
    /// `--ou`, only those attached nowhere outside the subtree.
    fn policies(&mut self) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
        let s = self.s;
        let mut out = BTreeMap::new();
        let mut other_types: BTreeSet<&str> = BTreeSet::new();
        for p in &s.policies {
            if p.policy_type != SCP {
                other_types.insert(p.policy_type.as_str());
                continue;
            }
            if p.aws_managed {
                continue;
            }
            let targets: BTreeSet<String> = p.target_ids.iter().cloned().collect();
            if self.scope().is_some() {
                let inside = |t: &String| {
                    if t == &s.organization.root_id {
                        return false;
                    }
                    let ou = self.ou_path.get(t.as_str()).cloned().or_else(|| {
                        s.accounts
                            .iter()
                            .find(|a| &a.id == t && a.id != s.organization.management_account_id)
                            .and_then(|a| self.parent_path(&a.parent_id))
                    });
                    ou.is_some_and(|o| !o.is_empty() && self.in_scope(&o))
                };
                if targets.is_empty() {
                    continue;
                }
                if !targets.iter().all(inside) {
                    if targets.iter().any(inside) {
                        self.left_out(
                            format!("SCP '{}' ({})", p.name, p.id),
                            "it is attached inside and outside the imported OU; its attachments inside stay as they are, unmanaged",
                        );
                    }
                    continue;
                }
            }
            if let Err(e) = crate::workspace::rules::policy_name(&p.name) {
                self.left_out(format!("SCP '{}' ({})", p.name, p.id), format!("its name {e}"));
                continue;
            }
            if targets.contains(&s.organization.management_account_id) {
                self.left_out(
                    format!("SCP '{}' ({})", p.name, p.id),
                    "it is attached to the management account, which has no account request",
                );
                continue;
            }
            self.put(format!("catalog/policies/{}.json", p.name), p.content.clone().into_bytes());
            out.insert(p.name.clone(), targets);
        }
        for t in other_types {
            self.left_out(format!("{t} policies"), "vend manages service control policies only");
        }
        Ok(out)
    }

    /// The customer SCPs attached to `target` (sorted by name).
    fn attached(policies: &BTreeMap<String, BTreeSet<String>>, target: &str) -> Vec<String> {
        policies.iter().filter(|(_, t)| t.contains(target)).map(|(n, _)| n.clone()).collect()
    }

    fn organization(&mut self, policies: &BTreeMap<String, BTreeSet<String>>) -> Result<(), String> {
        let s = self.s;
        let mut org = OrganizationYaml::default();
        if self.scope().is_none() {
            org.root_policies = Self::attached(policies, &s.organization.root_id);
        }
        let mut paths: Vec<(&String, &str)> = self.ou_path.iter().map(|(id, p)| (p, *id)).collect();
        paths.sort();
        let mut count = 0;
        let mut ancestors = 0;
        for (path, id) in paths {
            let inside = self.in_scope(path);
            let above = self.scope().is_some_and(|p| p.starts_with(&format!("{path}/")));
            if !inside && !above {
                continue;
            }
            let Some(ou) = s.organizational_units.iter().find(|o| o.id == id) else { continue };
            let mut unit = &mut org.units;
            let mut names = path.split('/').peekable();
            while let Some(name) = names.next() {
                let u = unit.entry(name.to_string()).or_default();
                if names.peek().is_none() {
                    u.tags = ou
                        .tags
                        .iter()
                        .filter(|(k, _)| **k != self.opts.ownership_tag)
                        .map(|(k, v)| (k.clone(), Value::text(v)))
                        .collect();
                    if inside {
                        u.policies = Self::attached(policies, id);
                    }
                }
                unit = &mut u.units;
            }
            if inside {
                count += 1;
            } else {
                ancestors += 1;
            }
        }
        if ancestors > 0 {
            self.report.notes.push(format!(
                "{ancestors} OU(s) above {} are declared (and adopted) without SCPs: vend manages no SCP on them",
                self.scope().unwrap_or_default()
            ));
        }
        let text = yaml("Written by `vend import`: the OU tree and the customer SCPs on each OU.", &org)?;
        self.put("catalog/organization.yaml".into(), text);
        self.report.counts.push(format!("{count} OUs"));
        self.report.counts.push(format!("{} SCPs", policies.len()));
        Ok(())
    }

    /// An account's tags as a request would carry them: without vend's own.
    fn own_tags<'t>(&self, a: &'t Account) -> impl Iterator<Item = (&'t String, &'t String)> + use<'t, '_> {
        a.tags.iter().filter(move |(k, _)| {
            **k != self.opts.ownership_tag && !matches!(k.as_str(), BLUEPRINT_TAG | OWNER_TAG | PIPELINES_TAG)
        })
    }

    fn accounts(&mut self, policies: &BTreeMap<String, BTreeSet<String>>) -> Result<(), String> {
        let s = self.s;
        let mgmt = &s.organization.management_account_id;
        if let Some(m) = s.accounts.iter().find(|a| &a.id == mgmt) {
            // Pipelines in the management account name it by its AWS name, and sit in a folder
            // named after it: keep both free.
            self.taken("accounts").take(&m.name);
            let folder = self.taken("accounts").bump(&slug(&m.name, KEY_MAX, "management"));
            self.mgmt_folder = folder;
        }
        // A share naming an existing account request is an account share (workspace::portfolios):
        // a key equal to a top-level OU's name, or `organization`, would turn an OU share into one.
        self.taken("accounts").take("organization");
        let tops: Vec<String> = self.ou_path.values().filter(|p| !p.contains('/')).cloned().collect();
        for t in tops {
            self.taken("accounts").take(&t);
        }
        // Which accounts, and under which (OU, account-level SCPs) group.
        let mut groups: BTreeMap<(String, Vec<String>), Vec<&'a Account>> = BTreeMap::new();
        for a in &s.accounts {
            if &a.id == mgmt {
                continue;
            }
            let Some(path) = self.parent_path(&a.parent_id) else {
                if self.scope().is_none() {
                    self.left_out(
                        format!("account '{}' ({})", a.name, a.id),
                        "its OU cannot be named (see the OU left out)",
                    );
                }
                continue;
            };
            if !self.in_scope(&path) || (self.scope().is_some() && path.is_empty()) {
                continue;
            }
            let problem =
                crate::workspace::rules::account_name(&a.name).map_err(|e| format!("its name {e}")).and_then(
                    |()| crate::workspace::rules::email(&a.email).map_err(|e| format!("its e-mail {e}")),
                );
            if let Err(reason) = problem {
                self.left_out(format!("account '{}' ({})", a.name, a.id), reason);
                continue;
            }
            // vend adds its ownership and blueprint tags (and vend:owner when there is one).
            let vend_tags = 2 + usize::from(a.tags.contains_key(OWNER_TAG));
            if self.own_tags(a).count() + vend_tags > crate::workspace::MAX_TAGS {
                self.left_out(
                    format!("account '{}' ({})", a.name, a.id),
                    format!(
                        "with vend's own tags it would carry more than {} tags, AWS's limit",
                        crate::workspace::MAX_TAGS
                    ),
                );
                continue;
            }
            groups.entry((path, Self::attached(policies, &a.id))).or_default().push(a);
        }
        // Keys, in account id order (deterministic), before any file is named.
        let mut all: Vec<&'a Account> = groups.values().flatten().copied().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        for a in &all {
            let base =
                if file_safe(&a.name, 50) { a.name.clone() } else { slug(&a.name, KEY_MAX, "account") };
            let key = if self.taken("accounts").take(&base) {
                base
            } else {
                let short: String = base.chars().take(KEY_MAX).collect();
                self.taken("accounts").bump(&format!("{}-{}", short.trim_end_matches('-'), a.id))
            };
            if key != a.name {
                let why = if file_safe(&a.name, 50) {
                    "another account, a top-level OU or a reserved word has that name"
                } else {
                    "its name is not a file name"
                };
                self.report.renamed.push(format!(
                    "account '{}' ({}) -> catalog/accounts/{key}.yaml, `account_name: {}` ({why})",
                    a.name, a.id, a.name
                ));
            }
            self.account_key.insert(a.id.as_str(), key);
        }
        let mut blueprints = 0;
        let mut suspended = 0;
        for ((path, scps), members) in &groups {
            let base = if path.is_empty() { "root".to_string() } else { slug(path, KEY_MAX, "ou") };
            let name = self.taken("account-blueprints").bump(&base);
            blueprints += 1;
            // Tags every account of the group carries with one value are the blueprint's
            // defaults (with two or more accounts); keys all carry are required.
            let first = members[0];
            let mut defaults: BTreeMap<String, String> = BTreeMap::new();
            if members.len() > 1 {
                for (k, v) in self.own_tags(first) {
                    if members.iter().all(|m| m.tags.get(k) == Some(v)) {
                        defaults.insert(k.clone(), v.clone());
                    }
                }
            }
            let required: Vec<String> = self
                .own_tags(first)
                .map(|(k, _)| k.clone())
                .filter(|k| !defaults.contains_key(k) && members.iter().all(|m| m.tags.contains_key(k)))
                .collect();
            let where_ =
                if path.is_empty() { "directly under the root".to_string() } else { format!("in OU {path}") };
            let with = if scps.is_empty() {
                String::new()
            } else {
                format!(", with SCP(s) {} attached to the account itself", scps.join(", "))
            };
            let bp = AccountBlueprintYaml {
                description: format!("Accounts {where_}{with} (written by vend import)"),
                // `{` and `}` are substitution syntax in a blueprint's `ou:`.
                ou: path.replace('{', "{{").replace('}', "}}"),
                policies: scps.clone(),
                tags: BlueprintTags {
                    required,
                    defaults: defaults.iter().map(|(k, v)| (k.clone(), Value::text(v))).collect(),
                },
            };
            let text =
                yaml("Written by `vend import`: an account blueprint inferred from the organization.", &bp)?;
            self.put(format!("blueprints/accounts/{name}/v1.yaml"), text);
            for a in members {
                let key = self.account_key.get(a.id.as_str()).cloned().unwrap_or_else(|| a.name.clone());
                if a.state != "ACTIVE" {
                    suspended += 1;
                }
                let req = AccountRequestYaml {
                    blueprint: format!("{name}@v1"),
                    name: key.clone(),
                    account_name: (key != a.name).then(|| a.name.clone()),
                    email: a.email.clone(),
                    owner: a.tags.get(OWNER_TAG).cloned(),
                    tags: self
                        .own_tags(a)
                        .filter(|(k, v)| defaults.get(*k) != Some(*v))
                        .map(|(k, v)| (k.clone(), Value::text(v)))
                        .collect(),
                    lifecycle: "adopt",
                    reason: format!("Imported from the organization (account {}, {})", a.id, a.state),
                };
                let text = yaml("Written by `vend import`.", &req)?;
                self.put(format!("catalog/accounts/{key}.yaml"), text);
                self.account_ou.insert(a.id.as_str(), path.clone());
            }
        }
        self.report.counts.push(format!(
            "{} accounts ({suspended} suspended or closing: written so that no plan moves, closes or reopens them), {blueprints} account blueprints",
            self.account_key.len()
        ));
        if suspended > 0 {
            self.report.notes.push(format!(
                "{suspended} account(s) are not ACTIVE: their requests say `lifecycle: adopt` and the plan leaves them as they are (warning account-suspended)"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn base() -> State {
        let mut s = State::empty("2026-12-06T00:00:00Z");
        s.organizational_units = vec![
            OrgUnit {
                id: "ou-ab12-aaaaaaaa".into(),
                name: "Work".into(),
                parent_id: "r-a1b2".into(),
                tags: Tags::new(),
            },
            OrgUnit {
                id: "ou-ab12-bbbbbbbb".into(),
                name: "prod".into(),
                parent_id: "ou-ab12-aaaaaaaa".into(),
                tags: Tags::new(),
            },
            OrgUnit {
                id: "ou-ab12-cccccccc".into(),
                name: "Other".into(),
                parent_id: "r-a1b2".into(),
                tags: Tags::new(),
            },
        ];
        for (i, (name, parent)) in
            [("web", "ou-ab12-bbbbbbbb"), ("Web", "ou-ab12-bbbbbbbb"), ("x y", "ou-ab12-cccccccc")]
                .iter()
                .enumerate()
        {
            s.accounts.push(Account {
                id: format!("22222222222{i}"),
                name: name.to_string(),
                email: format!("aws+a{i}@example.com"),
                state: "ACTIVE".into(),
                parent_id: parent.to_string(),
                tags: Tags::new(),
            });
        }
        s.policies.push(Policy {
            id: "p-12345678".into(),
            name: "guard".into(),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
            aws_managed: false,
            content:
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#
                    .into(),
            target_ids: vec!["ou-ab12-bbbbbbbb".into(), "ou-ab12-cccccccc".into()],
            tags: Tags::new(),
        });
        s.normalize();
        s
    }

    fn opts(ou: Option<&str>) -> Options {
        Options { region: "us-east-1".into(), ou: ou.map(String::from), ownership_tag: "vend:managed".into() }
    }

    #[test]
    fn keys_are_file_names_and_collisions_are_resolved_by_id() {
        let im = build(&base(), &BTreeMap::new(), &opts(None)).unwrap();
        let accounts: Vec<&str> =
            im.files.keys().filter(|p| p.starts_with("catalog/accounts/")).map(String::as_str).collect();
        assert_eq!(
            accounts,
            [
                "catalog/accounts/Web-222222222221.yaml",
                "catalog/accounts/web.yaml",
                "catalog/accounts/x-y.yaml"
            ]
        );
        let text = String::from_utf8(im.files["catalog/accounts/x-y.yaml"].clone()).unwrap();
        assert!(text.contains("account_name: x y"), "{text}");
        assert_eq!(im.report.renamed.len(), 2, "{:?}", im.report.renamed);
        assert!(im.report.left_out.is_empty(), "{:?}", im.report.left_out);
        assert_eq!(build(&base(), &BTreeMap::new(), &opts(None)).unwrap(), im, "deterministic");
    }

    #[test]
    fn keys_never_equal_a_top_level_ou_and_stay_within_50_characters() {
        let mut s = base();
        let long = "a".repeat(45);
        for (i, name) in ["Work", long.as_str(), long.as_str()].iter().enumerate() {
            s.accounts.push(Account {
                id: format!("33333333333{i}"),
                name: name.to_string(),
                email: format!("aws+b{i}@example.com"),
                state: "ACTIVE".into(),
                parent_id: "ou-ab12-bbbbbbbb".into(),
                tags: Tags::new(),
            });
        }
        s.normalize();
        let im = build(&s, &BTreeMap::new(), &opts(None)).unwrap();
        let keys: Vec<&str> = im
            .files
            .keys()
            .filter_map(|p| p.strip_prefix("catalog/accounts/")?.strip_suffix(".yaml"))
            .collect();
        assert!(keys.contains(&"Work-333333333330"), "{keys:?}");
        assert!(
            keys.iter().all(|k| k.len() <= 50 && crate::workspace::rules::account_name(k).is_ok()),
            "{keys:?}"
        );
        assert_eq!(keys.iter().filter(|k| k.starts_with("aaaa")).count(), 2, "{keys:?}");
    }

    #[test]
    fn a_subtree_leaves_out_an_scp_attached_outside_it_and_names_an_unknown_path() {
        let im = build(&base(), &BTreeMap::new(), &opts(Some("Work/prod"))).unwrap();
        assert!(!im.files.contains_key("catalog/policies/guard.json"));
        assert!(im.report.left_out.iter().any(|l| l.what.contains("guard")), "{:?}", im.report.left_out);
        assert!(!im.files.keys().any(|p| p.contains("x-y")));
        let org = String::from_utf8(im.files["catalog/organization.yaml"].clone()).unwrap();
        assert!(org.contains("Work:") && org.contains("prod") && !org.contains("Other"), "{org}");
        assert!(build(&base(), &BTreeMap::new(), &opts(Some("Nope"))).is_err());
    }

    #[test]
    fn a_portfolio_with_a_member_the_workspace_cannot_name_is_left_out_whole() {
        let mut s = base();
        s.products.push(Product {
            id: "prod-aaaa".into(),
            name: "p".into(),
            owner: "o".into(),
            tags: Tags::new(),
            versions: vec![ProductVersion {
                id: "pa-aaaa".into(),
                name: "v1".into(),
                active: true,
                guidance: "DEFAULT".into(),
                description: String::new(),
                template_url: "https://b.s3.amazonaws.com/t.yaml".into(),
            }],
        });
        s.portfolios.push(Portfolio {
            id: "port-aaaa".into(),
            name: "pf".into(),
            description: String::new(),
            provider: "x".into(),
            tags: Tags::new(),
            product_ids: vec!["prod-aaaa".into()],
            principals: vec![],
            shares: vec![Share {
                share_type: "ACCOUNT".into(),
                value: "999999999999".into(),
                status: "COMPLETED".into(),
                share_principals: false,
            }],
            launch_constraints: vec![],
        });
        let templates: BTreeMap<String, String> =
            [("https://b.s3.amazonaws.com/t.yaml".to_string(), "Resources: {}\n".to_string())].into();
        let im = build(&s, &templates, &opts(None)).unwrap();
        assert!(!im.files.contains_key("catalog/portfolios.yaml"));
        assert!(
            !im.files.keys().any(|p| p.starts_with("blueprints/pipelines/")),
            "the orphaned product goes too"
        );
        let what: Vec<&str> = im.report.left_out.iter().map(|l| l.what.as_str()).collect();
        assert!(what.iter().any(|w| w.starts_with("portfolio 'pf'")), "{what:?}");
        assert!(what.iter().any(|w| w.starts_with("product 'p'")), "{what:?}");
    }
}
