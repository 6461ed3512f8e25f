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

use crate::{
    app::extract::{AppExtractor, counters_of},
    capture::pcap::PcapReader,
    decap::{DecapCounters, Decoder},
    flow::{FlowConfig, FlowStats},
    pipeline::{
        outbox::Outbox,
        shard::Shard,
        stats::{LocalCounts, StatsBlocks},
        writer::RecordWriter,
    },
};

/// Frames between two publications of the counters.
const PUBLISH_EVERY_FRAMES: u64 = 4096;

/// Totals of a replay.
#[derive(Debug)]
pub struct ReplaySummary {
    pub files: usize,
    pub frames: u64,
    pub bytes: u64,
    pub decap: DecapCounters,
    pub flows: FlowStats,
    pub records_written: u64,
}

/// Replays `files` in order through `decoder` and one flow shard. Payloads go
/// through the application parsers when `app_metadata` is set.
pub fn replay(
    files: &[PathBuf],
    mut decoder: Decoder,
    app_metadata: bool,
    flows: FlowConfig,
    writer: RecordWriter,
    stats: Arc<StatsBlocks>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ReplaySummary> {
    let mut shard = Shard::new(flows, Outbox::new(writer.sender(), false));
    let mut extractor = app_metadata.then(AppExtractor::new);
    let mut local = LocalCounts::default();

    let mut failure: Option<anyhow::Error> = None;
    'files: for path in files {
        let mut reader = match PcapReader::open(path) {
            Ok(reader) => reader,
            Err(error) => {
                // The error names the file and what is wrong with it.
                failure = Some(error.into());
                break;
            }
        };
        tracing::info!(file = %path.display(), "replaying");
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    // A capture cut short (a killed tcpdump) still holds flows
                    // worth writing: end them below, then report the error.
                    failure = Some(error.into());
                    break 'files;
                }
            };
            if stop.load(Ordering::Relaxed) {
                tracing::info!("interrupted; writing the flows seen so far");
                break 'files;
            }
            local.frames += 1;
            local.bytes += frame.data.len() as u64;
            if let Some(packet) =
                decoder.decode_link(frame.link_type, frame.data, frame.wire_len, frame.ts_ns)
            {
                if let Some(event) = extractor
                    .as_mut()
                    .and_then(|extractor| extractor.inspect(&packet, frame.data))
                {
                    shard.app_event(event);
                }
                shard.observe(&packet);
            }
            if let Some(extractor) = &mut extractor {
                extractor.expire(frame.ts_ns, |event| shard.app_event(event));
            }
            shard.advance(frame.ts_ns);
            if local.frames % PUBLISH_EVERY_FRAMES == 0 {
                stats[0].publish(&local, decoder.counters(), &shard.stats());
                stats[0].publish_app(&counters_of(extractor.as_ref()), 0);
            }
        }
    }

    if let Some(extractor) = &mut extractor {
        extractor.finish(|event| shard.app_event(event));
    }
    shard.finish();
    stats[0].publish(&local, decoder.counters(), &shard.stats());
    stats[0].publish_app(&counters_of(extractor.as_ref()), 0);
    let flows = shard.stats();
    drop(shard);
    let records_written = writer.finish()?;
    if let Some(error) = failure {
        if local.frames == 0 {
            return Err(error);
        }
        return Err(error.context(format!(
            "replay stopped early; the {records_written} flow records seen until then were written"
        )));
    }

    Ok(ReplaySummary {
        files: files.len(),
        frames: local.frames,
        bytes: local.bytes,
        decap: decoder.counters().clone(),
        flows,
        records_written,
    })
}
