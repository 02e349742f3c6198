//! What every Python object of one opened dump shares: the session, and what is computed once
//! for it (the task list, the CPUs' registers and stacks for stack traces).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use kdive_debuginfo::{Member, TypeId};

use kdive_commands::Session;
use kdive_linux::stack::BacktraceContext;
use kdive_linux::task::TaskList;
use kdive_program::Program;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{cmd_err, py_err};

/// One opened dump, shared by its `Program`, `Object`s, `Type`s and stack traces.
pub struct State {
    pub session: Session,
    tasks: OnceLock<Result<TaskList, String>>,
    backtraces: OnceLock<BacktraceContext>,
    cache: OnceLock<Py<PyDict>>,
    /// Members looked up by name, per resolved struct type: attribute access is the hot path.
    members: RefCell<HashMap<(TypeId, Box<str>), Member>>,
}

impl State {
    pub fn new(session: Session) -> State {
        State {
            session,
            tasks: OnceLock::new(),
            backtraces: OnceLock::new(),
            cache: OnceLock::new(),
            members: RefCell::new(HashMap::new()),
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

    /// Member `name` of the resolved struct or union `ty`, remembered.
    pub fn member(&self, ty: TypeId, name: &str) -> Result<Member, kdive_program::ProgramError> {
        if let Some(m) = self.members.borrow().get(&(ty, name.into())) {
            return Ok(m.clone());
        }
        let m = self
            .prog()
            .map_err(|_| kdive_program::ProgramError::NoType(name.into()))?
            .types()
            .member(ty, name)?;
        self.members
            .borrow_mut()
            .insert((ty, name.into()), m.clone());
        Ok(m)
    }
}
