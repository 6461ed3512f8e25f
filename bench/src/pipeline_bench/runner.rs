//! One measured run: a fresh decoder, flow table, model and application extractor
//! take a pool of frames in memory, on the calling thread, in the order the sensor's
//! replay path runs them. Only the passes after a warm-up pass are timed: neither
//! building the pool nor the final [`Pipeline::finish`], which ends every flow still open.
//!
//! In the sensor, records go to a writer thread (application metadata joined there)
//! and then to an analysis thread (the model). Here all of it runs on one core, so
//! packets per second per core counts the whole cost of a packet on one core.

use std::time::Instant;

use sensor::app::extract::AppExtractor;
use sensor::decap::{DecapConfig, Decoder};
use sensor::flow::{FlowConfig, FlowRecord, FlowTable};
use sensor::model::{Model, ModelConfig};
use sensor::pipeline::enrich::Enricher;
use sensor::pipeline::shard::EXPIRY_INTERVAL_NS;

use super::mix::{BASE_VNI, Mix, Pool};

/// Packet time between two frames: the pool arrives as a 1 Mpps link would send it.
pub const FRAME_INTERVAL_NS: u64 = 1_000;
/// Packet time of the first frame: 2024-01-01T00:00:00Z.
const START_NS: u64 = 1_704_067_200_000_000_000;
/// Packet time between two calls of the model's `tick`, as the analysis thread does.
const TICK_INTERVAL_NS: u64 = 1_000_000_000;

/// The stages a run includes; each includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Decapsulation only.
    Decap,
    /// Decapsulation and the flow table.
    Flows,
    /// Decapsulation, flows, and the model fed with every flow record.
    Model,
    /// All of the above plus application metadata (parsers and the record enricher).
    App,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Decap, Stage::Flows, Stage::Model, Stage::App];

    /// Returns the name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Decap => "decap",
            Stage::Flows => "flows",
            Stage::Model => "model",
            Stage::App => "app",
        }
    }

    /// Parses a name from [`Stage::name`].
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.name() == name)
    }
}

/// Counts and wall time of one run.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// Frames of the timed passes.
    pub frames: u64,
    /// Wall time of the passes over the frames, in nanoseconds.
    pub elapsed_ns: u64,
    pub decoded: u64,
    /// Flows created during the timed passes.
    pub flows_created: u64,
    /// Packets the flow table counted as second copies; 0 unless the mix is wrong.
    pub duplicates: u64,
    /// Flow records emitted, including those of the final flush.
    pub records: u64,
    pub alerts: u64,
    pub app_findings: u64,
}

/// The pipeline state of one run.
pub struct Pipeline {
    stage: Stage,
    decoder: Decoder,
    table: FlowTable,
    model: Model,
    extractor: AppExtractor,
    enricher: Enricher,
    /// Records the flow table emitted and the model has not taken yet.
    pending: Vec<FlowRecord>,
    last_expiry_ns: u64,
    last_tick_ns: u64,
    result: RunResult,
}

impl Pipeline {
    /// Creates a pipeline for `stage` with the sensor's default settings.
    pub fn new(stage: Stage) -> Pipeline {
        Pipeline {
            stage,
            decoder: Decoder::new(DecapConfig::default()),
            table: FlowTable::new(FlowConfig::default()),
            model: Model::new(ModelConfig::default()),
            extractor: AppExtractor::new(),
            enricher: Enricher::default(),
            pending: Vec::with_capacity(1024),
            last_expiry_ns: START_NS,
            last_tick_ns: START_NS,
            result: RunResult::default(),
        }
    }

    /// Processes every frame of `pool` once. Frame `i` (from 0) gets packet time
    /// `START_NS + (first_frame + i + 1) * FRAME_INTERVAL_NS`.
    #[inline(never)]
    pub fn process_pass(&mut self, pool: &Pool, first_frame: u64) {
        let flows = self.stage >= Stage::Flows;
        let app = self.stage >= Stage::App;
        let mut ts_ns = START_NS + first_frame * FRAME_INTERVAL_NS;

        for &(start, end) in &pool.ranges {
            ts_ns += FRAME_INTERVAL_NS;
            let frame = pool.bytes.get(start..end).unwrap_or(&[]);
            let wire_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
            let Some(packet) = self.decoder.decode(frame, wire_len, ts_ns) else {
                continue;
            };
            if app && let Some(event) = self.extractor.inspect(&packet, frame) {
                self.result.app_findings += 1;
                self.enricher.add(event);
            }
            if !flows {
                continue;
            }

            let pending = &mut self.pending;
            self.table
                .observe(&packet, &mut |record| pending.push(record));
            if ts_ns - self.last_expiry_ns >= EXPIRY_INTERVAL_NS {
                self.last_expiry_ns = ts_ns;
                self.table.expire(ts_ns, &mut |record| pending.push(record));
            }
            if !self.pending.is_empty() {
                self.take_records();
            }
            if self.stage >= Stage::Model && ts_ns - self.last_tick_ns >= TICK_INTERVAL_NS {
                self.last_tick_ns = ts_ns;
                let alerts = &mut self.result.alerts;
                self.model.tick(ts_ns, &mut |_| *alerts += 1);
            }
        }
        self.result.frames += pool.len() as u64;
    }

    /// Ends every flow and feeds its record to the model, as the end of a replay does.
    #[inline(never)]
    pub fn finish(&mut self) {
        if self.stage >= Stage::Flows {
            let pending = &mut self.pending;
            self.table.drain(&mut |record| pending.push(record));
            self.take_records();
        }
    }

    /// Counts of the run so far, with the decoder's and flow table's counters.
    pub fn result(&self) -> RunResult {
        let stats = self.table.stats();
        RunResult {
            decoded: self.decoder.counters().decoded,
            flows_created: stats.created,
            duplicates: stats.duplicates,
            ..self.result.clone()
        }
    }

    fn take_records(&mut self) {
        let app = self.stage >= Stage::App;
        let model = self.stage >= Stage::Model;
        let alerts = &mut self.result.alerts;
        for mut record in self.pending.drain(..) {
            self.result.records += 1;
            if app {
                self.enricher.attach(&mut record);
            }
            if model {
                self.model.observe(&record, &mut |_| *alerts += 1);
            }
        }
    }
}

/// Runs one untimed warm-up pass and then `passes` timed passes over `pool`, through
/// a fresh pipeline. The warm-up starts the long flows of the steady mixes and touches
/// the flow table's pages, so the timed passes measure the steady state. For mixes
/// that need new flows each pass, the pool's VNI changes between passes (not timed)
/// and is restored at the end.
pub fn run(pool: &mut Pool, mix: Mix, stage: Stage, passes: u32) -> RunResult {
    let mut pipeline = Pipeline::new(stage);
    pipeline.process_pass(pool, 0);
    let warm_up = pipeline.result();

    let mut elapsed_ns = 0u64;
    for pass in 1..=passes {
        if mix.new_flows_each_pass() {
            pool.set_vni(BASE_VNI + pass);
        }
        let first_frame = u64::from(pass) * pool.len() as u64;
        let started = Instant::now();
        timed_pass(&mut pipeline, pool, first_frame);
        elapsed_ns += started.elapsed().as_nanos() as u64;
    }
    // Not timed: at the end of a run every long flow of the steady mixes would end at
    // once, a cost the sensor pays once per flow at shutdown, not per packet.
    pipeline.finish();
    if mix.new_flows_each_pass() {
        pool.set_vni(BASE_VNI);
    }

    let total = pipeline.result();
    RunResult {
        frames: total.frames - warm_up.frames,
        elapsed_ns,
        decoded: total.decoded - warm_up.decoded,
        flows_created: total.flows_created - warm_up.flows_created,
        app_findings: total.app_findings - warm_up.app_findings,
        ..total
    }
}

/// One timed pass; a separate function so that callgrind can count only these
/// (`--toggle-collect=*timed_pass*`).
#[inline(never)]
fn timed_pass(pipeline: &mut Pipeline, pool: &Pool, first_frame: u64) {
    pipeline.process_pass(pool, first_frame);
}
