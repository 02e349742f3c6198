//! The running system's files, read under a root prefix (`/` normally; a directory holding a
//! fake `/proc`, `/sys` and `/etc` in tests).

use std::path::{Path, PathBuf};

/// Where the system's files are read from.
#[derive(Debug, Clone)]
pub struct SysRoot {
    root: PathBuf,
}

impl SysRoot {
    pub fn new(root: impl Into<PathBuf>) -> SysRoot {
        SysRoot { root: root.into() }
    }

    /// `abs` (an absolute path on the system) under the root.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// The file's text, trimmed; `None` when it cannot be read.
    pub fn read(&self, abs: &str) -> Option<String> {
        std::fs::read_to_string(self.path(abs))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// The file's value as a number.
    pub fn number(&self, abs: &str) -> Option<i64> {
        self.read(abs)?.split_whitespace().next()?.parse().ok()
    }

    /// Whether the path exists (a dangling symlink counts: a unit's enablement link).
    pub fn exists(&self, abs: &str) -> bool {
        std::fs::symlink_metadata(self.path(abs)).is_ok()
    }

    /// The names in a directory, sorted (none when it cannot be read).
    pub fn list(&self, abs: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(abs))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// A `/proc/meminfo` field, in bytes.
    pub fn meminfo(&self, field: &str) -> Option<u64> {
        let text = self.read("/proc/meminfo")?;
        let line = text.lines().find(|l| l.split(':').next() == Some(field))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kb.checked_mul(1024)
    }

    /// The root directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// `KEY=value` lines of a shell-style configuration file (`/etc/default/kdump-tools`), quotes
/// removed; the last assignment wins.
pub fn shell_var(text: &str, key: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .next()
}

/// The value of a `key value...` line of `/etc/kdump.conf`, comments removed.
pub fn conf_directive(text: &str, key: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| {
            let (k, v) = l.split_once(char::is_whitespace)?;
            (k == key).then(|| v.trim().to_string())
        })
        .next()
}

/// makedumpfile's `-d N` in an argument string (`-d 31`, `-d31`).
pub fn dump_level(args: &str) -> Option<u32> {
    let words: Vec<&str> = args.split_whitespace().collect();
    words
        .iter()
        .enumerate()
        .find_map(|(i, w)| match w.strip_prefix("-d") {
            Some("") => words.get(i + 1)?.parse().ok(),
            Some(n) => n.parse().ok(),
            None => None,
        })
}

/// A byte count for people: `192 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v.fract() < 0.05 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
