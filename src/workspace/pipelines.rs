//! Pipeline requests (`catalog/pipelines/*.yaml` and `catalog/pipelines/*/*.yaml`, and the baseline pipelines of account
//! requests) -> desired provisioned products: blueprint references against the published
//! versions, CloudFormation parameters. It does not check account requests.

use super::raw::*;
use super::{Blueprints, CfnParam, Cx, PORTFOLIOS, Published, origin, parse_ref, rules, stem, yaml};
use crate::model::*;
use regex::Regex;
use std::collections::BTreeMap;

/// The AWS rule a launch's parameters meet (`adapter::aws_rules`).
const LAUNCH_PARAMETERS: &str = "servicecatalog.launch-parameters";

impl Cx<'_> {
    pub(super) fn pipelines(&mut self, b: &Blueprints, published: &Published) {
        let files = self.files;
        for (file, bytes) in files.folder_and_subfolders("catalog/pipelines/", ".yaml") {
            let Some(raw) = yaml::parse::<RawPipelineRequest>(file, bytes, &mut self.diags) else {
                continue;
            };
            let at = origin(file, &raw.name);
            if stem(file) != raw.name.value {
                self.err(
                    "name-mismatch",
                    &at,
                    format!("pipeline name '{}' must equal the file name '{}'", raw.name.value, stem(file)),
                );
                continue;
            }
            let account = raw.account.value.clone();
            if !self.desired.accounts.contains_key(&account)
                && self.files.get(&format!("catalog/accounts/{account}.yaml")).is_none()
            {
                self.warn(
                    "account-undeclared",
                    &origin(file, &raw.account),
                    format!("account '{account}' has no request in catalog/accounts/; `vend plan` checks that it exists"),
                );
            }
            let params: BTreeMap<String, (String, Origin)> =
                raw.params.iter().map(|(k, v)| (k.clone(), (v.value.as_text(), origin(file, v)))).collect();
            let bp_at = origin(file, &raw.blueprint);
            let account_at = origin(file, &raw.account);
            self.pipeline(
                b,
                published,
                &raw.blueprint.value,
                &bp_at,
                (&account, &account_at),
                &raw.name.value,
                &params,
                &at,
            );
            if let Some(p) = self.desired.pipelines.get_mut(&format!("{account}/{}", raw.name.value)) {
                p.requested_at = raw.requested_at.as_ref().map(|r| r.value.clone());
                p.adopt = raw.lifecycle.as_ref().map(|l| origin(file, l));
            }
        }
        let baselines = std::mem::take(&mut self.pending_baselines);
        for (account, base, params) in baselines {
            if !self.desired.accounts.contains_key(&account) {
                continue;
            }
            let account_at =
                self.desired.accounts.get(&account).map(|a| a.origin.clone()).unwrap_or_default();
            self.pipeline(
                b,
                published,
                &base.blueprint,
                &base.origin,
                (&account, &account_at),
                &base.name,
                &params,
                &base.origin,
            );
            let requested_at = self.desired.accounts.get(&account).and_then(|a| a.requested_at.clone());
            if let Some(p) = self.desired.pipelines.get_mut(&format!("{account}/{}", base.name)) {
                p.requested_at = requested_at;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pipeline(
        &mut self,
        b: &Blueprints,
        published: &Published,
        blueprint: &str,
        bp_at: &Origin,
        (account, account_at): (&str, &Origin),
        name: &str,
        params: &BTreeMap<String, (String, Origin)>,
        at: &Origin,
    ) {
        let Some((n, v)) = parse_ref(blueprint) else {
            self.err(
                "bad-reference",
                bp_at,
                format!("blueprint '{blueprint}' is not of the form name@version"),
            );
            return;
        };
        if !b.pipeline_names.contains(n) {
            self.err(
                "unknown-blueprint",
                bp_at,
                format!("no pipeline blueprint '{n}' in blueprints/pipelines/"),
            );
            return;
        }
        if !b.pipeline_versions.contains(&(n.to_string(), v.to_string())) {
            self.err("unknown-version", bp_at, format!("pipeline blueprint '{n}' has no version '{v}'"));
            return;
        }
        let Some(mut pv) = b.pipelines.get(&(n.to_string(), v.to_string())) else {
            return;
        };
        let mut v = v;
        let key = crate::model::Address::provisioned_pipeline(account, name);
        if self.desired.settings.upgrade
            && published.get(&pv.product).is_some_and(|(_, dep)| dep.contains(v))
            && let Some(newest) = newest_published(published, &pv.product)
            && rules::version_cmp(&newest, v).is_gt()
            && let Some(newer) = b.pipelines.get(&(n.to_string(), newest))
        {
            self.desired.upgraded.insert(key, format!("{n}@{v}"));
            pv = newer;
            v = &newer.version;
        }
        let ok_published = published.get(&pv.product).is_some_and(|(vs, _)| vs.contains(v));
        if !ok_published {
            self.err(
                "version-unpublished",
                bp_at,
                format!("{n}@{v} is not published: add it to a portfolio's versions in {PORTFOLIOS}"),
            );
            return;
        }
        let mut ok = true;
        for (k, (value, vat)) in params {
            let Some(p) = pv.parameters.get(k) else {
                self.err_rule(
                    LAUNCH_PARAMETERS,
                    "unknown-param",
                    vat,
                    format!(
                        "template of {n}@{v} has no parameter '{k}' (has: {})",
                        pv.parameters.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
                ok = false;
                continue;
            };
            if p.no_echo && value == FILL_IN {
                // `vend import` wrote it: AWS never returns a NoEcho value. The plan refuses
                // to send it (`fill-in-required`); until then it compares as unchanged.
                self.warn(
                    "fill-in",
                    vat,
                    format!(
                        "NoEcho parameter '{k}' is still to be filled in (vend import could not read it)"
                    ),
                );
                continue;
            }
            if let Err((code, msg)) = check_cfn_param(p, value) {
                self.err_rule(LAUNCH_PARAMETERS, code, vat, format!("parameter '{k}' {msg}"));
                ok = false;
            }
        }
        for (k, p) in &pv.parameters {
            if p.default.is_none() && !params.contains_key(k) {
                self.err_rule(
                    LAUNCH_PARAMETERS,
                    "missing-param",
                    at,
                    format!("parameter '{k}' of {n}@{v} has no default and must be given"),
                );
                ok = false;
            }
        }
        if !ok {
            return;
        }
        let key = format!("{account}/{name}");
        if self.desired.pipelines.contains_key(&key) {
            self.err(
                "duplicate-pipeline",
                at,
                format!("pipeline '{name}' is requested twice for account '{account}'"),
            );
            return;
        }
        self.desired.pipelines.insert(
            key,
            DesiredPipeline {
                account: account.to_string(),
                name: name.to_string(),
                product: pv.product.clone(),
                version: v.to_string(),
                // The parameters the stack will have: the given ones, then the template's
                // defaults (CloudFormation reports defaulted parameters too).
                params: pv
                    .parameters
                    .iter()
                    .filter_map(|(k, p)| {
                        params
                            .get(k)
                            .map(|(v, _)| v.clone())
                            .or_else(|| p.default.clone())
                            .map(|v| (k.clone(), v))
                    })
                    .collect(),
                no_echo: pv.parameters.iter().filter(|(_, p)| p.no_echo).map(|(k, _)| k.clone()).collect(),
                origin: at.clone(),
                blueprint_origin: bp_at.clone(),
                account_origin: account_at.clone(),
                requested_at: None,
                adopt: None,
            },
        );
    }
}

/// The newest published version of a product that is neither deprecated nor retired.
fn newest_published(published: &Published, product: &str) -> Option<String> {
    let (versions, deprecated) = published.get(product)?;
    versions.iter().filter(|v| !deprecated.contains(*v)).max_by(|x, y| rules::version_cmp(x, y)).cloned()
}

fn check_cfn_param(p: &CfnParam, value: &str) -> Result<(), (&'static str, String)> {
    if p.param_type == "Number" && value.parse::<f64>().is_err() {
        return Err(("param-type", format!("must be a number, is '{value}'")));
    }
    if let Some(a) = &p.allowed
        && !a.iter().any(|x| x == value)
    {
        return Err(("param-not-allowed", format!("is '{value}'; allowed: {}", a.join(", "))));
    }
    if let Some(pat) = &p.pattern
        && let Ok(re) = Regex::new(&format!("^(?:{pat})$"))
        && !re.is_match(value)
    {
        return Err(("param-pattern", format!("'{value}' does not match AllowedPattern {pat}")));
    }
    if p.min_value.is_some() || p.max_value.is_some() {
        let n: f64 = value.parse().unwrap_or(f64::NAN);
        if n.is_nan() || p.min_value.is_some_and(|m| n < m) || p.max_value.is_some_and(|m| n > m) {
            let show = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            return Err((
                "param-range",
                format!("is {value}; allowed {}..{}", show(p.min_value), show(p.max_value)),
            ));
        }
    }
    let len = value.chars().count() as u32;
    if p.min_length.is_some_and(|m| len < m) || p.max_length.is_some_and(|m| len > m) {
        return Err((
            "param-length",
            format!(
                "is {len} characters; allowed {}..{}",
                p.min_length.unwrap_or(0),
                p.max_length.map(|m| m.to_string()).unwrap_or_default()
            ),
        ));
    }
    Ok(())
}
