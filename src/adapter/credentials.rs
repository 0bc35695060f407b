//! AWS credentials kept in the durable OS keyring (`vend auth login` / `vend auth logout`): the
//! keyring entry of service `vend-aws`, account = the AWS profile name, holding the JSON of the
//! `credential_process` format (`{"Version":1,"AccessKeyId":…,"SecretAccessKey":…,
//! "SessionToken":…,"Expiration":…}`). This module parses what an operator pastes (that JSON, as
//! `aws configure export-credentials` prints it, or `KEY=VALUE` lines), checks its shape, and
//! reads, writes and deletes the entry through the same keyring access as the operator key
//! (`keys::os_keyring`). Only durable keyrings are used: without one, storing fails; AWS secrets
//! are never written to a file. Nothing here prints, and no error message or `Debug` output
//! carries a secret (access key id, secret access key, session token): errors name keys and
//! lines, never values.

use crate::adapter::keys::os_keyring;
use std::fmt;

/// Keyring service name of the AWS credential entries (the account is the profile name).
pub const KEYRING_SERVICE: &str = "vend-aws";

/// Static AWS credentials as stored in the keyring. `Debug` shows none of the three secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Present for temporary (`ASIA…`) credentials.
    pub session_token: Option<String>,
    /// RFC 3339 time after which temporary credentials no longer work.
    pub expiration: Option<jiff::Timestamp>,
}

impl fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredentials")
            .field("access_key_id", &"<redacted>")
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Why credentials could not be parsed, stored, read or removed. Never holds a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error("{0}")]
    Input(String),
    #[error(
        "no durable OS keyring is available ({0}); vend keeps AWS credentials only in an OS keyring \
         (Secret Service, macOS Keychain, Windows Credential Manager), never in a file: start one, \
         or use the standard AWS credential chain (environment, profiles, SSO) instead"
    )]
    NoKeyring(String),
    #[error("the OS keyring ({store}) failed: {message}")]
    Keyring { store: String, message: String },
    #[error(
        "the OS keyring ({store}) entry {KEYRING_SERVICE}/{profile} is not vend AWS credentials ({message}); \
         run `vend auth login --profile {profile}` again, or `vend auth logout --profile {profile}`"
    )]
    Corrupt { store: String, profile: String, message: String },
}

/// What the keyring holds for a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Credentials stored by `vend auth login`, in the named store.
    Found { credentials: StoredCredentials, store: String },
    /// The keyring answered: nothing stored for this profile.
    Missing { store: String },
    /// No durable keyring could be reached (why): the caller falls back to the default chain.
    Unavailable(String),
}

impl StoredCredentials {
    /// Whether `now` is at or past the expiration (credentials without one never expire).
    pub fn is_expired(&self, now: jiff::Timestamp) -> bool {
        self.expiration.is_some_and(|e| e <= now)
    }

    /// Check the shape: an access key id of 16-128 upper-case letters and digits, a secret and a
    /// token without spaces or control characters, a session token for a temporary (`ASIA…`) key.
    pub fn validate(&self) -> Result<(), CredentialsError> {
        let bad = |m: &str| Err(CredentialsError::Input(m.to_string()));
        let id = &self.access_key_id;
        if id.is_empty() {
            return bad("the access key id is empty");
        }
        if !(16..=128).contains(&id.len())
            || !id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return bad(
                "the access key id does not look like one (16 to 128 upper-case letters and digits, e.g. AKIA… or ASIA…)",
            );
        }
        if self.secret_access_key.is_empty() {
            return bad("the secret access key is empty");
        }
        if !plain(&self.secret_access_key) {
            return bad("the secret access key contains spaces or control characters");
        }
        match &self.session_token {
            Some(t) if t.is_empty() => return bad("the session token is empty (leave it out instead)"),
            Some(t) if !plain(t) => return bad("the session token contains spaces or control characters"),
            None if id.starts_with("ASIA") => {
                return bad("a temporary access key id (ASIA…) needs its session token");
            }
            _ => {}
        }
        Ok(())
    }

    /// The `credential_process` JSON (what the keyring entry holds).
    pub fn to_json(&self) -> String {
        let mut o = serde_json::Map::new();
        o.insert("Version".into(), 1.into());
        o.insert("AccessKeyId".into(), self.access_key_id.clone().into());
        o.insert("SecretAccessKey".into(), self.secret_access_key.clone().into());
        if let Some(t) = &self.session_token {
            o.insert("SessionToken".into(), t.clone().into());
        }
        if let Some(e) = &self.expiration {
            o.insert("Expiration".into(), e.to_string().into());
        }
        serde_json::Value::Object(o).to_string()
    }
}

/// No whitespace, no control characters.
fn plain(s: &str) -> bool {
    !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Parse what `vend auth login` reads: either the JSON of the `credential_process` format (as
/// `aws configure export-credentials --format process` prints it) or `KEY=VALUE` lines
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_CREDENTIAL_EXPIRATION`; an `export ` prefix, quotes, blank and `#` lines allowed, as
/// `aws configure export-credentials --format env` prints them). The result is validated.
pub fn parse_input(text: &str) -> Result<StoredCredentials, CredentialsError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(CredentialsError::Input(
            "no credentials on standard input: pipe the JSON of `aws configure export-credentials --format process`, \
             or AWS_ACCESS_KEY_ID=… / AWS_SECRET_ACCESS_KEY=… [/ AWS_SESSION_TOKEN=…] lines"
                .into(),
        ));
    }
    let creds = if trimmed.starts_with('{') { parse_json(trimmed)? } else { parse_lines(trimmed)? };
    creds.validate()?;
    Ok(creds)
}

/// The `credential_process` JSON document.
fn parse_json(text: &str) -> Result<StoredCredentials, CredentialsError> {
    let input = |m: String| CredentialsError::Input(m);
    // serde_json's messages name a line and column, never the text itself.
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| input(format!("the credentials JSON is not valid JSON: {e}")))?;
    let o = v.as_object().ok_or_else(|| input("the credentials JSON must be an object".into()))?;
    for k in o.keys() {
        if !["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"].contains(&k.as_str())
        {
            return Err(input(format!(
                "the credentials JSON has an unknown key `{k}` (expected Version, AccessKeyId, SecretAccessKey, SessionToken, Expiration)"
            )));
        }
    }
    match o.get("Version") {
        Some(v) if v.as_u64() == Some(1) => {}
        Some(_) => return Err(input("the credentials JSON has a Version other than 1".into())),
        None => return Err(input("the credentials JSON has no \"Version\": 1".into())),
    }
    let field = |k: &str| -> Result<Option<String>, CredentialsError> {
        match o.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(input(format!("the credentials JSON's `{k}` must be a string"))),
        }
    };
    let need = |k: &str| field(k)?.ok_or_else(|| input(format!("the credentials JSON has no `{k}`")));
    Ok(StoredCredentials {
        access_key_id: need("AccessKeyId")?,
        secret_access_key: need("SecretAccessKey")?,
        session_token: field("SessionToken")?,
        expiration: field("Expiration")?.map(|e| expiration(&e)).transpose()?,
    })
}

fn expiration(text: &str) -> Result<jiff::Timestamp, CredentialsError> {
    text.parse::<jiff::Timestamp>().map_err(|_| {
        CredentialsError::Input("the expiration is not an RFC 3339 time (e.g. 2026-11-22T18:00:00Z)".into())
    })
}

/// `KEY=VALUE` lines.
fn parse_lines(text: &str) -> Result<StoredCredentials, CredentialsError> {
    let input = |m: String| CredentialsError::Input(m);
    let (mut id, mut secret, mut token, mut expires) = (None, None, None, None);
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(input(format!(
                "line {}: expected KEY=VALUE (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or the JSON of `aws configure export-credentials`",
                n + 1
            )));
        };
        let key = key.trim();
        let mut value = value.trim();
        for q in ['"', '\''] {
            if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
                value = &value[1..value.len() - 1];
            }
        }
        let slot = match key.to_ascii_uppercase().as_str() {
            "AWS_ACCESS_KEY_ID" => &mut id,
            "AWS_SECRET_ACCESS_KEY" => &mut secret,
            "AWS_SESSION_TOKEN" | "AWS_SECURITY_TOKEN" => &mut token,
            "AWS_CREDENTIAL_EXPIRATION" => &mut expires,
            _ => {
                return Err(input(format!(
                    "line {}: unknown key `{key}` (expected AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION)",
                    n + 1
                )));
            }
        };
        if slot.is_some() {
            return Err(input(format!("line {}: `{key}` is given twice", n + 1)));
        }
        *slot = Some(value.to_string());
    }
    Ok(StoredCredentials {
        access_key_id: id.ok_or_else(|| input("AWS_ACCESS_KEY_ID is missing".into()))?,
        secret_access_key: secret.ok_or_else(|| input("AWS_SECRET_ACCESS_KEY is missing".into()))?,
        session_token: token.filter(|t| !t.is_empty()),
        expiration: expires.filter(|e| !e.is_empty()).map(|e| expiration(&e)).transpose()?,
    })
}

/// The keyring entry's text back into credentials (`Corrupt` names the entry, never its text).
fn from_entry(text: &str, store: &str, profile: &str) -> Result<StoredCredentials, CredentialsError> {
    let corrupt = |e: CredentialsError| CredentialsError::Corrupt {
        store: store.to_string(),
        profile: profile.to_string(),
        message: e.to_string(),
    };
    let creds = parse_json(text.trim()).map_err(corrupt)?;
    creds.validate().map_err(corrupt)?;
    Ok(creds)
}

fn open() -> Result<os_keyring::Ring, CredentialsError> {
    os_keyring::open().map_err(CredentialsError::NoKeyring)
}

/// The name of the durable OS keyring, or why there is none (`auth login` asks before reading
/// any secret).
pub fn keyring_name() -> Result<String, CredentialsError> {
    Ok(open()?.name.to_string())
}

/// Check the profile name (it becomes the keyring entry's account).
fn check_profile(profile: &str) -> Result<(), CredentialsError> {
    if profile.is_empty() || profile.chars().any(char::is_control) || profile.len() > 128 {
        return Err(CredentialsError::Input(
            "the profile name must be 1 to 128 characters without control characters".into(),
        ));
    }
    Ok(())
}

/// Store `creds` for `profile` (replacing what was there) and read them back; returns the
/// keyring's name.
pub fn store(profile: &str, creds: &StoredCredentials) -> Result<String, CredentialsError> {
    check_profile(profile)?;
    creds.validate()?;
    let ring = open()?;
    let failed = |message: String| CredentialsError::Keyring { store: ring.name.to_string(), message };
    let text = creds.to_json();
    ring.set(KEYRING_SERVICE, profile, &text).map_err(failed)?;
    match ring.get(KEYRING_SERVICE, profile).map_err(failed)? {
        Some(back) if back == text => {
            tracing::debug!(store = ring.name, profile, "stored AWS credentials in the OS keyring");
            Ok(ring.name.to_string())
        }
        _ => Err(failed(format!("the entry {KEYRING_SERVICE}/{profile} did not read back as written"))),
    }
}

/// What the keyring holds for `profile`. An unreachable keyring is `Lookup::Unavailable`, not
/// an error (the caller uses the default chain); a keyring that answers but fails, or an entry
/// that is not vend's, is an error.
pub fn load(profile: &str) -> Result<Lookup, CredentialsError> {
    check_profile(profile)?;
    let ring = match os_keyring::open() {
        Ok(r) => r,
        Err(why) => {
            tracing::debug!(reason = %why, "no durable OS keyring for AWS credentials");
            return Ok(Lookup::Unavailable(why));
        }
    };
    let store = ring.name.to_string();
    match ring.get(KEYRING_SERVICE, profile) {
        Ok(Some(text)) => {
            let credentials = from_entry(&text, &store, profile)?;
            tracing::debug!(store = %store, profile, "AWS credentials found in the OS keyring");
            Ok(Lookup::Found { credentials, store })
        }
        Ok(None) => {
            tracing::debug!(store = %store, profile, "no AWS credentials in the OS keyring");
            Ok(Lookup::Missing { store })
        }
        // A Secret Service without a running daemon fails here, not at `open`.
        Err(message) => {
            tracing::debug!(store = %store, reason = %message, "the OS keyring did not answer");
            Ok(Lookup::Unavailable(format!("the {store} did not answer: {message}")))
        }
    }
}

/// Remove the entry of `profile`; `Ok((store, false))` when there was none.
pub fn delete(profile: &str) -> Result<(String, bool), CredentialsError> {
    check_profile(profile)?;
    let ring = open()?;
    let removed = ring
        .delete(KEYRING_SERVICE, profile)
        .map_err(|message| CredentialsError::Keyring { store: ring.name.to_string(), message })?;
    Ok((ring.name.to_string(), removed))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const ID: &str = "AKIAVENDTEST0000ABCD";
    const TEMP_ID: &str = "ASIAVENDTEST0000ABCD";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=";

    #[test]
    fn parses_the_credential_process_json() {
        let text = format!(
            r#"{{"Version": 1, "AccessKeyId": "{TEMP_ID}", "SecretAccessKey": "{SECRET}",
               "SessionToken": "{TOKEN}", "Expiration": "2026-11-22T18:00:00+00:00"}}"#
        );
        let c = parse_input(&text).unwrap();
        assert_eq!(c.access_key_id, TEMP_ID);
        assert_eq!(c.secret_access_key, SECRET);
        assert_eq!(c.session_token.as_deref(), Some(TOKEN));
        assert_eq!(c.expiration.unwrap().to_string(), "2026-11-22T18:00:00Z");
        // Round trip through the stored form.
        assert_eq!(parse_input(&c.to_json()).unwrap(), c);
        // Long-term keys: no token, no expiration.
        let c = parse_input(&format!(
            r#"{{"Version":1,"AccessKeyId":"{ID}","SecretAccessKey":"{SECRET}","SessionToken":null}}"#
        ))
        .unwrap();
        assert_eq!((c.session_token, c.expiration), (None, None));
    }

    #[test]
    fn parses_key_value_lines_as_the_cli_exports_them() {
        let text = format!(
            "# from aws configure export-credentials --format env\n\
             export AWS_ACCESS_KEY_ID={TEMP_ID}\n\
             export AWS_SECRET_ACCESS_KEY=\"{SECRET}\"\n\n\
             AWS_SESSION_TOKEN='{TOKEN}'\n\
             AWS_CREDENTIAL_EXPIRATION=2026-11-22T18:00:00Z\n"
        );
        let c = parse_input(&text).unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.secret_access_key.as_str(), c.session_token.as_deref()),
            (TEMP_ID, SECRET, Some(TOKEN))
        );
        assert_eq!(c.expiration.unwrap().to_string(), "2026-11-22T18:00:00Z");
        let c = parse_input(&format!("AWS_ACCESS_KEY_ID = {ID}\r\nAWS_SECRET_ACCESS_KEY = {SECRET}\r\n"))
            .unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token), (ID, None));
    }

    #[test]
    fn refuses_bad_input_without_echoing_it() {
        let cases = [
            (String::new(), "no credentials on standard input"),
            (format!("AWS_SECRET_ACCESS_KEY={SECRET}"), "AWS_ACCESS_KEY_ID is missing"),
            (format!("AWS_ACCESS_KEY_ID={ID}"), "AWS_SECRET_ACCESS_KEY is missing"),
            (format!("AWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY="), "the secret access key is empty"),
            (
                format!("AWS_ACCESS_KEY_ID=akia-lower\nAWS_SECRET_ACCESS_KEY={SECRET}"),
                "does not look like one",
            ),
            (
                format!("AWS_ACCESS_KEY_ID=AKIASHORT\nAWS_SECRET_ACCESS_KEY={SECRET}"),
                "does not look like one",
            ),
            (
                format!("AWS_ACCESS_KEY_ID={TEMP_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}"),
                "needs its session token",
            ),
            (format!("AWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY=a {SECRET}"), "spaces or control"),
            (
                format!("AWS_ACCESS_KEY_ID={ID}\nAWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY={SECRET}"),
                "given twice",
            ),
            (
                format!("AWS_ACCESS_KEY_ID={ID}\nAWS_REGION=us-east-1\nAWS_SECRET_ACCESS_KEY={SECRET}"),
                "unknown key `AWS_REGION`",
            ),
            (format!("{ID}\n{SECRET}"), "line 1: expected KEY=VALUE"),
            (format!(r#"{{"AccessKeyId":"{ID}","SecretAccessKey":"{SECRET}"}}"#), "no \"Version\": 1"),
            (
                format!(r#"{{"Version":2,"AccessKeyId":"{ID}","SecretAccessKey":"{SECRET}"}}"#),
                "Version other than 1",
            ),
            (format!(r#"{{"Version":1,"AccessKeyId":"{ID}"}}"#), "no `SecretAccessKey`"),
            (
                format!(
                    r#"{{"Version":1,"AccessKeyId":"{ID}","SecretAccessKey":"{SECRET}","Extra":"{TOKEN}"}}"#
                ),
                "unknown key `Extra`",
            ),
            (
                format!(
                    r#"{{"Version":1,"AccessKeyId":"{ID}","SecretAccessKey":"{SECRET}","Expiration":"soon"}}"#
                ),
                "not an RFC 3339 time",
            ),
            (format!(r#"{{"Version":1,"AccessKeyId":"{ID}","SecretAccessKey":"{SECRET}""#), "not valid JSON"),
        ];
        for (text, want) in cases {
            let e = parse_input(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e:?} does not say {want:?}");
            for secret in [ID, TEMP_ID, SECRET, TOKEN] {
                assert!(!e.contains(secret), "{e:?} echoes a secret");
            }
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = StoredCredentials {
            access_key_id: TEMP_ID.into(),
            secret_access_key: SECRET.into(),
            session_token: Some(TOKEN.into()),
            expiration: Some("2026-11-22T18:00:00Z".parse().unwrap()),
        };
        for text in [
            format!("{c:?}"),
            format!("{c:#?}"),
            format!("{:?}", Lookup::Found { credentials: c.clone(), store: "s".into() }),
        ] {
            for secret in [TEMP_ID, SECRET, TOKEN] {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(text.contains("<redacted>") && text.contains("2026-11-22T18:00:00Z"), "{text}");
        }
    }

    #[test]
    fn the_options_and_flags_that_carry_them_show_no_secret() {
        let c = StoredCredentials {
            access_key_id: TEMP_ID.into(),
            secret_access_key: SECRET.into(),
            session_token: Some(TOKEN.into()),
            expiration: None,
        };
        let opts = crate::adapter::aws::AwsOptions { credentials: Some(c), ..Default::default() };
        // The run's configuration that carries them (`config::Config`) is checked in its module.
        for text in [format!("{opts:?}"), format!("{opts:#?}")] {
            for secret in [TEMP_ID, SECRET, TOKEN] {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(text.contains("<redacted>"), "{text}");
        }
    }

    #[test]
    fn expiry_is_compared_with_now() {
        let mut c = parse_input(&format!("AWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY={SECRET}")).unwrap();
        let now: jiff::Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
        assert!(!c.is_expired(now), "no expiration: never expires");
        c.expiration = Some("2026-11-22T12:00:00Z".parse().unwrap());
        assert!(c.is_expired(now));
        c.expiration = Some("2026-11-22T12:00:01Z".parse().unwrap());
        assert!(!c.is_expired(now));
    }

    #[test]
    fn a_corrupt_entry_is_named_not_shown() {
        let e = from_entry(&format!(r#"{{"Version":1,"AccessKeyId":"{ID}"}}"#), "Secret Service", "ops")
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("vend-aws/ops") && text.contains("vend auth login --profile ops"), "{text}");
        assert!(!text.contains(ID), "{text}");
    }
}
