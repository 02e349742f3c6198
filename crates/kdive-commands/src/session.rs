//! A session: one dump, the kernel read from it, and what commands have already computed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use kdive_dump::Dump;
use kdive_linux::printk::Log;
use kdive_linux::task::{TaskInfo, TaskList};
use kdive_program::Program;

use crate::CommandError;

mod minimal;

/// Every task found and read once per session.
pub struct Tasks {
    pub list: TaskList,
    pub infos: Vec<TaskInfo>,
}

/// How to open a session.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Do not read the kernel: only what needs no kernel is offered (`--minimal`).
    pub minimal: bool,
    /// Pages excluded by the dump level read as zeros (`--zero-excluded`).
    pub zero_excluded: bool,
}

/// An opened dump and its kernel.
pub struct Session {
    dump: Arc<Dump>,
    kernel: Result<Program, String>,
    /// A program that knows only what VMCOREINFO says (the printk ring buffer), for `log`
    /// in minimal mode; built on first use.
    log_kernel: OnceLock<Result<Program, String>>,
    notices: Vec<String>,
    /// Bound on list and tree walks.
    pub walk_limit: usize,
    tasks: OnceLock<Result<Tasks, String>>,
    log: OnceLock<Result<Log, String>>,
    /// The current task (`set`), by `task_struct` address; `None` = the panic task.
    context: Mutex<Option<u64>>,
}

impl Session {
    /// Opens a dump file; the kernel inside is read from the dump alone.
    /// A dump whose kernel cannot be made sense of still opens (see [`Session::kernel`]).
    pub fn open(path: &Path) -> Result<Session, kdive_dump::DumpError> {
        Self::open_with(&[path], OpenOptions::default())
    }

    /// Opens a dump from one file or the parts of a split set, with options.
    pub fn open_with(
        paths: &[impl AsRef<Path>],
        opts: OpenOptions,
    ) -> Result<Session, kdive_dump::DumpError> {
        let mut dump = Dump::open_set(paths)?;
        dump.set_zero_excluded(opts.zero_excluded);
        let mut notices = Vec::new();
        if let Some(paddr) = dump.recover_vmcoreinfo() {
            notices.push(format!(
                "the dump's header has no usable VMCOREINFO; found the kernel's copy in memory at physical address {paddr:#x}"
            ));
        }
        for &(start, end) in dump.missing() {
            notices.push(format!(
                "split set: no part holds pfns {start:#x}..{end:#x} (a part is missing); their pages read as lost"
            ));
        }
        let dump = Arc::new(dump);
        let kernel = if opts.minimal {
            Err("--minimal: the kernel is not read".to_string())
        } else if dump.vmcoreinfo().is_none() {
            Err("no VMCOREINFO in the dump header, nor in its memory".to_string())
        } else {
            Program::open(dump.clone())
                .map(kdive_linux::module::with_modules)
                .map_err(|e| e.to_string())
        };
        Ok(Session {
            dump,
            kernel,
            log_kernel: OnceLock::new(),
            notices,
            walk_limit: kdive_linux::DEFAULT_WALK_LIMIT,
            tasks: OnceLock::new(),
            log: OnceLock::new(),
            context: Mutex::new(None),
        })
    }

    /// The kernel, for attaching a debug file at `path`; an error naming the file in minimal mode.
    fn kernel_for(&mut self, path: &Path) -> Result<&mut Program, CommandError> {
        self.kernel.as_mut().map_err(|why| {
            CommandError::Unavailable(format!(
                "{}: not used, the kernel is not read ({why})",
                path.display()
            ))
        })
    }

    /// Adds the vmlinux at `path` (DWARF: source lines) after checking it is the dump's kernel.
    /// Fails, changing nothing, for a file of another build.
    pub fn attach_vmlinux(&mut self, path: &Path) -> Result<(), CommandError> {
        self.kernel_for(path)?
            .attach_vmlinux(path)
            .map_err(|e| CommandError::Unavailable(e.to_string()))
    }

    /// Adds a loaded module's debug file (`.ko`, `.ko.debug`); returns the module's name.
    pub fn attach_module_debug(&mut self, path: &Path) -> Result<String, CommandError> {
        kdive_linux::module::attach_module_debug(self.kernel_for(path)?, path)
            .map_err(|e| CommandError::Unavailable(e.to_string()))
    }

    /// Looks for the debug files of loaded modules next to the dump (`NAME.ko`, `NAME.ko.debug`,
    /// with `_` or `-`) and attaches those that match; returns one line per file tried.
    pub fn find_module_debug(&mut self) -> Vec<String> {
        let Some(dir) = self
            .paths()
            .first()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
        else {
            return Vec::new();
        };
        // one look at the directory first: most dumps have no module files beside them
        let has_modules = std::fs::read_dir(&dir).is_ok_and(|rd| {
            rd.flatten().any(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.ends_with(".ko") || n.ends_with(".ko.debug")
            })
        });
        if !has_modules {
            return Vec::new();
        }
        let names: Vec<String> = match &self.kernel {
            Ok(prog) => kdive_linux::module::modules(prog, self.walk_limit)
                .map(|(m, _)| m.into_iter().map(|m| m.name).collect())
                .unwrap_or_default(),
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::new();
        for name in names {
            let loaded = self
                .kernel
                .as_ref()
                .is_ok_and(|p| p.module_debug().iter().any(|d| d.name() == name));
            if loaded {
                continue;
            }
            let candidates = [name.clone(), name.replace('_', "-")]
                .into_iter()
                .flat_map(|n| [format!("{n}.ko.debug"), format!("{n}.ko")]);
            for file in candidates {
                let path = dir.join(&file);
                if !path.is_file() {
                    continue;
                }
                match self.attach_module_debug(&path) {
                    Ok(m) => {
                        out.push(format!("module {m}: debug info from {}", path.display()));
                        break;
                    }
                    Err(e) => out.push(e.to_string()),
                }
            }
        }
        out
    }

    /// Things worth saying about how the dump was opened (one line each).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The dump.
    pub fn dump(&self) -> &Arc<Dump> {
        &self.dump
    }

    /// The files the dump was read from.
    pub fn paths(&self) -> &[PathBuf] {
        self.dump.paths()
    }

    /// The kernel, or why it could not be read from this dump.
    pub fn kernel(&self) -> Result<&Program, CommandError> {
        self.kernel
            .as_ref()
            .map_err(|why| CommandError::Unavailable(format!("no kernel view of this dump: {why}")))
    }

    /// Why the kernel could not be read (minimal mode), if so.
    pub fn minimal_reason(&self) -> Option<&str> {
        self.kernel.as_ref().err().map(String::as_str)
    }

    /// All tasks, found and read on first use.
    pub fn tasks(&self) -> Result<&Tasks, CommandError> {
        let prog = self.kernel()?;
        self.tasks
            .get_or_init(|| {
                let mut list = kdive_linux::task::all_tasks(prog, self.walk_limit)
                    .map_err(|e| e.to_string())?;
                let infos =
                    kdive_linux::task::read_tasks(prog, &mut list).map_err(|e| e.to_string())?;
                Ok(Tasks { list, infos })
            })
            .as_ref()
            .map_err(|e| CommandError::Unavailable(format!("cannot list tasks: {e}")))
    }

    /// The program `log` reads: the kernel, or in minimal mode one that knows only what
    /// VMCOREINFO says about the printk ring buffer.
    pub fn log_program(&self) -> Result<&Program, CommandError> {
        let Err(why) = &self.kernel else {
            return self.kernel();
        };
        self.log_kernel
            .get_or_init(|| minimal::printk_program(self.dump.clone()))
            .as_ref()
            .map_err(|e| {
                CommandError::Unavailable(format!(
                    "no kernel view of this dump: {why}; nor a log from VMCOREINFO: {e}"
                ))
            })
    }

    /// The kernel log, read on first use.
    pub fn log(&self) -> Result<&Log, CommandError> {
        let prog = self.log_program()?;
        self.log
            .get_or_init(|| kdive_linux::printk::read_log(prog).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| CommandError::Unavailable(format!("cannot read the kernel log: {e}")))
    }

    /// The task chosen with `set`, if any.
    pub fn context(&self) -> Option<u64> {
        self.context.lock().map(|c| *c).unwrap_or(None)
    }

    /// Chooses the current task (`set`).
    pub fn set_context(&self, task: Option<u64>) {
        if let Ok(mut c) = self.context.lock() {
            *c = task;
        }
    }
}
