//! Opening a dump: the one path every front end (the CLI, the Python module, a Rust tool built
//! on these crates) takes from files to a kernel it can ask questions.
//!
//! [`open`] reads the dump (one file or the parts of a split set), opens the kernel in it from
//! the dump alone (page tables, kallsyms, BTF; modules attached when first needed; a kernel
//! built without BTF opens when its vmlinux is given or found, for types), checks and attaches
//! the debug files given (a vmlinux, module `.ko`/`.ko.debug` files), those of loaded modules
//! lying beside the dump, and those [`DebugSearch`] finds (distribution paths, directories
//! named, a debuginfod client: see [`crate::debuginfo_find`]), and says what is worth knowing
//! about how it went.
//!
//! ```
//! use kdive_linux::open::{open, OpenOptions};
//! # // a small synthetic kernel written as an ELF vmcore stands in for a real dump here
//! # let k = kdive_testdata::kernel::kernel();
//! # let dir = kdive_testdata::temp::Scratch::new("open-doc");
//! # let vmcore = dir.write("vmcore", &kdive_testdata::kernel::vmcore(&k.phys, &k.vmcoreinfo));
//!
//! let opened = open(&[&vmcore], &OpenOptions::default())?;
//! let prog = opened.kernel.as_ref().map_err(|e| e.to_string())?;
//! let init = prog.variable("init_task", "struct task_struct")?;
//! assert_eq!(init.member("comm")?.read_string(16)?, "swapper/0");
//! for notice in &opened.notices {
//!     eprintln!("{notice}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdive_dump::{Dump, DumpError, FileKind};
use kdive_program::{KernelOpenError, Program, ProgramBuilder, ProgramError};

use crate::debuginfo_find::{file_build_id, DebugSearch};
use crate::module::{attach_module_debug, modules, KernelModules};

/// How to open a dump.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Do not read the kernel: only what needs none is offered (the dump's pages and notes).
    pub minimal: bool,
    /// Pages the dump level excluded read as zeros instead of failing.
    pub zero_excluded: bool,
    /// Attach the debug files of loaded modules found beside the dump (`NAME.ko`,
    /// `NAME.ko.debug`).
    pub module_files_beside_dump: bool,
    /// Where to look for the vmlinux when none is given, and for loaded modules' debug files;
    /// by default the system's paths ([`DebugSearch::from_env`]).
    pub debug_search: DebugSearch,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            minimal: false,
            zero_excluded: false,
            module_files_beside_dump: true,
            debug_search: DebugSearch::default(),
        }
    }
}

/// A dump opened: the dump, its kernel (or why there is none), and what is worth saying.
pub struct Opened {
    pub dump: Arc<Dump>,
    /// The kernel, or why it could not be read from this dump (then only what needs no kernel
    /// can be answered).
    pub kernel: Result<Program, NoKernel>,
    /// Things worth saying about how the dump was opened.
    pub notices: Vec<Notice>,
}

/// Why a dump opened without a kernel view.
#[derive(Debug, thiserror::Error)]
pub enum NoKernel {
    /// The caller asked not to read it.
    #[error("--minimal: the kernel is not read")]
    Minimal,
    #[error("no VMCOREINFO in the dump header, nor in its memory")]
    NoVmcoreinfo,
    /// The kernel could not be made sense of (page tables, kallsyms, BTF).
    #[error(transparent)]
    Program(#[from] ProgramError),
}

/// Something worth saying about how a dump was opened (printed one per line).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Notice {
    #[error("the dump's header has no usable VMCOREINFO; found the kernel's copy in memory at physical address {paddr:#x}")]
    VmcoreinfoFromMemory { paddr: u64 },
    #[error("split set: no part holds pfns {start:#x}..{end:#x} (a part is missing); their pages read as lost")]
    SplitPartMissing { start: u64, end: u64 },
    #[error("module {module}: debug info from {}", path.display())]
    ModuleDebugAttached { module: String, path: PathBuf },
    /// A module file found beside the dump that is not the loaded module's.
    #[error(transparent)]
    ModuleDebugRefused(ProgramError),
    #[error("debug files not used: the kernel is not read ({0})")]
    DebugFilesUnused(String),
    #[error("{}: a vmlinux is already attached; ignored", .0.display())]
    ExtraVmlinux(PathBuf),
    /// A vmlinux found by the debug-file search and attached.
    #[error("debug info from {} (found for this kernel)", .0.display())]
    VmlinuxFound(PathBuf),
    /// A vmlinux found by the search that is not the dump's kernel (another build...).
    #[error(transparent)]
    VmlinuxRefused(ProgramError),
    /// The debug-file fetcher (debuginfod) failed or has no file for the kernel.
    #[error("debuginfod: {0}")]
    FetchFailed(String),
}

/// Why a dump could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The dump itself cannot be read.
    #[error(transparent)]
    Dump(#[from] DumpError),
    /// A file cannot be read at all.
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A debug file given is not this dump's (another build, not a loaded module...).
    #[error(transparent)]
    DebugFile(ProgramError),
}

/// Opens the dump among `paths` (one file, or every part of a split set, in any order) with the
/// debug files among them (a vmlinux, module `.ko`/`.ko.debug` files), which are checked
/// against the dump: a file of another build is an error, never a source of wrong answers.
/// crash's `VMLINUX VMCORE` order works too.
pub fn open(paths: &[impl AsRef<Path>], opts: &OpenOptions) -> Result<Opened, OpenError> {
    let dump = open_dump(paths, opts)?;
    let (kernel, mut notices) = dump.read_kernel().map_err(OpenError::DebugFile)?;
    let mut said = dump.notices;
    said.append(&mut notices);
    Ok(Opened {
        dump: dump.dump,
        kernel,
        notices: said,
    })
}

/// A dump opened whose kernel is not read yet: [`open`]'s first half, for a front end that
/// reads the kernel only when a question needs it ([`DumpOpened::read_kernel`]), so a question
/// about the dump file alone (its format, page counts) costs no page tables, kallsyms or BTF.
pub struct DumpOpened {
    pub dump: Arc<Dump>,
    /// Things worth saying about the dump itself (the kernel's come with it).
    pub notices: Vec<Notice>,
    debug_files: Vec<PathBuf>,
    /// The directory of the dump's first file (module files may lie beside it).
    dump_dir: Option<PathBuf>,
    opts: OpenOptions,
}

/// Opens the dump among `paths` as [`open`] does, without reading its kernel.
pub fn open_dump(paths: &[impl AsRef<Path>], opts: &OpenOptions) -> Result<DumpOpened, OpenError> {
    let (dumps, debug_files) = classify(paths)?;
    let mut dump = Dump::open_set(&dumps)?;
    dump.set_zero_excluded(opts.zero_excluded);
    let mut notices = Vec::new();
    if let Some(paddr) = dump.recover_vmcoreinfo() {
        notices.push(Notice::VmcoreinfoFromMemory { paddr });
    }
    for &(start, end) in dump.missing() {
        notices.push(Notice::SplitPartMissing { start, end });
    }
    Ok(DumpOpened {
        dump: Arc::new(dump),
        notices,
        debug_files,
        dump_dir: dumps
            .first()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf),
        opts: opts.clone(),
    })
}

impl DumpOpened {
    /// Whether debug files were given with the dump: their check against it is part of
    /// opening (a file of another build fails the open), so their kernel is read at once.
    pub fn debug_files_given(&self) -> bool {
        !self.debug_files.is_empty()
    }

    /// Why the kernel will not be read, when that is known without reading it: `--minimal`,
    /// or a dump without VMCOREINFO.
    pub fn kernel_refused(&self) -> Option<NoKernel> {
        if self.opts.minimal {
            Some(NoKernel::Minimal)
        } else if self.dump.vmcoreinfo().is_none() {
            Some(NoKernel::NoVmcoreinfo)
        } else {
            None
        }
    }

    /// The kernel in the dump from the dump alone (page tables, kallsyms, BTF; modules attached
    /// when first needed; a kernel built without BTF opens when its vmlinux is given or found,
    /// for types), with the debug files given checked and attached, those of loaded modules
    /// beside the dump, and those the search finds; and what is worth saying about it. Fails
    /// only for a debug file given that is not this dump's.
    pub fn read_kernel(&self) -> Result<(Result<Program, NoKernel>, Vec<Notice>), ProgramError> {
        let (dump, opts, debug_files) = (&self.dump, &self.opts, &self.debug_files);
        let mut notices = Vec::new();
        let vmlinux_given = debug_files.iter().any(|f| !is_module_file(f));
        let found = if vmlinux_given || opts.minimal {
            Vec::new()
        } else {
            find_vmlinux(&opts.debug_search, dump, &mut notices)
        };
        let vmlinux_known = vmlinux_given || !found.is_empty();
        let kernel = if let Some(why) = self.kernel_refused() {
            Err(why)
        } else {
            match kernel(dump.clone()) {
                // a kernel built without BTF: its vmlinux, attached below, types it
                Err(ProgramError::Open(KernelOpenError::NoBtf(_))) if vmlinux_known => {
                    kernel_without_btf(dump.clone())
                }
                k => k,
            }
            .map_err(NoKernel::from)
        };
        match &kernel {
            Ok(prog) => {
                attach_debug_files(prog, debug_files, &mut notices)?;
                attach_found_vmlinux(prog, &found, &mut notices);
                let mut search = opts.debug_search.clone();
                if opts.module_files_beside_dump {
                    if let Some(dir) = &self.dump_dir {
                        search.dirs.insert(0, dir.clone());
                    }
                }
                attach_module_files(prog, dump, &search, &mut notices);
            }
            Err(why) if !debug_files.is_empty() => {
                notices.push(Notice::DebugFilesUnused(why.to_string()));
            }
            Err(_) => {}
        }
        Ok((kernel, notices))
    }
}

/// The kernel in `dump`, from the dump alone, its modules attached when first needed.
pub fn kernel(dump: Arc<Dump>) -> Result<Program, ProgramError> {
    Ok(ProgramBuilder::from_dump(dump)?
        .module_loader(Arc::new(KernelModules::default()))
        .build())
}

/// The kernel in a dump of a kernel built without BTF: no types until its vmlinux is attached
/// ([`Program::attach_vmlinux`]), whose DWARF then types everything.
pub fn kernel_without_btf(dump: Arc<Dump>) -> Result<Program, ProgramError> {
    Ok(ProgramBuilder::from_dump_without_btf(dump)?
        .module_loader(Arc::new(KernelModules::default()))
        .build())
}

/// Splits `paths` into the dump's files and the rest (debug files), keeping their order; with
/// no dump among them, the first file is taken as one (for the dump layer's word on why not).
pub fn classify(paths: &[impl AsRef<Path>]) -> Result<(Vec<PathBuf>, Vec<PathBuf>), OpenError> {
    let (mut dumps, mut others) = (Vec::new(), Vec::new());
    for p in paths {
        let p = p.as_ref();
        match kdive_dump::sniff(p) {
            Ok(FileKind::Dump) => dumps.push(p.to_path_buf()),
            Ok(_) => others.push(p.to_path_buf()),
            Err(source) => {
                return Err(OpenError::File {
                    path: p.to_path_buf(),
                    source,
                })
            }
        }
    }
    if dumps.is_empty() && !others.is_empty() {
        // no dump at all: open the first file anyway, for the dump layer's word on why
        dumps.push(others.remove(0));
    }
    Ok((dumps, others))
}

fn is_module_file(p: &Path) -> bool {
    p.to_str()
        .is_some_and(|n| n.ends_with(".ko") || n.ends_with(".ko.debug"))
}

/// Attaches the first vmlinux among `files` and every module debug file.
fn attach_debug_files(
    prog: &Program,
    files: &[PathBuf],
    notices: &mut Vec<Notice>,
) -> Result<(), ProgramError> {
    for f in files {
        if is_module_file(f) {
            attach_module_debug(prog, f)?;
        } else if prog.debug().is_some() {
            notices.push(Notice::ExtraVmlinux(f.clone()));
        } else {
            prog.attach_vmlinux(f)?;
        }
    }
    Ok(())
}

/// The vmlinux files `search` finds for the dump's kernel: the first whose build-id is the
/// dump's (files of another build are refused in `notices`), or, for a dump without a build-id,
/// every file found (each checked by its `linux_banner` when attached). The fetcher is asked
/// only when no local file is the dump's.
fn find_vmlinux(search: &DebugSearch, dump: &Dump, notices: &mut Vec<Notice>) -> Vec<PathBuf> {
    let Some(info) = dump.vmcoreinfo() else {
        return Vec::new();
    };
    let id = info.build_id().map(|s| s.trim().to_ascii_lowercase());
    let refuse = |path: &Path, why: String| {
        Notice::VmlinuxRefused(ProgramError::DebugFile {
            path: path.display().to_string(),
            why,
        })
    };
    let mut seen = HashSet::new();
    let mut unchecked = Vec::new();
    for p in search.vmlinux_places(info.osrelease(), id.as_deref()) {
        if !p.is_file() || !seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())) {
            continue;
        }
        let Some(want) = &id else {
            unchecked.push(p);
            continue;
        };
        match file_build_id(&p) {
            Some(have) if have == *want => return vec![p],
            Some(have) => notices.push(refuse(
                &p,
                format!(
                    "build-id {have} in the file, {want} in {}",
                    dump.build_id_origin()
                ),
            )),
            None => notices.push(refuse(
                &p,
                format!("the file has no build-id note; the dump's is {want}"),
            )),
        }
    }
    if let (Some(fetch), Some(want), true) = (&search.fetch, &id, unchecked.is_empty()) {
        match fetch.debuginfo(want) {
            Ok(Some(p)) => match file_build_id(&p) {
                Some(have) if have == *want => return vec![p],
                have => notices.push(refuse(
                    &p,
                    format!(
                        "fetched for build-id {want}, the file's is {}",
                        have.as_deref().unwrap_or("missing")
                    ),
                )),
            },
            Ok(None) => notices.push(Notice::FetchFailed(format!(
                "no server has the vmlinux of build-id {want}"
            ))),
            Err(e) => notices.push(Notice::FetchFailed(e.to_string())),
        }
    }
    unchecked
}

/// Attaches the first of the vmlinux files `found` that is the kernel's (the dump's build-id
/// was checked when found; without one, `linux_banner` is), saying which, or why not.
fn attach_found_vmlinux(prog: &Program, found: &[PathBuf], notices: &mut Vec<Notice>) {
    if prog.debug().is_some() {
        return;
    }
    for f in found {
        match prog.attach_vmlinux(f) {
            Ok(()) => {
                notices.push(Notice::VmlinuxFound(f.clone()));
                return;
            }
            Err(e) => notices.push(Notice::VmlinuxRefused(e)),
        }
    }
}

/// Attaches the debug files `search` finds for loaded modules (the first place that has a
/// module's file wins; each is checked against the loaded module); says what it attached or
/// refused.
fn attach_module_files(
    prog: &Program,
    dump: &Dump,
    search: &DebugSearch,
    notices: &mut Vec<Notice>,
) {
    let release = dump.vmcoreinfo().and_then(|i| i.osrelease());
    // one look at the places first: most dumps have no module files anywhere
    let files = search.module_files(release);
    if files.is_empty() {
        return;
    }
    let Ok((loaded, _)) = modules(prog, crate::DEFAULT_WALK_LIMIT) else {
        return;
    };
    for m in loaded {
        if prog.module_debug().iter().any(|d| d.name() == m.name) {
            continue;
        }
        let Some(path) = files.get(&m.name.replace('-', "_")) else {
            continue;
        };
        match attach_module_debug(prog, path) {
            Ok(module) => notices.push(Notice::ModuleDebugAttached {
                module,
                path: path.clone(),
            }),
            Err(e) => notices.push(Notice::ModuleDebugRefused(e)),
        }
    }
}
