//! Organizational units: creating, adopting and retagging the declared ones, deleting managed
//! OUs that are no longer declared (only when empty).

use super::*;

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
                    if !managed(&existing.tags, self.own) {
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
                .map(|a| Address::account(&a.name))
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
