//! Renders every metric in the Prometheus text format at scrape time.
//!
//! Each scrape builds a fresh registry and fills it from the sources'
//! cumulative counters, so the packet path never touches a shared metric.

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Instant,
};

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use sensor_ebpf::Verdict;

use crate::{
    app::extract::reject_labels,
    capture::xdp::VerdictReader,
    decap::DecapError,
    metrics::catalog::{self, Kind, MetricSpec},
    model::{Detector, Severity},
    pipeline::{
        analysis::AnalysisStats,
        stats::{APP_PROTOCOLS, StatsBlocks, WorkerStats, load},
        writer::WriterCounts,
    },
};

/// One capture queue as the metrics name it.
#[derive(Clone, Debug)]
pub struct QueueInfo {
    /// The RX queue index (0 in replay).
    pub queue: u32,
    /// `zero_copy` or `copy`; `None` in replay.
    pub bind_mode: Option<&'static str>,
}

/// Everything a scrape reads.
pub struct MetricsSources {
    /// `live` or `replay`.
    pub mode: &'static str,
    pub started: Instant,
    /// One entry per worker, in the order of `stats`.
    pub queues: Vec<QueueInfo>,
    pub stats: Arc<StatsBlocks>,
    pub verdicts: Option<VerdictReader>,
    pub records: Arc<WriterCounts>,
    pub analysis: Option<Arc<AnalysisStats>>,
}

impl MetricsSources {
    /// The current value of every metric, in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let scrape = Scrape::new()?;

        scrape
            .gauge(&catalog::BUILD_INFO)?
            .with_label_values(&[env!("CARGO_PKG_VERSION"), self.mode])
            .set(1);
        scrape
            .gauge(&catalog::UPTIME)?
            .with_label_values::<&str>(&[])
            .set(self.started.elapsed().as_secs() as i64);

        if let Some(verdicts) = &self.verdicts {
            let counts = verdicts
                .read()
                .map_err(|e| prometheus::Error::Msg(e.to_string()))?;
            let family = scrape.counter(&catalog::XDP_FRAMES)?;
            for verdict in Verdict::ALL {
                family
                    .with_label_values(&[verdict.label()])
                    .inc_by(counts[verdict as usize]);
            }
        }

        self.render_queues(&scrape)?;
        self.render_totals(&scrape)?;
        if let Some(analysis) = &self.analysis {
            render_analysis(&scrape, analysis)?;
        }
        scrape.finish()
    }

    fn render_queues(&self, scrape: &Scrape) -> Result<(), prometheus::Error> {
        let bind_mode = scrape.gauge(&catalog::XSK_BIND_MODE)?;
        let frames = scrape.counter(&catalog::QUEUE_FRAMES)?;
        let bytes = scrape.counter(&catalog::QUEUE_BYTES)?;
        let drops = scrape.counter(&catalog::RING_DROPS)?;
        let invalid = scrape.counter(&catalog::RING_INVALID)?;
        let steered = scrape.counter(&catalog::STEERED)?;
        let steer_waits = scrape.counter(&catalog::STEER_WAITS)?;

        for (info, stats) in self.queues.iter().zip(self.stats.iter()) {
            let queue = info.queue.to_string();
            let q = queue.as_str();
            frames.with_label_values(&[q]).inc_by(load(&stats.frames));
            bytes.with_label_values(&[q]).inc_by(load(&stats.bytes));
            steered.with_label_values(&[q]).inc_by(load(&stats.steered));
            steer_waits
                .with_label_values(&[q])
                .inc_by(load(&stats.steer_full));
            if let Some(mode) = info.bind_mode {
                bind_mode.with_label_values(&[q, mode]).set(1);
                drops
                    .with_label_values(&[q, "rx_ring_full"])
                    .inc_by(load(&stats.ring_rx_ring_full));
                drops
                    .with_label_values(&[q, "fill_ring_empty"])
                    .inc_by(load(&stats.ring_fill_empty));
                drops
                    .with_label_values(&[q, "other"])
                    .inc_by(load(&stats.ring_rx_dropped));
                invalid
                    .with_label_values(&[q])
                    .inc_by(load(&stats.ring_invalid_descs));
            }
        }
        Ok(())
    }

    fn render_totals(&self, scrape: &Scrape) -> Result<(), prometheus::Error> {
        let sum = |field: fn(&WorkerStats) -> &AtomicU64| -> u64 {
            self.stats.iter().map(|stats| load(field(stats))).sum()
        };

        let total = |spec: &MetricSpec, value: u64| -> Result<(), prometheus::Error> {
            scrape
                .counter(spec)?
                .with_label_values::<&str>(&[])
                .inc_by(value);
            Ok(())
        };
        total(&catalog::DECAP_DECODED, sum(|s| &s.decoded))?;
        total(&catalog::DECAP_TRUNCATED, sum(|s| &s.truncated))?;
        total(&catalog::FLOWS_CREATED, sum(|s| &s.flows_created))?;
        total(&catalog::FLOWS_EXPIRED, sum(|s| &s.flows_expired))?;
        total(&catalog::FLOWS_EVICTED, sum(|s| &s.flows_evicted))?;
        total(&catalog::DUPLICATES, sum(|s| &s.duplicate_packets))?;
        total(&catalog::RECORDS_WRITTEN, load(&self.records.written))?;
        total(&catalog::RECORDS_FAILED, load(&self.records.failed))?;

        let active = sum(|s| &s.flows_active);
        scrape
            .gauge(&catalog::FLOWS_ACTIVE)?
            .with_label_values::<&str>(&[])
            .set(i64::try_from(active).unwrap_or(i64::MAX));

        let app = scrape.counter(&catalog::APP_PARSED)?;
        for (index, protocol) in APP_PROTOCOLS.iter().enumerate() {
            let count: u64 = self.stats.iter().map(|s| load(&s.app_parsed[index])).sum();
            app.with_label_values(&[protocol]).inc_by(count);
        }
        let app_rejected = scrape.counter(&catalog::APP_REJECTED)?;
        for (index, (protocol, reason)) in reject_labels().enumerate() {
            let count: u64 = self
                .stats
                .iter()
                .map(|s| load(&s.app_rejected[index]))
                .sum();
            app_rejected
                .with_label_values(&[protocol, reason])
                .inc_by(count);
        }
        total(&catalog::APP_ABANDONED, sum(|s| &s.app_hellos_abandoned))?;
        total(
            &catalog::APP_DROPPED,
            sum(|s| &s.app_dropped) + load(&self.records.app_dropped),
        )?;

        let rejected = scrape.counter(&catalog::DECAP_REJECTED)?;
        for (index, reason) in DecapError::ALL.iter().enumerate() {
            let count: u64 = self.stats.iter().map(|s| load(&s.rejected[index])).sum();
            rejected.with_label_values(&[reason.label()]).inc_by(count);
        }
        Ok(())
    }
}

fn render_analysis(scrape: &Scrape, analysis: &AnalysisStats) -> Result<(), prometheus::Error> {
    let model = analysis
        .model
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();

    scrape
        .gauge(&catalog::MODEL_DEVICES)?
        .with_label_values::<&str>(&[])
        .set(i64::try_from(model.devices_tracked).unwrap_or(i64::MAX));
    scrape
        .counter(&catalog::MODEL_DEVICES_EVICTED)?
        .with_label_values::<&str>(&[])
        .inc_by(model.devices_evicted);
    scrape
        .counter(&catalog::MODEL_PEERS_EVICTED)?
        .with_label_values::<&str>(&[])
        .inc_by(model.peers_evicted);

    let events = scrape.counter(&catalog::MODEL_EVENTS)?;
    events
        .with_label_values(&["processed"])
        .inc_by(load(&analysis.records_processed));
    events
        .with_label_values(&["dropped"])
        .inc_by(load(&analysis.records_dropped));
    events
        .with_label_values(&["rejected_time"])
        .inc_by(load(&analysis.records_rejected_time));

    let alerts = scrape.counter(&catalog::ALERTS)?;
    for detector in Detector::ALL {
        for severity in Severity::ALL {
            alerts
                .with_label_values(&[detector.id(), severity.id()])
                .inc_by(model.alerts_total(detector, severity));
        }
    }

    let age_millis = load(&analysis.snapshot_age_millis);
    if age_millis != u64::MAX {
        scrape
            .gauge(&catalog::SNAPSHOT_AGE)?
            .with_label_values::<&str>(&[])
            .set((age_millis / 1000) as i64);
    }

    let sinks = scrape.counter(&catalog::ALERT_SINK)?;
    let sink_counters = analysis
        .sinks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    for (kind, counters) in sink_counters {
        let counts = counters.snapshot();
        for (outcome, value) in [
            ("sent", counts.sent),
            ("failed", counts.failed),
            ("retried", counts.retried),
            ("dropped", counts.dropped),
        ] {
            sinks.with_label_values(&[kind, outcome]).inc_by(value);
        }
    }
    Ok(())
}

/// A registry for one scrape.
struct Scrape {
    registry: Registry,
}

impl Scrape {
    fn new() -> Result<Self, prometheus::Error> {
        Ok(Scrape {
            registry: Registry::new(),
        })
    }

    fn counter(&self, spec: &MetricSpec) -> Result<IntCounterVec, prometheus::Error> {
        debug_assert_eq!(spec.kind, Kind::Counter, "{}", spec.name);
        let family = IntCounterVec::new(Opts::new(spec.name, spec.help), spec.labels)?;
        self.registry.register(Box::new(family.clone()))?;
        Ok(family)
    }

    fn gauge(&self, spec: &MetricSpec) -> Result<IntGaugeVec, prometheus::Error> {
        debug_assert_eq!(spec.kind, Kind::Gauge, "{}", spec.name);
        let family = IntGaugeVec::new(Opts::new(spec.name, spec.help), spec.labels)?;
        self.registry.register(Box::new(family.clone()))?;
        Ok(family)
    }

    fn finish(self) -> Result<String, prometheus::Error> {
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}
