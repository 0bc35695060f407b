//! The AWS naming and shape rules that need no state (AWS-NOTES.md), as small pure functions
//! returning `Err(reason)`. The loader, the request form and `vend request` all use these.

use regex::Regex;
use std::cmp::Ordering;
use std::sync::LazyLock;

macro_rules! re {
    ($name:ident, $pat:expr) => {
        #[allow(clippy::expect_used)]
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).expect("static regex compiles"));
    };
}

re!(EMAIL, r"^[^\s@]+@[^\s@]+\.[^\s@]+$");
re!(ACCOUNT_ID, r"^\d{12}$");
re!(REGION, r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$");
re!(POLICY_NAME, r"^[\w+=,.@-]+$");
re!(ROLE_NAME, r"^[\w+=,.@-]+$");
re!(PRINCIPAL_ARN, r"^arn:aws(-[a-z]+)*:iam::(\d{12})?:(role|user|group)/[\w+=,.@*/-]+$");
re!(VERSION_NAME, r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$");
re!(FILE_KEY, r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
// AWS Account Management, AlternateContact / PutAlternateContact
// (https://docs.aws.amazon.com/accounts/latest/reference/API_AlternateContact.html):
// "EmailAddress ... Pattern: [\s]*[\w+=.#|!&-]+@[\w.-]+\.[\w]+[\s]*" and
// "PhoneNumber ... Pattern: [\s0-9()+-]+" (AWS's classes are ASCII: `(?-u:…)`).
re!(CONTACT_EMAIL, r"^(?-u:[\s]*[\w+=.#|!&-]+@[\w.-]+\.[\w]+[\s]*)$");
re!(CONTACT_PHONE, r"^(?-u:[\s0-9()+-]+)$");
// IAM Identity Center, CreatePermissionSet
// (https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html):
// "Name ... Length Constraints: Minimum length of 1. Maximum length of 32. Pattern: [\w+=,.@-]+".
re!(PERMISSION_SET_NAME, r"^(?-u:[\w+=,.@-]+)$");

/// Account e-mail: 6–64 ASCII characters, one `@`, a dotted domain.
pub fn email(e: &str) -> Result<(), String> {
    if !e.is_ascii() {
        return Err("must be ASCII".into());
    }
    if e.len() < 6 || e.len() > 64 {
        return Err(format!("must be 6 to 64 characters long, is {}", e.len()));
    }
    if e.matches('@').count() != 1 {
        return Err("must contain exactly one '@'".into());
    }
    if !EMAIL.is_match(e) {
        return Err("must look like local@domain.tld, without spaces".into());
    }
    Ok(())
}

/// Account name at creation: 1–50 printable ASCII characters.
pub fn account_name(n: &str) -> Result<(), String> {
    if n.is_empty() || n.len() > 50 {
        return Err(format!("must be 1 to 50 characters long, is {}", n.chars().count()));
    }
    if !n.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err("must be printable ASCII".into());
    }
    Ok(())
}

/// OU names: 1–128 characters, no `/` (vend uses it as the path separator).
pub fn ou_name(n: &str) -> Result<(), String> {
    if n.is_empty() || n.chars().count() > 128 {
        return Err("must be 1 to 128 characters long".into());
    }
    if n.contains('/') {
        return Err("must not contain '/'".into());
    }
    if n.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

pub fn policy_name(n: &str) -> Result<(), String> {
    if n.chars().count() <= 128 && POLICY_NAME.is_match(n) {
        Ok(())
    } else {
        Err("must be 1 to 128 characters of letters, digits and +=,.@_-".into())
    }
}

/// The SCP grammar AWS checks on CreatePolicy/UpdatePolicy (MalformedPolicyDocumentException):
/// a JSON object whose `Statement` is one statement or a non-empty list of them, each an object
/// with `Effect` `Allow` or `Deny` and exactly one of `Action` / `NotAction`. Source: "SCP
/// syntax", AWS Organizations User Guide
/// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html):
/// the Effect element's supported values are Allow and Deny; Action and NotAction are the
/// statement's action elements (IAM: "Policy statement must contain actions").
pub fn scp_document(doc: &serde_json::Value) -> Result<(), String> {
    let Some(obj) = doc.as_object() else { return Err("the document must be a JSON object".into()) };
    let statements: Vec<&serde_json::Value> = match obj.get("Statement") {
        Some(serde_json::Value::Array(list)) if !list.is_empty() => list.iter().collect(),
        Some(one @ serde_json::Value::Object(_)) => vec![one],
        _ => return Err("needs a \"Statement\": one statement object or a non-empty list of them".into()),
    };
    for (i, st) in statements.iter().enumerate() {
        let n = i + 1;
        let Some(st) = st.as_object() else { return Err(format!("statement {n} is not an object")) };
        match st.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow" | "Deny") => {}
            Some(other) => {
                return Err(format!("statement {n}: Effect is '{other}'; AWS takes Allow or Deny"));
            }
            None => return Err(format!("statement {n} has no Effect (Allow or Deny)")),
        }
        if st.contains_key("Action") == st.contains_key("NotAction") {
            return Err(format!("statement {n} needs exactly one of Action and NotAction"));
        }
    }
    Ok(())
}

/// An identity-based IAM policy document (a role's permission policy), as IAM validates it on
/// PutRolePolicy (IAM User Guide, "IAM JSON policy element reference"): the SCP shape above,
/// plus a `Resource` or `NotResource` in each statement and no `Principal` ("MalformedPolicyDocument:
/// Policy document should not specify a principal"), `Version` 2012-10-17 or 2008-10-17 when given.
pub fn iam_policy_document(doc: &serde_json::Value) -> Result<(), String> {
    scp_document(doc)?;
    if let Some(v) = doc.get("Version")
        && !matches!(v.as_str(), Some("2012-10-17" | "2008-10-17"))
    {
        return Err(format!("Version is {v}; IAM takes \"2012-10-17\""));
    }
    let statements: Vec<&serde_json::Value> = match &doc["Statement"] {
        serde_json::Value::Array(list) => list.iter().collect(),
        one => vec![one],
    };
    for (i, st) in statements.iter().enumerate() {
        let n = i + 1;
        if st.get("Principal").is_some() || st.get("NotPrincipal").is_some() {
            return Err(format!("statement {n} names a principal; a permission policy must not"));
        }
        if st.get("Resource").is_some() == st.get("NotResource").is_some() {
            return Err(format!("statement {n} needs exactly one of Resource and NotResource"));
        }
    }
    Ok(())
}

pub fn role_name(n: &str) -> Result<(), String> {
    if n.chars().count() <= 64 && ROLE_NAME.is_match(n) {
        Ok(())
    } else {
        Err("must be 1 to 64 characters of letters, digits and +=,.@_-".into())
    }
}

/// An S3 general purpose bucket name, as the S3 user guide's naming rules state them
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>: "Bucket
/// names must be between 3 (min) and 63 (max) characters long. Bucket names can consist only of
/// lowercase letters, numbers, periods (.), and hyphens (-). Bucket names must begin and end
/// with a letter or number. Bucket names must not contain two adjacent periods. Bucket names
/// must not be formatted as an IP address", plus the reserved prefixes and suffixes listed there).
pub fn bucket_name(n: &str) -> Result<(), String> {
    let shape = (3..=63).contains(&n.len())
        && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && n.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && n.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if !shape {
        return Err("must be 3 to 63 characters of lowercase letters, digits, '.' and '-', beginning and ending with a letter or digit".into());
    }
    if n.contains("..") {
        return Err("must not contain two adjacent periods".into());
    }
    if n.parse::<core::net::Ipv4Addr>().is_ok() {
        return Err("must not be formatted as an IP address".into());
    }
    if let Some(p) = ["xn--", "sthree-", "amzn-s3-demo-"].iter().find(|p| n.starts_with(**p)) {
        return Err(format!("must not begin with the reserved prefix '{p}'"));
    }
    if let Some(x) =
        ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].iter().find(|x| n.ends_with(**x))
    {
        return Err(format!("must not end with the reserved suffix '{x}'"));
    }
    Ok(())
}

pub fn account_id(id: &str) -> Result<(), String> {
    if ACCOUNT_ID.is_match(id) { Ok(()) } else { Err("must be 12 digits".into()) }
}

/// An AWS region code (`us-east-1`, `us-gov-west-1`, `ap-southeast-3`).
pub fn region(r: &str) -> Result<(), String> {
    if REGION.is_match(r) { Ok(()) } else { Err("must be an AWS region code such as us-east-1".into()) }
}

/// A version or blueprint name usable as a folder/file name and an address key.
pub fn key_name(n: &str) -> Result<(), String> {
    if FILE_KEY.is_match(n) {
        Ok(())
    } else {
        Err("must start with a letter or digit and use only letters, digits and ._-".into())
    }
}

pub fn version_name(n: &str) -> Result<(), String> {
    if VERSION_NAME.is_match(n) {
        Ok(())
    } else {
        Err("must be 1 to 100 characters of letters, digits and ._-".into())
    }
}

/// Service Catalog principal: returns the principal type (`IAM` with an account id,
/// `IAM_PATTERN` without one).
pub fn principal(arn: &str) -> Result<&'static str, String> {
    let Some(caps) = PRINCIPAL_ARN.captures(arn).filter(|_| arn.len() <= 1011) else {
        return Err("must be an IAM ARN such as arn:aws:iam:::role/ProductTeam* (pattern) or \
             arn:aws:iam::123456789012:role/Name"
            .into());
    };
    if caps.get(2).is_some() {
        if arn.contains('*') {
            return Err("a full ARN (with an account id) cannot contain wildcards".into());
        }
        Ok("IAM")
    } else {
        Ok("IAM_PATTERN")
    }
}

/// Tag key and value rules shared by Organizations and Service Catalog.
pub fn tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(format!("tag key '{key}' must be 1 to 128 characters"));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!("tag key '{key}' uses the reserved prefix 'aws:'"));
    }
    if value.chars().count() > 256 {
        return Err(format!("tag '{key}' value must be at most 256 characters"));
    }
    let ok = |s: &str| s.chars().all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c));
    if !ok(key) || !ok(value) {
        return Err(format!("tag '{key}' may use only letters, digits, spaces and _ . : / = + - @"));
    }
    Ok(())
}

/// The alternate contact types of AWS Account Management (`AlternateContactType`: "Valid
/// Values: BILLING | OPERATIONS | SECURITY"), written lower case in a blueprint: the upper case
/// form AWS takes.
pub fn contact_type(t: &str) -> Result<&'static str, String> {
    match t {
        "billing" => Ok("BILLING"),
        "operations" => Ok("OPERATIONS"),
        "security" => Ok("SECURITY"),
        _ => Err(format!("contact type '{t}' is not one of billing, operations, security")),
    }
}

/// A field of an alternate contact, as AWS Account Management checks it on PutAlternateContact
/// (https://docs.aws.amazon.com/accounts/latest/reference/API_PutAlternateContact.html, each a
/// ValidationException): `name` "Minimum length of 1. Maximum length of 64."; `title` "Minimum
/// length of 1. Maximum length of 50."; `email` "Minimum length of 1. Maximum length of 254."
/// and the `EmailAddress` pattern; `phone` "Minimum length of 1. Maximum length of 25." and the
/// `PhoneNumber` pattern. Returns the id of the AWS rule the value breaks with the reason.
pub fn contact_field(field: &str, value: &str) -> Result<(), (&'static str, String)> {
    let len = value.chars().count();
    let (rule, max, pattern, shape) = match field {
        "name" => ("account.contact-name", 64, None, ""),
        "title" => ("account.contact-title", 50, None, ""),
        "email" => {
            ("account.contact-email", 254, Some(&*CONTACT_EMAIL), "an e-mail address (local@domain.tld)")
        }
        "phone" => ("account.contact-phone", 25, Some(&*CONTACT_PHONE), "digits, spaces and ( ) + - only"),
        _ => return Ok(()),
    };
    if len == 0 || len > max {
        return Err((rule, format!("must be 1 to {max} characters, is {len}")));
    }
    if let Some(re) = pattern
        && !re.is_match(value)
    {
        return Err((rule, format!("must be {shape}")));
    }
    Ok(())
}

/// An IAM Identity Center permission set name (CreatePermissionSet: 1–32 characters of
/// letters, digits and `+=,.@_-`).
pub fn permission_set_name(n: &str) -> Result<(), String> {
    if n.chars().count() <= 32 && PERMISSION_SET_NAME.is_match(n) {
        Ok(())
    } else {
        Err("must be 1 to 32 characters of letters, digits and +=,.@_-".into())
    }
}

/// An Identity Store group display name (Identity Store API, Group
/// (https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_Group.html):
/// "DisplayName ... Length Constraints: Minimum length of 1. Maximum length of 1024. Pattern:
/// [\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r  　]+"; vend also refuses leading or trailing
/// whitespace, which GetGroupId would never match as written).
pub fn group_name(n: &str) -> Result<(), String> {
    let len = n.chars().count();
    if len == 0 || len > 1024 {
        return Err(format!("must be 1 to 1024 characters, is {len}"));
    }
    if n.trim() != n {
        return Err("must not begin or end with whitespace".into());
    }
    if n.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Compare version names naturally: `v2` < `v10`.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> Vec<(bool, &str)> {
        let mut out = vec![];
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let ord = match (x, y) {
            ((true, xs), (true, ys)) => {
                let xs = xs.trim_start_matches('0');
                let ys = ys.trim_start_matches('0');
                xs.len().cmp(&ys.len()).then_with(|| xs.cmp(ys))
            }
            ((_, xs), (_, ys)) => xs.cmp(ys),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    pa.len().cmp(&pb.len()).then_with(|| a.cmp(b))
}

/// Fill `{var}` placeholders. `{{` and `}}` stand for literal braces. Returns the first
/// unknown placeholder name as the error.
pub fn substitute(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(stripped) = tail.strip_prefix('{')
            && let Some(end) = stripped.find('}')
        {
            let name = &stripped[..end];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => return Err(name.to_string()),
                }
                rest = &stripped[end + 1..];
                continue;
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(email("aws+x@example.com").is_ok());
        assert!(email("a@b.c").is_err()); // 5 chars
        assert!(email("aws@x@example.com").is_err());
        assert!(email("aws+x@example").is_err());
        assert!(email("äws+x@example.com").is_err());
        assert!(email(&format!("{}@example.com", "a".repeat(60))).is_err());
    }

    #[test]
    fn contacts_follow_the_account_management_api() {
        assert_eq!(contact_type("security"), Ok("SECURITY"));
        assert!(contact_type("Security").is_err());
        assert!(contact_type("legal").is_err());
        assert!(contact_field("email", "security@example.com").is_ok());
        assert!(contact_field("email", " sec+ops@mail.example.co ").is_ok());
        assert_eq!(contact_field("email", "security@example").map_err(|e| e.0), Err("account.contact-email"));
        assert!(contact_field("email", "a b@example.com").is_err());
        assert!(contact_field("email", "ops@exämple.com").is_err());
        assert!(contact_field("phone", "+1 (555) 0100-2").is_ok());
        assert_eq!(contact_field("phone", "555 CALL NOW").map_err(|e| e.0), Err("account.contact-phone"));
        assert!(contact_field("phone", &"1".repeat(26)).is_err());
        assert!(contact_field("name", &"n".repeat(64)).is_ok());
        assert_eq!(contact_field("name", &"n".repeat(65)).map_err(|e| e.0), Err("account.contact-name"));
        assert_eq!(contact_field("title", "").map_err(|e| e.0), Err("account.contact-title"));
        assert!(contact_field("title", &"t".repeat(51)).is_err());
    }

    #[test]
    fn identity_center_names() {
        assert!(permission_set_name("AdministratorAccess").is_ok());
        assert!(permission_set_name("Power+User=,.@_-1").is_ok());
        assert!(permission_set_name(&"p".repeat(33)).is_err());
        assert!(permission_set_name("Read Only").is_err());
        assert!(permission_set_name("").is_err());
        assert!(group_name("Platform Readonly").is_ok());
        assert!(group_name(" admins").is_err());
        assert!(group_name("admins ").is_err());
        assert!(group_name("").is_err());
        assert!(group_name(&"g".repeat(1025)).is_err());
    }

    #[test]
    fn principals() {
        assert_eq!(principal("arn:aws:iam:::role/ProductTeam*"), Ok("IAM_PATTERN"));
        assert_eq!(principal("arn:aws:iam::123456789012:role/Dev"), Ok("IAM"));
        assert!(principal("arn:aws:iam::123456789012:role/Dev*").is_err());
        assert!(principal("role/Dev").is_err());
    }

    #[test]
    fn scp_grammar() {
        let doc = |v: serde_json::Value| scp_document(&v);
        let deny = serde_json::json!({"Effect": "Deny", "Action": "ec2:*", "Resource": "*"});
        assert!(doc(serde_json::json!({"Version": "2012-10-17", "Statement": [deny.clone()]})).is_ok());
        assert!(doc(serde_json::json!({"Statement": deny})).is_ok());
        assert!(doc(serde_json::json!({"Statement": []})).is_err());
        assert!(doc(serde_json::json!({"Statement": [{"Effect": "Maybe", "Action": "ec2:*"}]})).is_err());
        assert!(doc(serde_json::json!({"Statement": [{"Effect": "Deny"}]})).is_err());
        assert!(
            doc(serde_json::json!({"Statement": [{"Effect": "Deny", "Action": "a:b", "NotAction": "c:d"}]}))
                .is_err()
        );
        assert!(doc(serde_json::json!([deny])).is_err());
    }

    #[test]
    fn versions_sort_naturally() {
        let mut v = vec!["v10", "v2", "v1", "v1.1"];
        v.sort_by(|a, b| version_cmp(a, b));
        assert_eq!(v, ["v1", "v1.1", "v2", "v10"]);
    }

    #[test]
    fn substitution() {
        let vars = |k: &str| (k == "env").then(|| "prod".to_string());
        assert_eq!(substitute("Workloads/{env}", &vars), Ok("Workloads/prod".into()));
        assert_eq!(substitute("{{literal}}", &vars), Ok("{literal}".into()));
        assert_eq!(substitute("a{missing}", &vars), Err("missing".into()));
        assert_eq!(substitute("${AWS::Region}", &vars), Ok("${AWS::Region}".into()));
    }

    #[test]
    fn tags() {
        assert!(tag("cost-center", "4711").is_ok());
        assert!(tag("aws:foo", "x").is_err());
        assert!(tag("", "x").is_err());
        assert!(tag("k", &"x".repeat(257)).is_err());
    }
}
