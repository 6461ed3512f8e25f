//! `sensor replay`: reads capture files through the pipeline and prints a
//! summary on stderr.

use std::{
    sync::{Arc, atomic::AtomicBool},
    time::Instant,
};

use crate::{
    cli::{analysis::analysis_config, args::ReplayArgs, run::check_ports},
    decap::{DecapError, Decoder},
    metrics::{MetricsSources, QueueInfo, server::MetricsServer},
    pipeline::{
        analysis::{Analysis, run_outcome},
        replay::{ReplaySummary, replay},
        stats::stats_blocks,
        writer::RecordWriter,
    },
};

/// Replays the files and returns what was read.
pub fn run(args: ReplayArgs, stop: Arc<AtomicBool>) -> anyhow::Result<ReplaySummary> {
    check_ports(&args.decap)?;
    let flows = args.flows.config()?;
    let decoder = Decoder::new(args.decap.config(args.decapsulated));
    let (analysis, feed) = analysis_config(&args.model, None)?
        .map(Analysis::start)
        .transpose()?
        .unzip();
    let writer = RecordWriter::start(&args.flows.flows_out, feed)?;
    let stats = Arc::new(stats_blocks(1));

    let server = match args.metrics_listen {
        Some(listen) => {
            let sources = Arc::new(MetricsSources {
                mode: "replay",
                started: Instant::now(),
                queues: vec![QueueInfo {
                    queue: 0,
                    bind_mode: None,
                }],
                stats: Arc::clone(&stats),
                verdicts: None,
                records: writer.counts(),
                analysis: analysis.as_ref().map(Analysis::stats),
            });
            Some(MetricsServer::start(listen, sources)?)
        }
        None => None,
    };

    let app_metadata = !args.flows.no_app_metadata;
    let summary = replay(
        &args.files,
        decoder,
        app_metadata,
        flows,
        writer,
        stats,
        stop,
    );
    let analysed = analysis.map_or(Ok(()), Analysis::finish);
    if let Some(server) = server {
        server.stop();
    }
    if let Ok(summary) = &summary {
        print_summary(summary);
    }
    run_outcome(summary, analysed)
}

fn print_summary(summary: &ReplaySummary) {
    eprintln!(
        "replayed {} file(s): {} frames, {} bytes; decoded {}, truncated {}",
        summary.files,
        summary.frames,
        summary.bytes,
        summary.decap.decoded,
        summary.decap.truncated
    );
    for (reason, count) in DecapError::ALL.iter().zip(summary.decap.rejected.iter()) {
        if *count > 0 {
            eprintln!("  rejected {}: {count}", reason.label());
        }
    }
    eprintln!(
        "flows: {} created, {} evicted, {} duplicate packets; {} records written",
        summary.flows.created,
        summary.flows.evicted,
        summary.flows.duplicates,
        summary.records_written
    );
}
