//! Replay: the live pipeline's decoder and flow shard fed from pcap and pcapng
//! files, in one thread, with time taken from the packet timestamps. The same
//! input gives the same flow records as a live run.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use anyhow::Context;

use crate::{
    capture::pcap::PcapReader,
    decap::{DecapCounters, Decoder},
    flow::{FlowConfig, FlowStats},
    pipeline::{
        shard::Shard,
        stats::{LocalCounts, StatsBlocks},
        writer::RecordWriter,
    },
};

/// Frames between two publications of the counters.
const PUBLISH_EVERY_FRAMES: u64 = 4096;

/// What a replay read and produced.
#[derive(Debug)]
pub struct ReplaySummary {
    pub files: usize,
    pub frames: u64,
    pub bytes: u64,
    pub decap: DecapCounters,
    pub flows: FlowStats,
    pub records_written: u64,
}

/// Replays `files` in order through `decoder` and one flow shard.
pub fn replay(
    files: &[PathBuf],
    mut decoder: Decoder,
    flows: FlowConfig,
    writer: RecordWriter,
    stats: Arc<StatsBlocks>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ReplaySummary> {
    let mut shard = Shard::new(flows, writer.sender());
    let mut local = LocalCounts::default();

    for path in files {
        let mut reader = PcapReader::open(path)
            .with_context(|| format!("failed to open capture {}", path.display()))?;
        tracing::info!(file = %path.display(), "replaying");
        while let Some(frame) = reader.next_frame()? {
            if stop.load(Ordering::Relaxed) {
                tracing::info!("interrupted; writing the flows seen so far");
                break;
            }
            local.frames += 1;
            local.bytes += u64::from(frame.wire_len);
            if let Some(packet) =
                decoder.decode_link(frame.link_type, frame.data, frame.wire_len, frame.ts_ns)
            {
                shard.observe(&packet);
            }
            shard.advance(frame.ts_ns);
            if local.frames % PUBLISH_EVERY_FRAMES == 0 {
                stats[0].publish(&local, decoder.counters(), &shard.stats());
            }
        }
    }

    shard.finish();
    stats[0].publish(&local, decoder.counters(), &shard.stats());
    let flows = shard.stats();
    drop(shard);
    let records_written = writer.finish()?;

    Ok(ReplaySummary {
        files: files.len(),
        frames: local.frames,
        bytes: local.bytes,
        decap: decoder.counters().clone(),
        flows,
        records_written,
    })
}
