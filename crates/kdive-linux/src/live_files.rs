//! The running kernel's own listings, read beside its memory file (`/proc/kcore`, `/dev/crash`,
//! `/dev/mem`) under the same root: each loaded module's symbols from `/proc/kallsyms` and its
//! BTF from `/sys/kernel/btf/<module>` (split BTF on top of the kernel's). A loaded module's
//! tables come from these files when they are there and usable, else from the module's memory.
//!
//! `/proc/kallsyms` is used only when its addresses are shown (`kptr_restrict` and the reader's
//! privileges may print zeros) and its kernel symbols lie where the kernel in memory has them: a
//! listing of another boot (another KASLR offset) or another machine is never believed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kdive_debuginfo::kallsyms::ModuleSymbols;
use kdive_program::Program;

/// Largest `/proc/kallsyms` read (a distribution kernel's is 10-20 MB with its modules).
const MAX_KALLSYMS: u64 = 256 << 20;
/// Largest module BTF file read (real ones are a few KB to a few hundred KB).
const MAX_MODULE_BTF: u64 = 64 << 20;
/// The kernel symbols whose addresses must agree with memory before the listing is believed.
const CHECKED: &[&str] = &["_stext", "_text", "init_task", "_etext"];

/// One module's symbols as listed: (address, nm type letter, name).
type Listing = Vec<(u64, u8, String)>;

/// The running system's files under one root.
pub struct LiveFiles {
    root: PathBuf,
    /// `/proc/kallsyms`'s module symbols by module, read once; `None` when it is absent,
    /// hides its addresses, or is not the listing of the kernel in memory.
    modules: OnceLock<Option<HashMap<String, Listing>>>,
}

impl std::fmt::Debug for LiveFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFiles")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl LiveFiles {
    /// The system files under `root` (`/` for the machine itself).
    pub fn at(root: impl Into<PathBuf>) -> LiveFiles {
        LiveFiles {
            root: root.into(),
            modules: OnceLock::new(),
        }
    }

    /// The files beside the running kernel's memory `prog` reads; `None` for a dump.
    pub fn of(prog: &Program) -> Option<LiveFiles> {
        let dump = prog.dump()?;
        if !dump.is_live()
            && !dump
                .paths()
                .iter()
                .any(|p| kdive_dump::physmem::is_memory_device_name(p))
        {
            return None;
        }
        kdive_dump::live::root_of(dump.paths().first()?).map(LiveFiles::at)
    }

    /// The root the files are read under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// `/proc/kallsyms`'s module listings, when usable (see the module's doc).
    fn listings(&self, prog: &Program) -> Option<&HashMap<String, Listing>> {
        self.modules
            .get_or_init(|| self.read_kallsyms(prog))
            .as_ref()
    }

    /// Whether the files are the running kernel's that `prog` reads: the machine's own (root
    /// `/`, beside its `/proc/kcore`), or a `/proc/kallsyms` that agrees with its memory.
    fn trusted(&self, prog: &Program) -> bool {
        self.root == Path::new("/") || self.listings(prog).is_some()
    }

    /// Module `name`'s symbols from `/proc/kallsyms`; `None` when the listing is not usable
    /// (see the module's doc) or names no symbol of that module.
    pub fn module_symbols(&self, prog: &Program, name: &str) -> Option<ModuleSymbols> {
        let listing = self.listings(prog)?.get(name)?;
        ModuleSymbols::from_listing(name, listing.iter().map(|(a, k, n)| (*a, *k, n.as_str()))).ok()
    }

    /// Module `name`'s BTF from `/sys/kernel/btf/<name>`; `None` without the file, or when the
    /// files are not known to be the running kernel's (see [`LiveFiles::module_symbols`]).
    pub fn module_btf(&self, prog: &Program, name: &str) -> Option<Vec<u8>> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') || !self.trusted(prog) {
            return None;
        }
        read_bounded(
            &self.path(&format!("/sys/kernel/btf/{name}")),
            MAX_MODULE_BTF,
        )
    }

    fn read_kallsyms(&self, prog: &Program) -> Option<HashMap<String, Listing>> {
        let bytes = read_bounded(&self.path("/proc/kallsyms"), MAX_KALLSYMS)?;
        let text = String::from_utf8_lossy(&bytes);
        let (kernel, modules) = parse_kallsyms(&text);
        // the kernel's own symbols must lie where memory has them (the same boot)
        let core = prog.symbols();
        let core = core.kernel();
        let mut agreed = 0;
        for name in CHECKED {
            match (kernel.get(*name), core.address_of(name)) {
                (Some(&listed), Some(mem)) if listed == mem => agreed += 1,
                (Some(_), Some(_)) => return None,
                _ => {}
            }
        }
        (agreed > 0).then_some(modules)
    }
}

/// Reads a file of at most `max` bytes; `None` when absent, unreadable or larger.
fn read_bounded(path: &Path, max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    // /proc and /sys files report no size: read up to the bound and refuse what goes past it
    f.take(max + 1).read_to_end(&mut buf).ok()?;
    (buf.len() as u64 <= max).then_some(buf)
}

/// `/proc/kallsyms` lines (`ADDR TYPE NAME [MODULE]`): the kernel's symbols the [`CHECKED`]
/// ones among them, by name, and every module's listing. Zero addresses (hidden by
/// `kptr_restrict`) and malformed lines are left out.
fn parse_kallsyms(text: &str) -> (HashMap<&str, u64>, HashMap<String, Listing>) {
    let mut kernel = HashMap::new();
    let mut modules: HashMap<String, Listing> = HashMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(addr), Some(kind), Some(name)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(addr) = u64::from_str_radix(addr, 16) else {
            continue;
        };
        let [kind] = kind.as_bytes() else { continue };
        if addr == 0 {
            continue;
        }
        match f
            .next()
            .and_then(|m| m.strip_prefix('[')?.strip_suffix(']'))
        {
            Some(module) => {
                modules
                    .entry(module.to_string())
                    .or_default()
                    .push((addr, *kind, name.to_string()))
            }
            None if CHECKED.contains(&name) => {
                kernel.insert(name, addr);
            }
            None => {}
        }
    }
    (kernel, modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kallsyms_lines_split_into_the_kernel_and_each_module() {
        let text = "ffffffff81000000 T _stext\n\
                    ffffffff81000010 T other\n\
                    ffffffffc0001000 t lo_open\t[loop]\n\
                    ffffffffc0002000 d hw_queue_depth\t[loop]\n\
                    ffffffffc0003000 T dummy_init\t[dummy]\n\
                    0000000000000000 t hidden\t[loop]\n\
                    garbage\n";
        let (kernel, modules) = parse_kallsyms(text);
        assert_eq!(kernel.get("_stext"), Some(&0xffffffff81000000));
        assert!(!kernel.contains_key("other"));
        assert_eq!(
            modules["loop"],
            [
                (0xffffffffc0001000, b't', "lo_open".to_string()),
                (0xffffffffc0002000, b'd', "hw_queue_depth".to_string())
            ]
        );
        assert_eq!(modules["dummy"].len(), 1);
    }
}
