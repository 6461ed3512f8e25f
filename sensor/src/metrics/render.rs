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
    capture::xdp::VerdictReader,
    decap::DecapError,
    metrics::catalog::{self, Kind, MetricSpec},
    pipeline::stats::{StatsBlocks, WorkerStats, load},
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
    pub records_written: Arc<AtomicU64>,
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
            let counts = verdicts.read().map_err(|e| prometheus::Error::Msg(e.to_string()))?;
            let family = scrape.counter(&catalog::XDP_FRAMES)?;
            for verdict in Verdict::ALL {
                family
                    .with_label_values(&[verdict.label()])
                    .inc_by(counts[verdict as usize]);
            }
        }

        self.render_queues(&scrape)?;
        self.render_totals(&scrape)?;
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
            steer_waits.with_label_values(&[q]).inc_by(load(&stats.steer_full));
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
        total(&catalog::RECORDS_WRITTEN, load(&self.records_written))?;

        let active = sum(|s| &s.flows_active);
        scrape
            .gauge(&catalog::FLOWS_ACTIVE)?
            .with_label_values::<&str>(&[])
            .set(i64::try_from(active).unwrap_or(i64::MAX));

        let rejected = scrape.counter(&catalog::DECAP_REJECTED)?;
        for (index, reason) in DecapError::ALL.iter().enumerate() {
            let count: u64 = self.stats.iter().map(|s| load(&s.rejected[index])).sum();
            rejected.with_label_values(&[reason.label()]).inc_by(count);
        }
        Ok(())
    }
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
