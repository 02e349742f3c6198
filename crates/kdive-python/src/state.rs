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
}

impl State {
    pub fn new(session: Session) -> State {
        State {
            session,
            tasks: OnceLock::new(),
            backtraces: OnceLock::new(),
            cache: OnceLock::new(),
            hot: Mutex::default(),
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
