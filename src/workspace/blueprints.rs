//! Blueprints: `blueprints/accounts/` and `blueprints/pipelines/` folders -> validated
//! `AccountBlueprint`s and `PipelineVersion`s (parameter specs, baseline pipelines, CloudFormation
//! template parameters, version hashes). It does not check requests against them.

use super::raw::*;
use super::{
    AccountBlueprint, BaselinePipeline, Blueprints, CfnParam, Cx, ParamSpec, PipelineVersion, origin,
    parse_ref, rules, stem, template_lint, type_check, version_hash, yaml,
};
use crate::model::*;
use regex::Regex;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

impl Cx<'_> {
    pub(super) fn blueprints(&mut self) -> Blueprints {
        let mut b = Blueprints::default();
        let paths: Vec<String> = self.files.entries.keys().cloned().collect();
        for p in &paths {
            let parts: Vec<&str> = p.split('/').collect();
            match parts.as_slice() {
                ["blueprints", "accounts", name, file] if file.ends_with(".yaml") => {
                    let version = stem(file);
                    let at = Origin::file(p);
                    if let Err(e) = rules::key_name(name) {
                        self.err("bad-name", &at, format!("blueprint name '{name}' {e}"));
                        continue;
                    }
                    if let Err(e) = rules::version_name(&version) {
                        self.err("bad-name", &at, format!("version name '{version}' {e}"));
                        continue;
                    }
                    b.account_names.insert(name.to_string());
                    b.account_versions.insert((name.to_string(), version.clone()));
                    if let Some(bp) = self.account_blueprint(p, name, &version) {
                        b.accounts.insert((name.to_string(), version), bp);
                    }
                }
                ["blueprints", "pipelines", name, version, "blueprint.yaml"] => {
                    let at = Origin::file(p);
                    if let Err(e) = rules::key_name(name) {
                        self.err("bad-name", &at, format!("blueprint name '{name}' {e}"));
                        continue;
                    }
                    if let Err(e) = rules::version_name(version) {
                        self.err("bad-name", &at, format!("version name '{version}' {e}"));
                        continue;
                    }
                    b.pipeline_names.insert(name.to_string());
                    b.pipeline_versions.insert((name.to_string(), version.to_string()));
                    if let Some(v) = self.pipeline_version(p, name, version) {
                        b.pipelines.insert((name.to_string(), version.to_string()), v);
                    }
                }
                ["blueprints", "pipelines", name, version, _]
                    if !self
                        .files
                        .entries
                        .contains_key(&format!("blueprints/pipelines/{name}/{version}/blueprint.yaml"))
                        && b.pipeline_versions.insert((name.to_string(), version.to_string())) =>
                {
                    b.pipeline_names.insert(name.to_string());
                    self.err(
                        "missing-file",
                        &Origin::file(format!("blueprints/pipelines/{name}/{version}/blueprint.yaml")),
                        format!("pipeline blueprint {name}@{version} has no blueprint.yaml"),
                    );
                }
                _ => {}
            }
        }
        // Product names must be unique across pipeline blueprints.
        let mut products: BTreeMap<String, String> = BTreeMap::new();
        let mut clashes = vec![];
        for ((name, _), v) in &b.pipelines {
            if let Some(other) = products.get(&v.product) {
                if other != name {
                    clashes.push((v.origin.clone(), v.product.clone(), other.clone()));
                }
            } else {
                products.insert(v.product.clone(), name.clone());
            }
        }
        for (at, product, other) in clashes {
            self.err(
                "duplicate-product",
                &at,
                format!("product name '{product}' is already used by pipeline blueprint '{other}'"),
            );
        }
        b
    }

    fn account_blueprint(&mut self, file: &str, name: &str, version: &str) -> Option<AccountBlueprint> {
        let bytes = self.files.get(file)?;
        let sha256 = super::lock::account_version_hash(bytes);
        let raw: RawAccountBlueprint = yaml::parse(file, bytes, &mut self.diags)?;
        let mut ok = true;
        let mut params = BTreeMap::new();
        for (pname, spec) in &raw.params {
            match self.param_spec(file, pname, spec) {
                Some(s) => {
                    params.insert(pname.clone(), s);
                }
                None => ok = false,
            }
        }
        // Placeholders in `ou` must be declared params or {name}.
        let ou_origin = origin(file, &raw.ou);
        if let Err(unknown) =
            rules::substitute(&raw.ou.value, &|k| (k == "name" || params.contains_key(k)).then(String::new))
        {
            self.err(
                "unknown-placeholder",
                &ou_origin,
                format!("'{{{unknown}}}' is neither a parameter of this blueprint nor {{name}}"),
            );
            ok = false;
        }
        let policies = self.policy_list(&raw.policies, file, &format!("accounts of {name}@{version}"));
        let policies = policies
            .into_iter()
            .map(|p| {
                let at = raw
                    .policies
                    .iter()
                    .find(|s| s.value == p)
                    .map(|s| origin(file, s))
                    .unwrap_or_else(|| Origin::file(file));
                (p, at)
            })
            .collect();
        let mut default_tags = Tags::new();
        for (k, v) in &raw.tags.defaults {
            if let Err(e) = rules::tag(k, &v.value) {
                self.err_rule("organizations.tag-shape", "bad-tag", &origin(file, v), e);
                ok = false;
            }
            default_tags.insert(k.clone(), v.value.clone());
        }
        let email_pattern = self.pattern(
            file,
            raw.email.as_ref().and_then(|e| e.pattern.as_ref()),
            "e-mail pattern",
            &mut ok,
        );
        let mut pipelines = vec![];
        for bp in &raw.pipelines {
            let at = origin(file, bp);
            let p = &bp.value;
            if parse_ref(&p.blueprint.value).is_none() {
                self.err(
                    "bad-reference",
                    &origin(file, &p.blueprint),
                    format!("'{}' is not of the form name@version", p.blueprint.value),
                );
                ok = false;
                continue;
            }
            pipelines.push(BaselinePipeline {
                blueprint: p.blueprint.value.clone(),
                name: p.name.value.clone(),
                params: p
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), (v.value.as_text(), origin(file, v))))
                    .collect(),
                origin: at,
            });
        }
        let (access, request_access, contacts) = self.blueprint_access(file, &raw, &params, &mut ok);
        ok.then(|| AccountBlueprint {
            name: name.to_string(),
            version: version.to_string(),
            file: file.to_string(),
            description: raw.description.unwrap_or_default(),
            params,
            ou: raw.ou.value.clone(),
            ou_origin,
            policies,
            required_tags: raw.tags.required.iter().map(|t| t.value.clone()).collect(),
            default_tags,
            email_pattern,
            pipelines,
            sha256,
            deprecated: raw.deprecated,
            access,
            request_access,
            contacts,
        })
    }

    /// Compile a regular expression written in a blueprint; a bad one is a `bad-pattern` error.
    fn pattern(
        &mut self,
        file: &str,
        p: Option<&Spanned<String>>,
        what: &str,
        ok: &mut bool,
    ) -> Option<Regex> {
        let p = p?;
        match Regex::new(&p.value) {
            Ok(r) => Some(r),
            Err(e) => {
                self.err(
                    "bad-pattern",
                    &origin(file, p),
                    format!("{what} is not a valid regular expression: {e}"),
                );
                *ok = false;
                None
            }
        }
    }

    fn param_spec(&mut self, file: &str, pname: &str, spec: &Spanned<RawParamSpec>) -> Option<ParamSpec> {
        let at = origin(file, spec);
        let s = &spec.value;
        let param_type = s.param_type.unwrap_or(ParamType::String);
        let mut ok = true;
        let pattern =
            self.pattern(file, s.pattern.as_ref(), &format!("pattern of parameter '{pname}'"), &mut ok);
        let allowed = s.allowed.as_ref().map(|a| a.iter().map(Scalar::as_text).collect::<Vec<_>>());
        let default = s.default.as_ref().map(Scalar::as_text);
        if let (Some(d), Some(a)) = (&default, &allowed)
            && !a.contains(d)
        {
            self.err(
                "blueprint-invalid",
                &at,
                format!("default '{d}' of parameter '{pname}' is not among its allowed values"),
            );
            ok = false;
        }
        if let Some(d) = &s.default
            && let Err(e) = type_check(param_type, d)
        {
            self.err("blueprint-invalid", &at, format!("default of parameter '{pname}' {e}"));
            ok = false;
        }
        ok.then(|| ParamSpec {
            description: s.description.clone().unwrap_or_default(),
            param_type,
            allowed,
            default,
            pattern,
        })
    }

    fn pipeline_version(&mut self, file: &str, name: &str, version: &str) -> Option<PipelineVersion> {
        let bytes = self.files.get(file)?;
        let raw: RawPipelineBlueprint = yaml::parse(file, bytes, &mut self.diags)?;
        let template_name =
            raw.template.as_ref().map(|t| t.value.clone()).unwrap_or_else(|| "template.yaml".into());
        let dir = format!("blueprints/pipelines/{name}/{version}");
        let template_file = format!("{dir}/{template_name}");
        let Some(template_bytes) = self.files.get(&template_file).filter(|_| !template_name.contains('/'))
        else {
            let at = raw.template.as_ref().map(|t| origin(file, t)).unwrap_or_else(|| Origin::file(file));
            self.err("missing-file", &at, format!("template file {template_file} does not exist"));
            return None;
        };
        let product = raw.product.as_ref().map(|p| p.value.clone()).unwrap_or_else(|| name.to_string());
        if product.is_empty() || product.chars().count() > 8191 {
            let at = raw.product.as_ref().map(|p| origin(file, p)).unwrap_or_else(|| Origin::file(file));
            self.err_rule(
                "servicecatalog.product-fields",
                "bad-name",
                &at,
                "product name must be 1 to 8191 characters",
            );
            return None;
        }
        let template: RawTemplate = yaml::parse(&template_file, template_bytes, &mut self.diags)?;
        for f in template_lint::lint(&String::from_utf8_lossy(template_bytes)) {
            let at = Origin::new(&template_file, f.line, f.column);
            self.lint_finding(f.code, &at, format!("{name}@{version}: {}", f.message));
        }
        if template.resources.is_none() {
            self.err(
                "template-invalid",
                &Origin::file(&template_file),
                "CloudFormation template has no Resources section",
            );
            return None;
        }
        let mut parameters = BTreeMap::new();
        let mut ok = true;
        for (pname, p) in &template.parameters {
            let v = &p.value;
            if let Some(pat) = &v.allowed_pattern
                && let Err(e) = Regex::new(&format!("^(?:{})$", pat.value))
            {
                self.err(
                    "template-invalid",
                    &origin(&template_file, pat),
                    format!("AllowedPattern of parameter '{pname}' is not a valid regular expression: {e}"),
                );
                ok = false;
            }
            parameters.insert(
                pname.clone(),
                CfnParam {
                    param_type: v.param_type.clone(),
                    default: v.default.as_ref().map(Scalar::as_text),
                    allowed: v.allowed_values.as_ref().map(|a| a.iter().map(Scalar::as_text).collect()),
                    pattern: v.allowed_pattern.as_ref().map(|p| p.value.clone()),
                    min_length: v.min_length,
                    max_length: v.max_length,
                    min_value: v.min_value,
                    max_value: v.max_value,
                    description: v.description.clone().unwrap_or_default(),
                    no_echo: v.no_echo.as_ref().is_some_and(|x| x.as_text().eq_ignore_ascii_case("true")),
                },
            );
        }
        let sha256 = version_hash(&[("blueprint.yaml", bytes), (&template_name, template_bytes)]);
        ok.then(|| PipelineVersion {
            blueprint: name.to_string(),
            version: version.to_string(),
            product,
            owner: raw.owner.value.clone(),
            description: raw.description.clone().unwrap_or_default(),
            template_file,
            template_body: String::from_utf8_lossy(template_bytes).into_owned(),
            parameters,
            sha256,
            origin: Origin::file(file),
        })
    }
}
