//! The conformance suite: one set of cases, written once, that every
//! storage plugin must pass. It is the executable form of the promises in
//! `wit/storage.wit`.
//!
//! Cases are grouped by what they test, and each names the capabilities it
//! needs. A case whose capability the plugin declares absent is reported
//! as *not applicable*, by name, with the capability that excluded it; a
//! plugin that declares a capability and fails it fails the suite.
//!
//! Everything the suite writes lives under a disposable prefix
//! (`wharf-conformance-<random>/`), removed at the end, so the suite is
//! safe to point at a real bucket.
//!
//! ```no_run
//! # async fn demo(mut remote: wharf::Remote) {
//! let report = wharf_conformance::run(&mut remote, &wharf_conformance::Selection::All).await;
//! println!("{}", report.table());
//! assert!(report.succeeded());
//! # }
//! ```
#![deny(missing_docs)]

mod cases;
mod context;
mod report;

pub use cases::{all_cases, Case, Circumstances, Group, Need};
pub use context::{Ctx, PageSet};
pub use report::{CaseResult, Outcome, Report};

use std::time::Instant;

use wharf::Remote;

/// Which cases to run.
pub enum Selection {
    /// Every case.
    All,
    /// Cases whose name or group contains this text.
    Matching(String),
}

/// Runs the suite against `remote`. The host's own key checks are turned
/// off for the run, so the plugin's checks are what is tested; they are
/// turned back on afterwards.
pub async fn run(remote: &mut Remote, selection: &Selection) -> Report {
    run_with_exceptions(remote, selection, &[]).await
}

/// A case that a test server is known to fail for reasons of its own, not
/// the plugin's (rclone keeps the same kind of list per backend). If the
/// case fails, it is reported as excepted, with the reason and the failure;
/// if it passes, it counts as passed.
#[derive(Debug, Clone, Copy)]
pub struct Exception {
    /// `group/name`, as in the report.
    pub case: &'static str,
    /// Why the server fails it.
    pub reason: &'static str,
}

/// [`run`], with a list of justified exceptions.
pub async fn run_with_exceptions(
    remote: &mut Remote,
    selection: &Selection,
    exceptions: &[Exception],
) -> Report {
    remote.set_host_key_checks(false);
    let report = run_cases(remote, selection, exceptions).await;
    remote.set_host_key_checks(true);
    report
}

async fn run_cases(remote: &Remote, selection: &Selection, exceptions: &[Exception]) -> Report {
    let started = Instant::now();
    let caps = remote.capabilities();
    let contract = remote.plugin().contract_version().to_owned();
    let cx = Ctx::new(remote, caps);
    let mut results = Vec::new();
    for case in all_cases() {
        if let Selection::Matching(text) = selection {
            if !case.name.contains(text.as_str()) && !case.group.name().contains(text.as_str()) {
                continue;
            }
        }
        // What the store says of itself, for the cases that need it (asked
        // once; the remote keeps the answer).
        let mut now = Circumstances {
            caps: &caps,
            contract: &contract,
            description: None,
            granted_directory: !cx.granted_directories().is_empty(),
        };
        let description = if Need::Describe.met_by(&now) {
            remote.describe().await.ok().flatten()
        } else {
            None
        };
        now.description = description.as_ref();
        let outcome = match case.needs.iter().find(|need| !need.met_by(&now)) {
            Some(missing) => Outcome::NotApplicable(missing.describe()),
            None => {
                let case_started = Instant::now();
                let checked = (case.run)(&cx).await;
                let elapsed = case_started.elapsed();
                let full_name = format!("{}/{}", case.group.name(), case.name);
                match (checked, exceptions.iter().find(|e| e.case == full_name)) {
                    (Ok(()), _) => Outcome::Passed(elapsed),
                    (Err(message), Some(exception)) => Outcome::Excepted {
                        reason: exception.reason.to_owned(),
                        message,
                    },
                    (Err(message), None) => Outcome::Failed(message),
                }
            }
        };
        results.push(CaseResult {
            group: case.group,
            name: case.name,
            outcome,
        });
    }
    let cleanup = cx.clean_up().await;
    Report::new(
        remote.plugin().info().name.clone(),
        remote.plugin().info().version.clone(),
        results,
        cleanup,
        started.elapsed(),
    )
}

/// Runs the whole suite and panics with the full table if any case fails:
/// the body of each plugin's `tests/conformance.rs`.
pub async fn assert_conforms(remote: &mut Remote) {
    assert_conforms_except(remote, &[]).await
}

/// [`assert_conforms`], with the test server's justified exceptions.
pub async fn assert_conforms_except(remote: &mut Remote, exceptions: &[Exception]) {
    let report = run_with_exceptions(remote, &Selection::All, exceptions).await;
    println!("{}", report.table());
    assert!(
        report.succeeded(),
        "the plugin fails the conformance suite:\n{}",
        report.table()
    );
}
