//! `copy`, `copyto`, `move`, `moveto`, `sync` and `check` on Wharf's
//! transfer engine, with rclone's semantics (`sync` deletes what the
//! source lacks) and its messages; and the filters every command shares.

use std::sync::Arc;

use wharf_transfer::{Endpoint, Event, Filter, Mode, Options, Probe, Transfer};

use crate::args::Args;
use crate::context::Context;
use crate::fail::{self, Failure, DIR_NOT_FOUND, NO_TRANSFER};
use crate::progress::{Display, Stats};

/// The filters the command line gave, in its order.
pub fn filter(args: &Args) -> Result<Filter, Failure> {
    let mut filter = Filter::new();
    for (flag, value) in &args.filters {
        filter
            .flag(flag, value)
            .map_err(|e| Failure::usage(e.message().to_owned()))?;
    }
    Ok(filter)
}

pub async fn run(ctx: &Context<'_>, command: &str, src: &str, dst: &str) -> Result<(), Failure> {
    let args = ctx.args;
    let source = ctx.endpoint(src).await?;
    let mut target = ctx.endpoint(dst).await?;
    let probe = probe(&source).await?;
    let source_is_tree = probe.is_tree();
    let mode = match command {
        "copy" | "copyto" => Mode::Copy,
        "move" | "moveto" => Mode::Move,
        "sync" => Mode::Sync,
        _ => Mode::Check,
    };
    if !source_is_tree {
        if matches!(mode, Mode::Sync | Mode::Check) {
            return Err(Failure::new(
                DIR_NOT_FOUND,
                format!("{src}: directory not found"),
            ));
        }
        if matches!(command, "copy" | "move") {
            // rclone copy FILE DIR: the file goes into the directory.
            target = target.as_tree();
        }
    }
    let mut options = Options::default();
    options.transfers = match mode {
        Mode::Check => args.checkers.or(args.transfers).unwrap_or(8),
        _ => args.transfers.unwrap_or(4),
    };
    options.retries = args
        .retries
        .map_or(options.retries, |r| r.saturating_sub(1));
    if let Some(streams) = args.multi_thread_streams {
        options.multi_thread_streams = streams.min(64);
    }
    if let Some(cutoff) = args.multi_thread_cutoff {
        options.multi_thread_cutoff = cutoff;
    }
    options.dry_run = args.dry_run;
    options.delete = mode == Mode::Sync;
    options.checksum = args.checksum;
    options.download = args.download;
    options.filter = Some(Arc::new(filter(args)?));
    options.bandwidth = ctx.bandwidth.clone();
    let level = if args.quiet { 0 } else { args.verbose + 1 };
    let one_way = args.one_way;
    let stats = Stats::new();
    let observer = {
        let stats = stats.clone();
        move |event: &Event| {
            stats.event(event);
            report(level, one_way, event)
        }
    };
    let display = args.progress.then(|| Display::start(stats.clone()));
    let result = Transfer::new(mode, source, target)
        .recursive(source_is_tree)
        .probed(probe)
        .options(options)
        .observe(observer)
        .run()
        .await;
    // The last block stays, whatever the outcome, as rclone's.
    if let Some(display) = display {
        display.finish();
    } else if args.verbose > 0 {
        fail::log("INFO", &format!("\n{}\n", stats.block(true).join("\n")));
    }
    let summary = result?;
    if mode == Mode::Check {
        let extra = if one_way { 0 } else { summary.extra };
        let differences = summary.differ + summary.missing + extra;
        let at = dst;
        if summary.missing > 0 {
            fail::log(
                "NOTICE",
                &format!("{at}: {} files missing", summary.missing),
            );
        }
        if extra > 0 {
            fail::log("NOTICE", &format!("{src}: {extra} files missing"));
        }
        fail::log("NOTICE", &format!("{at}: {differences} differences found"));
        fail::log(
            "NOTICE",
            &format!("{at}: {} matching files", summary.same + summary.size_only),
        );
        if differences > 0 || summary.failed > 0 {
            return Err(Failure::new(
                1,
                format!("{} differences found", differences + summary.failed),
            ));
        }
        return Ok(());
    }
    if summary.failed > 0 {
        return Err(Failure::new(
            1,
            format!("{} objects failed to {command}", summary.failed),
        ));
    }
    if args.error_on_no_transfer && summary.copied == 0 && summary.deleted == 0 {
        return Err(Failure::new(NO_TRANSFER, "there was nothing to transfer"));
    }
    Ok(())
}

/// Whether `at` is a directory or prefix with something below it, rather
/// than one object; a local path that is not there is rclone's exit 3.
async fn probe(at: &Endpoint) -> Result<Probe, Failure> {
    if let Endpoint::Local(path) = at {
        if !path.exists() {
            return Err(Failure::new(
                DIR_NOT_FOUND,
                format!("{}: directory not found", path.display()),
            ));
        }
    }
    Ok(wharf_transfer::probe(at).await?)
}

/// One event, as rclone's log lines at its levels (0 quiet, 1 default,
/// 2 `-v`, 3 `-vv`).
fn report(level: u8, one_way: bool, event: &Event) {
    match event {
        Event::Failed { rel, error } if level >= 1 => {
            fail::log("ERROR", &format!("{rel}: Failed to copy: {error}"))
        }
        Event::Retrying {
            rel,
            attempt,
            error,
        } if level >= 1 => fail::log(
            "ERROR",
            &format!("{rel}: Attempt {attempt} failed, retrying: {error}"),
        ),
        Event::Copied { rel, .. } if level >= 2 => {
            fail::log("INFO", &format!("{rel}: Copied (new)"))
        }
        Event::Deleted { rel } if level >= 2 => fail::log("INFO", &format!("{rel}: Deleted")),
        Event::WouldCopy { rel, .. } => fail::log(
            "NOTICE",
            &format!("{rel}: Skipped copy as --dry-run is set"),
        ),
        Event::WouldDelete { rel } => fail::log(
            "NOTICE",
            &format!("{rel}: Skipped delete as --dry-run is set"),
        ),
        Event::Missing { rel } if level >= 1 => {
            fail::log("ERROR", &format!("{rel}: file not in destination"))
        }
        Event::Extra { rel } if level >= 1 && !one_way => {
            fail::log("ERROR", &format!("{rel}: file not in source"))
        }
        Event::Differs { rel, why } if level >= 1 => {
            fail::log("ERROR", &format!("{rel}: files differ: {why}"))
        }
        Event::Note(note) if level >= 2 => fail::log("NOTICE", note),
        _ => {}
    }
}
