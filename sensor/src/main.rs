//! The `sensor` binary: parses the command line, sets up logging and signal
//! handling, and runs the chosen command.

use std::{
    process::ExitCode,
    sync::{Arc, atomic::AtomicBool},
};

use sensor::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("SENSOR_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();

    let cli = Cli::parse_checked();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The first signal requests a clean stop, which writes every flow and can
        // wait on a stalled output. A second one exits at once with 128 + signal,
        // and the kernel detaches the XDP program when the link's file closes.
        let registered = signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&stop),
        )
        .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)));
        if let Err(error) = registered {
            eprintln!("error: failed to install the handler for signal {signal}: {error}");
            return ExitCode::FAILURE;
        }
    }

    // A write past the file size limit (`ulimit -f`) raises SIGXFSZ, which kills
    // the process by default. Ignored, the write fails with EFBIG instead, and the
    // outputs report the lost records and alerts like any other write error.
    // SAFETY: setting a signal's disposition to SIG_IGN runs no handler code.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };

    let result = match cli.command {
        Command::Run(args) => sensor::cli::run::run(args, stop).map(|_| ()),
        Command::Replay(args) => sensor::cli::replay::run(args, stop).map(|_| ()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
