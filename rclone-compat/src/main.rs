//! `wharf-rclone`: rclone's command surface over Wharf, for tools that run
//! `rclone` (django-rclone's `RCLONE_BINARY`, scripts, cron jobs). It reads
//! the same rclone.conf as rclone, takes rclone's flags and subcommands,
//! prints rclone's formats and exits with rclone's codes; every backend is
//! one of Wharf's sandboxed plugins. See `docs/rclone.md` for what is
//! supported and each known difference.

mod args;
mod context;
mod fail;
mod listing;
mod misc;
mod objects;
mod progress;
mod time;
mod transfers;

use args::Args;
use context::Context;
use fail::Failure;

fn main() {
    wharf::limit_allocator_arenas();
    let code = match Args::parse(std::env::args().skip(1)) {
        Err(failure) => report(None, failure),
        Ok(args) => run(args),
    };
    std::process::exit(code);
}

fn run(args: Args) -> i32 {
    let command = args.positional.first().cloned().unwrap_or_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(Some(&command), Failure::new(1, e.to_string())),
    };
    let result = runtime.block_on(dispatch(args));
    // A read of standard input may still be blocked on a thread of its own
    // (an rcat that was interrupted): the process ends without waiting.
    runtime.shutdown_background();
    match result {
        Ok(()) => 0,
        Err(failure) => report(Some(&command), failure),
    }
}

/// Says how the command failed, as rclone does, and gives its exit code.
fn report(command: Option<&str>, failure: Failure) -> i32 {
    match (failure.code, command) {
        (fail::USAGE, _) | (_, None) => {
            eprintln!("Error: {}", failure.message);
            eprintln!(
                "Run 'wharf-rclone help' for the commands and flags it takes (see docs/rclone.md)."
            );
        }
        (_, Some(command)) => fail::log(
            "NOTICE",
            &format!("Failed to {command}: {}", failure.message),
        ),
    }
    failure.code
}

async fn dispatch(args: Args) -> Result<(), Failure> {
    let words: Vec<&str> = args.positional.iter().map(String::as_str).collect();
    let Some((&command, operands)) = words.split_first() else {
        return Err(Failure::usage(
            "no command given; run `wharf-rclone help` for the commands",
        ));
    };
    if args.help || command == "help" {
        misc::help();
        return Ok(());
    }
    // Commands that need no remote.
    match command {
        "version" => return misc::version(operands),
        "obscure" => return misc::obscure(operands),
        "reveal" => return misc::reveal(operands),
        _ => {}
    }
    let ctx = Context::new(&args)?;
    let arity = |min: usize, max: usize| -> Result<(), Failure> {
        if operands.len() < min || operands.len() > max {
            let wanted = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(Failure::usage(format!(
                "command {command} needs {wanted} arguments: you provided {} non flag arguments: {operands:?}",
                operands.len()
            )));
        }
        Ok(())
    };
    match command {
        "config" => misc::config(&ctx, operands),
        "ls" | "lsl" | "lsd" | "lsf" | "lsjson" | "size" => {
            arity(1, 1)?;
            listing::run(&ctx, command, operands[0]).await
        }
        "cat" => {
            arity(1, 1)?;
            objects::cat(&ctx, operands[0]).await
        }
        "rcat" => {
            arity(1, 1)?;
            objects::rcat(&ctx, operands[0]).await
        }
        "deletefile" => {
            arity(1, 1)?;
            objects::deletefile(&ctx, operands[0]).await
        }
        "delete" | "purge" => {
            arity(1, 1)?;
            objects::delete(&ctx, operands[0], command == "purge").await
        }
        "mkdir" => {
            arity(1, 1)?;
            objects::mkdir(&ctx, operands[0]).await
        }
        "rmdir" => {
            arity(1, 1)?;
            objects::rmdir(&ctx, operands[0]).await
        }
        "copy" | "copyto" | "move" | "moveto" | "sync" | "check" => {
            arity(2, 2)?;
            transfers::run(&ctx, command, operands[0], operands[1]).await
        }
        other => Err(Failure::usage(format!(
            "unknown command \"{other}\" for \"rclone\" (Wharf's rclone surface; docs/rclone.md lists what it takes)"
        ))),
    }
}
