//! The running kernel's side files, read beside `/proc/kcore` (or its memory device) under the
//! same root: its build-id from `/sys/kernel/notes` (the kernel's own `.notes` section), which
//! identifies the vmlinux that matches it even where its VMCOREINFO has no `BUILD-ID` line
//! (kernels before 5.9).

use std::path::{Path, PathBuf};

use crate::notes::gnu_build_id;
use crate::Endian;

/// The system root the running kernel's memory file lies under: `ROOT/proc/kcore`,
/// `ROOT/dev/crash`, `ROOT/dev/mem` (`/` for `/proc/kcore`).
pub fn root_of(memory: &Path) -> Option<PathBuf> {
    let dir = memory.parent()?;
    if dir.file_name()? != "proc" && dir.file_name()? != "dev" {
        return None;
    }
    dir.parent().map(Path::to_path_buf)
}

/// The running kernel's build-id (lower-case hex), from `ROOT/sys/kernel/notes`.
pub fn running_build_id(root: &Path) -> Option<String> {
    let data = std::fs::read(root.join("sys/kernel/notes")).ok()?;
    let native = if cfg!(target_endian = "big") {
        Endian::Big
    } else {
        Endian::Little
    };
    gnu_build_id(&data, native)
}

/// VMCOREINFO text with the running kernel's `BUILD-ID` added when it has none (and the
/// kernel's notes name one); `None` when nothing is to be added. `memory` is the kernel's
/// memory file (see [`root_of`]).
pub fn with_build_id(vmcoreinfo: &str, memory: &Path) -> Option<String> {
    if vmcoreinfo.lines().any(|l| l.starts_with("BUILD-ID=")) {
        return None;
    }
    let id = running_build_id(&root_of(memory)?)?;
    let mut text = vmcoreinfo.trim_end_matches('\n').to_string();
    text.push_str(&format!("\nBUILD-ID={id}\n"));
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_of_a_kcore_path() {
        assert_eq!(root_of(Path::new("/proc/kcore")), Some(PathBuf::from("/")));
        assert_eq!(
            root_of(Path::new("/tmp/r/proc/kcore")),
            Some(PathBuf::from("/tmp/r"))
        );
        assert_eq!(
            root_of(Path::new("/r/dev/crash")),
            Some(PathBuf::from("/r"))
        );
        assert_eq!(root_of(Path::new("/tmp/kcore")), None);
    }
}
