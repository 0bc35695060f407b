//! Organizational units: creating, adopting, renaming (`renamed_from:`) and retagging the
//! declared ones, deleting managed OUs that are no longer declared (only when empty).
//!
//! `renamed_from: <old>` on a declared OU, decided against the state under the OU's parent
//! (found by the parent's own rename, if any): the old name exists and the new one does not →
//! one `rename` change (UpdateOrganizationalUnit: same id, so its accounts, SCP attachments and
//! shares stay); the new name exists → nothing to rename (`renamed-from-done` hints that it can
//! go when nothing names the old path any more); both exist → `rename-conflict`; neither → a
//! plain create. The planner then sees the state's OUs under their new paths, so nothing
//! addressed by the OU's path is recreated.

use super::*;

/// Decide every `renamed_from:` against the state (see the module doc): the OUs to rename, by
/// id, with their desired OU.
pub(super) fn resolve_renames<'a>(
    d: &'a Desired,
    s: &'a State,
    diags: &mut Diagnostics,
) -> BTreeMap<&'a str, &'a DesiredOu> {
    let mut renames = BTreeMap::new();
    if !d.ous.values().any(|o| o.renamed_from.is_some()) {
        return renames;
    }
    let children: BTreeMap<(&str, &str), &OrgUnit> =
        s.organizational_units.iter().map(|o| ((o.parent_id.as_str(), o.name.as_str()), o)).collect();
    let mut ous: Vec<&DesiredOu> = d.ous.values().collect();
    ous.sort_by_key(|o| (o.path.matches('/').count(), o.path.clone()));
    // Desired path -> the id of the state OU it is (after its rename, if any).
    let mut found: BTreeMap<&str, &str> = BTreeMap::new();
    for ou in ous {
        let parent_id = match &ou.parent {
            None => Some(s.organization.root_id.as_str()),
            Some(p) => found.get(p.as_str()).copied(),
        };
        let Some(parent_id) = parent_id else { continue };
        let new = children.get(&(parent_id, ou.name.as_str()));
        let old = ou.renamed_from.as_ref().and_then(|r| children.get(&(parent_id, r.name.as_str())));
        match (new, old, &ou.renamed_from) {
            (Some(n), Some(o), Some(r)) => {
                diags.error(
                    "rename-conflict",
                    &r.origin,
                    format!(
                        "OU '{}' is renamed_from '{}', but both '{}' ({}) and '{}' ({}) exist in the organization; AWS keeps sibling names unique, so vend cannot rename: remove renamed_from, or empty and remove one of them first",
                        ou.path, r.name, r.old_path, o.id, ou.path, n.id
                    ),
                );
                found.insert(&ou.path, &n.id);
            }
            (Some(n), None, Some(r)) => {
                let prefix = format!("{}/", r.old_path);
                let in_use = d.ou_aliases_used.iter().any(|u| u == &r.old_path || u.starts_with(&prefix));
                if !in_use {
                    diags.warning(
                        "renamed-from-done",
                        &r.origin,
                        format!(
                            "OU '{}' already has its new name: renamed_from '{}' changes nothing now, and no blueprint or share names '{}' any more; remove it (an OU created under the old name later would make it a conflict)",
                            ou.path, r.name, r.old_path
                        ),
                    );
                }
                found.insert(&ou.path, &n.id);
            }
            (Some(n), _, None) => {
                found.insert(&ou.path, &n.id);
            }
            (None, Some(o), Some(_)) => {
                found.insert(&ou.path, &o.id);
                renames.insert(o.id.as_str(), ou);
            }
            (None, _, _) => {}
        }
    }
    renames
}

impl<'a> Planner<'a> {
    // ---------------------------------------------------------------- OUs

    pub(super) fn ous(&mut self) {
        let mut ous: Vec<&DesiredOu> = self.d.ous.values().collect();
        ous.sort_by_key(|o| (o.path.matches('/').count(), o.path.clone()));
        for ou in ous {
            let address = Address::ou(&ou.path);
            let parent_path = ou.parent.clone().unwrap_or_default();
            let parent_dep: Vec<Address> = ou.parent.iter().map(|p| Address::ou(p)).collect();
            match self.ou_by_path.get(&ou.path).copied() {
                Some(existing) => {
                    let tags = merge_tags(&existing.tags, &ou.tags);
                    let before = ou_state(existing, &ou.path);
                    let mut after = existing.clone();
                    after.tags = tags.clone();
                    let after = ou_state(&after, &ou.path);
                    if let Some((_, old_path)) = self.renames.get(existing.id.as_str()) {
                        let before = ou_state(existing, old_path);
                        let mut renamed = existing.clone();
                        renamed.name = ou.name.clone();
                        renamed.tags = tags;
                        let takeover = if managed(&existing.tags, self.own) {
                            ""
                        } else {
                            "; exists without the ownership tag, vend takes it over"
                        };
                        self.push(
                            Kind::Ou,
                            address,
                            Action::Rename,
                            Some(before),
                            Some(ou_state(&renamed, &ou.path)),
                            vec![],
                            format!(
                                "renamed_from '{}' in organization.yaml: renamed in place (same id; its accounts, OUs, SCPs and shares stay){takeover}",
                                existing.name
                            ),
                        );
                    } else if !managed(&existing.tags, self.own) {
                        self.push(
                            Kind::Ou,
                            address,
                            Action::Adopt,
                            Some(before),
                            Some(after),
                            vec![],
                            "declared in organization.yaml; exists without the ownership tag, vend takes it over",
                        );
                    } else if tags != existing.tags {
                        self.push(
                            Kind::Ou,
                            address,
                            Action::Update,
                            Some(before),
                            Some(after),
                            vec![],
                            "tags differ",
                        );
                    }
                }
                None => {
                    let parent_id = self.ou_id(&parent_path);
                    self.push(
                        Kind::Ou,
                        address,
                        Action::Create,
                        None,
                        Some(Payload::NewOu(NewOu {
                            id: None,
                            name: ou.name.clone(),
                            parent_id,
                            path: ou.path.clone(),
                            parent: parent_path,
                            tags: ou.tags.clone(),
                        })),
                        parent_dep,
                        "new OU in organization.yaml",
                    );
                }
            }
        }
    }

    // ---------------------------------------------------------------- OU deletes

    pub(super) fn ou_deletes(&mut self) {
        let doomed: Vec<(String, &OrgUnit)> = self
            .ou_by_path
            .iter()
            .filter(|(path, ou)| managed(&ou.tags, self.own) && !self.d.ous.contains_key(*path))
            .map(|(p, o)| (p.clone(), *o))
            .collect();
        let doomed_ids: BTreeSet<&str> = doomed.iter().map(|(_, o)| o.id.as_str()).collect();
        for (path, ou) in &doomed {
            let children: Vec<String> = self
                .s
                .organizational_units
                .iter()
                .filter(|c| c.parent_id == ou.id && !doomed_ids.contains(c.id.as_str()))
                .map(|c| c.name.clone())
                .collect();
            let staying: Vec<String> = self
                .s
                .accounts
                .iter()
                .filter(|a| a.parent_id == ou.id && !self.moved.contains_key(&a.id))
                .map(|a| {
                    if a.state == "ACTIVE" {
                        a.name.clone()
                    } else {
                        format!("{} ({}: closed accounts stay in their OU for 90 days)", a.name, a.state)
                    }
                })
                .collect();
            if !children.is_empty() || !staying.is_empty() {
                let mut what = vec![];
                if !staying.is_empty() {
                    what.push(format!("accounts {}", staying.join(", ")));
                }
                if !children.is_empty() {
                    what.push(format!("OUs {}", children.join(", ")));
                }
                self.diags.push(Diagnostic::error(
                    "ou-not-empty",
                    format!(
                        "OU '{path}' is no longer declared, but it still holds {}; AWS deletes only empty OUs: move them out (or declare the OU again)",
                        what.join(" and ")
                    ),
                ).at(&Origin::file("catalog/organization.yaml")));
                continue;
            }
            self.deleted_ous.insert(path.clone());
            let mut deps: Vec<Address> = self
                .s
                .accounts
                .iter()
                .filter(|a| a.parent_id == ou.id)
                .map(|a| Address::account(self.account_key(a)))
                .collect();
            deps.extend(
                self.s
                    .organizational_units
                    .iter()
                    .filter(|c| c.parent_id == ou.id)
                    .filter_map(|c| self.ou_path.get(c.id.as_str()).map(|p| Address::ou(p))),
            );
            let before = ou_state(ou, path);
            self.push(
                Kind::Ou,
                Address::ou(path),
                Action::Delete,
                Some(before),
                None,
                deps,
                "managed OU no longer in organization.yaml",
            );
        }
    }
}
