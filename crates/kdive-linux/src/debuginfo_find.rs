//! Finding a dump's debug files where distributions and users put them, and asking a
//! debuginfod-like [`Fetch`] last.
//!
//! Every file found is a candidate only: its build-id must be the dump's (VMCOREINFO
//! `BUILD-ID`) before it is used, and a file of another build is refused with both build-ids
//! named. The places, in order:
//! - each directory given (`--debuginfo DIR`, `KDIVE_DEBUGINFO_PATH`): `.build-id/xx/rest.debug`,
//!   `vmlinux-REL`, `REL/vmlinux`, `boot/vmlinux-REL`, `lib/modules/REL/vmlinux`, `vmlinux`;
//! - the system's, under [`DebugSearch::root`] (`/`, or `KDIVE_SYSROOT`):
//!   `/usr/lib/debug/.build-id/xx/rest.debug` (Fedora, RHEL, SUSE, Debian's `-dbg`),
//!   `/usr/lib/debug/boot/vmlinux-REL` (Debian, Ubuntu), `/usr/lib/debug/lib/modules/REL/vmlinux`
//!   (RHEL, Fedora, SUSE), `/boot/vmlinux-REL`, `/lib/modules/REL/build/vmlinux`;
//! - the [`Fetch`] (a debuginfod client), by build-id.
//!
//! Module debug files (`NAME.ko`, `NAME.ko.debug`, `-` for `_`) are looked for in the given
//! directories and, recursively, in `/usr/lib/debug/lib/modules/REL`; the module layer checks
//! each against the loaded module before use.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdive_debuginfo::elf_file::ElfFile;

/// Most directory entries looked at when indexing a module tree.
const MODULE_TREE_MAX_ENTRIES: usize = 200_000;
/// Deepest directory level indexed below a module tree's root.
const MODULE_TREE_MAX_DEPTH: usize = 8;

/// Why a [`Fetch`] could not deliver a file.
pub type FetchError = Box<dyn std::error::Error + Send + Sync>;

/// Something that fetches a debug file by build-id (a debuginfod client).
pub trait Fetch: Send + Sync {
    /// The local path of the debug file (`debuginfo`) of build-id `build_id` (lower-case hex),
    /// `Ok(None)` when no source has it.
    fn debuginfo(&self, build_id: &str) -> Result<Option<PathBuf>, FetchError>;
}

/// Where to look for debug files.
#[derive(Clone)]
pub struct DebugSearch {
    /// The prefix of the system's paths: `/`, or a fake root (`KDIVE_SYSROOT`, for tests).
    pub root: PathBuf,
    /// Directories searched first, in order (`--debuginfo DIR`, `KDIVE_DEBUGINFO_PATH`).
    pub dirs: Vec<PathBuf>,
    /// Whether the system's paths are searched.
    pub system: bool,
    /// Asked by build-id when no local file is the dump's.
    pub fetch: Option<Arc<dyn Fetch>>,
}

impl fmt::Debug for DebugSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugSearch")
            .field("root", &self.root)
            .field("dirs", &self.dirs)
            .field("system", &self.system)
            .field("fetch", &self.fetch.is_some())
            .finish()
    }
}

impl Default for DebugSearch {
    /// [`DebugSearch::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

impl DebugSearch {
    /// No search at all: only the files given are used.
    pub fn none() -> Self {
        DebugSearch {
            root: PathBuf::from("/"),
            dirs: Vec::new(),
            system: false,
            fetch: None,
        }
    }

    /// The system's paths under `KDIVE_SYSROOT` (default `/`), after the directories of
    /// `KDIVE_DEBUGINFO_PATH` (`:`-separated); nothing fetched.
    pub fn from_env() -> Self {
        let root = std::env::var_os("KDIVE_SYSROOT")
            .filter(|r| !r.is_empty())
            .map_or_else(|| PathBuf::from("/"), PathBuf::from);
        let dirs = std::env::var_os("KDIVE_DEBUGINFO_PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .filter(|d| !d.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        DebugSearch {
            root,
            dirs,
            system: true,
            fetch: None,
        }
    }

    /// Whether anything would be searched.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty() && !self.system && self.fetch.is_none()
    }

    fn system_path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// The places a vmlinux of release `release` and build-id `build_id` may be, in search
    /// order, whether or not they exist.
    pub fn vmlinux_places(&self, release: Option<&str>, build_id: Option<&str>) -> Vec<PathBuf> {
        let by_id = build_id.and_then(build_id_path);
        let mut out = Vec::new();
        for d in &self.dirs {
            out.extend(by_id.as_ref().map(|p| d.join(".build-id").join(p)));
            if let Some(r) = release {
                out.push(d.join(format!("vmlinux-{r}")));
                out.push(d.join(r).join("vmlinux"));
                out.push(d.join("boot").join(format!("vmlinux-{r}")));
                out.push(d.join("lib/modules").join(r).join("vmlinux"));
            }
            out.push(d.join("vmlinux"));
        }
        if self.system {
            out.extend(
                by_id
                    .as_ref()
                    .map(|p| self.system_path("usr/lib/debug/.build-id").join(p)),
            );
            if let Some(r) = release {
                out.push(
                    self.system_path("usr/lib/debug/boot")
                        .join(format!("vmlinux-{r}")),
                );
                out.push(
                    self.system_path("usr/lib/debug/lib/modules")
                        .join(r)
                        .join("vmlinux"),
                );
                out.push(self.system_path("boot").join(format!("vmlinux-{r}")));
                out.push(
                    self.system_path("lib/modules")
                        .join(r)
                        .join("build/vmlinux"),
                );
            }
        }
        out
    }

    /// The module debug files found for release `release`, by module name (`-` read as `_`),
    /// `NAME.ko.debug` preferred to `NAME.ko`, earlier places to later ones.
    pub fn module_files(&self, release: Option<&str>) -> HashMap<String, PathBuf> {
        let mut found = HashMap::new();
        let mut budget = MODULE_TREE_MAX_ENTRIES;
        for d in &self.dirs {
            index_modules(d, 0, &mut budget, &mut found);
            if let Some(r) = release {
                index_modules(
                    &d.join("lib/modules").join(r),
                    MODULE_TREE_MAX_DEPTH,
                    &mut budget,
                    &mut found,
                );
            }
        }
        if let (true, Some(r)) = (self.system, release) {
            let tree = self.system_path("usr/lib/debug/lib/modules").join(r);
            index_modules(&tree, MODULE_TREE_MAX_DEPTH, &mut budget, &mut found);
        }
        found
    }
}

/// `xx/rest.debug` for a hex build-id, the `.build-id` tree's layout; `None` for one that is
/// not hex or too short.
pub fn build_id_path(build_id: &str) -> Option<PathBuf> {
    let id = build_id.trim().to_ascii_lowercase();
    if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Path::new(&id[..2]).join(format!("{}.debug", &id[2..])))
}

/// The module name a debug file's name stands for (`nf_tables.ko.debug` -> `nf_tables`), `-`
/// read as `_` as the kernel does.
fn module_name(file: &OsString) -> Option<(String, bool)> {
    let f = file.to_str()?;
    let (stem, debug) = match f.strip_suffix(".ko.debug") {
        Some(s) => (s, true),
        None => (f.strip_suffix(".ko")?, false),
    };
    Some((stem.replace('-', "_"), debug))
}

/// Adds the module files in `dir` (and below, `depth` levels down) to `found`: a name already
/// found in an earlier place stays, except that a `.ko.debug` replaces a `.ko` of the same
/// directory walk.
fn index_modules(
    dir: &Path,
    depth: usize,
    budget: &mut usize,
    found: &mut HashMap<String, PathBuf>,
) {
    let mut here = HashMap::new();
    walk_modules(dir, depth, budget, &mut here);
    for (name, (path, _)) in here {
        found.entry(name).or_insert(path);
    }
}

fn walk_modules(
    dir: &Path,
    depth: usize,
    budget: &mut usize,
    here: &mut HashMap<String, (PathBuf, bool)>,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let Ok(ty) = e.file_type() else { continue };
        let name = e.file_name();
        if ty.is_dir() {
            if depth > 0 {
                walk_modules(&e.path(), depth - 1, budget, here);
            }
        } else if let Some((module, debug)) = module_name(&name) {
            let better = here
                .get(&module)
                .is_none_or(|(_, had_debug)| debug && !had_debug);
            if better {
                here.insert(module, (e.path(), debug));
            }
        }
    }
}

/// The build-id of the ELF file at `path`, lower-case hex; `None` when it has none or is not
/// ELF.
pub fn file_build_id(path: &Path) -> Option<String> {
    let id = ElfFile::open(path).ok()?.build_id()?;
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_id_tree_layout() {
        assert_eq!(
            build_id_path("7F76F39FAF07F34CFA9FADD801E131BFA8CB6DC3"),
            Some(PathBuf::from(
                "7f/76f39faf07f34cfa9fadd801e131bfa8cb6dc3.debug"
            ))
        );
        assert_eq!(build_id_path("../etc"), None);
        assert_eq!(build_id_path("ab"), None);
    }

    #[test]
    fn places_in_order() {
        let s = DebugSearch {
            root: PathBuf::from("/fake"),
            dirs: vec![PathBuf::from("/d")],
            system: true,
            fetch: None,
        };
        let p = s.vmlinux_places(Some("6.1.0-56-cloud-amd64"), Some("3b43fad5"));
        let want = [
            "/d/.build-id/3b/43fad5.debug",
            "/d/vmlinux-6.1.0-56-cloud-amd64",
            "/d/6.1.0-56-cloud-amd64/vmlinux",
            "/d/boot/vmlinux-6.1.0-56-cloud-amd64",
            "/d/lib/modules/6.1.0-56-cloud-amd64/vmlinux",
            "/d/vmlinux",
            "/fake/usr/lib/debug/.build-id/3b/43fad5.debug",
            "/fake/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64",
            "/fake/usr/lib/debug/lib/modules/6.1.0-56-cloud-amd64/vmlinux",
            "/fake/boot/vmlinux-6.1.0-56-cloud-amd64",
            "/fake/lib/modules/6.1.0-56-cloud-amd64/build/vmlinux",
        ];
        assert_eq!(p, want.iter().map(PathBuf::from).collect::<Vec<_>>());
        assert!(DebugSearch::none()
            .vmlinux_places(Some("r"), Some("abcd"))
            .is_empty());
    }

    #[test]
    fn module_files_prefer_debug_and_earlier_places() {
        let t = kdive_testdata::temp::Scratch::new("modfind");
        let d = t.path().join("given");
        let tree = t
            .path()
            .join("root/usr/lib/debug/lib/modules/REL/kernel/fs");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::create_dir_all(&tree).unwrap();
        for f in ["nf-tables.ko", "nf_tables.ko.debug"] {
            std::fs::write(tree.join(f), b"").unwrap();
        }
        std::fs::write(tree.join("ext4.ko"), b"").unwrap();
        std::fs::write(d.join("ext4.ko"), b"").unwrap();
        let s = DebugSearch {
            root: t.path().join("root"),
            dirs: vec![d.clone()],
            system: true,
            fetch: None,
        };
        let m = s.module_files(Some("REL"));
        assert_eq!(m["ext4"], d.join("ext4.ko"));
        assert_eq!(m["nf_tables"], tree.join("nf_tables.ko.debug"));
        assert_eq!(m.len(), 2);
    }
}
