//! rclone's command line: flags anywhere (before or after the subcommand),
//! `--flag value` or `--flag=value`, `-vv`; every flag Wharf does not know
//! is an error naming it (exit 2, as rclone), never ignored.

use std::path::PathBuf;

use crate::fail::Failure;

/// The backends whose `--<backend>-<option>` flags are taken.
const BACKENDS: &[&str] = &["s3", "crypt", "compress", "ftp", "dropbox", "alias"];

/// Everything the command line said.
#[derive(Debug, Default)]
pub struct Args {
    /// The subcommand and its arguments.
    pub positional: Vec<String>,
    pub config: Option<PathBuf>,
    /// `--ca-cert` files (the flag may be given more than once).
    pub ca_cert: Vec<String>,
    pub verbose: u8,
    pub quiet: bool,
    pub dry_run: bool,
    pub progress: bool,
    pub transfers: Option<usize>,
    pub checkers: Option<usize>,
    pub retries: Option<u32>,
    pub multi_thread_streams: Option<usize>,
    pub multi_thread_cutoff: Option<u64>,
    /// `--bwlimit`, unless it is off.
    pub bwlimit: Option<wharf_transfer::Bandwidth>,
    /// `--<backend>-<option> value`, in order.
    pub backend: Vec<(String, String, String)>,
    /// Filter flags in the order given: (flag, value).
    pub filters: Vec<(String, String)>,
    pub error_on_no_transfer: bool,
    pub hash: bool,
    pub recursive: bool,
    pub files_only: bool,
    pub dirs_only: bool,
    pub no_modtime: bool,
    pub no_mimetype: bool,
    pub stat: bool,
    pub json: bool,
    pub offset: Option<i64>,
    pub count: Option<i64>,
    pub head: Option<i64>,
    pub tail: Option<i64>,
    pub checksum: bool,
    pub one_way: bool,
    pub download: bool,
    pub max_depth: Option<i64>,
    pub format: Option<String>,
    pub separator: Option<String>,
    pub absolute: bool,
    pub help: bool,
}

/// Whether a flag takes a value.
#[derive(PartialEq)]
enum Takes {
    Nothing,
    Value,
}

/// rclone's flags that Wharf takes, with their short forms.
const FLAGS: &[(&str, Option<char>, Takes)] = &[
    ("config", None, Takes::Value),
    ("ca-cert", None, Takes::Value),
    ("verbose", Some('v'), Takes::Nothing),
    ("quiet", Some('q'), Takes::Nothing),
    ("dry-run", Some('n'), Takes::Nothing),
    ("progress", Some('P'), Takes::Nothing),
    ("transfers", None, Takes::Value),
    ("checkers", None, Takes::Value),
    ("retries", None, Takes::Value),
    ("low-level-retries", None, Takes::Value),
    ("multi-thread-streams", None, Takes::Value),
    ("multi-thread-cutoff", None, Takes::Value),
    ("bwlimit", None, Takes::Value),
    ("include", None, Takes::Value),
    ("exclude", None, Takes::Value),
    ("filter", Some('f'), Takes::Value),
    ("filter-from", None, Takes::Value),
    ("exclude-from", None, Takes::Value),
    ("include-from", None, Takes::Value),
    ("max-age", None, Takes::Value),
    ("min-age", None, Takes::Value),
    ("max-size", None, Takes::Value),
    ("min-size", None, Takes::Value),
    ("error-on-no-transfer", None, Takes::Nothing),
    ("hash", None, Takes::Nothing),
    ("recursive", Some('R'), Takes::Nothing),
    ("files-only", None, Takes::Nothing),
    ("dirs-only", None, Takes::Nothing),
    ("no-modtime", None, Takes::Nothing),
    ("no-mimetype", None, Takes::Nothing),
    ("stat", None, Takes::Nothing),
    ("json", None, Takes::Nothing),
    ("offset", None, Takes::Value),
    ("count", None, Takes::Value),
    ("head", None, Takes::Value),
    ("tail", None, Takes::Value),
    ("checksum", Some('c'), Takes::Nothing),
    ("one-way", None, Takes::Nothing),
    ("download", None, Takes::Nothing),
    ("max-depth", None, Takes::Value),
    ("format", None, Takes::Value),
    ("separator", Some('s'), Takes::Value),
    ("absolute", None, Takes::Nothing),
    ("help", Some('h'), Takes::Nothing),
];

impl Args {
    /// Parses the arguments after the program name.
    pub fn parse(raw: impl IntoIterator<Item = String>) -> Result<Args, Failure> {
        let mut args = Args::default();
        let mut raw = raw.into_iter();
        while let Some(arg) = raw.next() {
            if arg == "--" {
                args.positional.extend(raw.by_ref());
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                    None => (long.to_owned(), None),
                };
                if let Some(kind) = BACKENDS.iter().find(|b| name.starts_with(&format!("{b}-"))) {
                    let key = name[kind.len() + 1..].to_owned();
                    let value = match inline {
                        Some(v) => v,
                        None => raw.next().ok_or_else(|| needs_value(&name))?,
                    };
                    args.backend.push(((*kind).to_owned(), key, value));
                    continue;
                }
                let Some((_, _, takes)) = FLAGS.iter().find(|(n, _, _)| *n == name) else {
                    return Err(Failure::usage(format!("unknown flag: --{name}")));
                };
                let value = match (takes, inline) {
                    (Takes::Nothing, None) => None,
                    (Takes::Nothing, Some(v)) => match v.as_str() {
                        "true" => None,
                        "false" => continue,
                        _ => {
                            return Err(Failure::usage(format!(
                                "invalid argument \"{v}\" for \"--{name}\" flag: it takes true or false"
                            )))
                        }
                    },
                    (Takes::Value, Some(v)) => Some(v),
                    (Takes::Value, None) => Some(raw.next().ok_or_else(|| needs_value(&name))?),
                };
                args.set(&name, value)?;
            } else if arg.len() > 1 && arg.starts_with('-') && arg != "-" {
                let shorts: Vec<char> = arg[1..].chars().collect();
                for (i, short) in shorts.iter().enumerate() {
                    let Some((name, _, takes)) = FLAGS.iter().find(|(_, s, _)| *s == Some(*short))
                    else {
                        return Err(Failure::usage(format!(
                            "unknown shorthand flag: '{short}' in {arg}"
                        )));
                    };
                    let value = if *takes == Takes::Value {
                        let rest: String = shorts[i + 1..].iter().collect();
                        let value = if rest.is_empty() {
                            raw.next().ok_or_else(|| needs_value(name))?
                        } else {
                            rest
                        };
                        args.set(name, Some(value))?;
                        break;
                    } else {
                        None
                    };
                    args.set(name, value)?;
                }
            } else {
                args.positional.push(arg);
            }
        }
        Ok(args)
    }

    fn set(&mut self, name: &str, value: Option<String>) -> Result<(), Failure> {
        let text = || value.clone().unwrap_or_default();
        match name {
            "config" => self.config = Some(PathBuf::from(text())),
            "ca-cert" => self.ca_cert.push(text()),
            "verbose" => self.verbose += 1,
            "quiet" => self.quiet = true,
            "dry-run" => self.dry_run = true,
            "progress" => self.progress = true,
            "transfers" => self.transfers = Some(number(name, &text())?),
            "checkers" => self.checkers = Some(number(name, &text())?),
            "retries" => self.retries = Some(number(name, &text())?),
            // Wharf's plugins retry their own requests; the number is
            // checked, not used.
            "low-level-retries" => drop(number::<u32>(name, &text())?),
            "multi-thread-streams" => self.multi_thread_streams = Some(number(name, &text())?),
            "multi-thread-cutoff" => {
                let size = wharf_rclone_conf::parse_flag_size(&text()).ok_or_else(|| {
                    Failure::usage(format!(
                        "invalid argument \"{}\" for \"--{name}\" flag: not a size (a number \
                         and K, M or G; a bare number is KiB)",
                        text()
                    ))
                })?;
                self.multi_thread_cutoff = Some(size);
            }
            "bwlimit" => {
                let table = wharf_transfer::Bandwidth::parse(&text())
                    .map_err(|e| Failure::usage(e.message().to_owned()))?;
                self.bwlimit = (!table.is_off()).then_some(table);
            }
            _ if wharf_transfer::Filter::FLAGS.contains(&name) => {
                self.filters.push((name.to_owned(), text()))
            }
            "error-on-no-transfer" => self.error_on_no_transfer = true,
            "hash" => self.hash = true,
            "recursive" => self.recursive = true,
            "files-only" => self.files_only = true,
            "dirs-only" => self.dirs_only = true,
            "no-modtime" => self.no_modtime = true,
            "no-mimetype" => self.no_mimetype = true,
            "stat" => self.stat = true,
            "json" => self.json = true,
            "offset" => self.offset = Some(number(name, &text())?),
            "count" => self.count = Some(number(name, &text())?),
            "head" => self.head = Some(number(name, &text())?),
            "tail" => self.tail = Some(number(name, &text())?),
            "checksum" => self.checksum = true,
            "one-way" => self.one_way = true,
            "download" => self.download = true,
            "max-depth" => self.max_depth = Some(number(name, &text())?),
            "format" => self.format = Some(text()),
            "separator" => self.separator = Some(text()),
            "absolute" => self.absolute = true,
            "help" => self.help = true,
            _ => unreachable!("every flag of FLAGS is set here"),
        }
        Ok(())
    }
}

fn needs_value(name: &str) -> Failure {
    Failure::usage(format!("flag needs an argument: --{name}"))
}

fn number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, Failure> {
    text.parse().map_err(|_| {
        Failure::usage(format!(
            "invalid argument \"{text}\" for \"--{name}\" flag: not a number"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, Failure> {
        Args::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn flags_go_anywhere_in_any_form() {
        let args = parse(&[
            "--config",
            "/tmp/r.conf",
            "-vv",
            "lsjson",
            "r2:b/db",
            "--transfers=8",
            "-R",
            "--s3-chunk-size",
            "8Mi",
        ])
        .unwrap();
        assert_eq!(args.positional, ["lsjson", "r2:b/db"]);
        assert_eq!(
            args.config.as_deref(),
            Some(std::path::Path::new("/tmp/r.conf"))
        );
        assert_eq!(args.verbose, 2);
        assert_eq!(args.transfers, Some(8));
        assert!(args.recursive);
        assert_eq!(
            args.backend,
            [("s3".into(), "chunk-size".into(), "8Mi".into())]
        );
    }

    #[test]
    fn multi_thread_flags_take_rclones_sizes() {
        let args = parse(&[
            "copy",
            "a:x",
            "b",
            "--multi-thread-streams",
            "2",
            "--multi-thread-cutoff=64M",
        ])
        .unwrap();
        assert_eq!(args.multi_thread_streams, Some(2));
        assert_eq!(args.multi_thread_cutoff, Some(64 << 20));
        let err = parse(&["copy", "a:x", "b", "--multi-thread-cutoff", "lots"]).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(
            err.message.contains("\"--multi-thread-cutoff\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn an_unknown_flag_is_named() {
        let err = parse(&["ls", "--bogus", "x:"]).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(err.message.contains("--bogus"), "{}", err.message);
        assert!(parse(&["-Z"]).unwrap_err().message.contains("'Z'"));
        assert!(parse(&["--transfers"])
            .unwrap_err()
            .message
            .contains("needs an argument"));
    }
}
