//! The launch path (issue 14): what AWS needs before a vended account can run its first
//! pipeline that is neither an Organizations resource nor part of a portfolio — Service
//! Catalog's AWS Organizations access (for shares to the organization or an OU) and the bucket
//! the product templates are uploaded to. Each is a change of its own, and what needs it
//! depends on it. A state without `launch_path` (written before vend modelled it) plans none of
//! this (`State::launch_path`).

use super::*;

/// Service Catalog's service principal, as `service_access:servicecatalog` names it.
const CATALOG: &str = "servicecatalog";
const CATALOG_PRINCIPAL: &str = "servicecatalog.amazonaws.com";
/// The default encryption vend sets on its template bucket (SSE-S3: no KMS key the launch role
/// would need to decrypt with).
const SSE_S3: &str = "AES256";

impl<'a> Planner<'a> {
    /// The workspace's template bucket, `{management}` filled in.
    pub(super) fn bucket_name(&self) -> String {
        self.d.settings.template_bucket.replace("{management}", &self.s.organization.management_account_id)
    }

    /// The principals of portfolio `dp`: the workspace's, plus — when the state models the
    /// launch path, the portfolio is shared with the organization or an OU and pipelines are
    /// launched from it — vend's own launching role in member accounts (`member_role` in
    /// `vend.yaml`) as an `IAM_PATTERN`: with principal sharing it reaches every account of the
    /// share, so `ProvisionProduct` as that role finds a launch path there (a `ProductTeam*`
    /// pattern does not match it).
    pub(super) fn portfolio_principals(&self, dp: &DesiredPortfolio) -> Vec<String> {
        let mut principals = dp.principals.clone();
        let through_org = dp.shares.iter().any(|t| !matches!(t, ShareTarget::Account(_)));
        let launches = self.d.pipelines.values().any(|p| dp.products.contains(&p.product));
        if self.s.launch_path.is_some() && through_org && launches {
            let arn = format!("arn:aws:iam:::role/{}", self.d.settings.member_role);
            if !principals.contains(&arn) {
                principals.push(arn);
            }
        }
        principals
    }

    /// Whether a share of `share_type` has principal sharing on: organization and OU shares of a
    /// portfolio with an `IAM_PATTERN` principal (the only shares AWS supports it on), when the
    /// state models the launch path.
    pub(super) fn shares_principals(&self, share_type: &str, principals: &[String]) -> bool {
        self.s.launch_path.is_some()
            && share_type != "ACCOUNT"
            && principals.iter().any(|a| matches!(crate::workspace::rules::principal(a), Ok("IAM_PATTERN")))
    }

    pub(super) fn launch_path(&mut self) {
        let Some(lp) = self.s.launch_path.as_ref() else { return };
        self.catalog_access(lp);
        self.template_bucket();
    }

    /// Make `needs` depend on `on`.
    fn needs(&mut self, needs: &[usize], on: &Address) {
        for &i in needs {
            let deps = &mut self.changes[i].depends_on;
            if !deps.contains(on) {
                deps.push(on.clone());
                deps.sort();
            }
        }
    }

    /// Shares to the organization or an OU need Service Catalog's Organizations access
    /// (rule `servicecatalog.share-org-access`). vend turns it on when a share it creates needs
    /// it and never turns it off (other portfolios of the organization may rely on it).
    fn catalog_access(&mut self, lp: &LaunchPath) {
        let shares: Vec<usize> = self
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.kind == Kind::PortfolioShare
                    && matches!(c.action, Action::Create | Action::Replace)
                    && matches!(&c.after, Some(Payload::Share(s)) if s.share_type != "ACCOUNT")
            })
            .map(|(i, _)| i)
            .collect();
        let status = lp.servicecatalog_organizations_access.as_str();
        if shares.is_empty() || status == ACCESS_ENABLED {
            return;
        }
        let address = Address::service_access(CATALOG);
        let reason = if status == "UNDER_CHANGE" {
            "Service Catalog's AWS Organizations access is being changed; apply waits until it is enabled"
        } else {
            "shares to the organization or an OU need Service Catalog's AWS Organizations access"
        };
        self.push(
            Kind::ServiceAccess,
            address.clone(),
            Action::Create,
            None,
            Some(Payload::ServiceAccess(ServiceAccessState {
                service: CATALOG_PRINCIPAL.into(),
                status: ACCESS_ENABLED.into(),
            })),
            vec![],
            reason,
        );
        self.needs(&shares, &address);
    }

    /// The bucket product templates are uploaded to: created private (all four block-public-
    /// access settings), encrypted (SSE-S3) and versioned when missing; its settings restored
    /// when a vend-owned bucket drifted; a plan error when the name is held by another account
    /// or by a bucket without the ownership tag (vend never takes over a bucket by its name).
    fn template_bucket(&mut self) {
        if self.d.products.is_empty() {
            return;
        }
        let uploads: Vec<usize> = self
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                matches!(c.kind, Kind::Product | Kind::ProductVersion) && c.action == Action::Create
            })
            .map(|(i, _)| i)
            .collect();
        let name = self.bucket_name();
        let address = Address::template_bucket(&name);
        let settings = Origin::file(crate::workspace::SETTINGS);
        let region = self.d.settings.region.clone();
        let own = self.own.to_string();
        let wanted = |current: Option<&Bucket>| BucketState {
            name: name.clone(),
            region: region.clone(),
            encryption: current
                .map(|b| b.encryption.clone())
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| SSE_S3.into()),
            public_access_blocked: true,
            versioning: true,
            tags: merge_tags(
                &current.map(|b| b.tags.clone()).unwrap_or_default(),
                &[(own.clone(), "true".to_string())].into_iter().collect(),
            ),
        };
        match self.s.bucket(&name) {
            None => {
                self.push(
                    Kind::TemplateBucket,
                    address.clone(),
                    Action::Create,
                    None,
                    Some(Payload::Bucket(wanted(None))),
                    vec![],
                    "product templates are uploaded to this bucket",
                );
                self.needs(&uploads, &address);
            }
            Some(b) if b.owner != "owned" => {
                self.error_rule(
                    "s3.bucket-name-taken",
                    "unmanaged-conflict",
                    &settings,
                    format!("template_bucket '{name}' is taken by another AWS account (S3 bucket names are global): choose another name"),
                );
                self.refused.insert(address);
            }
            Some(b) if !managed(&b.tags, self.own) => {
                self.error(
                    "unmanaged-conflict",
                    &settings,
                    format!(
                        "template_bucket '{name}' exists in this account without vend's ownership tag ({}=true): tag it to let vend manage it, or choose another name",
                        self.own
                    ),
                );
                self.refused.insert(address);
            }
            Some(b) if !b.region.is_empty() && b.region != self.d.settings.region => {
                self.error(
                    "bucket-region",
                    &settings,
                    format!(
                        "template_bucket '{name}' is in {}, but the workspace's region is {}: template URLs name the workspace's region",
                        b.region, self.d.settings.region
                    ),
                );
                self.refused.insert(address);
            }
            Some(b) => {
                let after = wanted(Some(b));
                let before = BucketState::from(b);
                if after.encryption != before.encryption
                    || after.public_access_blocked != before.public_access_blocked
                    || after.versioning != before.versioning
                {
                    let mut drift = vec![];
                    if !b.public_access_blocked {
                        drift.push("public access not blocked");
                    }
                    if b.encryption.is_empty() {
                        drift.push("no default encryption");
                    }
                    if !b.versioning {
                        drift.push("versioning off");
                    }
                    self.push(
                        Kind::TemplateBucket,
                        address.clone(),
                        Action::Update,
                        Some(Payload::Bucket(before)),
                        Some(Payload::Bucket(after)),
                        vec![],
                        format!("bucket settings drifted: {}", drift.join(", ")),
                    );
                    self.needs(&uploads, &address);
                }
            }
        }
    }
}
