//! Failed alert deliveries of the analysis thread. The first failure is logged
//! at once with its cause and fix, later ones in one summary line at most once a
//! minute, and at shutdown the alerts the sinks lost become the run's error.

use std::time::{Duration, Instant};

use crate::output::{
    alerts::{AlertSinkError, SinkCounts},
    write_advice,
};

/// Minimum time between two summary lines about failed alerts.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// The log line that one more failure gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureLog {
    /// The first failure, logged with its cause.
    First,
    /// A summary of the failures since the last line.
    Summary { failed: u64, since_last_line: u64 },
    /// Nothing: the last line is less than [`SUMMARY_INTERVAL`] old.
    Quiet,
}

/// Alert sink errors seen so far.
#[derive(Debug, Default)]
pub struct AlertFailures {
    failed: u64,
    since_last_line: u64,
    last_line: Option<Instant>,
    /// The last error of the alert file, for the message at shutdown.
    last_write_error: Option<AlertSinkError>,
}

impl AlertFailures {
    /// Counts one alert that a sink failed to write at `now`, and logs the
    /// first failure or, at most once a minute, a summary.
    pub fn note(&mut self, error: AlertSinkError, now: Instant) -> FailureLog {
        self.failed += 1;
        self.since_last_line += 1;
        let log = match self.last_line {
            None => FailureLog::First,
            Some(at) if now.saturating_duration_since(at) >= SUMMARY_INTERVAL => {
                FailureLog::Summary {
                    failed: self.failed,
                    since_last_line: self.since_last_line,
                }
            }
            Some(_) => FailureLog::Quiet,
        };
        match log {
            FailureLog::First => tracing::error!(
                %error,
                "failed to write an alert ({}); every alert is still logged, and later \
                 failures are summarised at most once a minute",
                advice(&error)
            ),
            FailureLog::Summary {
                failed,
                since_last_line,
            } => tracing::error!(
                %error,
                failed,
                since_last_line,
                "alerts still fail to be written"
            ),
            FailureLog::Quiet => {}
        }
        if log != FailureLog::Quiet {
            self.last_line = Some(now);
            self.since_last_line = 0;
        }
        if matches!(error, AlertSinkError::Write { .. }) {
            self.last_write_error = Some(error);
        }
        log
    }

    /// Returns an error that names every sink that lost alerts, with the
    /// cause and fix for the alert file, given each sink's kind and final
    /// counts. Returns `Ok` when no alert was lost.
    pub fn into_result(self, sinks: &[(&'static str, SinkCounts)]) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        for (kind, counts) in sinks {
            let lost = counts.failed + counts.dropped;
            if lost == 0 {
                continue;
            }
            let total = counts.sent + lost;
            let problem = match &self.last_write_error {
                Some(AlertSinkError::Write { path, source }) if *kind == "json-lines" => format!(
                    "failed to write alerts to {}: {source}; {lost} of {total} alerts were lost; {}",
                    path.display(),
                    write_advice(source, "--alerts-out")
                ),
                _ => format!(
                    "{lost} of {total} alerts were lost by the {kind} sink ({} failed, {} \
                     dropped); the warnings above name the causes",
                    counts.failed, counts.dropped
                ),
            };
            problems.push(problem);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(anyhow::anyhow!(problems.join("; and ")))
        }
    }
}

/// Returns the fix for a failed alert write, or a hint for other errors.
fn advice(error: &AlertSinkError) -> String {
    match error {
        AlertSinkError::Write { source, .. } => write_advice(source, "--alerts-out"),
        _ => "the alert is lost".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::path::PathBuf;

    use super::*;

    fn full_disk() -> AlertSinkError {
        AlertSinkError::Write {
            path: PathBuf::from("/dev/full"),
            source: io::Error::from_raw_os_error(libc::ENOSPC),
        }
    }

    #[test]
    fn first_failure_logged() {
        let mut failures = AlertFailures::default();
        assert_eq!(
            failures.note(full_disk(), Instant::now()),
            FailureLog::First
        );
    }

    #[test]
    fn repeats_within_interval_quiet() {
        let start = Instant::now();
        let mut failures = AlertFailures::default();
        failures.note(full_disk(), start);
        for second in 1..60 {
            let now = start + Duration::from_secs(second);
            assert_eq!(failures.note(full_disk(), now), FailureLog::Quiet);
        }
    }

    #[test]
    fn summary_after_interval_counts_repeats() {
        let start = Instant::now();
        let mut failures = AlertFailures::default();
        failures.note(full_disk(), start);
        failures.note(full_disk(), start + Duration::from_secs(1));
        failures.note(full_disk(), start + Duration::from_secs(2));

        let log = failures.note(full_disk(), start + SUMMARY_INTERVAL);

        assert_eq!(
            log,
            FailureLog::Summary {
                failed: 4,
                since_last_line: 3
            }
        );
        let next = start + SUMMARY_INTERVAL + Duration::from_secs(1);
        assert_eq!(failures.note(full_disk(), next), FailureLog::Quiet);
    }

    #[test]
    fn no_loss_is_ok() {
        let counts = SinkCounts {
            sent: 5,
            ..SinkCounts::default()
        };
        let failures = AlertFailures::default();
        assert!(failures.into_result(&[("json-lines", counts)]).is_ok());
    }

    #[test]
    fn lost_alerts_name_file_cause_and_fix() {
        let mut failures = AlertFailures::default();
        failures.note(full_disk(), Instant::now());
        let counts = SinkCounts {
            sent: 2,
            failed: 3,
            ..SinkCounts::default()
        };

        let error = failures
            .into_result(&[("json-lines", counts)])
            .expect_err("alerts were lost");

        assert_eq!(
            error.to_string(),
            "failed to write alerts to /dev/full: No space left on device (os error 28); \
             3 of 5 alerts were lost; free space on its file system, or pass another path \
             to --alerts-out"
        );
    }

    #[test]
    fn lost_webhook_alerts_counted() {
        let counts = SinkCounts {
            sent: 1,
            failed: 1,
            dropped: 2,
            ..SinkCounts::default()
        };
        let error = AlertFailures::default()
            .into_result(&[("webhook", counts)])
            .expect_err("alerts were lost");
        assert!(
            error
                .to_string()
                .starts_with("3 of 4 alerts were lost by the webhook sink (1 failed, 2 dropped)"),
            "{error}"
        );
    }
}
