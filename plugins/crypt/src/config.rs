//! The crypt overlay's options, named as rclone's crypt names them so a
//! crypt section of an rclone.conf works as it is.

use wharf_plugin::{option, Error, OptionSpec, Options, Result};

use crate::encoding::Encoding;
use crate::keys::Keys;
use crate::names::{Mode, Names};

pub const PASSWORD: &str = "password";
pub const PASSWORD2: &str = "password2";
pub const FILENAME_ENCRYPTION: &str = "filename_encryption";
pub const DIRECTORY_NAME_ENCRYPTION: &str = "directory_name_encryption";
pub const FILENAME_ENCODING: &str = "filename_encoding";
pub const SUFFIX: &str = "suffix";
pub const STRICT_NAMES: &str = "strict_names";
pub const NO_DATA_ENCRYPTION: &str = "no_data_encryption";

/// The options, declared once.
pub fn options() -> Vec<OptionSpec> {
    vec![
        option(PASSWORD, "The password, obscured as rclone stores it (`wharf obscure PASSWORD` or `rclone obscure PASSWORD` makes one).", true, true, None),
        option(PASSWORD2, "The salt password, obscured likewise; empty for rclone's default salt.", false, true, Some("")),
        option(FILENAME_ENCRYPTION, "How names are encrypted: standard, obfuscate or off.", false, false, Some("standard")),
        option(DIRECTORY_NAME_ENCRYPTION, "Whether directory names are encrypted too (true or false).", false, false, Some("true")),
        option(FILENAME_ENCODING, "How encrypted names are written: base32, base64 or base32768.", false, false, Some("base32")),
        option(SUFFIX, "With filename_encryption = off, what is added to names; `none` for nothing.", false, false, Some(".bin")),
        option(STRICT_NAMES, "Whether a name below that does not decrypt fails a listing (true) or is skipped (false).", false, false, Some("false")),
        option(NO_DATA_ENCRYPTION, "Store content as it is and encrypt only names (true or false).", false, false, Some("false")),
    ]
}

/// What `open` made of the options.
pub struct CryptConfig {
    pub keys: Keys,
    pub names: Names,
    pub strict_names: bool,
    pub no_data_encryption: bool,
}

fn boolean(options: &Options, name: &str) -> Result<bool> {
    match options
        .get(name)
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        other => Err(Error::invalid_config(format!(
            "option '{name}': '{other}' is not true or false"
        ))),
    }
}

fn revealed(options: &Options, name: &str) -> Result<String> {
    let value = options.get(name).unwrap_or("");
    if value.is_empty() {
        return Ok(String::new());
    }
    wharf_obscure::reveal(value).map_err(|why| {
        Error::invalid_config(format!(
            "option '{name}': {why}; crypt takes its passwords obscured, as rclone stores them: \
             give what `wharf obscure YOUR-PASSWORD` (or `rclone obscure`) prints"
        ))
    })
}

impl CryptConfig {
    pub fn from_options(options: &Options) -> Result<CryptConfig> {
        let password = revealed(options, PASSWORD)?;
        if password.is_empty() {
            return Err(Error::invalid_config(format!(
                "option '{PASSWORD}' is empty; a crypt remote needs a password"
            )));
        }
        let password2 = revealed(options, PASSWORD2)?;
        let mode_text = options.get(FILENAME_ENCRYPTION).unwrap_or("standard");
        let mode = Mode::parse(mode_text).ok_or_else(|| {
            Error::invalid_config(format!(
                "option '{FILENAME_ENCRYPTION}': '{mode_text}' is not standard, obfuscate or off"
            ))
        })?;
        let encoding_text = options.get(FILENAME_ENCODING).unwrap_or("base32");
        let encoding = Encoding::parse(encoding_text).ok_or_else(|| {
            Error::invalid_config(format!(
                "option '{FILENAME_ENCODING}': '{encoding_text}' is not base32, base64 or base32768"
            ))
        })?;
        let suffix = match options.get(SUFFIX).unwrap_or(".bin") {
            s if s.eq_ignore_ascii_case("none") => String::new(),
            s if s.starts_with('.') || s.is_empty() => s.to_owned(),
            s => format!(".{s}"),
        };
        let directories = match options.get(DIRECTORY_NAME_ENCRYPTION) {
            None | Some("") => true,
            Some(_) => boolean(options, DIRECTORY_NAME_ENCRYPTION)?,
        };
        let keys = Keys::derive(&password, &password2)?;
        let names = Names::new(&keys, mode, encoding, directories, &suffix);
        Ok(CryptConfig {
            keys,
            names,
            strict_names: boolean(options, STRICT_NAMES)?,
            no_data_encryption: boolean(options, NO_DATA_ENCRYPTION)?,
        })
    }
}
