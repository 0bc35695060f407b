//! The steps of Service Catalog changes: a product created with its first version, versions
//! (their templates put first), portfolio shares (polled until done) and provisioned pipelines
//! (polled through their record).

use super::{Run, missing};
use crate::model::{PIPELINES_TAG, Tags};
use crate::plan::apply_view::*;
use crate::plan::{Action, Change};
use crate::port::{ArtifactSpec, AuditError, Op, Outcome};

impl Run<'_, '_> {
    pub(super) fn artifact(v: &VersionFields) -> ArtifactSpec {
        ArtifactSpec {
            name: v.name.clone().unwrap_or_default(),
            description: v.description.clone().unwrap_or_default(),
            template_url: v.template_url.clone().unwrap_or_default(),
            guidance: v.guidance.clone().unwrap_or_else(|| "DEFAULT".into()),
        }
    }

    pub(super) fn put_template(
        &mut self,
        c: &Change,
        v: &VersionFields,
    ) -> Result<Result<(), String>, AuditError> {
        let url = tri!(v.template_url.clone().ok_or_else(|| missing("template_url", c)));
        let body = tri!(v.template_body.clone().ok_or_else(|| missing("template_body", c)));
        tri!(self.call(c, Op::PutTemplate { url, body })?);
        Ok(Ok(()))
    }

    /// AWS creates a product together with its first version: take the plan's first version
    /// change of this product (they follow the product in the plan) as that version.
    pub(super) fn create_product(&mut self, c: &Change) -> Result<Result<(), String>, AuditError> {
        let p: Sides<ProductFields> = tri!(Sides::of(c));
        let name = p.after.name.clone().unwrap_or_default();
        let Some(first) = self.first_version.get(&name).cloned() else {
            return Ok(Err(format!("{}: a new product needs a version in the same plan", c.address)));
        };
        let v: Sides<VersionFields> = tri!(Sides::of(&first));
        tri!(self.put_template(&first, &v.after)?);
        let op = Op::CreateProduct {
            name: name.clone(),
            owner: p.after.owner.clone().unwrap_or_default(),
            description: p.after.description.clone().unwrap_or_default(),
            tags: p.after.tags.clone(),
            version: Self::artifact(&v.after),
            token: Self::token(c, "product"),
        };
        let out = tri!(self.call(c, op)?);
        self.remember(c, out.id);
        if let Some(a) = out.artifact_id {
            self.ids.insert(first.address.clone(), a);
        }
        Ok(Ok(()))
    }

    pub(super) fn create_version(&mut self, c: &Change) -> Result<Result<(), String>, AuditError> {
        if self.ids.contains_key(&c.address) {
            // Created with its product.
            return Ok(Ok(()));
        }
        let p: Sides<VersionFields> = tri!(Sides::of(c));
        let product_id = tri!(self.resolve(c, p.product()));
        tri!(self.put_template(c, &p.after)?);
        let op = Op::CreateProvisioningArtifact {
            product_id,
            version: Self::artifact(&p.after),
            token: Self::token(c, "version"),
        };
        let out = tri!(self.call(c, op)?);
        self.remember(c, out.id);
        Ok(Ok(()))
    }

    pub(super) fn portfolio_and_product(
        &self,
        c: &Change,
        p: &Sides<MemberFields>,
    ) -> Result<(String, String), String> {
        Ok((self.resolve(c, p.portfolio())?, self.resolve(c, p.product())?))
    }

    pub(super) fn share(
        &mut self,
        c: &Change,
        p: &Sides<MemberFields>,
        create: bool,
    ) -> Result<Result<(), String>, AuditError> {
        let side = if create { &p.after } else { &p.before };
        let target = side.target.clone().unwrap_or_default();
        let share_type = side.member_type.clone().unwrap_or_default();
        let portfolio_id = tri!(self.resolve(c, p.portfolio()));
        let value = match side.value.clone().or_else(|| self.ids.get(target.as_str())) {
            Some(v) => v,
            None => return Ok(Err(format!("{}: the id of {target} is not known", c.address))),
        };
        if !create {
            tri!(self.call(c, Op::DeletePortfolioShare { portfolio_id, share_type, value })?);
            return Ok(Ok(()));
        }
        let share_principals = side.share_principals;
        let op = if c.action == Action::Update {
            Op::UpdatePortfolioShare { portfolio_id, share_type, value, share_principals }
        } else {
            Op::CreatePortfolioShare { portfolio_id, share_type, value, share_principals }
        };
        let name = op.name();
        let out = tri!(self.call(c, op)?);
        let token = tri!(out.id.ok_or_else(|| format!("{}: {name} returned no token", c.address)));
        let done = tri!(self.poll(
            c,
            Op::DescribePortfolioShareStatus { token },
            &["NOT_STARTED", "IN_PROGRESS"]
        )?);
        if done.status.as_deref() != Some("COMPLETED") {
            return Ok(Err(format!("{}: share ended in {}", c.address, done.status.unwrap_or_default())));
        }
        Ok(Ok(()))
    }

    pub(super) fn pipeline_artifact(&self, c: &Change, p: &Sides<PipelineFields>) -> Result<String, String> {
        self.resolve(c, p.artifact()).map_err(|_| {
            let product = p.after.product.clone().unwrap_or_default();
            let version = p.after.version.clone().unwrap_or_default();
            format!("{}: version {product}@{version} is not known", c.address)
        })
    }

    pub(super) fn provision(
        &mut self,
        c: &Change,
        p: &Sides<PipelineFields>,
    ) -> Result<Result<(), String>, AuditError> {
        let account_id = tri!(self.resolve(c, p.account()));
        let product_id = tri!(self.resolve(c, p.product()));
        let artifact_id = tri!(self.pipeline_artifact(c, p));
        if p.after.mark_account == Some(true) {
            let tags = Tags::from([(PIPELINES_TAG.to_string(), "true".to_string())]);
            tri!(self.call(c, Op::TagResource { resource_id: account_id.clone(), tags })?);
        }
        let op = Op::ProvisionProduct {
            account_id,
            name: p.after.name.clone().unwrap_or_default(),
            product_id,
            artifact_id,
            params: p.after.params.clone(),
            tags: p.after.tags.clone(),
            token: Self::token(c, "provision"),
        };
        let out = tri!(self.call(c, op)?);
        tri!(self.wait_record(c, out)?);
        Ok(Ok(()))
    }

    pub(super) fn wait_record(&mut self, c: &Change, out: Outcome) -> Result<Result<(), String>, AuditError> {
        let record_id = tri!(out.id.ok_or_else(|| format!("{}: no record id returned", c.address)));
        let done = tri!(self.poll(
            c,
            Op::DescribeRecord { record_id },
            &["CREATED", "IN_PROGRESS", "IN_PROGRESS_IN_ERROR"]
        )?);
        if done.status.as_deref() != Some("SUCCEEDED") {
            return Ok(Err(format!(
                "{}: provisioning ended in {}: {}",
                c.address,
                done.status.unwrap_or_default(),
                done.result.unwrap_or_default()
            )));
        }
        Ok(Ok(()))
    }
}
