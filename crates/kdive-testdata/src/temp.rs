//! Files tests write: a scratch directory removed on drop ([`Scratch`]), one file
//! ([`TempFile`]), and a `makedumpfile --split` set of a dump ([`makedumpfile_split`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of its own under `/dev/shm` when there is one (copies of large dumps are
/// written often), else the temp directory; removed with what is in it on drop.
pub struct Scratch {
    dir: PathBuf,
    n: AtomicUsize,
}

impl Scratch {
    /// A new, empty directory whose name holds `tag`.
    pub fn new(tag: &str) -> Scratch {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("kdive-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Scratch {
            dir,
            n: AtomicUsize::new(0),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` as a new file named after `name`.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let n = self.n.fetch_add(1, Ordering::Relaxed) + 1;
        let p = self.dir.join(format!("{n}-{name}"));
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One file of `bytes` in a scratch directory of its own, removed on drop.
pub struct TempFile {
    scratch: Scratch,
    path: PathBuf,
}

impl TempFile {
    /// Writes the file; `tag` names it.
    pub fn new(tag: &str, bytes: &[u8]) -> TempFile {
        let scratch = Scratch::new(tag);
        let path = scratch.write(tag, bytes);
        TempFile { scratch, path }
    }

    /// The first `len` bytes of the file at `src`.
    pub fn cut(src: &Path, len: usize, tag: &str) -> TempFile {
        let bytes = std::fs::read(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        TempFile::new(tag, &bytes[..len.min(bytes.len())])
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The scratch directory holding the file (for more files beside it).
    pub fn scratch(&self) -> &Scratch {
        &self.scratch
    }
}

/// Splits the dump `src` into `n` parts with `makedumpfile --split -c -d 31`, in a scratch
/// directory of its own; `None` (with a note) when makedumpfile is not installed, which
/// fails the test under CI instead.
pub fn makedumpfile_split(src: &Path, n: usize, tag: &str) -> Option<(Scratch, Vec<PathBuf>)> {
    let dir = Scratch::new(tag);
    let parts: Vec<PathBuf> = (1..=n)
        .map(|i| dir.path().join(format!("part{i}")))
        .collect();
    let run = Command::new("makedumpfile")
        .args(["--split", "-c", "-d", "31"])
        .arg(src)
        .args(&parts)
        .output();
    match run {
        Ok(out) if out.status.success() => Some((dir, parts)),
        Ok(out) => panic!(
            "makedumpfile --split failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            assert!(
                !crate::corpus_required(),
                "makedumpfile is needed in CI: {e}"
            );
            eprintln!("{tag}: skipped, makedumpfile not installed ({e})");
            None
        }
    }
}
