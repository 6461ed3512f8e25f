use crate::hash::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    events: u64,
    mean: f64,
    // Tuple keys do not encode as JSON object keys; CBOR takes them.
    peers: HashMap<(u32, u16), u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    label: Option<String>,
}

fn sample() -> State {
    let mut peers = HashMap::default();
    peers.insert((0x0a00_0105, 443), 7);
    peers.insert((0xcb00_7109, 22), 1);
    State {
        events: 12_345,
        mean: 0.25,
        peers,
        label: None,
    }
}

/// Creates a fresh directory for one test, which the test removes when it passes.
fn temp_dir(test: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "sensor-state-{}-{}-{}",
        test,
        std::process::id(),
        n
    ));
    fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn saved_file(dir: &Path) -> (SnapshotStore<State>, Vec<u8>) {
    let store = SnapshotStore::new(dir.join("model.snap"));
    store.save(&sample()).expect("save");
    let bytes = fs::read(store.path()).expect("read back");
    (store, bytes)
}

fn files_starting_with(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn store_round_trip() {
    let dir = temp_dir("round-trip");
    let (store, _) = saved_file(&dir);

    let loaded = store.load().expect("load");

    assert_eq!(loaded, Some(sample()));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_round_trip_non_finite_float() {
    let dir = temp_dir("non-finite");
    let store = SnapshotStore::new(dir.join("model.snap"));
    let mut state = sample();
    state.mean = f64::INFINITY;
    store.save(&state).expect("save");

    let loaded = store.load().expect("load").expect("present");

    assert_eq!(loaded.mean, f64::INFINITY);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_missing_file_is_none() {
    let dir = temp_dir("missing");
    let store: SnapshotStore<State> = SnapshotStore::new(dir.join("model.snap"));

    let loaded = store.load().expect("load");

    assert_eq!(loaded, None);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_header_layout() {
    let dir = temp_dir("layout");
    let (_, bytes) = saved_file(&dir);

    assert_eq!(bytes.get(..8), Some(&MAGIC[..]));
    assert_eq!(bytes.get(8..12), Some(&FORMAT_VERSION.to_le_bytes()[..]));
    let payload_len = (bytes.len() - HEADER_LEN) as u64;
    assert_eq!(bytes.get(12..20), Some(&payload_len.to_le_bytes()[..]));
    let crc = crc32fast::hash(&bytes[HEADER_LEN..]);
    assert_eq!(bytes.get(20..24), Some(&crc.to_le_bytes()[..]));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_file_mode_owner_only() {
    let dir = temp_dir("mode");
    let (store, _) = saved_file(&dir);

    let mode = fs::metadata(store.path())
        .expect("stat")
        .permissions()
        .mode();

    assert_eq!(mode & 0o777, 0o600);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_save_replaces_old() {
    let dir = temp_dir("replace");
    let (store, _) = saved_file(&dir);
    let mut newer = sample();
    newer.events = 99;

    store.save(&newer).expect("second save");

    assert_eq!(store.load().expect("load"), Some(newer));
    assert!(files_starting_with(&dir, "model.snap.tmp").is_empty());
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_leftover_temp_ignored() {
    let dir = temp_dir("leftover");
    let (store, _) = saved_file(&dir);
    // A save killed before its rename leaves a partial PATH.tmp beside the old snapshot.
    fs::write(dir.join("model.snap.tmp"), b"SNSRSTAT\x01\x00").expect("write tmp");

    let loaded = store.load().expect("load");

    assert_eq!(loaded, Some(sample()));
    assert!(files_starting_with(&dir, "model.snap.corrupt").is_empty());
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_leftover_temp_alone_is_none() {
    let dir = temp_dir("temp-alone");
    fs::write(dir.join("model.snap.tmp"), b"partial").expect("write tmp");
    let store: SnapshotStore<State> = SnapshotStore::new(dir.join("model.snap"));

    let loaded = store.load().expect("load");

    assert_eq!(loaded, None);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_save_over_leftover_temp() {
    let dir = temp_dir("over-temp");
    fs::write(dir.join("model.snap.tmp"), vec![0xff; 4096]).expect("write tmp");
    let store = SnapshotStore::new(dir.join("model.snap"));

    store.save(&sample()).expect("save");

    assert_eq!(store.load().expect("load"), Some(sample()));
    assert!(!dir.join("model.snap.tmp").exists());
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_save_missing_dir_fails() {
    let dir = temp_dir("missing-dir");
    let store = SnapshotStore::new(dir.join("absent").join("model.snap"));

    let err = store.save(&sample()).expect_err("no directory");

    assert!(matches!(err, SnapshotError::Write { .. }));
    assert!(err.to_string().contains("absent/model.snap.tmp"));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_check_writable_leaves_nothing() {
    let dir = temp_dir("writable");
    let store = SnapshotStore::<State>::new(dir.join("model.snap"));

    store.check_writable().expect("writable");

    assert_eq!(
        files_starting_with(&dir, "model.snap"),
        Vec::<PathBuf>::new()
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_check_writable_names_temp_file() {
    // sysfs rejects new files even for root, where file modes would not.
    let store = SnapshotStore::<State>::new("/sys/sensor-model.snap");

    let err = store.check_writable().expect_err("sysfs takes no new file");

    assert!(matches!(err, SnapshotError::Write { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/sys/sensor-model.snap.tmp"),
        "{err}"
    );
}

/// Builds a damaged file from a valid one.
type Damage = fn(Vec<u8>) -> Vec<u8>;
/// Tells whether a problem is the expected kind.
type Expect = fn(&SnapshotProblem) -> bool;

fn is_bad_magic(p: &SnapshotProblem) -> bool {
    matches!(p, SnapshotProblem::BadMagic { .. })
}
fn is_truncated(p: &SnapshotProblem) -> bool {
    matches!(p, SnapshotProblem::Truncated { .. })
}
fn is_trailing(p: &SnapshotProblem) -> bool {
    matches!(p, SnapshotProblem::TrailingBytes { extra: 3 })
}
fn is_checksum(p: &SnapshotProblem) -> bool {
    matches!(p, SnapshotProblem::ChecksumMismatch { .. })
}
fn is_undecodable(p: &SnapshotProblem) -> bool {
    matches!(p, SnapshotProblem::Undecodable { .. })
}

/// A valid header over `payload`, at the current version.
fn with_header(payload: &[u8]) -> Vec<u8> {
    let mut file = Vec::new();
    file.extend_from_slice(&MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    file.extend_from_slice(payload);
    file
}

#[test]
fn store_rejects_and_moves_corrupt() {
    let cases: &[(&str, Damage, Expect)] = &[
        ("empty file", |_| Vec::new(), is_truncated),
        ("short header", |b| b[..10].to_vec(), is_truncated),
        ("header only", |b| b[..HEADER_LEN].to_vec(), is_truncated),
        ("cut payload", |b| b[..b.len() - 5].to_vec(), is_truncated),
        (
            "bad magic",
            |mut b| {
                b[0] = b'X';
                b
            },
            is_bad_magic,
        ),
        (
            "trailing bytes",
            |mut b| {
                b.extend_from_slice(b"abc");
                b
            },
            is_trailing,
        ),
        (
            "flipped payload bit",
            |mut b| {
                let last = b.len() - 1;
                b[last] ^= 0x01;
                b
            },
            is_checksum,
        ),
        (
            "flipped crc bit",
            |mut b| {
                b[20] ^= 0x80;
                b
            },
            is_checksum,
        ),
        (
            "length claims more",
            |mut b| {
                b[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
                b
            },
            is_truncated,
        ),
        (
            "wrong type",
            |_| with_header(&[0x63, b'a', b'b', b'c']),
            is_undecodable,
        ),
        (
            "not cbor",
            |_| with_header(&[0xff, 0xff, 0xff]),
            is_undecodable,
        ),
    ];

    for (name, damage, expected) in cases {
        let dir = temp_dir("corrupt");
        let (store, valid) = saved_file(&dir);
        let damaged = damage(valid);
        fs::write(store.path(), &damaged).expect("write damaged");

        let err = store.load().expect_err(name);

        let problem = err.problem().expect("a rejection");
        assert!(expected(problem), "{name}: unexpected problem {problem:?}");
        let SnapshotError::Rejected { moved_to, .. } = &err else {
            panic!("{name}: not moved aside: {err}");
        };
        assert!(!store.path().exists(), "{name}: still at its path");
        assert_eq!(
            fs::read(moved_to).expect("read moved"),
            damaged,
            "{name}: moved file differs"
        );
        let message = err.to_string();
        assert!(message.contains("model.snap"), "{name}: {message}");
        assert!(
            message.contains(&moved_to.display().to_string()),
            "{name}: {message}"
        );
        fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn store_moved_name_has_unix_time() {
    let dir = temp_dir("moved-name");
    let store: SnapshotStore<State> = SnapshotStore::new(dir.join("model.snap"));
    fs::write(store.path(), b"garbage").expect("write");

    let err = store.load().expect_err("corrupt");

    let SnapshotError::Rejected { moved_to, .. } = err else {
        panic!("not moved: {err}");
    };
    let name = moved_to.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let seconds = name.strip_prefix("model.snap.corrupt-").unwrap_or("");
    assert!(seconds.parse::<u64>().is_ok(), "name {name}");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_second_reject_keeps_first() {
    let dir = temp_dir("two-rejects");
    let store: SnapshotStore<State> = SnapshotStore::new(dir.join("model.snap"));

    fs::write(store.path(), b"first").expect("write first");
    store.load().expect_err("first corrupt");
    fs::write(store.path(), b"second").expect("write second");
    store.load().expect_err("second corrupt");

    let moved = files_starting_with(&dir, "model.snap.corrupt-");
    assert_eq!(moved.len(), 2);
    let contents: Vec<Vec<u8>> = moved.iter().map(|p| fs::read(p).expect("read")).collect();
    assert!(contents.contains(&b"first".to_vec()));
    assert!(contents.contains(&b"second".to_vec()));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_rejects_newer_version() {
    let dir = temp_dir("newer");
    let path = dir.join("model.snap");
    SnapshotStore::with_version(&path, FORMAT_VERSION + 1)
        .save(&sample())
        .expect("save v+1");

    let err = SnapshotStore::<State>::new(&path)
        .load()
        .expect_err("newer");

    let expected = SnapshotProblem::NewerVersion {
        found: FORMAT_VERSION + 1,
        supported: FORMAT_VERSION,
    };
    assert_eq!(err.problem(), Some(&expected));
    assert!(!path.exists());
    assert_eq!(files_starting_with(&dir, "model.snap.corrupt-").len(), 1);
    let message = err.to_string();
    assert!(message.contains(&format!("format version {}", FORMAT_VERSION + 1)));
    assert!(message.contains(&format!("version {}, the newest", FORMAT_VERSION)));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_rejects_older_version() {
    let dir = temp_dir("older");
    let path = dir.join("model.snap");
    SnapshotStore::new(&path).save(&sample()).expect("save");

    let err = SnapshotStore::<State>::with_version(&path, FORMAT_VERSION + 1)
        .load()
        .expect_err("older");

    let expected = SnapshotProblem::OlderVersion {
        found: FORMAT_VERSION,
        supported: FORMAT_VERSION + 1,
    };
    assert_eq!(err.problem(), Some(&expected));
    assert_eq!(files_starting_with(&dir, "model.snap.corrupt-").len(), 1);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn store_loads_added_default_field() {
    #[derive(Serialize)]
    struct OldState {
        events: u64,
        mean: f64,
        peers: HashMap<(u32, u16), u64>,
    }
    let dir = temp_dir("added-field");
    let path = dir.join("model.snap");
    let old = OldState {
        events: 5,
        mean: 1.5,
        peers: HashMap::default(),
    };
    let mut payload = Vec::new();
    ciborium::into_writer(&old, &mut payload).expect("encode");
    fs::write(&path, with_header(&payload)).expect("write");

    let loaded = SnapshotStore::<State>::new(&path).load().expect("load");

    assert_eq!(loaded.map(|s| s.events), Some(5));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn snapshotter_waits_one_interval() {
    let dir = temp_dir("snapshotter-wait");
    let store = SnapshotStore::new(dir.join("model.snap"));
    let mut snapshotter = Snapshotter::new(store, Duration::from_secs(60));
    let start = Instant::now();
    let mut built = 0;

    let first = snapshotter.tick(start, || {
        built += 1;
        sample()
    });
    let early = snapshotter.tick(start + Duration::from_secs(59), || {
        built += 1;
        sample()
    });

    assert!(first.is_none());
    assert!(early.is_none());
    assert_eq!(built, 0);
    assert!(!dir.join("model.snap").exists());
    assert_eq!(snapshotter.age_seconds(), None);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn snapshotter_saves_each_interval() {
    let dir = temp_dir("snapshotter-save");
    let store = SnapshotStore::new(dir.join("model.snap"));
    let mut snapshotter = Snapshotter::new(store, Duration::from_secs(60));
    let start = Instant::now();

    snapshotter.tick(start, sample);
    let due = snapshotter.tick(start + Duration::from_secs(60), sample);
    let between = snapshotter.tick(start + Duration::from_secs(90), sample);
    let next = snapshotter.tick(start + Duration::from_secs(120), sample);

    assert!(matches!(due, Some(Ok(_))));
    assert!(between.is_none());
    assert!(matches!(next, Some(Ok(_))));
    assert_eq!(snapshotter.saves(), 2);
    assert!(snapshotter.age_seconds().is_some());
    assert_eq!(snapshotter.store().load().expect("load"), Some(sample()));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn snapshotter_failure_retried_next_interval() {
    let dir = temp_dir("snapshotter-fail");
    let store = SnapshotStore::new(dir.join("absent").join("model.snap"));
    let mut snapshotter = Snapshotter::new(store, Duration::from_secs(10));
    let start = Instant::now();

    snapshotter.tick(start, sample);
    let failed = snapshotter.tick(start + Duration::from_secs(10), sample);
    let soon = snapshotter.tick(start + Duration::from_secs(11), sample);
    fs::create_dir_all(dir.join("absent")).expect("create dir");
    let retried = snapshotter.tick(start + Duration::from_secs(20), sample);

    assert!(matches!(failed, Some(Err(SnapshotError::Write { .. }))));
    assert!(soon.is_none());
    assert!(matches!(retried, Some(Ok(_))));
    assert_eq!(snapshotter.failures(), 1);
    assert_eq!(snapshotter.saves(), 1);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn snapshotter_age_from_existing_file() {
    let dir = temp_dir("snapshotter-age");
    let (store, _) = saved_file(&dir);

    let snapshotter = Snapshotter::new(store, Duration::from_secs(60));

    assert!(snapshotter.age_seconds().is_some());
    fs::remove_dir_all(&dir).ok();
}

/// Environment variable that turns [`store_saves_until_killed`] into the child process
/// of [`store_survives_kill_9`]; its value is the snapshot path.
const KILL_CHILD_PATH: &str = "SENSOR_TEST_SNAPSHOT_KILL_PATH";

/// A state whose parts must agree, so a torn write would show.
#[derive(Debug, Serialize, Deserialize)]
struct Numbered {
    events: u64,
    copies: Vec<u64>,
}

/// Saves growing states in a loop until the parent kills it, for at most 20 s and 100 000
/// saves: the child side of [`store_survives_kill_9`]. Without the variable it returns.
#[test]
#[ignore = "runs only as the child process of store_survives_kill_9"]
fn store_saves_until_killed() {
    let Some(path) = std::env::var_os(KILL_CHILD_PATH) else {
        return;
    };
    let store = SnapshotStore::new(PathBuf::from(path));
    let until = Instant::now() + Duration::from_secs(20);
    for events in 0..100_000u64 {
        if Instant::now() >= until {
            break;
        }
        // About 200 KB per save, so a kill often lands inside a write.
        let state = Numbered {
            events,
            copies: vec![events; 25_000],
        };
        store.save(&state).expect("save");
    }
}

#[test]
fn store_survives_kill_9() {
    let exe = std::env::current_exe().expect("test binary path");
    for (round, delay_ms) in [1u64, 3, 7, 13, 29].into_iter().enumerate() {
        let dir = temp_dir("kill-9");
        let path = dir.join("model.snap");
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "state::tests::store_saves_until_killed",
                "--ignored",
                "--test-threads=1",
            ])
            .env(KILL_CHILD_PATH, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child");

        // Wait (at most 10 s) for the first snapshot, then kill at a varying moment.
        let until = Instant::now() + Duration::from_secs(10);
        while !path.exists() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL child");
        child.wait().expect("reap child");

        let loaded = SnapshotStore::<Numbered>::new(&path).load();

        let state = loaded
            .unwrap_or_else(|e| panic!("round {round}: {e}"))
            .unwrap_or_else(|| panic!("round {round}: no snapshot after 10 s"));
        assert!(
            state.copies.iter().all(|&c| c == state.events),
            "round {round}: torn state"
        );
        fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn reject_moves_unusable_state_aside() {
    let dir = temp_dir("reject");
    let (store, bytes) = saved_file(&dir);

    let error = store.reject("duplicate device".into());
    assert!(
        matches!(error.problem(), Some(SnapshotProblem::Unusable { .. })),
        "problem: {error}"
    );
    assert!(!store.path().exists(), "snapshot moved away");
    let moved = files_starting_with(&dir, "model.snap.corrupt-");
    assert_eq!(moved.len(), 1, "one moved-aside file");
    assert_eq!(
        fs::read(&moved[0]).expect("read moved"),
        bytes,
        "bytes kept"
    );
    fs::remove_dir_all(&dir).ok();
}
