//! `cp`, `sync`, `mv`, `check` (and `put`, `get`): the arguments turned
//! into endpoints, one transfer of the library run, its events rendered
//! (`report`). Ctrl-C cancels it: the writes in flight are aborted.

mod report;

use anyhow::Result;
use wharf_transfer::{Cancel, Endpoint, Location, Mode, Options, Summary, Transfer};

use crate::app::App;
use report::Reporter;

/// What a command asks of the transfer, and how to show it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub options: Options,
    /// Events as JSON lines on standard output.
    pub json: bool,
    /// A line for every object copied or deleted, not only for problems.
    pub verbose: bool,
}

/// Where `location` is, with its remote opened.
pub async fn endpoint(app: &App, location: &Location) -> Result<Endpoint> {
    Ok(location.endpoint(app.remotes()).await?)
}

/// Runs `mode` from `src` to `dst` and prints what happened.
pub async fn run(
    app: &App,
    mode: Mode,
    src: &Location,
    dst: &Location,
    recursive: bool,
    settings: &Settings,
) -> Result<Summary> {
    let src = endpoint(app, src).await?;
    let dst = endpoint(app, dst).await?;
    let cancel = Cancel::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                eprintln!("wharf: stopping: aborting the transfers in flight (Ctrl-C again to quit at once)");
            }
            // A second Ctrl-C does not wait for the aborts.
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        });
    }
    let reporter = Reporter::new(mode, settings);
    let result = Transfer::new(mode, src, dst)
        .recursive(recursive)
        .options(settings.options.clone())
        .observe(reporter.clone())
        .cancel_on(cancel)
        .run()
        .await;
    match result {
        Ok(summary) => {
            reporter.finish(&summary);
            Ok(summary)
        }
        Err(error) => {
            reporter.finish_quietly();
            Err(error.into())
        }
    }
}
