//! Cutting a partly written line off the end of an output file.

use std::fs::File;
use std::io;

/// Cuts `file` to `len` bytes if it is longer, and returns whether it did. A shorter
/// file is left alone: another program truncated it (logrotate's `copytruncate`, for
/// one), and `set_len` would pad it with zero bytes up to `len`.
pub fn cut_if_longer(file: &File, len: u64) -> io::Result<bool> {
    if file.metadata()?.len() <= len {
        return Ok(false);
    }
    file.set_len(len)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(name: &str, bytes: &[u8]) -> (std::path::PathBuf, File) {
        let path = std::env::temp_dir().join(format!("file-cut-{}-{name}", std::process::id()));
        let mut file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        file.write_all(bytes).unwrap();
        (path, file)
    }

    #[test]
    fn longer_file_is_cut() {
        let (path, file) = file_with("longer", b"whole\npart");
        assert!(cut_if_longer(&file, 6).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"whole\n");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn shorter_file_is_not_padded() {
        let (path, file) = file_with("shorter", b"new\n");
        assert!(!cut_if_longer(&file, 100).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        std::fs::remove_file(path).unwrap();
    }
}
