//! AWS credentials in the OS keyring: `vend auth login|logout`, and `resolve` — with `--aws`, the
//! credentials `vend auth login` stored for the profile go into `Config::aws` ahead of the
//! standard chain (one note says which source is used, never a secret).

use super::Console;
use crate::adapter::credentials::{self, Lookup, StoredCredentials};
use crate::app;
use crate::config::Config;

/// Look up the keyring credentials of the selected profile and put them into `config.aws`;
/// returns the note for stderr. Expired stored credentials are an error.
pub fn resolve(config: &mut Config) -> anyhow::Result<String> {
    let profile = config.profile_name();
    config.aws.profile_name = Some(profile.clone());
    let note = match credentials::load(&profile)? {
        Lookup::Found { credentials, store } => {
            if let Some(at) =
                credentials.expiration.filter(|_| credentials.is_expired(jiff::Timestamp::now()))
            {
                anyhow::bail!(
                    "the AWS credentials stored for profile {profile} in the OS keyring ({store}) expired at {at}; \
                     run `vend auth login --profile {profile}` with fresh ones, or `vend auth logout --profile \
                     {profile}` to use the standard credential chain"
                );
            }
            config.aws.credentials = Some(credentials);
            format!("vend: AWS credentials of profile {profile} from the OS keyring ({store})")
        }
        Lookup::Missing { store } => {
            config.aws.keyring_note = Some(format!("none stored for profile {profile}, {store}"));
            format!(
                "vend: AWS credentials from the standard chain (none stored for profile {profile} in the OS keyring, {store})"
            )
        }
        Lookup::Unavailable(why) => {
            config.aws.keyring_note = Some(format!("not available: {why}"));
            format!("vend: AWS credentials from the standard chain (OS keyring not available: {why})")
        }
    };
    Ok(note)
}

/// `vend auth login`: credentials piped on standard input or asked for on the terminal, checked
/// with STS unless `no_verify`, stored in the OS keyring for the profile.
pub fn login(config: &Config, no_verify: bool, console: &mut dyn Console) -> anyhow::Result<u8> {
    let profile = config.profile_name();
    // No keyring, no login: say so before anyone types a secret.
    credentials::keyring_name()?;
    let creds = if config.env.stdin_tty {
        ask_credentials(console)?
    } else {
        let text = console
            .read_all()
            .map_err(|e| anyhow::anyhow!("reading the credentials from standard input: {e}"))?;
        credentials::parse_input(&text)?
    };
    if let Some(at) = creds.expiration.filter(|_| creds.is_expired(jiff::Timestamp::now())) {
        anyhow::bail!(
            "these credentials expired at {at}; nothing was stored: get fresh ones and log in again"
        );
    }
    let identity = if no_verify {
        None
    } else {
        let mut config = config.clone();
        config.aws.credentials = Some(creds.clone());
        let mut cloud = app::aws_cloud(&config)?;
        let id = cloud.caller_identity().map_err(|e| {
            anyhow::anyhow!(
                "AWS did not accept the credentials (STS GetCallerIdentity: {e}); nothing was stored \
                 (check them, or pass --no-verify to store them unchecked)"
            )
        })?;
        Some(id)
    };
    let store = credentials::store(&profile, &creds)?;
    console.say(&format!(
        "Stored the AWS credentials of profile {profile} in the OS keyring ({store}, service {}).",
        credentials::KEYRING_SERVICE
    ));
    match identity {
        Some(id) => console.say(&format!("They act as {} (account {}).", id.arn, id.account)),
        None => console.say("Not checked with AWS (--no-verify)."),
    }
    console.say(&format!("Commands with --aws --profile {profile} use them ahead of the standard chain."));
    Ok(0)
}

/// `vend auth logout`.
pub fn logout(config: &Config, console: &mut dyn Console) -> anyhow::Result<u8> {
    let profile = config.profile_name();
    let (store, removed) = credentials::delete(&profile)?;
    if removed {
        console
            .say(&format!("Removed the AWS credentials of profile {profile} from the OS keyring ({store})."));
    } else {
        console.say(&format!(
            "No AWS credentials were stored for profile {profile} in the OS keyring ({store}); nothing to remove."
        ));
    }
    Ok(0)
}

/// Ask for credentials on the terminal: the access key id visibly, the secret and the token
/// hidden.
fn ask_credentials(console: &mut dyn Console) -> anyhow::Result<StoredCredentials> {
    console.err("AWS access key id: ");
    let id = console.read_line()?;
    let secret = console.read_hidden("AWS secret access key (hidden): ")?;
    let token = console.read_hidden("AWS session token (hidden; empty for long-term keys): ")?;
    let creds = StoredCredentials {
        access_key_id: id.trim().to_string(),
        secret_access_key: secret.trim().to_string(),
        session_token: Some(token.trim().to_string()).filter(|t| !t.is_empty()),
        expiration: None,
    };
    creds.validate()?;
    Ok(creds)
}
