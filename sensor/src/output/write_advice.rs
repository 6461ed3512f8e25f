//! The advice that goes with a failed write to an output file or pipe.

use std::io;

/// Returns what the operator can do about `error`, a failed write to the
/// output that `flag` sets, as a clause to end an error message with.
pub fn write_advice(error: &io::Error, flag: &str) -> String {
    let fix = match error.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "free space on its file system"
        }
        io::ErrorKind::FileTooLarge => "raise the file size limit (ulimit -f)",
        io::ErrorKind::BrokenPipe => "keep the program that reads the pipe running",
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "make the file writable"
        }
        _ => "check the device or file system behind it",
    };
    format!("{fix}, or pass another path to {flag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_advises_free_space() {
        let error = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(
            write_advice(&error, "--flows-out"),
            "free space on its file system, or pass another path to --flows-out"
        );
    }

    #[test]
    fn closed_pipe_advises_reader() {
        let error = io::Error::from_raw_os_error(libc::EPIPE);
        assert!(write_advice(&error, "--alerts-out").starts_with("keep the program"));
    }

    #[test]
    fn unknown_error_names_flag() {
        let error = io::Error::other("device gone");
        assert!(write_advice(&error, "--alerts-out").ends_with("--alerts-out"));
    }
}
