//! `wharf authorize PLUGIN`: connects an account of a plugin's service in
//! one command, from the OAuth 2 flow the plugin declares
//! (`authorization.flow`, contract 0.3). It prints the service's
//! authorization link (the code flow, with PKCE when no client secret is
//! given), reads the code the service shows after the user allows access,
//! trades it for a refresh token, and stores that in the remote's
//! configuration, owner-only. The plugin then renews its short-lived access
//! tokens from the refresh token by itself. Nothing here knows a service:
//! the URLs, parameters and option names are all the plugin's.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use wharf::config::save_remote;
use wharf::{Access, OauthFlow, Plugin, TlsTrust};

use crate::app::App;
use crate::config_cmd::checked_options;
use crate::UsageError;

/// What `wharf authorize` was given.
pub struct Authorize {
    /// The plugin: a built-in or installed name, or a `.wasm` path.
    pub plugin: String,
    /// The remote to create or update; the plugin's name when not given.
    pub remote: Option<String>,
    /// Options given as KEY=VALUE.
    pub options: Vec<(String, String)>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub tls_ca_file: Option<PathBuf>,
}

pub async fn authorize(app: &App, config_path: Option<PathBuf>, args: Authorize) -> Result<()> {
    let Some(path) = config_path.or_else(|| app.config.path().map(PathBuf::from)) else {
        bail!(UsageError(
            "there is no config file to store the remote in: pass --config PATH".into()
        ));
    };
    let plugin = app.catalog.load(&args.plugin).await?;
    let name = plugin.info().name.clone();
    let Some(flow) = plugin.oauth_flow().await? else {
        bail!(UsageError(format!(
            "plugin '{name}' declares no account to connect (no OAuth flow): configure it with \
             `wharf config create REMOTE {name} KEY=VALUE…` instead; see `wharf plugins inspect \
             {name}` for its options"
        )));
    };
    check_flow(&plugin, &flow)?;
    let remote = args.remote.clone().unwrap_or_else(|| name.clone());
    let again = format!("wharf authorize {}", args.plugin);

    // The options so far: an existing remote of that name and plugin (so
    // that re-authorizing needs no flags), then what was given now.
    let mut options: BTreeMap<String, String> = BTreeMap::new();
    let mut trust = TlsTrust::default();
    if let Ok(spec) = app.config.remote(&remote) {
        if spec.plugin == args.plugin || spec.plugin == name {
            options.extend(spec.options.iter().cloned());
            trust = spec.host.tls.clone();
        }
    }
    options.extend(args.options.iter().cloned());
    if let Some(id) = &args.client_id {
        options.insert(flow.client_id_option.clone(), id.clone());
    }
    if let (Some(secret), Some(option)) = (&args.client_secret, &flow.client_secret_option) {
        options.insert(option.clone(), secret.clone());
    } else if args.client_secret.is_some() {
        bail!(UsageError(format!(
            "{} takes no client secret (plugin '{name}' declares none): leave out --client-secret",
            flow.service
        )));
    }
    if let Some(ca) = &args.tls_ca_file {
        trust.ca_files = vec![ca.clone()];
        options.insert("tls_ca_file".into(), ca.display().to_string());
    }
    // Checked before anything is asked of the user or the service.
    checked_options(app, &remote, &args.plugin, options.clone()).await?;

    let Some(client_id) = options.get(&flow.client_id_option).cloned() else {
        bail!(UsageError(format!(
            "give your {} app's client id with --client-id ID (or {}=ID); register an app at {}",
            flow.service, flow.client_id_option, flow.console_url
        )));
    };
    let client_secret = flow
        .client_secret_option
        .as_ref()
        .and_then(|option| options.get(option).cloned());
    let value = |option: &str| {
        options
            .get(option)
            .cloned()
            .or_else(|| default_of(&plugin, option))
            .map(|v| v.trim_end_matches('/').to_owned())
    };
    let authorize_url = expand_url(&flow.authorize_url, &value, "authorize-url", &name)?;
    let token_url = expand_url(&flow.token_url, &value, "token-url", &name)?;
    check_token_url(
        &plugin.source().to_string(),
        &plugin.info().access,
        &token_url,
        &value,
    )?;

    let verifier = client_secret.is_none().then(pkce_verifier).transpose()?;
    let mut link = format!(
        "{authorize_url}{}client_id={}&response_type=code",
        if authorize_url.contains('?') {
            '&'
        } else {
            '?'
        },
        wharf::percent_encode(&client_id)
    );
    for (key, val) in &flow.authorize_parameters {
        link.push_str(&format!(
            "&{}={}",
            wharf::percent_encode(key),
            wharf::percent_encode(val)
        ));
    }
    if let Some(verifier) = &verifier {
        link.push_str(&format!(
            "&code_challenge={}&code_challenge_method=S256",
            base64_url(&Sha256::digest(verifier.as_bytes()))
        ));
    }
    let service = &flow.service;
    let mut err = std::io::stderr();
    writeln!(err, "1. Open this link and allow access:\n\n   {link}\n")?;
    write!(err, "2. Paste the code {service} shows: ")?;
    err.flush()?;
    let mut code = String::new();
    std::io::stdin().lock().read_line(&mut code)?;
    let code = code.trim();
    if code.is_empty() {
        bail!("no code was given; run `{again}` again and paste the code {service} shows");
    }

    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", client_id.as_str()),
    ];
    if let Some(secret) = &client_secret {
        form.push(("client_secret", secret));
    }
    if let Some(verifier) = &verifier {
        form.push(("code_verifier", verifier));
    }
    let (status, body) = wharf::post_form(&token_url, &form, &trust, 64 * 1024)
        .await
        .with_context(|| format!("trading the code for a refresh token at {token_url}"))?;
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if status != 200 {
        let code = answer["error"].as_str().unwrap_or("");
        let detail = answer["error_description"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| wharf::printable(&String::from_utf8_lossy(&body)).into_owned());
        bail!(
            "{service} refused the code (HTTP {status}, {code}: {detail}); codes work once and \
             expire after a few minutes: run `{again}` again, and check the client id{}",
            if client_secret.is_some() {
                " and secret"
            } else {
                ""
            }
        );
    }
    let Some(refresh_token) = answer["refresh_token"].as_str() else {
        bail!(
            "{service}'s answer has no refresh_token, so the remote could not renew its access; \
             plugin '{name}' may be asking for the wrong grant: report it to its author"
        );
    };
    options.insert(flow.refresh_token_option.clone(), refresh_token.to_owned());

    let mut entries = vec![("plugin".to_owned(), args.plugin.clone())];
    entries.extend(options);
    save_remote(&path, &remote, &entries)?;
    writeln!(
        err,
        "\nSaved remote '{remote}' in {} (readable by you only). Try: wharf ls {remote}:",
        path.display()
    )?;
    Ok(())
}

/// Every option the flow names must be one of the plugin's: a typo there
/// would store the token where the plugin never looks.
fn check_flow(plugin: &Plugin, flow: &OauthFlow) -> Result<()> {
    let info = plugin.info();
    let named = [&flow.client_id_option, &flow.refresh_token_option]
        .into_iter()
        .chain(&flow.client_secret_option);
    for option in named {
        if !info.options.iter().any(|o| &o.name == option) {
            bail!(
                "{}'s OAuth flow names option '{option}', which it does not have; it is a fault \
                 in the plugin, to report to its author",
                plugin.source()
            );
        }
    }
    Ok(())
}

/// The default the plugin declares for `option`.
fn default_of(plugin: &Plugin, option: &str) -> Option<String> {
    plugin
        .info()
        .options
        .iter()
        .find(|o| o.name == option)
        .and_then(|o| o.default.clone())
}

/// `template` with its `{option}` placeholders filled in.
fn expand_url(
    template: &str,
    value: &dyn Fn(&str) -> Option<String>,
    what: &str,
    plugin: &str,
) -> Result<String> {
    wharf::grant::expand(template, value).ok_or_else(|| {
        UsageError(format!(
            "plugin '{plugin}''s {what} '{template}' needs an option that has no value: give it \
             as KEY=VALUE"
        ))
        .into()
    })
}

/// The code and the client secret go only to `https` (or loopback `http`),
/// and only to an endpoint the plugin's `access` declares for these
/// options: nowhere the plugin could not reach itself.
fn check_token_url(
    source: &str,
    access: &[Access],
    token_url: &str,
    value: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    let (scheme, rest) = token_url.split_once("://").unwrap_or(("", token_url));
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    if scheme != "https" && !(scheme == "http" && loopback) {
        bail!(
            "the token URL {token_url} of {} is not https; the code and the client secret are \
             sent only over https (or to this machine)",
            source
        );
    }
    let declared: Vec<String> = access
        .iter()
        .filter_map(|access| match access {
            Access::Network(network) => Some(network.endpoints.iter()),
            Access::Directory(_) => None,
        })
        .flatten()
        .filter_map(|endpoint| wharf::grant::expand(endpoint, value))
        .collect();
    let origin = format!("{scheme}://{authority}");
    let within = declared.iter().any(|endpoint| {
        let endpoint = endpoint.trim_end_matches('/');
        let endpoint = endpoint
            .strip_prefix(&format!("{scheme}://"))
            .unwrap_or(endpoint);
        endpoint == authority || origin == endpoint
    });
    if !within {
        bail!(
            "the token URL {token_url} of {} is not on an endpoint it declares for these options \
             ({}); the code is sent nowhere the plugin could not reach itself",
            source,
            if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.join(", ")
            }
        );
    }
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

    fn api_host() -> Vec<Access> {
        vec![Access::Network(wharf::NetworkAccess {
            protocol: wharf::NetworkProtocol::Http,
            endpoints: vec!["{api_url}".into()],
            reason: "its API".into(),
        })]
    }

    fn check(token_url: &str, api_url: &str) -> Result<()> {
        let value = |option: &str| (option == "api_url").then(|| api_url.to_owned());
        check_token_url("plugin 'p'", &api_host(), token_url, &value)
    }

    #[test]
    fn the_code_goes_only_to_a_declared_endpoint_over_https() {
        check(
            "https://api.example.com/oauth2/token",
            "https://api.example.com",
        )
        .unwrap();
        check("http://127.0.0.1:8080/token", "http://127.0.0.1:8080").unwrap();
        let elsewhere = check("https://evil.example.net/token", "https://api.example.com")
            .unwrap_err()
            .to_string();
        assert!(
            elsewhere.contains("not on an endpoint it declares")
                && elsewhere.contains("https://api.example.com"),
            "{elsewhere}"
        );
        let plain = check("http://api.example.com/token", "http://api.example.com")
            .unwrap_err()
            .to_string();
        assert!(plain.contains("is not https"), "{plain}");
        // A host that only starts like the declared one is another host.
        check(
            "https://api.example.com.evil.net/token",
            "https://api.example.com",
        )
        .unwrap_err();
    }

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
