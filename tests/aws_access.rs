//! Issue 18 end to end against the project's emulator: the demo organization (with the demo's
//! IAM Identity Center: groups and permission sets) seeded through the SDK, then through the
//! binary `vend --aws plan` / `apply`: the new account is vended with the assignments and the
//! alternate contacts its blueprint declares — checked through the SDK, not vend — and the
//! re-plan is empty; an `access:` entry removed (a new blueprint version) plans and applies the
//! assignment's deletion; a changed contact (another version) is an update.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod emulator_harness;

use aws_sdk_account as account;
use aws_sdk_ssoadmin as sso;
use emulator_harness::seed::{IdentitySeed, rt};
use emulator_harness::workspace::{VendWorkspace, list_accounts, permission_set_named};
use emulator_harness::{Emulator, lock};
use serde_json::Value;
use std::collections::BTreeSet;

/// The account the demo plan creates.
const NEW: &str = "checkout-staging";

/// `(address, action, after)` of the plan's changes of `kind` on account `key`.
fn changes(p: &Value, kind: &str, key: &str) -> Vec<(String, String, Value)> {
    p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .filter(|c| c["address"].as_str().unwrap().starts_with(&format!("{kind}:{key}/")))
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
                c["after"].clone(),
            )
        })
        .collect()
}

/// The groups (display names) holding `permission_set` on `account_id`, through the SDK.
fn assigned(emu: &Emulator, ic: &IdentitySeed, account_id: &str, permission_set: &str) -> BTreeSet<String> {
    let s = sso::Client::new(&emu.sdk_config());
    let by_id: std::collections::BTreeMap<&str, &str> =
        ic.groups.iter().map(|(name, id)| (id.as_str(), name.as_str())).collect();
    rt().block_on(async {
        // A seeded permission set, or one vend created (catalog/permission_sets/), by name.
        let arn = match ic.permission_sets.get(permission_set) {
            Some(arn) => arn.clone(),
            None => {
                let found = permission_set_named(&s, &ic.instance_arn, permission_set).await;
                found.unwrap_or_else(|| panic!("no permission set {permission_set}")).0
            }
        };
        let out = s
            .list_account_assignments()
            .instance_arn(&ic.instance_arn)
            .account_id(account_id)
            .permission_set_arn(&arn)
            .send()
            .await
            .unwrap();
        out.account_assignments()
            .iter()
            .filter_map(|a| a.principal_id())
            .map(|id| by_id.get(id).map(|n| n.to_string()).unwrap_or_else(|| format!("?{id}")))
            .collect()
    })
}

/// The alternate contact `contact_type` of `account_id` through the SDK: (name, email, phone,
/// title), `None` when not set.
fn contact(emu: &Emulator, account_id: &str, contact_type: &str) -> Option<(String, String, String, String)> {
    let a = account::Client::new(&emu.sdk_config());
    rt().block_on(async {
        match a
            .get_alternate_contact()
            .account_id(account_id)
            .alternate_contact_type(account::types::AlternateContactType::from(contact_type))
            .send()
            .await
        {
            Ok(out) => out.alternate_contact().map(|c| {
                let s = |v: Option<&str>| v.unwrap_or_default().to_string();
                (s(c.name()), s(c.email_address()), s(c.phone_number()), s(c.title()))
            }),
            Err(e) if e.as_service_error().is_some_and(|x| x.is_resource_not_found_exception()) => None,
            Err(e) => panic!("GetAlternateContact {account_id} {contact_type}: {e:?}"),
        }
    })
}

/// The request file of `key` and the blueprint file it names (`blueprint: NAME@VERSION`).
fn request_and_blueprint(ws: &VendWorkspace, key: &str) -> (std::path::PathBuf, String, String, String) {
    let request = ws.ws.join(format!("catalog/accounts/{key}.yaml"));
    let text = std::fs::read_to_string(&request).unwrap();
    let bp = text
        .lines()
        .find_map(|l| l.strip_prefix("blueprint:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
        .unwrap();
    let (name, version) = bp.split_once('@').unwrap();
    (request, text, name.to_string(), version.to_string())
}

/// Publish a new version of `key`'s blueprint made by `edit` from its current one, and point
/// the request at it.
fn new_version(ws: &VendWorkspace, key: &str, version: &str, edit: impl Fn(&str) -> String) {
    let (request, text, name, old) = request_and_blueprint(ws, key);
    let dir = ws.ws.join(format!("blueprints/accounts/{name}"));
    let body = std::fs::read_to_string(dir.join(format!("{old}.yaml"))).unwrap();
    let edited = edit(&body);
    assert_ne!(edited, body, "the edit changed nothing");
    std::fs::write(dir.join(format!("{version}.yaml")), edited).unwrap();
    std::fs::write(&request, text.replace(&format!("{name}@{old}"), &format!("{name}@{version}"))).unwrap();
}

#[test]
fn the_demo_vends_its_account_with_access_and_contacts() {
    let (_guard, emu) = lock();
    let (ws, ic) = VendWorkspace::with_demo_identity_center(emu);

    // The plan: the new account's assignments and contacts, and Account Management's trusted
    // access (the demo state has it off, as the seeded organization does).
    let p = ws.plan();
    let assignments = changes(&p, "account_assignment", NEW);
    let contacts = changes(&p, "alternate_contact", NEW);
    assert!(
        !assignments.is_empty() && assignments.iter().all(|(_, a, _)| a == "create"),
        "{assignments:#?}\n{:#}",
        p["diagnostics"]
    );
    assert!(!contacts.is_empty() && contacts.iter().all(|(_, a, _)| a == "create"), "{contacts:#?}");
    assert!(
        p["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["address"] == "service_access:account" && c["action"] == "create"),
        "trusted access for account.amazonaws.com planned"
    );

    common::ok(&ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));

    // Through the SDK: the new account has each planned assignment and contact.
    let id = list_accounts(emu, false).into_iter().find(|a| a.name == NEW).expect("the new account").id;
    for (address, _, after) in &assignments {
        let (group, ps) = (after["group"].as_str().unwrap(), after["permission_set"].as_str().unwrap());
        assert!(assigned(emu, &ic, &id, ps).contains(group), "{address}: not assigned in the emulator");
    }
    for (address, _, after) in &contacts {
        let t = after["type"].as_str().unwrap();
        let want = ["name", "email", "phone", "title"].map(|f| after[f].as_str().unwrap().to_string());
        let got = contact(emu, &id, t).unwrap_or_else(|| panic!("{address}: no contact in the emulator"));
        assert_eq!(got, (want[0].clone(), want[1].clone(), want[2].clone(), want[3].clone()), "{address}");
    }
    ws.assert_empty_replan("after the apply");

    // An access entry of the blueprint removed (a new version without it): its assignment is
    // deleted, the others stay.
    let (_, _, name, version) = request_and_blueprint(&ws, NEW);
    let blueprint =
        std::fs::read_to_string(ws.ws.join(format!("blueprints/accounts/{name}/{version}.yaml"))).unwrap();
    let line_of = |l: &str, g: &str, ps: &str| {
        l.contains(&format!("permission_set: {ps}")) && l.contains(&format!("group: {g}"))
    };
    let (group, ps) = assignments
        .iter()
        .map(|(_, _, a)| {
            (a["group"].as_str().unwrap().to_string(), a["permission_set"].as_str().unwrap().to_string())
        })
        .find(|(g, ps)| blueprint.lines().any(|l| line_of(l, g, ps)))
        .expect("an assignment written literally in the blueprint");
    new_version(&ws, NEW, "v90", |body| {
        let mut removed = false;
        body.lines()
            .filter(|l| {
                let hit = !removed && line_of(l, &group, &ps);
                removed |= hit;
                !hit
            })
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let p = ws.plan();
    let planned: Vec<(String, String)> =
        changes(&p, "account_assignment", NEW).into_iter().map(|(a, x, _)| (a, x)).collect();
    assert_eq!(
        planned,
        [(format!("account_assignment:{NEW}/{group}/{ps}"), "delete".to_string())],
        "{name}: {p:#}"
    );
    common::ok(&ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    assert!(!assigned(emu, &ic, &id, &ps).contains(&group), "{group}/{ps} still assigned");
    for (_, _, after) in &assignments {
        let (g, p) = (after["group"].as_str().unwrap(), after["permission_set"].as_str().unwrap());
        if (g, p) != (group.as_str(), ps.as_str()) {
            assert!(assigned(emu, &ic, &id, p).contains(g), "{g}/{p} was removed too");
        }
    }
    ws.assert_empty_replan("after the deletion");

    // A changed contact (another version with a new title): an update.
    let (_, _, c) = &contacts[0];
    let (t, title) = (c["type"].as_str().unwrap().to_string(), c["title"].as_str().unwrap().to_string());
    let new_title = format!("{title} Lead");
    new_version(&ws, NEW, "v91", |body| {
        body.replacen(&format!("title: {title}"), &format!("title: {new_title}"), 1)
    });
    let p = ws.plan();
    let planned: Vec<(String, String)> =
        changes(&p, "alternate_contact", NEW).into_iter().map(|(a, x, _)| (a, x)).collect();
    assert_eq!(
        planned,
        [(format!("alternate_contact:{NEW}/{}", t.to_lowercase()), "update".to_string())],
        "{p:#}"
    );
    common::ok(&ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    assert_eq!(contact(emu, &id, &t).map(|c| c.3), Some(new_title));
    ws.assert_empty_replan("after the contact update");
}

/// Where IAM Identity Center is read from: in another region than its home, or from a member
/// account before it is registered as delegated administrator, there is no instance (a plan
/// error). Administered from the delegated administrator (`identity_center: delegated_admin` in
/// vend.yaml): vend reaches it through the member role in that account and
/// vends the demo's access there — the assignments are in the organization's instance, listed
/// with the management account's credentials, and the sso-admin writes were not signed by the
/// management account. The emulator refuses the delegated administrator an assignment on the
/// management account (rule `identitycenter.delegated-admin-management-account`), as AWS does.
#[test]
fn a_delegated_administrator_vends_access_but_not_to_the_management_account() {
    let (_guard, emu) = lock();
    let (ws, ic) = VendWorkspace::with_demo_identity_center(emu);
    let conf = emu.sdk_config();
    let mgmt = rt().block_on(async {
        let o = aws_sdk_organizations::Client::new(&conf).describe_organization().send().await.unwrap();
        o.organization().unwrap().master_account_id().unwrap().to_string()
    });
    let admin = list_accounts(emu, false)
        .into_iter()
        .find(|a| a.name == "security-audit")
        .expect("the demo's security-audit account")
        .id;
    let vend_yaml = ws.ws.join("catalog/vend.yaml");
    let settings = std::fs::read_to_string(&vend_yaml).unwrap();
    // Identity Center is read where vend.yaml says: in another region than its home, or from a
    // member account that is not (yet) its delegated administrator, there is no instance — AWS
    // lists none there — and the plan says so instead of vending nothing.
    for identity_center in
        ["{ region: eu-west-1 }".to_string(), format!("{{ delegated_admin: \"{admin}\" }}")]
    {
        std::fs::write(&vend_yaml, format!("{settings}identity_center: {identity_center}\n")).unwrap();
        let out = ws.run(&["plan", "--json"]);
        let p: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", emulator_harness::workspace::describe(&out)));
        assert_eq!(p["applyable"], false, "{identity_center}: {p:#}");
        assert!(
            p["diagnostics"].as_array().unwrap().iter().any(|d| d["code"] == "identity-center-missing"),
            "{identity_center}: {:#}",
            p["diagnostics"]
        );
    }
    rt().block_on(async {
        aws_sdk_organizations::Client::new(&conf)
            .register_delegated_administrator()
            .account_id(&admin)
            .service_principal("sso.amazonaws.com")
            .send()
            .await
            .unwrap();
    });
    std::fs::write(&vend_yaml, format!("{settings}identity_center: {{ delegated_admin: \"{admin}\" }}\n"))
        .unwrap();

    let p = ws.plan();
    let assignments = changes(&p, "account_assignment", NEW);
    assert!(!assignments.is_empty(), "{p:#}");
    let (status, body) = emu.http("POST", "/_vend/faults", r#"{"record": true}"#);
    assert_eq!(status, 200, "{body}");
    common::ok(&ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    let (_, recorded) = emu.http("GET", "/_vend/recorded", "");
    let (status, body) = emu.http("POST", "/_vend/faults", r#"{"record": false}"#);
    assert_eq!(status, 200, "{body}");

    // In the organization's instance, as the management account lists it.
    let id = list_accounts(emu, false).into_iter().find(|a| a.name == NEW).expect("the new account").id;
    for (address, _, after) in &assignments {
        let (group, ps) = (after["group"].as_str().unwrap(), after["permission_set"].as_str().unwrap());
        assert!(assigned(emu, &ic, &id, ps).contains(group), "{address}: not assigned in the emulator");
    }
    // Written from the delegated administrator: vend assumed the member role there, and no
    // CreateAccountAssignment carries the management account's key.
    let recorded: Vec<Value> = serde_json::from_str(&recorded).unwrap();
    let body = |r: &Value| String::from_utf8(hex::decode(r["body_hex"].as_str().unwrap()).unwrap()).unwrap();
    let auth = |r: &Value| {
        r["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "Authorization")
            .map(|h| h[1].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let role = format!("arn%3Aaws%3Aiam%3A%3A{admin}%3Arole%2F");
    assert!(
        recorded.iter().any(|r| r["op"] == "AssumeRole" && body(r).contains(&role)),
        "no AssumeRole into the delegated administrator {admin}"
    );
    let writes: Vec<&Value> = recorded.iter().filter(|r| r["op"] == "CreateAccountAssignment").collect();
    assert_eq!(writes.len(), assignments.len(), "one CreateAccountAssignment per planned assignment");
    for w in writes {
        let a = auth(w);
        assert!(
            a.contains("Credential=") && !a.contains("Credential=testing/"),
            "signed by the management account: {a}"
        );
    }
    ws.assert_empty_replan("after the apply from the delegated administrator");

    // The delegated administrator itself: an assignment on the management account is refused,
    // one on a member account is taken.
    rt().block_on(async {
        let sts = aws_sdk_sts::Client::new(&conf);
        let as_admin =
            emulator_harness::seed::role_conf(&sts, &conf, &admin, "OrganizationAccountAccessRole", "t")
                .await;
        let s = sso::Client::new(&as_admin);
        let (group, ps) = (ic.groups.values().next().unwrap(), ic.permission_sets.values().next().unwrap());
        let assign = |target: &str| {
            s.create_account_assignment()
                .instance_arn(&ic.instance_arn)
                .target_id(target)
                .target_type(sso::types::TargetType::AwsAccount)
                .permission_set_arn(ps)
                .principal_type(sso::types::PrincipalType::Group)
                .principal_id(group)
                .send()
        };
        let refused = assign(&mgmt).await.unwrap_err();
        let e = refused.as_service_error().expect("a service error");
        assert!(e.is_access_denied_exception(), "{refused:?}");
        assign(&admin).await.unwrap();
    });
    let stats = emu.stats();
    assert_eq!(stats["rules"]["identitycenter.delegated-admin-management-account"], 1, "{stats}");
}
