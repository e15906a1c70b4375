//! `wharf authorize dropbox`: connects a Dropbox account in one command.
//! It prints Dropbox's authorization link (OAuth 2 code flow with
//! `token_access_type=offline`, and PKCE when no app secret is given),
//! reads the code Dropbox shows after the user allows access, trades it
//! for a refresh token, and stores that in the remote's configuration,
//! owner-only. The plugin then renews its short-lived access tokens from
//! the refresh token by itself.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use wharf::config::{save_remote, Config};
use wharf::TlsTrust;

/// Where Dropbox asks the user to allow access.
const AUTHORIZE_URL: &str = "https://www.dropbox.com/oauth2/authorize";
/// Where the code is traded for tokens.
const API_URL: &str = "https://api.dropboxapi.com";

/// What `wharf authorize dropbox` was given.
pub struct DropboxAuthorize {
    pub remote: String,
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
    pub authorize_url: Option<String>,
    pub api_url: Option<String>,
    pub content_url: Option<String>,
    pub tls_ca_file: Option<PathBuf>,
}

pub async fn dropbox(
    config: &Config,
    config_path: Option<PathBuf>,
    args: DropboxAuthorize,
) -> Result<()> {
    let Some(path) = config_path.or_else(|| config.path().map(PathBuf::from)) else {
        bail!("there is no config file to store the remote in: pass --config PATH");
    };
    // What an existing remote of that name already says, so that
    // re-authorizing needs no flags.
    let existing = config.remote(&args.remote).ok();
    let known = |name: &str| {
        existing.as_ref().and_then(|spec| {
            spec.options
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    let Some(app_key) = args.app_key.clone().or_else(|| known("app_key")) else {
        bail!(
            "give your Dropbox app's key with --app-key KEY (create an app at \
             https://www.dropbox.com/developers/apps, then Settings → App key)"
        );
    };
    let app_secret = args.app_secret.clone().or_else(|| known("app_secret"));
    let api_url = args.api_url.clone().or_else(|| known("api_url"));
    let trust = TlsTrust {
        ca_files: args.tls_ca_file.iter().cloned().collect(),
        skip_verify: false,
    };

    let verifier = (app_secret.is_none()).then(pkce_verifier).transpose()?;
    let mut link = format!(
        "{}?client_id={}&response_type=code&token_access_type=offline",
        args.authorize_url.as_deref().unwrap_or(AUTHORIZE_URL),
        wharf::percent_encode(&app_key)
    );
    if let Some(verifier) = &verifier {
        link.push_str(&format!(
            "&code_challenge={}&code_challenge_method=S256",
            base64_url(&Sha256::digest(verifier.as_bytes()))
        ));
    }
    let mut err = std::io::stderr();
    writeln!(err, "1. Open this link and allow access:\n\n   {link}\n")?;
    write!(err, "2. Paste the code Dropbox shows: ")?;
    err.flush()?;
    let mut code = String::new();
    std::io::stdin().lock().read_line(&mut code)?;
    let code = code.trim();
    if code.is_empty() {
        bail!("no code was given; run `wharf authorize dropbox` again and paste the code Dropbox shows");
    }

    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", app_key.as_str()),
    ];
    if let Some(secret) = &app_secret {
        form.push(("client_secret", secret));
    }
    if let Some(verifier) = &verifier {
        form.push(("code_verifier", verifier));
    }
    let token_url = format!(
        "{}/oauth2/token",
        api_url.as_deref().unwrap_or(API_URL).trim_end_matches('/')
    );
    let (status, body) = wharf::post_form(&token_url, &form, &trust, 64 * 1024)
        .await
        .context("trading the code for a refresh token")?;
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if status != 200 {
        let code = answer["error"].as_str().unwrap_or("");
        let detail = answer["error_description"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        bail!(
            "Dropbox refused the code (HTTP {status}, {code}: {detail}); codes work once and \
             expire after a few minutes: run `wharf authorize dropbox` again, and check the app \
             key{}",
            if app_secret.is_some() {
                " and secret"
            } else {
                ""
            }
        );
    }
    let Some(refresh_token) = answer["refresh_token"].as_str() else {
        bail!("Dropbox's answer has no refresh_token: was token_access_type=offline dropped from the link?");
    };

    let mut entries = vec![
        ("plugin".to_owned(), "dropbox".to_owned()),
        ("app_key".to_owned(), app_key.clone()),
        ("refresh_token".to_owned(), refresh_token.to_owned()),
    ];
    if let Some(secret) = &app_secret {
        entries.push(("app_secret".into(), secret.clone()));
    }
    for (name, value) in [
        ("api_url", &args.api_url),
        ("content_url", &args.content_url),
    ] {
        if let Some(value) = value {
            entries.push((name.into(), value.clone()));
        }
    }
    if let Some(ca) = &args.tls_ca_file {
        entries.push(("tls_ca_file".into(), ca.display().to_string()));
    }
    save_remote(&path, &args.remote, &entries)?;
    let remote = &args.remote;
    writeln!(
        err,
        "\nSaved remote '{remote}' in {} (readable by you only). Try: wharf ls {remote}:",
        path.display()
    )?;
    Ok(())
}

/// A PKCE code verifier: 64 characters from the unreserved set.
fn pkce_verifier() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for PKCE: {e}"))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// Base64url without padding (RFC 7636's code challenge).
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=group.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_challenge_of_rfc_7636() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            base64_url(&Sha256::digest(verifier.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
