//! The dumps on this machine: `/var/crash/*/` as kdump-tools (`YYYYMMDDHHMM/dump.YYYYMMDDHHMM`)
//! and kdumpctl (`127.0.0.1-YYYY-MM-DD-HH:MM:SS/vmcore`) leave them.

use std::path::{Path, PathBuf};

use kdive_linux::OpenOptions;

use crate::doctor::sysroot::{size, SysRoot};
use crate::status::Status;

/// One dump found under `/var/crash`.
#[derive(Debug, Clone)]
pub struct Found {
    /// `YYYY-MM-DD HH:MM[:SS]`, from the directory's name (else the file's modification time).
    pub date: String,
    pub path: PathBuf,
    pub len: u64,
}

/// The date a dump directory's name holds, as `YYYY-MM-DD HH:MM[:SS]`.
fn date_of(dir: &str) -> Option<String> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // kdump-tools: 202612041015
    if dir.len() == 12 && digits(dir) {
        let d = dir;
        return Some(format!(
            "{}-{}-{} {}:{}",
            &d[..4],
            &d[4..6],
            &d[6..8],
            &d[8..10],
            &d[10..12]
        ));
    }
    // kdumpctl: HOST-YYYY-MM-DD-HH:MM:SS (the host may hold dashes itself)
    let tail = dir.get(dir.len().checked_sub(19)?..)?;
    let (day, time) = (tail.get(..10)?, tail.get(11..)?);
    let ok = tail.as_bytes().get(10) == Some(&b'-')
        && day.split('-').all(digits)
        && time.split(':').all(digits);
    ok.then(|| format!("{day} {time}"))
}

/// Whether `name` is the dump file of a crash directory (not its dmesg).
fn is_dump_name(name: &str) -> bool {
    (name.starts_with("dump.") || name.starts_with("vmcore")) && !name.contains("dmesg")
}

/// The dumps under `ROOT/var/crash`, oldest first.
pub fn find(root: &SysRoot) -> Vec<Found> {
    let mut out = Vec::new();
    for dir in root.list("/var/crash") {
        let abs = format!("/var/crash/{dir}");
        if !root.path(&abs).is_dir() {
            continue;
        }
        for name in root.list(&abs).into_iter().filter(|n| is_dump_name(n)) {
            let path = root.path(&format!("{abs}/{name}"));
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file()
                || !matches!(kdive_dump::sniff(&path), Ok(kdive_dump::FileKind::Dump))
            {
                continue;
            }
            let date = date_of(&dir).unwrap_or_else(|| mtime(&meta));
            out.push(Found {
                date,
                path,
                len: meta.len(),
            });
        }
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.path.cmp(&b.path)));
    out
}

/// A file's modification time as `YYYY-MM-DD HH:MM:SS` (UTC).
fn mtime(meta: &std::fs::Metadata) -> String {
    let secs = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = kdive_linux::printk::civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The kernel release a dump records, if any.
fn release(path: &Path) -> Option<String> {
    let mut d = kdive_dump::Dump::open(path).ok()?;
    d.recover_vmcoreinfo();
    d.vmcoreinfo()
        .and_then(|v| v.osrelease().map(str::to_string))
        .or_else(|| d.meta().utsname.as_ref().map(|u| u.release.clone()))
        .filter(|r| !r.is_empty())
}

/// `analyze`'s one-line verdict on a dump, or why there is none.
fn verdict(path: &Path) -> String {
    let s = match kdive_commands::Session::open_with(&[path], &OpenOptions::default()) {
        Ok(s) => s,
        Err(e) => return format!("does not open: {e}"),
    };
    let verdict = match kdive_commands::run(&s, "analyze") {
        Ok(r) => r.json()["verdict"].as_str().unwrap_or("").to_string(),
        Err(e) => format!("no analysis: {e}"),
    };
    verdict
}

/// `kdive` with no arguments: the dumps under `/var/crash`, newest last.
pub fn list(root: &SysRoot) -> Status {
    let found = find(root);
    if found.is_empty() {
        println!(
            "No dumps in {}. `kdive doctor` checks that the next panic leaves one; `kdive VMCORE` opens a dump.",
            root.path("/var/crash").display()
        );
        return Status::Complete;
    }
    println!(
        "{:<19}  {:>10}  {:<24}  DUMP / VERDICT",
        "DATE", "SIZE", "RELEASE"
    );
    for f in &found {
        let rel = release(&f.path).unwrap_or_else(|| "?".into());
        println!(
            "{:<19}  {:>10}  {rel:<24}  {}",
            f.date,
            size(f.len),
            f.path.display()
        );
        println!("{:<19}  {:>10}  {:<24}  {}", "", "", "", verdict(&f.path));
    }
    println!("`kdive latest` opens the newest; `kdive PATH` any of them.");
    Status::Complete
}

/// The newest dump under `/var/crash`.
pub fn latest(root: &SysRoot) -> Option<PathBuf> {
    find(root).pop().map(|f| f.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_dates() {
        assert_eq!(date_of("202612041015").as_deref(), Some("2026-12-04 10:15"));
        assert_eq!(
            date_of("127.0.0.1-2026-12-04-10:15:42").as_deref(),
            Some("2026-12-04 10:15:42")
        );
        assert_eq!(
            date_of("my-host-2026-01-02-03:04:05").as_deref(),
            Some("2026-01-02 03:04:05")
        );
        assert_eq!(date_of("lost+found"), None);
        assert!(is_dump_name("dump.202612041015") && is_dump_name("vmcore"));
        assert!(!is_dump_name("dmesg.202612041015") && !is_dump_name("vmcore-dmesg.txt"));
    }
}
