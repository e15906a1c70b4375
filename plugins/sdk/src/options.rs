//! A plugin's configuration, checked against its declared options.

use crate::{Error, OptionSpec, Result};

/// Declares one option for a plugin's `info`: `default` is the value used
/// when the option is not given.
pub fn option(
    name: &str,
    help: &str,
    required: bool,
    secret: bool,
    default: Option<&str>,
) -> OptionSpec {
    OptionSpec {
        name: name.into(),
        help: help.into(),
        required,
        secret,
        default: default.map(Into::into),
    }
}

/// The options given to `open`, after the checks every plugin needs: each
/// required option is present, no unknown option is, and every default from
/// the plugin's `info` is filled in.
#[derive(Debug, Clone)]
pub struct Options {
    values: Vec<(String, String)>,
}

impl Options {
    /// Checks `given` against `specs` and fills in defaults.
    pub fn resolve(given: Vec<(String, String)>, specs: &[OptionSpec]) -> Result<Self> {
        let valid = || {
            specs
                .iter()
                .map(|spec| spec.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (i, (name, _)) in given.iter().enumerate() {
            if !specs.iter().any(|spec| &spec.name == name) {
                return Err(Error::invalid_config(format!(
                    "unknown option '{name}'; the valid options are: {}",
                    valid()
                )));
            }
            if given[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(Error::invalid_config(format!(
                    "option '{name}' is given twice; give it once"
                )));
            }
        }
        let mut values = given;
        for spec in specs {
            if values.iter().any(|(name, _)| name == &spec.name) {
                continue;
            }
            match (&spec.default, spec.required) {
                (Some(default), _) => values.push((spec.name.clone(), default.clone())),
                (None, true) => {
                    return Err(Error::invalid_config(format!(
                        "missing required option '{}': {}",
                        spec.name, spec.help
                    )))
                }
                (None, false) => {}
            }
        }
        Ok(Options { values })
    }

    /// The value of option `name`, if it was given or has a default.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a required option. [`Options::resolve`] has already
    /// checked that it is there, so a miss is a bug in the plugin's `info`.
    pub fn required(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            Error::invalid_config(format!(
                "option '{name}' has no value; declare it required or give it a default"
            ))
        })
    }

    /// Option `name` parsed as `T`, with an error that names the option and
    /// the bad value.
    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|value| {
                value.parse().map_err(|e| {
                    Error::invalid_config(format!("option '{name}' = '{value}' is not valid: {e}"))
                })
            })
            .transpose()
    }
}
