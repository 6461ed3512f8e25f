//! Standard output as a plain file, for the record and alert sinks.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

/// Returns a file on a copy of file descriptor 1. The sinks count a record or an
/// alert as written only when the output took its whole line. `io::stdout()` would
/// break that count: after a short write it keeps up to 1 KiB in its line buffer and
/// reports those bytes as written.
pub fn stdout_file() -> io::Result<File> {
    let fd = io::stdout().as_fd().try_clone_to_owned()?;
    Ok(File::from(fd))
}
