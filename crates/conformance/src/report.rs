//! What a run found: a table for people, JSON for a plugin's CI.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::Group;

/// How one case went.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It passed, in this long.
    Passed(Duration),
    /// It failed: what was expected and what happened.
    Failed(String),
    /// It did not run: the plugin declares this capability absent.
    NotApplicable(String),
    /// It failed, on a test server known to fail it for a reason of the
    /// server's own.
    Excepted {
        /// Why the server fails it.
        reason: String,
        /// How it failed.
        message: String,
    },
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's group.
    pub group: Group,
    /// The case's name.
    pub name: &'static str,
    /// How it went.
    pub outcome: Outcome,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's version.
    pub version: String,
    /// Every case, in order.
    pub results: Vec<CaseResult>,
    /// Whether the run's prefix was removed afterwards.
    pub cleanup: Result<(), String>,
    /// How long the whole run took.
    pub elapsed: Duration,
}

impl Report {
    pub(crate) fn new(
        plugin: String,
        version: String,
        results: Vec<CaseResult>,
        cleanup: Result<(), String>,
        elapsed: Duration,
    ) -> Self {
        Report {
            plugin,
            version,
            results,
            cleanup,
            elapsed,
        }
    }

    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed(_)))
    }

    /// Cases that failed. The clean-up is not a case: see
    /// [`Report::succeeded`].
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    /// Whether no case failed and the run's prefix was removed.
    pub fn succeeded(&self) -> bool {
        self.failed() == 0 && self.cleanup.is_ok()
    }

    /// Cases that were not applicable, or excepted.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::NotApplicable(_) | Outcome::Excepted { .. }))
    }

    fn count(&self, pick: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| pick(&r.outcome)).count()
    }

    /// `N passed, N failed, N skipped` (the three add up to the cases
    /// run), then `; the clean-up failed` when it did.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped{}",
            self.passed(),
            self.failed(),
            self.skipped(),
            if self.cleanup.is_err() {
                "; the clean-up failed"
            } else {
                ""
            }
        )
    }

    /// A table with one line per case, then the failures in full, then how
    /// long the run took, then the summary line.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "conformance of plugin '{}' {}",
            self.plugin, self.version
        );
        let _ = writeln!(out, "{:<14} {:<52} result", "group", "case");
        for r in &self.results {
            let result = match &r.outcome {
                Outcome::Passed(t) => format!("ok ({} ms)", t.as_millis()),
                Outcome::Failed(_) => "FAILED".to_owned(),
                Outcome::NotApplicable(why) => format!("not applicable: {why}"),
                Outcome::Excepted { reason, .. } => format!("excepted: {reason}"),
            };
            let _ = writeln!(out, "{:<14} {:<52} {result}", r.group.name(), r.name);
        }
        for r in &self.results {
            if let Outcome::Failed(message) = &r.outcome {
                let _ = writeln!(out, "\nFAILED {}/{}: {message}", r.group.name(), r.name);
            }
        }
        for r in &self.results {
            if let Outcome::Excepted { reason, message } = &r.outcome {
                let _ = writeln!(
                    out,
                    "\nEXCEPTED {}/{} ({reason}): {message}",
                    r.group.name(),
                    r.name
                );
            }
        }
        if let Err(message) = &self.cleanup {
            let _ = writeln!(out, "\nFAILED clean-up: {message}");
        }
        // The count line stays last and alone, so a script can read the
        // result from the final line without parsing times.
        let _ = writeln!(
            out,
            "\n{} cases in {:.1} s\n{}",
            self.results.len(),
            self.elapsed.as_secs_f64(),
            self.summary()
        );
        out
    }

    /// The report as JSON, for a plugin's own CI to keep.
    pub fn json(&self) -> Value {
        json!({
            "plugin": self.plugin,
            "version": self.version,
            "contract": wharf::CONTRACT_VERSION,
            "passed": self.passed(),
            "failed": self.failed(),
            "succeeded": self.succeeded(),
            "skipped": self.skipped(),
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "cleanup": match &self.cleanup { Ok(()) => Value::Null, Err(e) => json!(e) },
            "cases": self.results.iter().map(|r| {
                let (result, detail) = match &r.outcome {
                    Outcome::Passed(t) => ("passed", json!({ "ms": t.as_millis() as u64 })),
                    Outcome::Failed(m) => ("failed", json!({ "message": m })),
                    Outcome::NotApplicable(why) => ("not-applicable", json!({ "reason": why })),
                    Outcome::Excepted { reason, message } => {
                        ("excepted", json!({ "reason": reason, "message": message }))
                    }
                };
                json!({ "group": r.group.name(), "name": r.name, "result": result, "detail": detail })
            }).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_ends_with_the_elapsed_time_then_the_count_line() {
        let results = vec![
            CaseResult {
                group: Group::Objects,
                name: "passes",
                outcome: Outcome::Passed(Duration::from_millis(3)),
            },
            CaseResult {
                group: Group::Objects,
                name: "fails",
                outcome: Outcome::Failed("it broke".into()),
            },
            CaseResult {
                group: Group::Copy,
                name: "not applicable",
                outcome: Outcome::NotApplicable("capability 'copy' is not declared".into()),
            },
        ];
        let report = Report::new(
            "memory".into(),
            "1.0.0".into(),
            results,
            Ok(()),
            Duration::from_millis(12_345),
        );
        let table = report.table();
        let last: Vec<&str> = table.lines().rev().take(2).collect();
        assert_eq!(
            last,
            ["1 passed, 1 failed, 1 skipped", "3 cases in 12.3 s"],
            "{table}"
        );
    }

    #[test]
    fn a_failed_clean_up_is_said_and_is_not_counted_as_a_case() {
        let results = vec![CaseResult {
            group: Group::Objects,
            name: "passes",
            outcome: Outcome::Passed(Duration::from_millis(3)),
        }];
        let report = Report::new(
            "memory".into(),
            "1.0.0".into(),
            results,
            Err("cannot delete x".into()),
            Duration::from_millis(100),
        );
        assert!(!report.succeeded());
        let table = report.table();
        let last: Vec<&str> = table.lines().rev().take(2).collect();
        assert_eq!(
            last,
            [
                "1 passed, 0 failed, 0 skipped; the clean-up failed",
                "1 cases in 0.1 s"
            ],
            "{table}"
        );
        assert!(
            table.contains("FAILED clean-up: cannot delete x"),
            "{table}"
        );
    }
}
