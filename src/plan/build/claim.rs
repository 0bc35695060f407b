//! Same-name Service Catalog resources vend does not manage. Service Catalog names are not unique
//! (AWS-NOTES: "match by the ownership tag or a recorded id, not by name alone"), so creating a
//! portfolio or product next to an existing one of the same name without vend's ownership tag
//! would make a second one and move the pipelines launched from it onto the new product
//! (terminate and relaunch). Such a resource is either adopted — `lifecycle: adopt` on the
//! portfolio or product in `portfolios.yaml`, as `lifecycle: adopt` takes over an account — or
//! refused (`unmanaged-conflict`). What depends on a refused one is not planned (`refused`).
//!
//! Adopting is an `adopt` change that adds the ownership tag (and sets the description,
//! provider or owner portfolios.yaml asks for), applied as UpdatePortfolio / UpdateProduct with
//! `AddTags` — "AddTags: The tags to add" (https://docs.aws.amazon.com/goto/WebAPI/servicecatalog/UpdatePortfolio;
//! UpdateProduct has the same parameter) — so the ids, versions and launched pipelines stay.
//! Afterwards it is managed like one vend created, except that versions vend did not publish (no
//! `vend-sha256:` marker) and not listed are never deleted. A listed one is adopted while the
//! product entry keeps `lifecycle: adopt` (`adopt_version`: its description gets the hash of the
//! workspace's files for that version, which is how vend records a version's content), else it
//! is `version-modified` (vend cannot tell what it holds). Provisioned products launched outside
//! vend stay outside unless their pipeline request says `lifecycle: adopt` (`pipelines.rs`: the
//! request is the record; they are never tagged, since a provisioned product's tags change only
//! with an update of its stack).

use super::*;

/// The prefix of a provisioning artifact's description that carries vend's content hash
/// (`vend-sha256:<hex>`): a version without it was not published by vend.
pub(super) use crate::model::VERSION_HASH_MARKER as HASH_MARKER;

pub(super) const ADOPT_PORTFOLIO: &str = "lifecycle: adopt: vend takes over an existing portfolio (adds the ownership tag; from now on its products, principals, shares and launch constraints are what portfolios.yaml lists)";
pub(super) const ADOPT_PRODUCT: &str = "lifecycle: adopt: vend takes over an existing product (adds the ownership tag; its versions vend did not publish are left alone)";

/// What to do about a portfolio or product that no resource carrying the ownership tag matches.
pub(super) enum Claim<'x, T> {
    /// Nothing of that name exists: create it.
    Create,
    /// `lifecycle: adopt` and exactly this one exists: take it over.
    Adopt(&'x T),
    /// Refused with an error (reported): plan nothing for it or what depends on it.
    Refused,
}

impl<'a> Planner<'a> {
    /// Decide between create, adopt and refuse for `address` (`name`), given every existing
    /// resource of its kind as (name, tags, id, resource) and `adopt`, where `lifecycle: adopt`
    /// was written. Adopt with nothing to adopt is `adopt-missing` (as for accounts: vend does
    /// not silently create what the workspace says exists); several same-name candidates are
    /// `ambiguous-portfolio` / `ambiguous-product` naming their ids; a candidate without
    /// `lifecycle: adopt` is `unmanaged-conflict`.
    pub(super) fn claim<'x, T>(
        &mut self,
        address: Address,
        name: &str,
        existing: impl Iterator<Item = (&'x str, &'x Tags, &'x str, &'x T)>,
        at: &Origin,
        adopt: Option<&Origin>,
    ) -> Claim<'x, T> {
        let candidates: Vec<(&str, &T)> = existing
            .filter(|(n, tags, _, _)| *n == name && !managed(tags, self.own))
            .map(|(_, _, id, r)| (id, r))
            .collect();
        let what = address.kind().as_str();
        let ids = candidates.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ");
        match (adopt, candidates.as_slice()) {
            (None, []) => Claim::Create,
            (Some(_), [(_, one)]) => Claim::Adopt(one),
            (None, _) => {
                self.refused.insert(address);
                self.error(
                    "unmanaged-conflict",
                    at,
                    format!(
                        "a {what} named '{name}' already exists and vend does not manage it ({ids}); vend would create a \
                         second one: rename it in portfolios.yaml, or add `lifecycle: adopt` to take the existing {what} over"
                    ),
                );
                Claim::Refused
            }
            (Some(adopt_at), []) => {
                self.refused.insert(address);
                self.error(
                    "adopt-missing",
                    adopt_at,
                    format!(
                        "lifecycle: adopt, but no {what} named '{name}' exists without the ownership tag {}; remove `lifecycle: adopt` to create it",
                        self.own
                    ),
                );
                Claim::Refused
            }
            (Some(adopt_at), several) => {
                self.refused.insert(address);
                self.error(
                    &format!("ambiguous-{what}"),
                    adopt_at,
                    format!(
                        "lifecycle: adopt, but {} {what}s named '{name}' exist without the ownership tag ({ids}); vend cannot tell which one to adopt: rename or delete all but one",
                        several.len()
                    ),
                );
                Claim::Refused
            }
        }
    }
}

impl<'a> Planner<'a> {
    /// `lifecycle: adopt` on a product entry: a listed version `sv` that vend did not publish (no
    /// `vend-sha256:` marker) is taken over by an `adopt` change that writes the hash of the
    /// workspace's files for it into its description (UpdateProvisioningArtifact) and sets the
    /// guidance and active flag portfolios.yaml lists; from then on it is a version vend
    /// published. vend cannot check that the files hold the template the version was created
    /// with: the reason says so. A retired version still in use is refused as for any version.
    pub(super) fn adopt_version(
        &mut self,
        product: &Address,
        dp: &DesiredProduct,
        dv: &DesiredVersion,
        sv: &ProductVersion,
    ) {
        let name = &dp.name;
        if dv.retired {
            let users = self.version_users(name, &dv.name, &sv.id);
            if !users.is_empty() {
                self.error(
                    "version-retired-in-use",
                    &dp.origin,
                    format!(
                        "{name}@{} is listed under retired: but is still used by {}; upgrade them first (`vend plan --upgrade`)",
                        dv.name,
                        users.join(", ")
                    ),
                );
                return;
            }
        }
        let before = version_state(sv, name);
        let after = VersionState {
            description: format!("{HASH_MARKER}{}", dv.sha256),
            guidance: if dv.deprecated { "DEPRECATED" } else { "DEFAULT" }.into(),
            active: !dv.retired,
            ..before.clone()
        };
        self.push(
            Kind::ProductVersion,
            Address::product_version(name, &dv.name),
            Action::Adopt,
            Some(Payload::Version(before)),
            Some(Payload::Version(after)),
            vec![product.clone()],
            format!(
                "lifecycle: adopt: vend takes over a version it did not publish; records the hash of \
                 blueprints/pipelines/{}/{}/ in its description; the files must hold the template of that version",
                dp.blueprint, dv.name
            ),
        );
    }
}
