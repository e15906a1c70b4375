//! `wharf`: store and move objects through sandboxed storage plugins.

mod app;
mod authorize;
mod config_cmd;
mod conformance;
mod new_plugin;
mod objects;
mod output;
mod plugins;
mod rclone_import;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use crate::app::App;
use wharf_transfer::Location;

/// Store and move objects through sandboxed WebAssembly storage plugins.
///
/// Objects are named `remote:key`; a bare path is a local file. The remote
/// `media` needs no configuration: it is the directory ./media.
#[derive(Parser)]
#[command(name = "wharf", version, about, long_about)]
struct Cli {
    /// The config file (default: $WHARF_CONFIG, else config.toml in the
    /// user's config directory under wharf/).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Obscure a password as rclone does, for a crypt remote's `password`
    /// and `password2` (and rclone.conf): wharf obscure 'my secret'.
    /// Obscuring keeps it from being read at a glance; it is not
    /// encryption. `-` reads the password from standard input.
    Obscure {
        /// The password, or `-` to read it from standard input.
        password: String,
    },
    /// Upload a local file: wharf put photo.jpg media:2026/photo.jpg
    Put {
        /// The local file.
        local: PathBuf,
        /// Where to store it: remote:key, or remote:prefix/ to keep its name.
        destination: String,
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Download an object to a local file: wharf get media:2026/photo.jpg photo.jpg
    Get {
        /// The object: remote:key.
        source: String,
        /// The local file or directory.
        local: PathBuf,
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Print an object (or part of it) to standard output.
    Cat {
        /// The object: remote:key.
        source: String,
        /// Start at this byte.
        #[arg(long)]
        offset: Option<u64>,
        /// Print at most this many bytes.
        #[arg(long)]
        count: Option<u64>,
        /// Print only the last this-many bytes.
        #[arg(long)]
        tail: Option<u64>,
    },
    /// List objects: one level, or everything below with -R.
    Ls {
        /// What to list: remote:, remote:prefix/ or remote:key.
        target: String,
        /// Show size and modification time.
        #[arg(short, long)]
        long: bool,
        /// List every object below, not just one level.
        #[arg(short = 'R', long)]
        recursive: bool,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show what is known about one object.
    Stat {
        /// The object: remote:key.
        target: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove objects.
    Rm {
        /// What to remove: remote:key, or with -R remote:prefix.
        targets: Vec<String>,
        /// Remove every object below each prefix.
        #[arg(short = 'R', long)]
        recursive: bool,
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// With -R: delete calls in flight at once, each with its own
        /// plugin instance.
        #[arg(long, default_value_t = 4, value_name = "N", value_parser = at_least_one())]
        transfers: usize,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Copy between remotes and local paths, in either direction.
    Cp {
        /// The source: remote:key or a local path.
        source: String,
        /// The destination: remote:key, remote:prefix/, or a local path.
        destination: String,
        /// Copy everything below a prefix or directory.
        #[arg(short = 'R', long)]
        recursive: bool,
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Make the destination match the source: copy what is new or
    /// changed; with --delete, also delete what the source does not have.
    Sync {
        /// The source: remote:prefix or a local directory.
        source: String,
        /// The destination: remote:prefix or a local directory.
        destination: String,
        /// Delete from the destination what is not in the source (after
        /// every copy made it; never by default).
        #[arg(long)]
        delete: bool,
        /// Find changes by hash rather than by size and time.
        #[arg(long)]
        checksum: bool,
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Move: copy, verify, then delete the source, object by object.
    Mv {
        /// The source: remote:key or a local path.
        source: String,
        /// The destination.
        destination: String,
        /// Move everything below a prefix or directory.
        #[arg(short = 'R', long)]
        recursive: bool,
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Compare two trees: sizes, and hashes where both sides have a
    /// comparable one; exits 1 if anything differs or is missing.
    Check {
        /// The source: remote:prefix or a local directory.
        source: String,
        /// The destination.
        destination: String,
        /// Compare the bytes themselves where there is no common hash.
        #[arg(long)]
        download: bool,
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Run the conformance suite against a plugin or a remote.
    ///
    /// wharf conformance my-plugin.wasm --option root=/tmp/scratch
    /// wharf conformance --remote backup --json > report.json
    ///
    /// Everything is written under a disposable prefix and removed after.
    Conformance {
        /// The plugin: a .wasm file or the name of a known plugin.
        plugin: Option<String>,
        /// A plugin option, as key=value; repeat for more.
        #[arg(long = "option", short = 'o', value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Test a configured remote instead of a plugin.
        #[arg(long, conflicts_with = "plugin")]
        remote: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Run only the cases whose name or group contains this text.
        #[arg(long)]
        filter: Option<String>,
    },
    /// List the plugins that can be used, with the access each needs;
    /// inspect one before trusting it; install one.
    Plugins {
        #[command(subcommand)]
        action: Option<PluginsAction>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Connect an account of a service that needs OAuth (the plugin
    /// declares how): prints a link, reads the code the service shows, and
    /// stores a refresh token in the remote's configuration (owner-only).
    ///
    /// wharf authorize dropbox --client-id APP_KEY [--client-secret SECRET] [--remote NAME]
    Authorize {
        /// The plugin: a built-in or installed name, or a .wasm path.
        plugin: String,
        /// More options of the remote, as KEY=VALUE (stored with it).
        #[arg(value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// The remote to create or update (default: the plugin's name).
        #[arg(long)]
        remote: Option<String>,
        /// Your app's client id (Dropbox: the app key, App Console → Settings).
        #[arg(long, alias = "app-key", value_name = "ID")]
        client_id: Option<String>,
        /// Your app's client secret; without it the link uses PKCE and no
        /// secret is stored.
        #[arg(long, alias = "app-secret", value_name = "SECRET")]
        client_secret: Option<String>,
        /// A CA certificate file to trust, also stored in the remote.
        #[arg(long, value_name = "PATH")]
        tls_ca_file: Option<PathBuf>,
    },
    /// Create, show and delete remotes in the config file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// List the remotes that can be used.
    Remotes {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How a transfer runs.
#[derive(clap::Args, Clone)]
struct TransferArgs {
    /// Objects in flight at once (each with its own plugin instances).
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = at_least_one())]
    transfers: usize,
    /// Further tries of an object that failed.
    #[arg(long, default_value_t = 3, value_name = "N")]
    retries: u32,
    /// Say what would be done, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print events as JSON lines on standard output.
    #[arg(long)]
    json: bool,
    /// Print a line for every object copied or deleted.
    #[arg(short, long)]
    verbose: bool,
    /// Follow symbolic links in a local tree (by default they are passed
    /// over with a note, so a transfer never leaves the tree it was given).
    #[arg(short = 'L', long)]
    copy_links: bool,
    /// A file of `--multi-thread-cutoff` or more from a remote that reads ranges is
    /// downloaded in this many ranges at once, each on a plugin instance of
    /// its own (rclone's flag); 0 or 1 downloads it in one. By default 4,
    /// as rclone.
    #[arg(long, value_name = "N")]
    multi_thread_streams: Option<usize>,
    /// The size from which a file is downloaded in ranges (rclone's flag):
    /// 256M by default, as rclone.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    multi_thread_cutoff: Option<u64>,
    /// Cap the bytes moved each second, for all transfers together
    /// (rclone's flag): a rate (10M, 512k), UP:DOWN for bytes written to
    /// and read from remotes (10M:1M), or a timetable by the machine's
    /// local time ("08:00,512k 19:00,off", "Mon-08:00,1M Sat-00:00,off").
    #[arg(long, value_name = "RATE")]
    bwlimit: Option<String>,
    #[command(flatten)]
    filter: FilterArgs,
}

/// rclone's filters (see docs/rclone.md): which objects of a tree to take,
/// on both sides. Rules apply in the order given; the first match decides.
#[derive(clap::Args, Clone, Default)]
struct FilterArgs {
    /// Take only what matches this glob (rclone's rules: `*`, `**`, `?`,
    /// `[…]`, `{a,b}`, a leading `/` anchors).
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Leave what matches this glob.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// A rule: `+ GLOB` takes, `- GLOB` leaves.
    #[arg(long, value_name = "RULE", allow_hyphen_values = true)]
    filter: Vec<String>,
    /// Rules from a file, one per line (`-`: standard input).
    #[arg(long, value_name = "FILE", allow_hyphen_values = true)]
    filter_from: Vec<String>,
    /// Globs to take, from a file.
    #[arg(long, value_name = "FILE", allow_hyphen_values = true)]
    include_from: Vec<String>,
    /// Globs to leave, from a file.
    #[arg(long, value_name = "FILE", allow_hyphen_values = true)]
    exclude_from: Vec<String>,
    /// Only objects modified less than this long ago (7d, 36h, 90m).
    #[arg(long, value_name = "AGE")]
    max_age: Option<String>,
    /// Only objects modified more than this long ago.
    #[arg(long, value_name = "AGE")]
    min_age: Option<String>,
    /// Only objects of at most this size (10M, 1.5G; a number is KiB).
    #[arg(long, value_name = "SIZE")]
    max_size: Option<String>,
    /// Only objects of at least this size.
    #[arg(long, value_name = "SIZE")]
    min_size: Option<String>,
}

impl FilterArgs {
    /// The filter, its rules in the order the command line gave them
    /// (clap keeps each flag's values apart, so the order is read from the
    /// arguments themselves).
    fn build(&self) -> Result<Option<std::sync::Arc<wharf_transfer::Filter>>> {
        let given = self.include.len()
            + self.exclude.len()
            + self.filter.len()
            + self.filter_from.len()
            + self.include_from.len()
            + self.exclude_from.len()
            + [&self.max_age, &self.min_age, &self.max_size, &self.min_size]
                .iter()
                .filter(|v| v.is_some())
                .count();
        if given == 0 {
            return Ok(None);
        }
        let argv: Vec<String> = std::env::args().collect();
        let mut in_order = Vec::new();
        let mut i = 0;
        while i < argv.len() {
            let arg = &argv[i];
            if arg == "--" {
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (long, None),
                };
                if wharf_transfer::Filter::FLAGS.contains(&name) {
                    let value = match inline {
                        Some(v) => v,
                        None => {
                            i += 1;
                            argv.get(i).cloned().unwrap_or_default()
                        }
                    };
                    in_order.push((name.to_owned(), value));
                }
            }
            i += 1;
        }
        if in_order.len() != given {
            bail!(UsageError(
                "the filter flags could not be read in order; write each as --flag=value".into()
            ));
        }
        let mut filter = wharf_transfer::Filter::new();
        for (flag, value) in in_order {
            filter
                .flag(&flag, &value)
                .map_err(|e| UsageError(e.message().to_owned()))?;
        }
        Ok(Some(std::sync::Arc::new(filter)))
    }
}

/// A count that must be 1 or more (`--transfers 0` would do nothing).
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=4096)
}

/// A size as rclone's flags take one (`256M`, `1Gi`; a bare number is
/// KiB), for clap.
fn parse_size(text: &str) -> std::result::Result<u64, String> {
    wharf_rclone_conf::parse_flag_size(text).ok_or_else(|| {
        format!("{text:?} is not a size: write a number and K, M or G (a bare number is KiB)")
    })
}

impl TransferArgs {
    fn settings(&self) -> Result<transfer::Settings> {
        let mut options = wharf_transfer::Options::default();
        options.filter = self.filter.build()?;
        options.transfers = self.transfers;
        options.retries = self.retries;
        options.dry_run = self.dry_run;
        options.follow_links = self.copy_links;
        if let Some(streams) = self.multi_thread_streams {
            options.multi_thread_streams = streams.min(64);
        }
        if let Some(cutoff) = self.multi_thread_cutoff {
            options.multi_thread_cutoff = cutoff;
        }
        if let Some(text) = &self.bwlimit {
            let table = wharf_transfer::Bandwidth::parse(text)?;
            options.bandwidth = (!table.is_off())
                .then(|| std::sync::Arc::new(wharf_transfer::BandwidthLimit::new(table)));
        }
        Ok(transfer::Settings {
            options,
            json: self.json,
            verbose: self.verbose,
        })
    }
}

/// Runs a transfer and turns an incomplete one into an error (exit 1).
async fn transfer(
    app: &App,
    mode: wharf_transfer::Mode,
    source: &str,
    destination: &str,
    recursive: bool,
    settings: transfer::Settings,
) -> Result<()> {
    let summary = transfer::run(
        app,
        mode,
        &Location::parse(source),
        &Location::parse(destination),
        recursive,
        &settings,
    )
    .await?;
    if summary.failed > 0 {
        bail!(
            "{} object{} failed (see above); run the command again to retry them",
            summary.failed,
            if summary.failed == 1 { "" } else { "s" }
        );
    }
    if !summary.ok() {
        return Err(Reported("the trees differ (see above)").into());
    }
    Ok(())
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Create a remote: wharf config create r2 s3 bucket=media endpoint=https://…
    ///
    /// Options are checked against the plugin's: an unknown key or a
    /// missing required one is an error that lists the valid keys.
    Create {
        /// The remote's name.
        name: String,
        /// Its plugin: a built-in name, an installed name, or a .wasm path.
        plugin: String,
        /// Options as key=value.
        #[arg(value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Options as one JSON object, the way django-storages takes them
        /// (its S3 names are accepted: access_key, bucket_name, endpoint_url…).
        #[arg(long = "options", value_name = "JSON")]
        json: Option<String>,
        /// Overwrite a remote of that name.
        #[arg(long)]
        replace: bool,
        /// Check and say what would be written, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the remotes (or one) as they will be used, secrets masked.
    Show {
        /// The remote.
        name: Option<String>,
    },
    /// Delete a remote from the config file.
    Delete {
        /// The remote.
        name: String,
        /// Say what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the config file's path.
    Path,
    /// Create Wharf remotes from rclone's: local, s3, dropbox and ftp
    /// sections (passwords revealed, tokens read); the others are listed
    /// with the reason.
    ImportRclone {
        /// rclone.conf (default: $RCLONE_CONFIG, else ~/.config/rclone/rclone.conf).
        path: Option<PathBuf>,
        /// The bucket of an s3 remote, as REMOTE=BUCKET (rclone names the
        /// bucket in each path); repeat for more.
        #[arg(long = "bucket", value_name = "REMOTE=BUCKET")]
        buckets: Vec<String>,
        /// Overwrite Wharf remotes of the same names.
        #[arg(long)]
        replace: bool,
        /// Say what would be imported, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum PluginsAction {
    /// Show a plugin's info, contract version, options and the access it
    /// asks for, like a permissions page.
    Inspect {
        /// A .wasm file or the name of a known plugin.
        plugin: String,
        /// An option as key=value, to show the exact directories and hosts
        /// it would be granted; repeat for more.
        #[arg(long = "option", short = 'o', value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a new plugin crate, ready to build and to pass the
    /// conformance suite: an in-memory backend to make your own, with a copy
    /// of Wharf's SDK and contract.
    New {
        /// The plugin's name (its crate's, and the name remotes use), such
        /// as my-store.
        name: String,
        /// Where to create it (default: ./NAME).
        #[arg(long)]
        path: Option<PathBuf>,
        /// Make an overlay: a plugin that stores its objects in the remote
        /// below it (see docs/overlays.md) rather than a backend.
        #[arg(long)]
        overlay: bool,
    },
    /// Copy a .wasm into the plugin directory and record its sha256; a
    /// plugin whose file changes later is refused until installed again.
    Install {
        /// The .wasm file.
        path: PathBuf,
        /// The name to use it by (default: the plugin's own name).
        #[arg(long)]
        name: Option<String>,
    },
}

/// Parses repeated `--option key=value` arguments.
fn parse_options(options: &[String]) -> Result<Vec<(String, String)>> {
    options
        .iter()
        .map(|option| match option.split_once('=') {
            Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
            None => Err(UsageError(format!("--option {option:?} is not key=value")).into()),
        })
        .collect()
}

fn main() -> ExitCode {
    wharf::limit_allocator_arenas();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("wharf: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // An error can carry a key or a plugin's words: no escape
            // sequence in them reaches the terminal.
            eprintln!("wharf: {}", wharf::printable(&format!("{error:#}")));
            exit_code(&error)
        }
    }
}

/// 3 for not found, 2 for bad usage or configuration, 1 for the rest.
fn exit_code(error: &anyhow::Error) -> ExitCode {
    let kind = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<wharf::Error>())
        .map(|e| e.kind().clone());
    match kind {
        Some(wharf::ErrorKind::NotFound) => ExitCode::from(3),
        Some(
            wharf::ErrorKind::InvalidConfig
            | wharf::ErrorKind::InvalidKey
            | wharf::ErrorKind::InvalidRequest,
        ) => ExitCode::from(2),
        _ if error.downcast_ref::<UsageError>().is_some() => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}

/// A command ran and found something wrong that its output above already
/// details (failed conformance cases, differing trees); exit code 1.
#[derive(Debug)]
struct Reported(&'static str);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Reported {}

/// A command line that parses but asks for something that cannot be done.
#[derive(Debug)]
pub(crate) struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A local path of `put` or `get` as a transfer argument: one that would
/// read as remote:key (`a:b`) is made explicitly local.
fn local_arg(path: &std::path::Path) -> Result<String> {
    let Some(text) = path.to_str() else {
        bail!(UsageError(format!(
            "{} is not valid UTF-8, so it cannot be named in a transfer; rename it",
            path.display()
        )));
    };
    Ok(match Location::parse(text) {
        Location::Remote { .. } => format!("./{text}"),
        Location::Local(_) => text.to_owned(),
    })
}

fn remote_arg(arg: &str) -> Result<(String, String)> {
    match Location::parse(arg) {
        Location::Remote { remote, key } => Ok((remote, key)),
        Location::Local(_) => Err(UsageError(format!(
            "'{arg}' is a local path; this command needs remote:key (for example media:{arg})"
        ))
        .into()),
    }
}

async fn run(cli: Cli) -> Result<()> {
    let app = App::new(cli.config.as_deref())?;
    let result = run_command(&app, cli).await;
    app.report_notices();
    for warning in app.catalog.runtime().take_warnings() {
        eprintln!("wharf: WARNING: {}", wharf::printable(&warning));
    }
    app.report_loads();
    result
}

async fn run_command(app: &App, cli: Cli) -> Result<()> {
    match cli.command {
        Command::Obscure { password } => {
            let password = if password == "-" {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
                line.trim_end_matches(['\n', '\r']).to_owned()
            } else {
                password
            };
            let mut iv = [0u8; 16];
            getrandom::fill(&mut iv).context("cannot get random bytes for the obscuring")?;
            println!("{}", wharf_obscure::obscure(&password, iv));
        }
        Command::Authorize {
            plugin,
            options,
            remote,
            client_id,
            client_secret,
            tls_ca_file,
        } => {
            let args = authorize::Authorize {
                plugin,
                remote,
                options: parse_options(&options)?,
                client_id,
                client_secret,
                tls_ca_file,
            };
            authorize::authorize(app, cli.config.clone(), args).await?;
        }
        Command::Put {
            local,
            destination,
            transfer: args,
        } => {
            if let Location::Local(_) = Location::parse(&destination) {
                bail!(UsageError(format!(
                    "'{destination}' is a local path; put stores into a remote, e.g. media:{destination}"
                )));
            }
            let local = local_arg(&local)?;
            let mode = wharf_transfer::Mode::Copy;
            transfer(app, mode, &local, &destination, false, args.settings()?).await?;
        }
        Command::Get {
            source,
            local,
            transfer: args,
        } => {
            remote_arg(&source)?;
            let local = local_arg(&local)?;
            let mode = wharf_transfer::Mode::Copy;
            transfer(app, mode, &source, &local, false, args.settings()?).await?;
        }
        Command::Cat {
            source,
            offset,
            count,
            tail,
        } => {
            let (remote, key) = remote_arg(&source)?;
            objects::cat(
                app,
                &remote,
                &key,
                &objects::CatRange {
                    offset,
                    count,
                    tail,
                },
            )
            .await?;
        }
        Command::Ls {
            target,
            long,
            recursive,
            json,
        } => {
            let (remote, key) = remote_arg(&target)?;
            objects::ls(
                app,
                &remote,
                &key,
                &objects::LsOptions {
                    long,
                    recursive,
                    json,
                },
            )
            .await?;
        }
        Command::Stat { target, json } => {
            let (remote, key) = remote_arg(&target)?;
            objects::stat(app, &remote, &key, json).await?;
        }
        Command::Rm {
            targets,
            recursive,
            dry_run,
            transfers,
            filter,
        } => {
            if targets.is_empty() {
                bail!(UsageError("give at least one remote:key to remove".into()));
            }
            let filter = filter.build()?;
            if filter.is_some() && !recursive {
                bail!(UsageError(
                    "filters choose among the objects below a prefix: give -R with them".into()
                ));
            }
            let options = objects::RmOptions {
                recursive,
                dry_run,
                transfers,
                filter,
            };
            for target in targets {
                let (remote, key) = remote_arg(&target)?;
                let removed = objects::rm(app, &remote, &key, &options).await?;
                if dry_run {
                    eprintln!("dry run: {removed} objects would be removed under {target}; nothing was changed");
                } else if recursive {
                    eprintln!("removed {removed} objects under {target}");
                }
            }
        }
        Command::Cp {
            source,
            destination,
            recursive,
            transfer: args,
        } => {
            let mode = wharf_transfer::Mode::Copy;
            transfer(
                app,
                mode,
                &source,
                &destination,
                recursive,
                args.settings()?,
            )
            .await?;
        }
        Command::Mv {
            source,
            destination,
            recursive,
            transfer: args,
        } => {
            let mode = wharf_transfer::Mode::Move;
            transfer(
                app,
                mode,
                &source,
                &destination,
                recursive,
                args.settings()?,
            )
            .await?;
        }
        Command::Sync {
            source,
            destination,
            delete,
            checksum,
            transfer: args,
        } => {
            let mut settings = args.settings()?;
            settings.options.delete = delete;
            settings.options.checksum = checksum;
            let mode = wharf_transfer::Mode::Sync;
            transfer(app, mode, &source, &destination, true, settings).await?;
        }
        Command::Check {
            source,
            destination,
            download,
            transfer: args,
        } => {
            let mut settings = args.settings()?;
            settings.options.download = download;
            let mode = wharf_transfer::Mode::Check;
            transfer(app, mode, &source, &destination, true, settings).await?;
        }
        Command::Conformance {
            plugin,
            options,
            remote,
            json,
            filter,
        } => {
            let target = conformance::Target {
                plugin,
                options,
                remote,
            };
            if !conformance::conformance(app, target, json, filter).await? {
                return Err(
                    Reported("the plugin does not conform: see the failed cases above").into(),
                );
            }
        }
        Command::Plugins { action: None, json } => plugins::list_plugins(app, json).await?,
        Command::Plugins {
            action:
                Some(PluginsAction::Inspect {
                    plugin,
                    options,
                    json,
                }),
            ..
        } => plugins::inspect(app, &plugin, &parse_options(&options)?, json).await?,
        Command::Plugins {
            action:
                Some(PluginsAction::New {
                    name,
                    path,
                    overlay,
                }),
            ..
        } => {
            let made = new_plugin::new_plugin(&name, path.as_deref(), overlay)?;
            let stem = name.replace('-', "_");
            println!(
                "made plugin crate {name} in {}; build it and prove it:\n  cd {} && cargo build \
                 --release\n  wharf conformance target/wasm32-wasip2/release/{stem}.wasm",
                made.display(),
                made.display()
            );
        }
        Command::Plugins {
            action: Some(PluginsAction::Install { path, name }),
            ..
        } => plugins::install(app, &path, name.as_deref()).await?,
        Command::Remotes { json } => plugins::list_remotes(app, json)?,
        Command::Config { action } => match action {
            ConfigAction::Create {
                name,
                plugin,
                options,
                json,
                replace,
                dry_run,
            } => {
                let pairs = parse_options(&options)?;
                let json = json.as_deref();
                config_cmd::create(app, &name, &plugin, pairs, json, replace, dry_run).await?
            }
            ConfigAction::Show { name } => config_cmd::show(app, name.as_deref()).await?,
            ConfigAction::Delete { name, dry_run } => config_cmd::delete(app, &name, dry_run)?,
            ConfigAction::Path => println!("{}", config_cmd::file(app)?.display()),
            ConfigAction::ImportRclone {
                path,
                buckets,
                replace,
                dry_run,
            } => {
                let buckets = parse_options(&buckets)?;
                rclone_import::import(app, path, &buckets, replace, dry_run).await?
            }
        },
    }
    Ok(())
}
