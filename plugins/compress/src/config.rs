//! The compress overlay's options, named as rclone's compress names them
//! so a compress section of an rclone.conf works as it is.

use wharf_plugin::{option, AliasMeaning, Error, OptionAlias, OptionSpec, Options, Result};

use crate::gzip;
use crate::names::Mode;
use crate::zstd;

pub const MODE: &str = "mode";
pub const LEVEL: &str = "level";

/// The options, declared once.
pub fn options() -> Vec<OptionSpec> {
    vec![
        option(MODE, "How content is compressed: gzip or zstd, as rclone's modes of those names.", false, false, Some("gzip")),
        option(LEVEL, "gzip: -1 (the default), 0 (none) to 9 (the smallest), or -2 (Huffman coding only); zstd: 1 (the fastest) to 4 (the smallest), -1 for 2.", false, false, Some("-1")),
    ]
}

/// rclone's settings that configure nothing here.
pub fn aliases() -> Vec<OptionAlias> {
    vec![OptionAlias {
        name: "ram_cache_limit".into(),
        origin: "rclone".into(),
        meaning: AliasMeaning::Ignored(
            "how much compressed data rclone holds in memory before spooling it to a temporary \
             file; Wharf streams every object through without either"
                .into(),
        ),
    }]
}

/// What `open` made of the options.
pub struct CompressConfig {
    pub mode: Mode,
    pub level: i32,
}

impl CompressConfig {
    pub fn from_options(options: &Options) -> Result<Self> {
        let mode = match options.get(MODE).unwrap_or("gzip") {
            "gzip" => Mode::Gzip,
            "zstd" => Mode::Zstd,
            other => {
                return Err(Error::invalid_config(format!(
                    "option 'mode': '{other}' is not a compression mode; give gzip or zstd"
                )))
            }
        };
        let text = options.get(LEVEL).unwrap_or("-1").trim();
        let mut level: i32 = text.parse().map_err(|_| {
            Error::invalid_config(format!("option 'level': '{text}' is not a whole number"))
        })?;
        let checked = match mode {
            Mode::Zstd => {
                if level == -1 {
                    level = zstd::DEFAULT_LEVEL;
                }
                zstd::check_level(level)
            }
            _ => gzip::check_level(level),
        };
        checked.map_err(|why| Error::invalid_config(format!("option 'level': {why}")))?;
        Ok(CompressConfig { mode, level })
    }
}
