//! Who gets into an account (issue 18): an account blueprint's `access:`, `request_access:` and
//! `contacts:`, and a request's own `access:` -> `DesiredAccount::{access, contacts, owned}`.
//! Texts are checked once at the blueprint when they hold no placeholder, else per request after
//! substitution (params, `{name}`, `{owner}`), the message naming the request. Ownership is the
//! union over every version of the blueprint family in the workspace, substituted for the
//! request (an entry that cannot be is skipped there): what vend may delete on the account.

use super::raw::*;
use super::{
    AccountBlueprint, BlueprintAccess, BlueprintContact, BlueprintRequestAccess, Blueprints, Cx, ParamSpec,
    Written, origin, rules,
};
use crate::model::*;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};

/// What a text of `access:`, `request_access:` or `contacts:` names, and so which AWS rule it
/// must follow (see `rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Group,
    PermissionSet,
    /// A field of an alternate contact: `name`, `email`, `phone` or `title`.
    Contact(&'static str),
}

/// A broken text: the diagnostic code, the AWS rule id when one applies, and the reason.
type Problem = (&'static str, Option<&'static str>, String);

impl Field {
    fn what(self) -> String {
        match self {
            Field::Group => "group".into(),
            Field::PermissionSet => "permission set".into(),
            Field::Contact(f) => format!("contact {f}"),
        }
    }

    fn check(self, value: &str) -> Result<(), Problem> {
        match self {
            Field::Group => rules::group_name(value).map_err(|e| ("bad-access", None, e)),
            Field::PermissionSet => rules::permission_set_name(value).map_err(|e| ("bad-access", None, e)),
            Field::Contact(f) => {
                rules::contact_field(f, value).map_err(|(rule, e)| ("bad-contact", Some(rule), e))
            }
        }
    }
}

/// Does `text` hold a placeholder (`{x}`; `{{` is a literal brace)?
fn has_placeholder(text: &str) -> bool {
    rules::substitute(text, &|_| None).is_err()
}

/// What blueprint-side access parsing gives the loader.
pub(super) type BlueprintAccessParts =
    (Vec<BlueprintAccess>, Option<BlueprintRequestAccess>, BTreeMap<String, BlueprintContact>);

impl Cx<'_> {
    /// A written text of a blueprint: its placeholders must be parameters of the version,
    /// `{name}` or `{owner}`; without any it is checked here, once.
    fn written(
        &mut self,
        file: &str,
        s: &Spanned<String>,
        field: Field,
        params: &BTreeMap<String, ParamSpec>,
        ok: &mut bool,
    ) -> Written {
        let at = origin(file, s);
        let known = |k: &str| (k == "name" || k == "owner" || params.contains_key(k)).then(String::new);
        if let Err(unknown) = rules::substitute(&s.value, &known) {
            self.err(
                "unknown-placeholder",
                &at,
                format!("'{{{unknown}}}' is neither a parameter of this blueprint nor {{name}} or {{owner}}"),
            );
            *ok = false;
        } else if let Ok(literal) = rules::substitute(&s.value, &|_| None)
            && let Err(p) = field.check(&literal)
        {
            self.problem(&at, p, format!("{} '{literal}'", field.what()));
            *ok = false;
        }
        Written { text: s.value.clone(), origin: at }
    }

    fn problem(&mut self, at: &Origin, (code, rule, reason): Problem, subject: String) {
        let msg = format!("{subject} {reason}");
        match rule {
            Some(rule) => self.err_rule(rule, code, at, msg),
            None => self.err(code, at, msg),
        }
    }

    /// `access:`, `request_access:` and `contacts:` of an account blueprint version.
    pub(super) fn blueprint_access(
        &mut self,
        file: &str,
        raw: &RawAccountBlueprint,
        params: &BTreeMap<String, ParamSpec>,
        ok: &mut bool,
    ) -> BlueprintAccessParts {
        let mut access: Vec<BlueprintAccess> = vec![];
        for entry in &raw.access {
            let group = self.written(file, &entry.value.group, Field::Group, params, ok);
            let permission_set =
                self.written(file, &entry.value.permission_set, Field::PermissionSet, params, ok);
            if !access
                .iter()
                .any(|a| a.group.text == group.text && a.permission_set.text == permission_set.text)
            {
                access.push(BlueprintAccess { group, permission_set, origin: origin(file, entry) });
            }
        }
        let request_access = raw.request_access.as_ref().map(|r| BlueprintRequestAccess {
            groups: r.value.groups.iter().map(|g| self.written(file, g, Field::Group, params, ok)).collect(),
            permission_sets: r
                .value
                .permission_sets
                .iter()
                .map(|p| self.written(file, p, Field::PermissionSet, params, ok))
                .collect(),
            origin: origin(file, r),
        });
        let mut contacts = BTreeMap::new();
        for (kind, c) in &raw.contacts {
            let at = origin(file, c);
            let contact_type = match rules::contact_type(kind) {
                Ok(t) => t,
                Err(e) => {
                    self.err("bad-contact", &at, e);
                    *ok = false;
                    continue;
                }
            };
            let v = &c.value;
            let contact = BlueprintContact {
                name: self.written(file, &v.name, Field::Contact("name"), params, ok),
                email: self.written(file, &v.email, Field::Contact("email"), params, ok),
                phone: self.written(file, &v.phone, Field::Contact("phone"), params, ok),
                title: self.written(file, &v.title, Field::Contact("title"), params, ok),
                origin: at,
            };
            contacts.insert(contact_type.to_string(), contact);
        }
        (access, request_access, contacts)
    }
}

/// The request's values a blueprint text is filled with.
struct Values<'a> {
    request: &'a str,
    owner: Option<&'a str>,
    params: BTreeMap<String, String>,
}

impl Values<'_> {
    fn lookup(&self, k: &str) -> Option<String> {
        match k {
            "name" => Some(self.request.to_string()),
            "owner" => self.owner.map(str::to_string),
            _ => self.params.get(k).cloned(),
        }
    }

    /// `w` filled, or `None` when it cannot be for this request (ownership skips it).
    fn quiet(&self, w: &Written) -> Option<String> {
        rules::substitute(&w.text, &|k| self.lookup(k)).ok()
    }
}

impl Cx<'_> {
    /// `w` filled for a request and checked when a placeholder made it (or when `always`: the
    /// request's own text); `None` after reporting why it cannot be used.
    fn fill(&mut self, w: &Written, field: Field, v: &Values, always: bool) -> Option<String> {
        match rules::substitute(&w.text, &|k| v.lookup(k)) {
            Ok(text) => {
                if (always || has_placeholder(&w.text))
                    && let Err(p) = field.check(&text)
                {
                    let subject = format!("request '{}': {} '{text}'", v.request, field.what());
                    self.problem(&w.origin, p, subject);
                    return None;
                }
                Some(text)
            }
            Err(k) if k == "owner" && v.owner.is_none() => {
                self.err(
                    "missing-owner",
                    &w.origin,
                    format!(
                        "request '{}' has no owner: {} '{}' uses {{owner}} (add `owner:` to the request)",
                        v.request,
                        field.what(),
                        w.text
                    ),
                );
                None
            }
            Err(k) => {
                self.err(
                    "unknown-placeholder",
                    &w.origin,
                    format!(
                        "request '{}': '{{{k}}}' is neither a parameter, {{name}} nor {{owner}}",
                        v.request
                    ),
                );
                None
            }
        }
    }

    /// The account's access, contacts and ownership from its blueprint version `bp` (one of
    /// `b`'s), the request `raw` and its parameter values (defaults included). `ok` turns false
    /// on any error.
    pub(super) fn account_access(
        &mut self,
        file: &str,
        raw: &RawAccountRequest,
        bp: &AccountBlueprint,
        b: &Blueprints,
        params: &BTreeMap<String, String>,
        ok: &mut bool,
    ) -> (Vec<AccessEntry>, Vec<ContactEntry>, AccessOwnership) {
        let values = Values {
            request: &raw.name.value,
            owner: raw.owner.as_ref().map(|o| o.value.as_str()),
            params: params.clone(),
        };
        let mut access: Vec<AccessEntry> = vec![];
        for a in &bp.access {
            let group = self.fill(&a.group, Field::Group, &values, false);
            let permission_set = self.fill(&a.permission_set, Field::PermissionSet, &values, false);
            match (group, permission_set) {
                (Some(g), Some(p)) => add(&mut access, g, p, &a.origin),
                _ => *ok = false,
            }
        }
        // The request's own entries, each allowed by `request_access:`.
        let allowed = bp.request_access.as_ref().map(|r| {
            let groups: BTreeSet<String> = r.groups.iter().filter_map(|g| values.quiet(g)).collect();
            let sets: BTreeSet<String> = r.permission_sets.iter().filter_map(|p| values.quiet(p)).collect();
            (groups, sets)
        });
        for entry in &raw.access {
            let at = origin(file, entry);
            let own = BlueprintAccess {
                group: Written {
                    text: entry.value.group.value.clone(),
                    origin: origin(file, &entry.value.group),
                },
                permission_set: Written {
                    text: entry.value.permission_set.value.clone(),
                    origin: origin(file, &entry.value.permission_set),
                },
                origin: at.clone(),
            };
            let group = self.fill(&own.group, Field::Group, &values, true);
            let permission_set = self.fill(&own.permission_set, Field::PermissionSet, &values, true);
            let (Some(g), Some(p)) = (group, permission_set) else {
                *ok = false;
                continue;
            };
            let blueprint = format!("{}@{}", bp.name, bp.version);
            let refusal = match &allowed {
                None => {
                    Some(format!("blueprint {blueprint} has no request_access: a request cannot add access"))
                }
                Some((groups, sets)) if !groups.contains(&g) || !sets.contains(&p) => Some(format!(
                    "group '{g}' with permission set '{p}' is not allowed by the request_access of {blueprint} \
                     (groups: {}; permission sets: {})",
                    list(groups),
                    list(sets)
                )),
                Some(_) => None,
            };
            if let Some(why) = refusal {
                self.err("access-not-allowed", &at, format!("request '{}': {why}", raw.name.value));
                *ok = false;
                continue;
            }
            add(&mut access, g, p, &at);
        }
        let mut contacts = vec![];
        for (contact_type, c) in &bp.contacts {
            let name = self.fill(&c.name, Field::Contact("name"), &values, false);
            let email = self.fill(&c.email, Field::Contact("email"), &values, false);
            let phone = self.fill(&c.phone, Field::Contact("phone"), &values, false);
            let title = self.fill(&c.title, Field::Contact("title"), &values, false);
            match (name, email, phone, title) {
                (Some(name), Some(email), Some(phone), Some(title)) => contacts.push(ContactEntry {
                    contact_type: contact_type.clone(),
                    name,
                    email,
                    phone,
                    title,
                    origin: c.origin.clone(),
                }),
                _ => *ok = false,
            }
        }
        let owned = ownership(raw, bp, b, values);
        (access, contacts, owned)
    }
}

/// What vend owns on the account: over every version of `bp`'s blueprint family, its `access:`
/// pairs, its `request_access:` groups × permission sets (kept as pairs: a union of two
/// versions' lists would own combinations neither allows) and its contact types, each filled
/// with this request's values (another version's defaults for parameters the request leaves
/// out); what cannot be filled is skipped.
fn ownership(
    raw: &RawAccountRequest,
    bp: &AccountBlueprint,
    b: &Blueprints,
    current: Values,
) -> AccessOwnership {
    let mut owned = AccessOwnership::default();
    for version in b.accounts.values().filter(|v| v.name == bp.name) {
        let values = if version.version == bp.version {
            Values { request: current.request, owner: current.owner, params: current.params.clone() }
        } else {
            let mut params: BTreeMap<String, String> =
                raw.params.iter().map(|(k, v)| (k.clone(), v.value.as_text())).collect();
            for (k, spec) in &version.params {
                if let Some(d) = &spec.default {
                    params.entry(k.clone()).or_insert_with(|| d.clone());
                }
            }
            Values { request: current.request, owner: current.owner, params }
        };
        for a in &version.access {
            if let (Some(g), Some(p)) = (values.quiet(&a.group), values.quiet(&a.permission_set)) {
                owned.pairs.insert((g, p));
            }
        }
        if let Some(r) = &version.request_access {
            let groups: Vec<String> = r.groups.iter().filter_map(|g| values.quiet(g)).collect();
            let sets: Vec<String> = r.permission_sets.iter().filter_map(|p| values.quiet(p)).collect();
            for g in &groups {
                for p in &sets {
                    owned.pairs.insert((g.clone(), p.clone()));
                }
            }
        }
        owned.contact_types.extend(version.contacts.keys().cloned());
    }
    owned
}

/// Add an entry unless the same pair is there already (the first one written stays).
fn add(access: &mut Vec<AccessEntry>, group: String, permission_set: String, at: &Origin) {
    if !access.iter().any(|a| a.group == group && a.permission_set == permission_set) {
        access.push(AccessEntry { group, permission_set, origin: at.clone() });
    }
}

fn list(items: &BTreeSet<String>) -> String {
    if items.is_empty() { "none".into() } else { items.iter().cloned().collect::<Vec<_>>().join(", ") }
}

#[cfg(test)]
mod tests {
    use super::super::{Files, load};
    use crate::model::{Desired, Diagnostic, Severity};

    const V1: &str = "ou: Team\n\
        access:\n  - { group: '{owner}_admins', permission_set: AdministratorAccess }\n\
        contacts:\n  security: { name: Security Team, email: '{owner}@example.com', phone: '+1 555 0100', title: SecOps }\n";
    const V2: &str = "ou: Team\n\
        params:\n  stage: { default: dev }\n\
        access:\n  - { group: platform_readonly, permission_set: ReadOnlyAccess }\n\
        \x20 - { group: platform_readonly, permission_set: ReadOnlyAccess }\n\
        request_access:\n  groups: ['{owner}_devs', '{stage}_ops']\n  permission_sets: [PowerUserAccess]\n";

    fn load_with(request: &str) -> (Desired, Vec<Diagnostic>) {
        let mut f = Files::default();
        for (path, text) in [
            ("catalog/vend.yaml", "region: us-east-1\n"),
            ("catalog/organization.yaml", "units:\n  Team: {}\n"),
            ("blueprints/accounts/team/v1.yaml", V1),
            ("blueprints/accounts/team/v2.yaml", V2),
            ("catalog/accounts/app.yaml", request),
        ] {
            f.entries.insert(path.into(), text.as_bytes().to_vec());
        }
        let loaded = load(&f);
        (loaded.desired, loaded.diagnostics)
    }

    fn errors(diags: &[Diagnostic]) -> Vec<(String, String)> {
        diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                (d.code.clone(), format!("{}:{}", d.file.clone().unwrap_or_default(), d.line.unwrap_or(0)))
            })
            .collect()
    }

    #[test]
    fn an_older_version_s_entries_and_the_request_s_own_stay_owned() {
        let (desired, diags) = load_with(
            "blueprint: team@v2\nname: app\nemail: aws+app@example.com\nowner: alice\n\
             access:\n  - { group: '{owner}_devs', permission_set: PowerUserAccess }\n",
        );
        assert_eq!(errors(&diags), vec![]);
        let app = &desired.accounts["app"];
        let access: Vec<(&str, &str, String)> = app
            .access
            .iter()
            .map(|a| {
                (a.group.as_str(), a.permission_set.as_str(), format!("{}:{}", a.origin.file, a.origin.line))
            })
            .collect();
        // The blueprint's entry once (written twice), then the request's, each where it was written.
        assert_eq!(
            access,
            vec![
                ("platform_readonly", "ReadOnlyAccess", "blueprints/accounts/team/v2.yaml:5".to_string()),
                ("alice_devs", "PowerUserAccess", "catalog/accounts/app.yaml:6".to_string()),
            ]
        );
        // v2 declares no contacts: none desired, but v1's security contact type stays vend's.
        assert!(app.contacts.is_empty());
        assert!(app.owned.contact_types.contains("SECURITY"));
        // v1's access, filled with this request's owner, is still owned (removal deletes it).
        assert!(app.owned.owns("alice_admins", "AdministratorAccess"));
        assert!(app.owned.owns("platform_readonly", "ReadOnlyAccess"));
        // request_access: every allowed group x permission set, filled for this request (the
        // v2 default of `stage`), and nothing else.
        assert!(app.owned.owns("alice_devs", "PowerUserAccess"));
        assert!(app.owned.owns("dev_ops", "PowerUserAccess"));
        assert!(!app.owned.owns("alice_devs", "AdministratorAccess"));
        assert!(!app.owned.owns("bob_admins", "AdministratorAccess"));
        assert!(!app.owned.owns("platform_readonly", "PowerUserAccess"));
        assert_eq!(
            app.owned.permission_sets().into_iter().collect::<Vec<_>>(),
            ["AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess"]
        );
        assert!(!app.owned.is_empty());
    }

    #[test]
    fn a_version_s_entries_are_filled_for_the_request_that_uses_it() {
        let (desired, diags) =
            load_with("blueprint: team@v1\nname: app\nemail: aws+app@example.com\nowner: carol\n");
        assert_eq!(errors(&diags), vec![]);
        let app = &desired.accounts["app"];
        assert_eq!(app.access.len(), 1);
        assert_eq!((app.access[0].group.as_str(), app.access[0].origin.line), ("carol_admins", 3));
        assert_eq!(app.contacts.len(), 1);
        let c = &app.contacts[0];
        assert_eq!(
            (c.contact_type.as_str(), c.name.as_str(), c.email.as_str(), c.phone.as_str(), c.title.as_str()),
            ("SECURITY", "Security Team", "carol@example.com", "+1 555 0100", "SecOps")
        );
        // v2's request_access is owned for this request too (with v2's default for `stage`).
        assert!(app.owned.owns("carol_devs", "PowerUserAccess"));
        assert!(app.owned.owns("dev_ops", "PowerUserAccess"));
    }

    #[test]
    fn without_an_owner_owner_entries_are_an_error_in_use_and_skipped_in_ownership() {
        let (desired, diags) = load_with("blueprint: team@v1\nname: app\nemail: aws+app@example.com\n");
        let errs = errors(&diags);
        assert!(
            errs.contains(&("missing-owner".into(), "blueprints/accounts/team/v1.yaml:3".into())),
            "{errs:?}"
        );
        assert!(
            errs.contains(&("missing-owner".into(), "blueprints/accounts/team/v1.yaml:5".into())),
            "{errs:?}"
        );
        assert!(diags.iter().any(|d| d.code == "missing-owner" && d.message.contains("request 'app'")));
        assert!(!desired.accounts.contains_key("app"));
        // On v2 (nothing it uses needs an owner) the account loads; {owner} entries are not owned.
        let (desired, diags) = load_with("blueprint: team@v2\nname: app\nemail: aws+app@example.com\n");
        assert_eq!(errors(&diags), vec![]);
        let owned = &desired.accounts["app"].owned;
        assert!(owned.owns("dev_ops", "PowerUserAccess"));
        assert!(owned.pairs.iter().all(|(g, _)| !g.contains('{') && !g.ends_with("_admins")));
    }

    #[test]
    fn request_entries_must_be_allowed_and_well_formed() {
        let (desired, diags) = load_with(
            "blueprint: team@v2\nname: app\nemail: aws+app@example.com\nowner: alice\n\
             access:\n  - { group: '{owner}_devs', permission_set: AdministratorAccess }\n\
             \x20 - { group: '{owner}_devs', permission_set: 'Power User' }\n",
        );
        let errs = errors(&diags);
        assert!(
            errs.contains(&("access-not-allowed".into(), "catalog/accounts/app.yaml:6".into())),
            "{errs:?}"
        );
        assert!(errs.contains(&("bad-access".into(), "catalog/accounts/app.yaml:7".into())), "{errs:?}");
        assert!(!desired.accounts.contains_key("app"));
        // A blueprint without request_access allows none.
        let (_, diags) = load_with(
            "blueprint: team@v1\nname: app\nemail: aws+app@example.com\nowner: alice\n\
             access: [{ group: alice_devs, permission_set: PowerUserAccess }]\n",
        );
        let d = diags.iter().find(|d| d.code == "access-not-allowed").expect("refused");
        assert!(d.message.contains("team@v1 has no request_access"), "{}", d.message);
    }

    #[test]
    fn a_substituted_contact_is_checked_for_the_request() {
        let (desired, diags) =
            load_with("blueprint: team@v1\nname: app\nemail: aws+app@example.com\nowner: 'a b'\n");
        let d = diags.iter().find(|d| d.code == "bad-contact").expect("bad e-mail after substitution");
        assert_eq!((d.file.as_deref(), d.line), (Some("blueprints/accounts/team/v1.yaml"), Some(5)));
        assert!(
            d.message.contains("request 'app'") && d.message.contains("a b@example.com"),
            "{}",
            d.message
        );
        assert_eq!(d.rule.as_deref(), Some("account.contact-email"));
        assert!(!desired.accounts.contains_key("app"));
    }
}
