//! Atomic save and checked load of one snapshot file.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{SnapshotError, SnapshotProblem};
use super::format::{self, FORMAT_VERSION, Header};

/// One snapshot file of a `T`, at `PATH`.
///
/// [`save`](Self::save) writes `PATH.tmp`, fsyncs it, renames it over `PATH` and fsyncs
/// the directory, so a crash at any point leaves either the old or the new snapshot at
/// `PATH`. [`load`](Self::load) never returns a file that fails a check: it moves the file
/// to `PATH.corrupt-<unix seconds>` and returns [`SnapshotError::Rejected`].
///
/// NOTE: two processes saving to the same path are not serialised against each other;
/// each still leaves a whole snapshot, but the last rename wins.
#[derive(Debug)]
pub struct SnapshotStore<T> {
    path: PathBuf,
    temp_path: PathBuf,
    version: u32,
    state: PhantomData<fn(&T) -> T>,
}

impl<T: Serialize + DeserializeOwned> SnapshotStore<T> {
    /// Creates a store for `path` that writes and reads [`FORMAT_VERSION`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_version(path, FORMAT_VERSION)
    }

    /// Creates a store that writes and reads `version`, for tests of version checks.
    pub fn with_version(path: impl Into<PathBuf>, version: u32) -> Self {
        let path = path.into();
        let temp_path = with_suffix(&path, ".tmp");
        SnapshotStore {
            path,
            temp_path,
            version,
            state: PhantomData,
        }
    }

    /// Returns the path of the snapshot file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates and removes `PATH.tmp`, the file that [`save`](Self::save) writes first,
    /// so that a directory where no snapshot can be saved fails at start instead of at
    /// the first save.
    pub fn check_writable(&self) -> Result<(), SnapshotError> {
        let write_error = |source| SnapshotError::Write {
            path: self.temp_path.clone(),
            source,
        };
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&self.temp_path)
            .map_err(write_error)?;
        fs::remove_file(&self.temp_path).map_err(write_error)
    }

    /// Encodes `state` and replaces the snapshot file with it atomically. Returns the
    /// size of the file in bytes.
    pub fn save(&self, state: &T) -> Result<u64, SnapshotError> {
        let mut payload = Vec::new();
        ciborium::into_writer(state, &mut payload).map_err(|e| SnapshotError::Encode {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let header = Header::for_payload(self.version, &payload);

        self.write_temp(&header.encode(), &payload)
            .map_err(|source| SnapshotError::Write {
                path: self.temp_path.clone(),
                source,
            })?;
        fs::rename(&self.temp_path, &self.path).map_err(|source| SnapshotError::Write {
            path: self.path.clone(),
            source,
        })?;

        // The rename is durable only once the directory entry is on disk.
        let dir = parent_dir(&self.path);
        sync_dir(dir).map_err(|source| SnapshotError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(format::HEADER_LEN as u64 + payload.len() as u64)
    }

    /// Reads the snapshot. A missing file is `Ok(None)`. A file that fails a check (magic,
    /// length, version, checksum, decoding) is moved aside and returned as an error that
    /// names the problem and the new path. `PATH.tmp` is never read: a leftover one is
    /// from a save that did not finish.
    pub fn load(&self) -> Result<Option<T>, SnapshotError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SnapshotError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };

        let decoded = format::verify(&bytes, self.version).and_then(|payload| {
            ciborium::from_reader::<T, _>(payload).map_err(|e| SnapshotProblem::Undecodable {
                message: e.to_string(),
            })
        });
        match decoded {
            Ok(state) => Ok(Some(state)),
            Err(problem) => Err(self.move_aside(problem)),
        }
    }

    fn write_temp(&self, header: &[u8], payload: &[u8]) -> io::Result<()> {
        // The state describes the monitored network, so only the owner may read it.
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&self.temp_path)?;
        file.write_all(header)?;
        file.write_all(payload)?;
        file.sync_all()
    }

    /// Moves the snapshot aside like a corrupt one, for a state that decoded
    /// but that its owner cannot use, so the next save does not overwrite it.
    pub fn reject(&self, message: String) -> SnapshotError {
        self.move_aside(SnapshotProblem::Unusable { message })
    }

    /// Renames the rejected file to a free `PATH.corrupt-<unix seconds>[.N]` name.
    fn move_aside(&self, problem: SnapshotProblem) -> SnapshotError {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let base = with_suffix(&self.path, &format!(".corrupt-{seconds}"));
        let mut target = base.clone();
        let mut n = 0u32;
        while target.symlink_metadata().is_ok() && n < 1000 {
            n += 1;
            target = with_suffix(&base, &format!(".{n}"));
        }

        match fs::rename(&self.path, &target) {
            Ok(()) => SnapshotError::Rejected {
                path: self.path.clone(),
                problem,
                moved_to: target,
            },
            Err(source) => SnapshotError::RejectedNotMoved {
                path: self.path.clone(),
                problem,
                target,
                source,
            },
        }
    }
}

/// `path` with `suffix` appended to its last component.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Returns the directory that contains `path`, or `.` for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
