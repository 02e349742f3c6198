//! What every Python object of one opened dump shares: the session, and what is computed once
//! for it (the task list, the CPUs' registers and stacks for stack traces).

use std::sync::{Mutex, OnceLock};

use kdive_commands::Session;
use kdive_linux::stack::BacktraceContext;
use kdive_linux::task::TaskList;
use kdive_program::Program;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{cmd_err, py_err};
use crate::hot::Hot;

/// One opened dump, shared by its `Program`, `Object`s, `Type`s and stack traces.
pub struct State {
    pub session: Session,
    tasks: OnceLock<Result<TaskList, String>>,
    backtraces: OnceLock<BacktraceContext>,
    cache: OnceLock<Py<PyDict>>,
    /// Attribute names and the members they name, per resolved struct type.
    /// Type shapes, attribute names and kernel pages, remembered (see [`crate::hot`]).
    hot: Mutex<Hot>,
    /// A running kernel read as it changes: cached pages are dropped before each top-level
    /// read (see [`State::fresh`]).
    live: bool,
}

impl State {
    pub fn new(session: Session) -> State {
        State {
            session,
            tasks: OnceLock::new(),
            backtraces: OnceLock::new(),
            cache: OnceLock::new(),
            hot: Mutex::default(),
            live: false,
        }
    }

    /// Reads a running kernel as it changes (`live`), or keeps what was read (a dump, or a
    /// snapshot of a running kernel).
    pub fn live(mut self, live: bool) -> State {
        self.live = live;
        self
    }

    /// On a running kernel, forgets the pages read so far (the hot path's page cache, the
    /// file's block cache and the address translations), so that the read that follows sees
    /// memory as it is now: called by each top-level read (`value_()`, `string_()`,
    /// `read_()`, `prog.read()`). Nothing for a dump, which does not change.
    pub fn fresh(&self) {
        if !self.live {
            return;
        }
        self.hot().pages = crate::hot::Pages::default();
        match self.prog().ok().and_then(Program::kernel_memory) {
            Some(m) => m.forget_cached(),
            None => self.session.dump().forget_cached(),
        }
    }

    /// The kernel, or why this dump has no kernel view.
    pub fn prog(&self) -> PyResult<&Program> {
        self.session.kernel().map_err(cmd_err)
    }

    /// Every task's address (idle tasks first), found on first use with the library's walk.
    pub fn task_list(&self) -> PyResult<&TaskList> {
        let prog = self.prog()?;
        self.tasks
            .get_or_init(|| {
                kdive_linux::task::all_tasks(prog, self.session.walk_limit)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| {
                py_err(kdive_program::ProgramError::Walk {
                    what: "the task list".into(),
                    why: e.clone(),
                })
            })
    }

    /// CPU registers and stacks, read on the first stack trace.
    pub fn backtraces(&self) -> PyResult<&BacktraceContext> {
        let prog = self.prog()?;
        let active = self.task_list()?.active.clone();
        Ok(self
            .backtraces
            .get_or_init(|| BacktraceContext::new(prog, &active)))
    }

    /// The dict helpers keep per-program data in (drgn's `prog.cache`).
    pub fn cache(&self, py: Python<'_>) -> Py<PyDict> {
        self.cache
            .get_or_init(|| PyDict::new(py).unbind())
            .clone_ref(py)
    }

    /// What the hot paths remember, locked.
    pub fn hot(&self) -> std::sync::MutexGuard<'_, Hot> {
        lock(&self.hot)
    }
}

/// A lock whose holder cannot leave its data half-changed: a poisoned one is used as it is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
