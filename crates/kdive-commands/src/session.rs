//! A session: one opened dump, the kernel read from it, and what commands have already computed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use kdive_dump::Dump;
use kdive_linux::printk::vmcoreinfo::{printk_program, VmcoreinfoLogError};
use kdive_linux::printk::Log;
use kdive_linux::task::{CpuTasks, TaskInfo, TaskList};
use kdive_linux::{DumpOpened, NoKernel, Notice, OpenError, OpenOptions, Opened};
use kdive_program::{Program, ProgramError};

use crate::CommandError;

/// Every task found and read once per session.
pub struct Tasks {
    pub list: TaskList,
    pub infos: Vec<TaskInfo>,
}

/// The kernel, or why it could not be read, and what is worth saying about reading it.
type KernelRead = (Result<Program, Arc<NoKernel>>, Vec<Notice>);

/// An opened dump and its kernel, with what commands computed once (tasks, the log).
pub struct Session {
    dump: Arc<Dump>,
    /// The kernel, read when a command first needs it: a question about the dump file alone
    /// (`info`, `rd -p`) costs no page tables, kallsyms or BTF.
    kernel: OnceLock<KernelRead>,
    /// What reading the kernel needs, until it is read.
    opening: Option<DumpOpened>,
    /// A program that knows only what VMCOREINFO says about the printk ring buffer, for `log`
    /// without a kernel view; built on first use.
    log_kernel: OnceLock<Result<Program, Arc<VmcoreinfoLogError>>>,
    notices: Vec<Notice>,
    /// Bound on list and tree walks.
    pub walk_limit: usize,
    tasks: OnceLock<Result<Tasks, Arc<ProgramError>>>,
    cpu_tasks: OnceLock<Result<CpuTasks, Arc<ProgramError>>>,
    log: OnceLock<Result<Log, Arc<ProgramError>>>,
    /// The current task (`set`), by `task_struct` address; `None` = the panic task.
    context: Mutex<Option<u64>>,
    /// Tasks `set -a` made the active task of their CPU, by CPU.
    marked_active: Mutex<BTreeMap<u32, u64>>,
    /// The last value-history number `p` gave (`$N`); 0 before the first.
    history: AtomicU32,
    /// crash's builtin aliases, then those `alias` defined, in order.
    aliases: Mutex<Vec<crate::alias::Alias>>,
}

impl Session {
    /// A session over a dump opened by [`kdive_linux::open()`].
    pub fn new(opened: Opened) -> Session {
        let kernel = OnceLock::from((opened.kernel.map_err(Arc::new), Vec::new()));
        Session::with(opened.dump, kernel, None, opened.notices)
    }

    /// A session over a dump opened by [`kdive_linux::open_dump()`], whose kernel is read when
    /// a command first needs it.
    pub fn lazy(mut opened: DumpOpened) -> Session {
        let notices = std::mem::take(&mut opened.notices);
        Session::with(opened.dump.clone(), OnceLock::new(), Some(opened), notices)
    }

    fn with(
        dump: Arc<Dump>,
        kernel: OnceLock<KernelRead>,
        opening: Option<DumpOpened>,
        notices: Vec<Notice>,
    ) -> Session {
        Session {
            dump,
            kernel,
            opening,
            log_kernel: OnceLock::new(),
            notices,
            walk_limit: kdive_linux::DEFAULT_WALK_LIMIT,
            tasks: OnceLock::new(),
            cpu_tasks: OnceLock::new(),
            log: OnceLock::new(),
            context: Mutex::new(None),
            marked_active: Mutex::new(BTreeMap::new()),
            history: AtomicU32::new(0),
            aliases: Mutex::new(crate::alias::builtins()),
        }
    }

    /// Opens one dump file with the default options (through [`kdive_linux::open()`]).
    pub fn open(path: &Path) -> Result<Session, OpenError> {
        Self::open_with(&[path], &OpenOptions::default())
    }

    /// Opens a dump from one file or the parts of a split set, with debug files, as
    /// [`kdive_linux::open()`] does. The kernel is read when a command first needs it, except
    /// with debug files given: checking them against the dump is part of opening.
    pub fn open_with(paths: &[impl AsRef<Path>], opts: &OpenOptions) -> Result<Session, OpenError> {
        let opened = kdive_linux::open_dump(paths, opts)?;
        let read = if opened.debug_files_given() {
            let (kernel, notices) = opened.read_kernel().map_err(OpenError::DebugFile)?;
            Some((kernel.map_err(Arc::new), notices))
        } else {
            None
        };
        let session = Session::lazy(opened);
        if let Some(read) = read {
            let _ = session.kernel.set(read);
        }
        Ok(session)
    }

    /// The kernel (or why not) with what reading it said, read now if it was not yet.
    fn kernel_read(&self) -> &KernelRead {
        self.kernel.get_or_init(|| match &self.opening {
            Some(o) => match o.read_kernel() {
                Ok((kernel, notices)) => (kernel.map_err(Arc::new), notices),
                // only a debug file given fails the read, and those are read at open
                Err(e) => (Err(Arc::new(NoKernel::Program(e))), Vec::new()),
            },
            // a session made by `new` is given its kernel
            None => (Err(Arc::new(NoKernel::Minimal)), Vec::new()),
        })
    }

    /// What opening the dump itself said (the kernel's notices come when it is read).
    pub fn dump_notices(&self) -> &[Notice] {
        &self.notices
    }

    /// What reading the kernel said, once it has been read (`None` before: nothing asked).
    pub fn kernel_notices(&self) -> Option<&[Notice]> {
        self.kernel.get().map(|(_, n)| &n[..])
    }

    /// Whether the kernel has been read (or found unreadable) yet.
    pub fn kernel_known(&self) -> bool {
        self.kernel.get().is_some()
    }

    /// The kernel, for attaching a debug file at `path`; an error naming the file without one.
    fn kernel_for(&self, path: &Path) -> Result<&Program, CommandError> {
        self.kernel_read().0.as_ref().map_err(|why| {
            CommandError::Unavailable(format!(
                "{}: not used, the kernel is not read ({why})",
                path.display()
            ))
        })
    }

    /// Adds the vmlinux at `path` (DWARF: source lines) after checking it is the dump's kernel.
    /// Fails, changing nothing, for a file of another build.
    pub fn attach_vmlinux(&self, path: &Path) -> Result<(), CommandError> {
        self.kernel_for(path)?
            .attach_vmlinux(path)
            .map_err(CommandError::DebugFile)
    }

    /// Adds a loaded module's debug file (`.ko`, `.ko.debug`); returns the module's name.
    pub fn attach_module_debug(&self, path: &Path) -> Result<String, CommandError> {
        kdive_linux::module::attach_module_debug(self.kernel_for(path)?, path)
            .map_err(CommandError::DebugFile)
    }

    /// Detaches the debug file of module `name`, or of every module with `None` (`mod -d`,
    /// `mod -D`); the names of the modules detached.
    pub fn detach_module_debug(&self, name: Option<&str>) -> Result<Vec<String>, CommandError> {
        Ok(self.kernel()?.detach_module_debug(name))
    }

    /// Things worth saying about how the dump was opened (one line each), with what reading
    /// the kernel said once it has been read.
    pub fn notices(&self) -> Vec<&Notice> {
        self.notices
            .iter()
            .chain(self.kernel_notices().into_iter().flatten())
            .collect()
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
        self.kernel_read()
            .0
            .as_ref()
            .map_err(|why| CommandError::NoKernel(why.clone()))
    }

    /// Why the kernel could not be read (minimal mode), if so.
    pub fn no_kernel(&self) -> Option<&NoKernel> {
        self.kernel_read().0.as_ref().err().map(|e| &**e)
    }

    /// Why the kernel could not be read (minimal mode), in words, if so.
    pub fn minimal_reason(&self) -> Option<String> {
        self.no_kernel().map(NoKernel::to_string)
    }

    /// Why the kernel cannot be read, in words, as far as is known without reading it: a
    /// question about the dump file alone does not read the kernel to say it could not.
    pub fn minimal_reason_known(&self) -> Option<String> {
        match (self.kernel_known(), &self.opening) {
            (false, Some(o)) => o.kernel_refused().map(|why| why.to_string()),
            _ => self.minimal_reason(),
        }
    }

    /// All tasks, found and read on first use.
    pub fn tasks(&self) -> Result<&Tasks, CommandError> {
        let prog = self.kernel()?;
        self.tasks
            .get_or_init(|| {
                let mut list = kdive_linux::task::all_tasks(prog, self.walk_limit)?;
                let infos = kdive_linux::task::read_tasks(prog, &mut list)?;
                Ok(Tasks { list, infos })
            })
            .as_ref()
            .map_err(|e| CommandError::Shared {
                context: "cannot list tasks",
                source: e.clone(),
            })
    }

    /// The idle and running task of each CPU, from the runqueues: the task list when it was
    /// read already, else a few reads per CPU without walking the tasks.
    pub fn cpu_tasks(&self) -> Result<&CpuTasks, CommandError> {
        let prog = self.kernel()?;
        self.cpu_tasks
            .get_or_init(|| match self.tasks.get() {
                Some(Ok(t)) => Ok(CpuTasks {
                    idle: t.list.idle.clone(),
                    active: t.list.active.clone(),
                    problems: Vec::new(),
                }),
                _ => kdive_linux::task::cpu_tasks(prog).map_err(Arc::new),
            })
            .as_ref()
            .map_err(|e| CommandError::Shared {
                context: "cannot read the runqueues",
                source: e.clone(),
            })
    }

    /// One task by `task_struct` address: from the task list when it was read already, else
    /// read alone (no walk of the others).
    pub fn task(&self, addr: u64) -> Result<std::borrow::Cow<'_, TaskInfo>, CommandError> {
        if let Some(Ok(t)) = self.tasks.get() {
            return crate::tasks::find_task(&t.infos, addr)
                .map(std::borrow::Cow::Borrowed)
                .ok_or_else(|| crate::tasks::bad_task("task", &format!("{addr:x}")));
        }
        kdive_linux::task::read_task(self.kernel()?, addr)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| CommandError::Program {
                cmd: "task",
                source: e,
            })
    }

    /// The program `log` reads: the kernel, or in minimal mode one that knows only what
    /// VMCOREINFO says about the printk ring buffer.
    pub fn log_program(&self) -> Result<&Program, CommandError> {
        let Err(why) = &self.kernel_read().0 else {
            return self.kernel();
        };
        self.printk_program().map_err(|e| CommandError::NoLog {
            kernel: why.clone(),
            log: e.clone(),
        })
    }

    /// The program that knows only what VMCOREINFO says about the printk ring buffer.
    fn printk_program(&self) -> Result<&Program, &Arc<VmcoreinfoLogError>> {
        self.log_kernel
            .get_or_init(|| printk_program(self.dump.clone()).map_err(Arc::new))
            .as_ref()
    }

    /// The kernel log, read on first use. Before the kernel is read it is read through what
    /// VMCOREINFO says of the ring buffer, the same records without kallsyms and BTF (a quarter
    /// of the time of `log` as a first command); through the kernel when that fails.
    pub fn log(&self) -> Result<&Log, CommandError> {
        let read = |prog| kdive_linux::printk::read_log(prog).map_err(Arc::new);
        if self.log.get().is_none() && !self.kernel_known() {
            if let Some(log) = self.printk_program().ok().and_then(|p| read(p).ok()) {
                let _ = self.log.set(Ok(log));
            }
        }
        let log = match self.log.get() {
            Some(log) => log,
            None => {
                let prog = self.log_program()?;
                self.log.get_or_init(|| read(prog))
            }
        };
        log.as_ref().map_err(|e| CommandError::Shared {
            context: "cannot read the kernel log",
            source: e.clone(),
        })
    }

    /// Whether the kernel is the running one (`/proc/kcore`): no panic, memory changing
    /// between reads.
    pub fn is_live(&self) -> bool {
        self.dump.is_live()
    }

    /// Forgets what earlier commands read of a running kernel (tasks, the log, cached pages
    /// and translations), so the next command sees it as it is then. Nothing for a dump.
    pub fn refresh(&mut self) {
        if !self.is_live() {
            return;
        }
        self.tasks = OnceLock::new();
        self.log = OnceLock::new();
        let kernel = self.kernel.get().and_then(|(k, _)| k.as_ref().ok());
        let printk = self.log_kernel.get().and_then(|p| p.as_ref().ok());
        for m in [kernel, printk]
            .into_iter()
            .flatten()
            .filter_map(Program::kernel_memory)
        {
            m.forget_cached();
        }
        self.dump.forget_cached();
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

    /// Makes `task` the active task of `cpu` for the rest of the session (`set -a`): the task
    /// whose stack starts at that CPU's saved registers, marked `>` by `ps`.
    pub fn mark_active(&self, cpu: u32, task: u64) {
        if let Ok(mut m) = self.marked_active.lock() {
            m.insert(cpu, task);
        }
    }

    /// Each CPU's active task: `found` (from the runqueues) with the tasks `set -a` marked.
    pub fn active_tasks(&self, found: &BTreeMap<u32, u64>) -> BTreeMap<u32, u64> {
        let mut active = found.clone();
        if let Ok(m) = self.marked_active.lock() {
            active.extend(m.iter().map(|(&c, &t)| (c, t)));
        }
        active
    }

    /// The registers and stacks `bt` walks from, each CPU's active task being the one
    /// [`active_tasks`](Self::active_tasks) says.
    pub fn backtrace_context(
        &self,
        prog: &Program,
        found: &BTreeMap<u32, u64>,
    ) -> kdive_linux::stack::BacktraceContext {
        let mut ctx = kdive_linux::stack::BacktraceContext::new(prog, &self.active_tasks(found));
        if let Ok(m) = self.marked_active.lock() {
            ctx.marked = m.values().copied().collect();
        }
        ctx
    }

    /// The next value-history number (`$1`, `$2`, ...), as gdb numbers the values `p` prints.
    pub fn next_history(&self) -> u32 {
        self.history.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }
}

impl Session {
    /// The alias named `name`.
    pub fn alias(&self, name: &str) -> Option<crate::alias::Alias> {
        self.lock_aliases()
            .iter()
            .find(|a| a.alias == name)
            .cloned()
    }

    /// Every alias, builtin ones first, in the order they were defined.
    pub fn aliases(&self) -> Vec<crate::alias::Alias> {
        self.lock_aliases().clone()
    }

    /// Defines an alias, replacing one of the same name (which then moves to the end, as in
    /// crash).
    pub fn define_alias(&self, a: crate::alias::Alias) {
        let mut v = self.lock_aliases();
        v.retain(|o| o.alias != a.alias);
        v.push(a);
    }

    /// Deletes the alias `name`; false when there is none.
    pub fn remove_alias(&self, name: &str) -> bool {
        let mut v = self.lock_aliases();
        let n = v.len();
        v.retain(|o| o.alias != name);
        v.len() != n
    }

    fn lock_aliases(&self) -> std::sync::MutexGuard<'_, Vec<crate::alias::Alias>> {
        // the list stays whole whatever a panicking holder did: take it as it is
        self.aliases.lock().unwrap_or_else(|e| e.into_inner())
    }
}
