//! `version`, `obscure`, `reveal`, `config file`, `config show`, `help`.

use crate::context::Context;
use crate::fail::Failure;

/// The rclone version whose surface this follows (what tools that parse
/// `rclone version` see), then Wharf's own.
const RCLONE_VERSION: &str = "v1.75.2";

pub fn version(operands: &[&str]) -> Result<(), Failure> {
    if !operands.is_empty() {
        return Err(Failure::usage("version takes no arguments"));
    }
    println!("rclone {RCLONE_VERSION}-wharf");
    println!("- wharf: {}", env!("CARGO_PKG_VERSION"));
    println!("- os/type: {}", std::env::consts::OS);
    println!("- os/arch: {}", std::env::consts::ARCH);
    println!(
        "- backends: Wharf plugins (contract {}), sandboxed",
        wharf::CONTRACT_VERSION
    );
    Ok(())
}

pub fn obscure(operands: &[&str]) -> Result<(), Failure> {
    let plain = match operands {
        ["-"] | [] if operands.first() == Some(&"-") => {
            let text = std::io::read_to_string(std::io::stdin())?;
            text.lines().next().unwrap_or("").to_owned()
        }
        [plain] => (*plain).to_owned(),
        _ => {
            return Err(Failure::usage(
                "obscure takes one argument: the password (or - to read it from stdin)",
            ))
        }
    };
    let mut iv = [0u8; 16];
    getrandom::fill(&mut iv).map_err(|e| Failure::new(1, format!("no randomness: {e}")))?;
    println!("{}", wharf_obscure::obscure(&plain, iv));
    Ok(())
}

pub fn reveal(operands: &[&str]) -> Result<(), Failure> {
    let [obscured] = operands else {
        return Err(Failure::usage(
            "reveal takes one argument: the obscured password",
        ));
    };
    let plain = wharf_obscure::reveal(obscured)
        .map_err(|why| Failure::new(1, format!("reveal failed: {why}")))?;
    println!("{plain}");
    Ok(())
}

pub fn config(ctx: &Context<'_>, operands: &[&str]) -> Result<(), Failure> {
    match operands {
        ["file"] => {
            println!("Configuration file is stored at:");
            match ctx.rclone_path() {
                Some(path) => println!("{}", path.display()),
                None => println!("(none: set RCLONE_CONFIG or HOME)"),
            }
            Ok(())
        }
        ["show", rest @ ..] if rest.len() <= 1 => {
            let Some(rclone) = ctx.remotes.config().rclone() else {
                return Ok(());
            };
            let names = rclone.names();
            let wanted: Vec<&String> = match rest.first() {
                Some(name) => {
                    let name = name.trim_end_matches(':');
                    let found: Vec<&String> = names.iter().filter(|n| *n == name).collect();
                    if found.is_empty() {
                        return Err(Failure::new(
                            1,
                            format!("couldn't find remote \"{name}\""),
                        ));
                    }
                    found
                }
                None => names.iter().collect(),
            };
            for name in wanted {
                println!("[{name}]");
                for (key, value) in rclone.keys(name).unwrap_or_default() {
                    println!("{key} = {value}");
                }
                println!();
            }
            Ok(())
        }
        _ => Err(Failure::usage(
            "Wharf's rclone surface takes `config file` and `config show [REMOTE]`; edit rclone.conf with rclone or by hand",
        )),
    }
}

pub fn help() {
    println!(
        "wharf-rclone: rclone's commands over Wharf's sandboxed plugins.

Usage: wharf-rclone [flags] <command> [arguments]

Commands: cat, rcat, copy, copyto, move, moveto, sync, check, deletefile,
delete, purge, mkdir, rmdir, size, ls, lsl, lsd, lsf, lsjson, obscure,
reveal, version, config file, config show.

Flags: --config, --ca-cert, -v/-vv, -q, -n/--dry-run, -P/--progress, --transfers,
--checkers, --retries, --include, --exclude, --filter, --filter-from,
--include-from, --exclude-from, --max-age, --min-age, --max-size,
--min-size, --error-on-no-transfer, --<backend>-<option> (s3, crypt,
compress, ftp, dropbox), and each command's own (see docs/rclone.md)."
    );
}
