//! The other names a plugin's options are known by, as the plugin declares
//! them (`option-aliases`, contract 0.3): django-storages' `bucket_name`
//! for S3's `bucket`, rclone's names. The host knows no plugin's names: it
//! checks each plugin's declaration when the plugin is loaded and applies
//! it to a remote's options before anything else sees them.

use std::collections::BTreeMap;

use crate::bindings::types::{AliasMeaning, OptionAlias, PluginInfo};
use crate::config::HOST_KEYS;
use crate::plugin::PluginSource;
use crate::{Error, ErrorKind, Result};

/// Refuses a declaration that would let an alias set anything but the
/// plugin's own options (the host's bounds, `allow_hosts`, the TLS trust
/// are the user's alone), or that shadows an option or a host key.
pub(crate) fn check(
    info: &PluginInfo,
    aliases: &[OptionAlias],
    source: &PluginSource,
) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::new(
            ErrorKind::InvalidPlugin,
            format!("{source} declares option aliases the host refuses: {why}; its author must fix the plugin"),
        ))
    };
    let is_option = |name: &str| info.options.iter().any(|o| o.name == name);
    for alias in aliases {
        let name = alias.name.as_str();
        if is_option(name) || HOST_KEYS.contains(&name) || name == "plugin" {
            return refuse(format!(
                "'{name}' is already the name of an option or a host key"
            ));
        }
        let targets: Vec<&str> = match &alias.meaning {
            AliasMeaning::SameAs(option) => vec![option.as_str()],
            AliasMeaning::Translated(translations) => translations
                .iter()
                .map(|t| t.option.as_str())
                .filter(|o| !o.is_empty())
                .collect(),
            AliasMeaning::Ignored(_) => Vec::new(),
        };
        if let Some(target) = targets.into_iter().find(|t| !is_option(t)) {
            return refuse(format!(
                "'{name}' would set '{target}', which is not one of the plugin's options"
            ));
        }
    }
    Ok(())
}

/// Turns the aliases in `options` into the plugin's own options (an option
/// given under its own name wins). Returns notes on aliases that were
/// accepted and left out, for the user.
pub fn apply(
    remote: &str,
    aliases: &[OptionAlias],
    options: &mut BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for alias in aliases {
        let Some(value) = options.remove(&alias.name) else {
            continue;
        };
        match &alias.meaning {
            AliasMeaning::SameAs(option) => {
                options.entry(option.clone()).or_insert(value);
            }
            AliasMeaning::Translated(translations) => {
                let exact: Vec<_> = translations.iter().filter(|t| t.when == value).collect();
                let chosen = if exact.is_empty() {
                    translations.iter().filter(|t| t.when == "*").collect()
                } else {
                    exact
                };
                if chosen.is_empty() {
                    let accepted: Vec<&str> =
                        translations.iter().map(|t| t.when.as_str()).collect();
                    return Err(Error::new(
                        ErrorKind::InvalidConfig,
                        format!(
                            "remote '{remote}': {} = '{value}' (a {} option) is not one of: {}",
                            alias.name,
                            alias.origin,
                            accepted.join(", ")
                        ),
                    ));
                }
                for translation in chosen.into_iter().filter(|t| !t.option.is_empty()) {
                    let set = if translation.value == "*" {
                        value.clone()
                    } else {
                        translation.value.clone()
                    };
                    options.entry(translation.option.clone()).or_insert(set);
                }
            }
            AliasMeaning::Ignored(what) => notes.push(format!("'{}' is {what}", alias.name)),
        }
    }
    Ok(notes)
}

/// Reads one JSON object of options (as django-storages takes them:
/// `WHARF_REMOTE_<NAME>_OPTIONS`, `wharf config create … --options`) into
/// text values.
pub fn options_from_json(remote: &str, json: &str) -> Result<BTreeMap<String, String>> {
    let invalid = |why: String| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("remote '{remote}': the options JSON {why}; give one object such as {{\"bucket_name\": \"media\"}}"),
        )
    };
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| invalid(format!("is not valid JSON ({e})")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(invalid("is not an object".into()));
    };
    let mut options = BTreeMap::new();
    for (key, value) in map {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(invalid(format!("has a list or object for '{key}'"))),
        };
        options.insert(key, text);
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::AliasTranslation;

    fn aliases() -> Vec<OptionAlias> {
        let alias = |name: &str, meaning| OptionAlias {
            name: name.into(),
            origin: "django-storages".into(),
            meaning,
        };
        let to = |when: &str, option: &str, value: &str| AliasTranslation {
            when: when.into(),
            option: option.into(),
            value: value.into(),
        };
        vec![
            alias("bucket_name", AliasMeaning::SameAs("bucket".into())),
            alias(
                "addressing_style",
                AliasMeaning::Translated(vec![
                    to("path", "force_path_style", "true"),
                    to("virtual", "force_path_style", "false"),
                    to("auto", "", ""),
                ]),
            ),
            alias("querystring_auth", AliasMeaning::Ignored("for URLs".into())),
        ]
    }

    #[test]
    fn aliases_become_the_plugins_options_and_its_own_names_win() {
        let mut options = options_from_json(
            "r2",
            r#"{"bucket_name": "media", "addressing_style": "path", "querystring_auth": false,
                "default_acl": null}"#,
        )
        .unwrap();
        let notes = apply("r2", &aliases(), &mut options).unwrap();
        assert_eq!(
            options,
            BTreeMap::from([
                ("bucket".to_owned(), "media".to_owned()),
                ("force_path_style".to_owned(), "true".to_owned()),
            ])
        );
        assert_eq!(notes, ["'querystring_auth' is for URLs"]);

        let mut own = BTreeMap::from([
            ("bucket".to_owned(), "own".to_owned()),
            ("bucket_name".to_owned(), "alias".to_owned()),
            ("addressing_style".to_owned(), "auto".to_owned()),
        ]);
        apply("r2", &aliases(), &mut own).unwrap();
        assert_eq!(
            own,
            BTreeMap::from([("bucket".to_owned(), "own".to_owned())])
        );
    }

    #[test]
    fn a_value_no_translation_takes_is_refused_with_the_accepted_ones() {
        let mut options = BTreeMap::from([("addressing_style".to_owned(), "sideways".to_owned())]);
        let error = apply("r2", &aliases(), &mut options).unwrap_err();
        assert_eq!(*error.kind(), ErrorKind::InvalidConfig);
        assert_eq!(
            error.message(),
            "remote 'r2': addressing_style = 'sideways' (a django-storages option) is not one of: \
             path, virtual, auto"
        );
    }

    #[test]
    fn options_json_must_be_an_object_of_scalars() {
        assert!(options_from_json("x", "[1]").is_err());
        assert!(options_from_json("x", r#"{"a": {"b": 1}}"#).is_err());
        assert!(options_from_json("x", "{bad").is_err());
    }
}
