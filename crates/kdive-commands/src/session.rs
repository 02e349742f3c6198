//! A session: one dump, the kernel read from it, and what commands have already computed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use kdive_dump::Dump;
use kdive_linux::printk::Log;
use kdive_linux::task::{TaskInfo, TaskList};
use kdive_program::Program;

use crate::CommandError;

/// Every task found and read once per session.
pub struct Tasks {
    pub list: TaskList,
    pub infos: Vec<TaskInfo>,
}

/// An opened dump and its kernel.
pub struct Session {
    dump: Arc<Dump>,
    kernel: Result<Program, String>,
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
        let dump = Arc::new(Dump::open(path)?);
        let kernel = Program::open(dump.clone()).map_err(|e| e.to_string());
        Ok(Session {
            dump,
            kernel,
            walk_limit: kdive_linux::DEFAULT_WALK_LIMIT,
            tasks: OnceLock::new(),
            log: OnceLock::new(),
            context: Mutex::new(None),
        })
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

    /// The kernel log, read on first use.
    pub fn log(&self) -> Result<&Log, CommandError> {
        let prog = self.kernel()?;
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
