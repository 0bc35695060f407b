//! `catalog/permission_sets/<name>.yaml` (issue 18): the IAM Identity Center permission sets vend
//! manages -> `Desired::permission_sets`. The name is the file's stem. Each field is checked
//! against what IAM Identity Center accepts (SSO Admin API reference, CreatePermissionSet,
//! PutInlinePolicyToPermissionSet; IAM Identity Center User Guide, "Quotas"), each problem an
//! error at its file:line:col with the rule of `aws_rules.yaml` it anticipates.

use super::raw::*;
use super::{Cx, origin, rules, stem};
use crate::model::*;
use regex::Regex;
use std::sync::LazyLock;

/// AWS managed policies attached to one permission set (IAM Identity Center User Guide, Quotas:
/// "Number of AWS managed and customer managed policies per permission set | 20").
pub const MAX_MANAGED_POLICIES: usize = 20;
/// PutInlinePolicyToPermissionSet, InlinePolicy: "Maximum length of 32768"; Quotas: "Maximum
/// size of non-whitespace characters in the inline policy per permission set is 10,240 bytes".
pub const MAX_INLINE_POLICY: usize = 32_768;
pub const MAX_INLINE_POLICY_NON_WHITESPACE: usize = 10_240;
/// CreatePermissionSet, Description: "Minimum length of 1. Maximum length of 700."
pub const MAX_DESCRIPTION: usize = 700;

/// CreatePermissionSet, Description pattern: `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`.
static DESCRIPTION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[\x09\x0A\x0D\x20-\x7E\u{A1}-\u{FF}]*$").ok());
/// An ISO-8601 duration of hours and minutes (`PT8H`, `PT1H30M`).
static DURATION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^PT(?:([0-9]{1,3})H)?(?:([0-9]{1,4})M)?$").ok());
/// An AWS managed policy ARN (`arn:aws:iam::aws:policy/<path/>name`), the kind
/// AttachManagedPolicyToPermissionSet takes as ManagedPolicyArn.
static MANAGED_POLICY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^arn:aws[a-z-]*:iam::aws:policy/(?-u:[\w+=,.@/-])+$").ok());

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

/// CreatePermissionSet's Description.
pub fn description(d: &str) -> Result<(), String> {
    let n = d.chars().count();
    if n == 0 || n > MAX_DESCRIPTION {
        return Err(format!("must be 1 to {MAX_DESCRIPTION} characters (it is {n})"));
    }
    if !matches(&DESCRIPTION, d) {
        return Err("may hold only tab, newlines and Latin-1 printable characters".into());
    }
    Ok(())
}

/// The session duration in minutes when it is one IAM Identity Center accepts: an ISO-8601
/// duration from 1 to 12 hours (User Guide, "Set session duration": "The session duration …
/// can be set from 1 hour up to 12 hours").
pub fn session_minutes(d: &str) -> Result<u32, String> {
    let caps = DURATION.as_ref().and_then(|r| r.captures(d));
    let Some(c) = caps.filter(|c| c.get(1).is_some() || c.get(2).is_some()) else {
        return Err("must be an ISO-8601 duration of hours and minutes, like PT8H or PT1H30M".into());
    };
    let part = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok()).unwrap_or(0);
    let minutes = part(1) * 60 + part(2);
    if !(60..=720).contains(&minutes) {
        return Err("must be from PT1H to PT12H".into());
    }
    Ok(minutes)
}

/// An AWS managed policy ARN.
pub fn managed_policy(arn: &str) -> Result<(), String> {
    // ManagedPolicyArn: "Length Constraints: Minimum length of 20. Maximum length of 2048."
    if arn.len() <= 2048 && matches(&MANAGED_POLICY, arn) {
        Ok(())
    } else {
        Err("must be an AWS managed policy ARN (arn:aws:iam::aws:policy/<name>)".into())
    }
}

/// The inline policy's size as PutInlinePolicyToPermissionSet and the quotas count it.
pub fn inline_policy_size(policy: &str) -> Result<(), String> {
    let all = policy.len();
    let solid = policy.chars().filter(|c| !c.is_whitespace()).collect::<String>().len();
    if all > MAX_INLINE_POLICY || solid > MAX_INLINE_POLICY_NON_WHITESPACE {
        return Err(format!(
            "is {all} bytes ({solid} without whitespace); IAM Identity Center allows {MAX_INLINE_POLICY} ({MAX_INLINE_POLICY_NON_WHITESPACE} without whitespace)"
        ));
    }
    Ok(())
}

impl Cx<'_> {
    /// `catalog/permission_sets/<name>.yaml` -> `Desired::permission_sets`.
    pub(super) fn permission_sets(&mut self) {
        let files = self.files;
        for (path, bytes) in files.folder("catalog/permission_sets/", ".yaml") {
            let name = stem(path);
            let file_at = Origin::file(path);
            if let Err(e) = rules::permission_set_name(&name) {
                self.err_rule(
                    "identitycenter.permission-set-name",
                    "bad-permission-set",
                    &file_at,
                    format!("permission set name '{name}' (the file name) {e}"),
                );
                continue;
            }
            let Some(raw) = super::yaml::parse::<RawPermissionSet>(path, bytes, &mut self.diags) else {
                continue;
            };
            let mut ok = true;
            if let Err(e) = description(&raw.description.value) {
                self.err("bad-permission-set", &origin(path, &raw.description), format!("description {e}"));
                ok = false;
            }
            if let Err(e) = session_minutes(&raw.session_duration.value) {
                self.err_rule(
                    "identitycenter.session-duration",
                    "bad-permission-set",
                    &origin(path, &raw.session_duration),
                    format!("session_duration '{}' {e}", raw.session_duration.value),
                );
                ok = false;
            }
            let mut managed: Vec<String> = vec![];
            for m in &raw.managed_policies {
                if let Err(e) = managed_policy(&m.value) {
                    self.err(
                        "bad-permission-set",
                        &origin(path, m),
                        format!("managed policy '{}' {e}", m.value),
                    );
                    ok = false;
                } else if managed.contains(&m.value) {
                    self.err(
                        "bad-permission-set",
                        &origin(path, m),
                        format!("managed policy '{}' is listed twice", m.value),
                    );
                    ok = false;
                } else {
                    managed.push(m.value.clone());
                }
            }
            if managed.len() > MAX_MANAGED_POLICIES {
                let at = raw.managed_policies.get(MAX_MANAGED_POLICIES).map(|m| origin(path, m));
                self.err_rule(
                    "identitycenter.managed-policy-limit",
                    "bad-permission-set",
                    at.as_ref().unwrap_or(&file_at),
                    format!(
                        "{} managed policies; IAM Identity Center attaches at most {MAX_MANAGED_POLICIES} to a permission set",
                        managed.len()
                    ),
                );
                ok = false;
            }
            managed.sort();
            let mut inline_policy = None;
            if let Some(p) = &raw.inline_policy {
                let at = origin(path, p);
                if !p.value.is_object() {
                    self.err("policy-invalid", &at, "inline_policy must be a map (an IAM policy document)");
                    ok = false;
                } else if let Err(e) = rules::iam_policy_document(&p.value) {
                    self.err("policy-invalid", &at, format!("inline_policy: {e}"));
                    ok = false;
                } else {
                    let text = canonical_json(&p.value);
                    if let Err(e) = inline_policy_size(&text) {
                        self.err_rule(
                            "identitycenter.inline-policy-size",
                            "policy-size",
                            &at,
                            format!("inline_policy {e}"),
                        );
                        ok = false;
                    }
                    inline_policy = Some(text);
                }
            }
            if !ok {
                continue;
            }
            self.desired.permission_sets.insert(
                name.clone(),
                DesiredPermissionSet {
                    name,
                    description: raw.description.value,
                    session_duration: raw.session_duration.value,
                    managed_policies: managed,
                    inline_policy,
                    adopt: raw.lifecycle.is_some(),
                    origin: file_at,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_durations() {
        assert_eq!(session_minutes("PT1H"), Ok(60));
        assert_eq!(session_minutes("PT12H"), Ok(720));
        assert_eq!(session_minutes("PT1H30M"), Ok(90));
        assert_eq!(session_minutes("PT90M"), Ok(90));
        assert!(session_minutes("PT30M").is_err());
        assert!(session_minutes("PT13H").is_err());
        assert!(session_minutes("P1D").is_err());
        assert!(session_minutes("PT").is_err());
        assert!(session_minutes("8h").is_err());
    }

    #[test]
    fn fields() {
        assert!(managed_policy("arn:aws:iam::aws:policy/ReadOnlyAccess").is_ok());
        assert!(managed_policy("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess").is_ok());
        assert!(managed_policy("arn:aws:iam::123456789012:policy/Mine").is_err());
        assert!(description("").is_err());
        assert!(description(&"x".repeat(701)).is_err());
        assert!(description("Read-only, for on-call").is_ok());
        assert!(inline_policy_size(&"x".repeat(10_241)).is_err());
        assert!(inline_policy_size(&format!("{}{}", "x".repeat(10_000), " ".repeat(20_000))).is_ok());
    }
}
