//! Turns the model and alert flags into the analysis thread's settings.

use std::time::Duration;

use anyhow::Context;

use crate::{
    cli::args::ModelArgs,
    model::Alert,
    output::alerts::{AlertSinkError, AlertSinks, JsonLinesSink, WebhookConfig, WebhookSink},
    pipeline::{analysis::AnalysisConfig, clock::PacketClock},
};

/// Builds the analysis settings, or `None` with `--no-model`. The model flags are
/// checked in both cases, so that a mistake shows now and not when the model is
/// turned back on. Live runs append to `--alerts-out`, so a restart keeps earlier
/// alerts; replays start the file afresh.
pub fn analysis_config(
    args: &ModelArgs,
    live: Option<PacketClock>,
) -> anyhow::Result<Option<AnalysisConfig>> {
    let model = args.config()?;
    if args.no_model {
        return Ok(None);
    }
    let mut sinks = AlertSinks::<Alert>::new();

    if let Some(path) = &args.alerts_out {
        let sink = if live.is_some() {
            JsonLinesSink::append(path)
        } else {
            JsonLinesSink::create(path)
        };
        // The sink error's message already contains the OS error, so it is not
        // added as a cause, which `{:#}` would print a second time.
        let sink = sink.map_err(|error| match error {
            AlertSinkError::Open { source, .. } => anyhow::anyhow!(
                "failed to open --alerts-out {}: {source}; check that its directory exists \
                 and that the file is writable",
                path.display()
            ),
            other => anyhow::anyhow!("failed to open --alerts-out {}: {other}", path.display()),
        })?;
        sinks.add(sink);
    }
    if let Some(url) = &args.alert_webhook {
        let sink = WebhookSink::start(WebhookConfig::new(url.clone()))
            .context("failed to start the --alert-webhook sink")?;
        tracing::info!(target = sink.target(), "alerts are posted to a webhook");
        sinks.add(sink);
    }

    Ok(Some(AnalysisConfig {
        model,
        sinks,
        state_path: args.model_state.clone(),
        snapshot_interval: Duration::from_secs(args.snapshot_interval_secs),
        drop_when_full: live.is_some(),
        live_clock: live,
    }))
}
