//! Errors of the capture file readers, each naming the file and what to do, and
//! the reader wrapper that keeps the OS error that pcap-parser drops.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// A failure to read a capture file. An I/O error is the `source`, so the
/// message with its causes (`{:#}` of an `anyhow::Error`) names it once.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("failed to open capture {path}")]
    Open { path: PathBuf, source: io::Error },
    #[error(
        "{path} is a directory, not a capture file: name the pcap or pcapng files in it \
         (for example {})",
        .path.join("*.pcap").display()
    )]
    Directory { path: PathBuf },
    #[error("{path} is not a pcap or pcapng file (unknown magic number at byte offset 0)")]
    NotPcap { path: PathBuf },
    #[error(
        "{path} ends inside its file header, after {len} bytes: it is empty or was cut while \
         being written; wait until the capture is complete, or copy or capture it again"
    )]
    HeaderShort { path: PathBuf, len: u64 },
    #[error(
        "{path} ends inside a record at byte offset {offset}: the file was cut, for example \
         while it was still being written, and the frames before that offset were read; wait \
         until the capture is complete, or copy or capture it again"
    )]
    Truncated { path: PathBuf, offset: u64 },
    #[error(
        "{path}: the record at byte offset {offset} is larger than {max} bytes, the largest \
         record replay reads, so the file is probably corrupt at that offset; replay an intact \
         copy or capture again"
    )]
    TooLarge {
        path: PathBuf,
        offset: u64,
        max: usize,
    },
    #[error("{path}: invalid data at byte offset {offset}: {detail}")]
    Invalid {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
    #[error("failed to read {path} at byte offset {offset}")]
    Read {
        path: PathBuf,
        offset: u64,
        source: io::Error,
    },
}

/// The last error that a [`KeepErrors`] reader returned, shared with its owner.
pub(super) type LastError = Arc<Mutex<Option<io::Error>>>;

/// A reader that keeps a copy of its last error, for the readers that only
/// report that a read failed (pcap-parser's `ReadError` drops the cause).
pub(super) struct KeepErrors<R> {
    inner: R,
    last: LastError,
}

impl<R: Read> KeepErrors<R> {
    /// Wraps `inner` and returns the slot where its errors go.
    pub(super) fn new(inner: R) -> (Self, LastError) {
        let last = LastError::default();
        let reader = KeepErrors {
            inner,
            last: Arc::clone(&last),
        };
        (reader, last)
    }
}

impl<R: Read> Read for KeepErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|error| {
            // `io::Error` is not `Clone`: an OS error is rebuilt from its code,
            // any other from its kind and message.
            let copy = match error.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(error.kind(), error.to_string()),
            };
            *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(copy);
        })
    }
}

/// Takes the error that `last` keeps, or makes one when it has none.
pub(super) fn take_last_error(last: &LastError) -> io::Error {
    last.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_else(|| io::Error::other("the pcap parser failed to read the file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader whose every read fails with EIO.
    struct FailingReader;

    impl Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(libc::EIO))
        }
    }

    #[test]
    fn keep_errors_keeps_os_error() {
        let (mut reader, last) = KeepErrors::new(FailingReader);
        assert!(reader.read(&mut [0; 4]).is_err());
        assert_eq!(take_last_error(&last).raw_os_error(), Some(libc::EIO));
    }

    #[test]
    fn keep_errors_without_error_explains() {
        let (_, last) = KeepErrors::new(FailingReader);
        assert_eq!(take_last_error(&last).kind(), io::ErrorKind::Other);
    }

    #[test]
    fn messages_name_os_error_once() {
        let error = PcapError::Open {
            path: PathBuf::from("/missing.pcap"),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        let message = format!("{:#}", anyhow::Error::new(error));
        assert_eq!(
            message,
            "failed to open capture /missing.pcap: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn read_error_names_cause() {
        let error = PcapError::Read {
            path: PathBuf::from("capture.pcap"),
            offset: 24,
            source: io::Error::from_raw_os_error(libc::EIO),
        };
        let message = format!("{:#}", anyhow::Error::new(error));
        assert_eq!(
            message,
            "failed to read capture.pcap at byte offset 24: Input/output error (os error 5)"
        );
    }
}
