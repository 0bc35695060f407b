//! Account requests (`catalog/accounts/*.yaml`) -> `DesiredAccount`s: names, e-mails, OUs,
//! blueprint references and upgrades, parameters, tags and baseline pipelines. It does not
//! check pipeline requests.

use super::raw::*;
use super::{
    AccountBlueprint, Blueprints, Cx, MAX_OU_DEPTH, MAX_TAGS, check_param, group_versions, origin, parse_ref,
    rules, stem, yaml,
};
use crate::model::*;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

impl Cx<'_> {
    pub(super) fn accounts(&mut self, b: &Blueprints) {
        let files = self.files.folder("catalog/accounts/", ".yaml");
        let mut emails: BTreeMap<String, String> = BTreeMap::new();
        // Parse in batches on all cores, then check in file order (bounded memory, stable output).
        for batch in files.chunks(4096) {
            for ((file, _), parsed) in batch.iter().zip(yaml::parse_many::<RawAccountRequest>(batch)) {
                let raw = match parsed {
                    Ok(raw) => raw,
                    Err(d) => {
                        self.diags.push(*d);
                        continue;
                    }
                };
                self.account_request(file, &raw, b, &mut emails);
            }
        }
    }

    fn account_request(
        &mut self,
        file: &str,
        raw: &RawAccountRequest,
        b: &Blueprints,
        emails: &mut BTreeMap<String, String>,
    ) {
        {
            if let Some(a) = self.account(file, raw, b) {
                let key = a.email.to_ascii_lowercase();
                if let Some(other) = emails.get(&key) {
                    self.err(
                        "duplicate-email",
                        &origin(file, &raw.email),
                        format!("e-mail {} is already requested by account '{other}'", a.email),
                    );
                    return;
                }
                emails.insert(key, a.name.clone());
                self.desired.accounts.insert(a.name.clone(), a);
            }
        }
    }

    fn account(&mut self, file: &str, raw: &RawAccountRequest, b: &Blueprints) -> Option<DesiredAccount> {
        let at_name = origin(file, &raw.name);
        let name = raw.name.value.clone();
        let mut ok = true;
        if stem(file) != name {
            self.err(
                "name-mismatch",
                &at_name,
                format!("account name '{name}' must equal the file name '{}'", stem(file)),
            );
            ok = false;
        }
        if let Err(e) = rules::account_name(&name) {
            self.err("bad-account-name", &at_name, format!("account name {e}"));
            ok = false;
        }
        if let Some(aws) = &raw.account_name
            && let Err(e) = rules::account_name(&aws.value)
        {
            self.err("bad-account-name", &origin(file, aws), format!("account_name {e}"));
            ok = false;
        }
        let at_email = origin(file, &raw.email);
        if let Err(e) = rules::email(&raw.email.value) {
            self.err("bad-email", &at_email, format!("e-mail '{}' {e}", raw.email.value));
            ok = false;
        }
        if let Some(ts) = &raw.requested_at
            && ts.value.parse::<jiff::Timestamp>().is_err()
        {
            self.err(
                "bad-timestamp",
                &origin(file, ts),
                format!("requested_at '{}' is not an RFC 3339 time", ts.value),
            );
        }
        let mut bp = self.lookup_account_blueprint(file, &raw.blueprint, b)?;
        if bp.deprecated
            && self.desired.settings.upgrade
            && let Some(newer) = newest_account_blueprint(b, &bp.name).filter(|n| n.version != bp.version)
        {
            self.desired
                .upgraded
                .insert(crate::model::Address::account(&name), format!("{}@{}", bp.name, bp.version));
            bp = newer;
        }
        // Parameters: unknown, type, allowed, pattern, required.
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &raw.params {
            let at = origin(file, v);
            let Some(spec) = bp.params.get(k) else {
                self.err(
                    "unknown-param",
                    &at,
                    format!("blueprint {}@{} has no parameter '{k}'", bp.name, bp.version),
                );
                ok = false;
                continue;
            };
            if let Err(e) = check_param(spec, &v.value) {
                self.err(e.0, &at, format!("parameter '{k}' {}", e.1));
                ok = false;
                continue;
            }
            values.insert(k.clone(), v.value.as_text());
        }
        for (k, spec) in &bp.params {
            if !values.contains_key(k) {
                match &spec.default {
                    Some(d) => {
                        values.insert(k.clone(), d.clone());
                    }
                    None => {
                        if !raw.params.contains_key(k) {
                            self.err(
                                "missing-param",
                                &at_name,
                                format!("parameter '{k}' of {}@{} is required", bp.name, bp.version),
                            );
                        }
                        ok = false;
                    }
                }
            }
        }
        let lookup = |k: &str| if k == "name" { Some(name.clone()) } else { values.get(k).cloned() };
        let ou = match rules::substitute(&bp.ou, &lookup) {
            Ok(ou) => ou.trim_matches('/').to_string(),
            Err(_) => return None, // reported with the blueprint, or a missing param above
        };
        if ou.split('/').count() > MAX_OU_DEPTH {
            self.err(
                "ou-depth",
                &bp.ou_origin,
                format!("OU '{ou}' is more than {MAX_OU_DEPTH} levels below the root"),
            );
            ok = false;
        }
        if !ou.is_empty() && !self.desired.has_ou(&ou) && !self.org_failed {
            self.warn(
                "ou-undeclared",
                &bp.ou_origin,
                format!("account '{name}' goes to OU '{ou}', which organization.yaml does not declare; `vend plan` checks that it exists"),
            );
        }
        if let Some(re) = &bp.email_pattern
            && !re.is_match(&raw.email.value)
        {
            self.err(
                "email-pattern",
                &at_email,
                format!(
                    "e-mail '{}' does not match the pattern of {}@{}: {}",
                    raw.email.value,
                    bp.name,
                    bp.version,
                    re.as_str()
                ),
            );
            ok = false;
        }
        // Tags: defaults, then the request's, then vend's own.
        let mut tags = bp.default_tags.clone();
        for (k, v) in &raw.tags {
            let text = v.value.as_text();
            if let Err(e) = rules::tag(k, &text) {
                self.err_rule("organizations.tag-shape", "bad-tag", &origin(file, v), e);
                ok = false;
            }
            tags.insert(k.clone(), text);
        }
        for req in &bp.required_tags {
            if !tags.contains_key(req) {
                self.err(
                    "missing-tag",
                    &at_name,
                    format!("tag '{req}' is required by blueprint {}@{}", bp.name, bp.version),
                );
                ok = false;
            }
        }
        let own = self.desired.settings.ownership_tag.clone();
        tags.insert(own, "true".into());
        tags.insert("vend:blueprint".into(), format!("{}@{}", bp.name, bp.version));
        if let Some(o) = &raw.owner {
            tags.insert("vend:owner".into(), o.value.clone());
        }
        if tags.len() > MAX_TAGS {
            self.err_rule(
                "organizations.tag-count",
                "bad-tag",
                &at_name,
                format!("account would carry {} tags; AWS allows at most {MAX_TAGS}", tags.len()),
            );
            ok = false;
        }
        let lifecycle = match raw.lifecycle.as_ref().map(|l| l.value) {
            None => Lifecycle::Manage,
            Some(RawLifecycle::Adopt) => Lifecycle::Adopt,
            Some(RawLifecycle::Close) => Lifecycle::Close,
        };
        // Baseline pipelines from the blueprint.
        for base in &bp.pipelines {
            let mut params = BTreeMap::new();
            let mut bad = false;
            for (k, (v, at)) in &base.params {
                match rules::substitute(v, &lookup) {
                    Ok(s) => {
                        params.insert(k.clone(), (s, at.clone()));
                    }
                    Err(unknown) => {
                        self.err(
                            "unknown-placeholder",
                            at,
                            format!(
                                "'{{{unknown}}}' is neither a parameter of {}@{} nor {{name}}",
                                bp.name, bp.version
                            ),
                        );
                        bad = true;
                    }
                }
            }
            if bad {
                ok = false;
                continue;
            }
            self.pending_baselines.push((name.clone(), base.clone(), params));
        }
        let policies = bp.policies.iter().map(|(p, _)| p.clone()).collect();
        let (access, contacts, owned) = self.account_access(file, raw, bp, b, &values, &mut ok);
        ok.then(|| DesiredAccount {
            name: name.clone(),
            aws_name: raw.account_name.as_ref().map(|a| a.value.clone()).unwrap_or_else(|| name.clone()),
            email: raw.email.value.clone(),
            owner: raw.owner.as_ref().map(|o| o.value.clone()),
            blueprint: format!("{}@{}", bp.name, bp.version),
            ou,
            tags,
            policies,
            lifecycle,
            origin: at_name.clone(),
            ou_origin: bp.ou_origin.clone(),
            email_origin: at_email.clone(),
            lifecycle_origin: raw
                .lifecycle
                .as_ref()
                .map(|l| origin(file, l))
                .unwrap_or_else(|| at_name.clone()),
            requested_at: raw.requested_at.as_ref().map(|r| r.value.clone()),
            access,
            contacts,
            owned,
        })
    }
}

/// The newest version of an account blueprint that is not deprecated (and loaded).
fn newest_account_blueprint<'b>(b: &'b Blueprints, name: &str) -> Option<&'b AccountBlueprint> {
    b.accounts
        .values()
        .filter(|a| a.name == name && !a.deprecated)
        .max_by(|x, y| rules::version_cmp(&x.version, &y.version))
}

impl Cx<'_> {
    fn lookup_account_blueprint<'b>(
        &mut self,
        file: &str,
        r: &Spanned<String>,
        b: &'b Blueprints,
    ) -> Option<&'b AccountBlueprint> {
        let at = origin(file, r);
        let Some((n, v)) = parse_ref(&r.value) else {
            self.err(
                "bad-reference",
                &at,
                format!("blueprint '{}' is not of the form name@version", r.value),
            );
            return None;
        };
        if !b.account_names.contains(n) {
            self.err("unknown-blueprint", &at, format!("no account blueprint '{n}' in blueprints/accounts/"));
            return None;
        }
        if !b.account_versions.contains(&(n.to_string(), v.to_string())) {
            let known = group_versions(&b.account_versions).remove(n).unwrap_or_default();
            self.err(
                "unknown-version",
                &at,
                format!("account blueprint '{n}' has no version '{v}' (has: {})", known.join(", ")),
            );
            return None;
        }
        // A version that exists but failed to load was reported in its own file.
        b.accounts.get(&(n.to_string(), v.to_string()))
    }
}
