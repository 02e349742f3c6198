//! Threads and stack traces in drgn's shape: `Thread` (`tid`, `name`, `object`,
//! `stack_trace()`), `StackTrace` (frames, innermost first) and `StackFrame` (`name`, `pc`,
//! `sp`, `registers()`, `source()`, `is_inline`, `symbol()`, `locals()`, `frame[name]`). With a
//! vmlinux or module debug file, inlined calls are frames of their own, as drgn shows them, and
//! local variables are read through their DWARF locations.

use std::cell::OnceCell;
use std::rc::Rc;
use std::sync::Arc;

use kdive_debuginfo::dwarf::Variable;
use kdive_program::locals::{FrameLocals, Local};
use kdive_program::unwind::x86_64::reg_name;
use kdive_program::unwind::{FoundBy, RegSet, Start};
use kdive_program::Object;
use pyo3::exceptions::{PyIndexError, PyKeyError, PyLookupError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::py_err;
use crate::object::{Absence, Place, PyObj};
use crate::program::PySymbol;
use crate::state::State;

/// A thread of the kernel: a task.
#[pyclass(name = "Thread", module = "kdive", unsendable)]
pub struct PyThread {
    st: Arc<State>,
    task: u64,
    /// The thread ID (PID).
    #[pyo3(get)]
    tid: i64,
}

impl PyThread {
    pub fn new(st: &Arc<State>, task: u64) -> PyResult<PyThread> {
        let prog = st.prog()?;
        let tid = prog
            .object("struct task_struct", task)
            .and_then(|t| t.member("pid"))
            .and_then(|p| p.read_i64())
            .map_err(py_err)?;
        Ok(PyThread {
            st: st.clone(),
            task,
            tid,
        })
    }
}

#[pymethods]
impl PyThread {
    /// The task's `comm`.
    #[getter]
    fn name(&self) -> PyResult<String> {
        let prog = self.st.prog()?;
        prog.object("struct task_struct", self.task)
            .and_then(|t| t.member("comm"))
            .and_then(|c| c.read_string(64))
            .map_err(py_err)
    }

    /// The `struct task_struct` (drgn's `thread.object`).
    #[getter]
    fn object(&self) -> PyResult<PyObj> {
        let prog = self.st.prog()?;
        let o = prog
            .object("struct task_struct", self.task)
            .map_err(py_err)?;
        Ok(PyObj::new(&self.st, o))
    }

    /// The thread's stack trace.
    fn stack_trace(&self) -> PyResult<PyStackTrace> {
        stack_trace_of(&self.st, self.task)
    }

    fn __repr__(&self) -> String {
        format!("Thread(tid={})", self.tid)
    }
}

/// One frame (a function; inlined functions are frames of their own).
#[pyclass(name = "StackFrame", module = "kdive", unsendable)]
#[derive(Clone)]
pub struct PyStackFrame {
    st: Arc<State>,
    /// The function's name (DWARF's, or the symbol's), `None` when unknown.
    #[pyo3(get)]
    name: Option<String>,
    /// The instruction address.
    #[pyo3(get)]
    pc: u64,
    /// The stack pointer.
    #[pyo3(get)]
    sp: u64,
    /// A function inlined into the next frame.
    #[pyo3(get)]
    is_inline: bool,
    /// The frame was interrupted (its pc is exact, not a return address).
    #[pyo3(get)]
    interrupted: bool,
    regs: Vec<(&'static str, u64)>,
    /// The registers by number, for location expressions.
    regset: RegSet,
    /// The canonical frame address, when known.
    cfa: Option<u64>,
    /// Which function level of the code at the pc this frame is (0: innermost inlined call).
    level: usize,
    source: Option<(String, u32, u32)>,
    /// Where the symbol is looked up: the pc, or a return address minus one.
    lookup_pc: u64,
    /// The variables in scope at the pc, read on first use (shared by the frames of one pc).
    locals: Rc<OnceCell<Option<FrameLocals>>>,
}

impl PyStackFrame {
    /// This frame's variables as the DWARF at its pc gives them (empty without DWARF), read
    /// once per frame.
    fn variables(&self) -> PyResult<(&[Variable], Option<&FrameLocals>)> {
        let fl = match self.locals.get() {
            Some(fl) => fl,
            None => {
                let fl = self
                    .st
                    .prog()?
                    .frame_locals(self.lookup_pc)
                    .map_err(py_err)?;
                self.locals.get_or_init(|| fl)
            }
        };
        let Some(fl) = fl else {
            return Ok((&[], None));
        };
        let vars = fl
            .scopes()
            .get(self.level)
            .map_or(&[][..], |s| &s.variables[..]);
        Ok((vars, Some(fl)))
    }
}

#[pymethods]
impl PyStackFrame {
    /// The frame's registers by name (`{"rip": …, "rsp": …}`).
    fn registers(&self, py: Python<'_>) -> PyResult<PyObject> {
        let d = PyDict::new(py);
        for (n, v) in &self.regs {
            d.set_item(*n, *v)?;
        }
        Ok(d.into_any().unbind())
    }

    /// One register by name; `LookupError` when it is not known in this frame.
    fn register(&self, reg: &str) -> PyResult<u64> {
        self.regs
            .iter()
            .find(|(n, _)| *n == reg)
            .map(|(_, v)| *v)
            .ok_or_else(|| PyLookupError::new_err(format!("register {reg:?} is not known")))
    }

    /// A `SourceLocation` (`(filename, line, column)` with the function's `name()`), the file
    /// as the line table writes it, as drgn shows it; `LookupError` without debugging
    /// information for the pc.
    fn source(&self, py: Python<'_>) -> PyResult<PyObject> {
        let (file, line, column) = self
            .source
            .clone()
            .ok_or_else(|| PyLookupError::new_err("source code location not available"))?;
        Ok(py
            .import("kdive")?
            .getattr("SourceLocation")?
            .call1((file, line, column, self.name.clone()))?
            .unbind())
    }

    /// The symbol containing the pc.
    fn symbol(&self) -> PyResult<PySymbol> {
        frame_symbol(self.st.prog()?, self.lookup_pc).ok_or_else(|| {
            PyLookupError::new_err(format!("could not find symbol containing {:#x}", self.pc))
        })
    }

    /// The names of the frame's local variables and parameters (its scope's, then those of
    /// the blocks around the pc), from DWARF; empty without a debug file for the code.
    fn locals(&self) -> PyResult<Vec<String>> {
        Ok(self.variables()?.0.iter().map(|v| v.name.clone()).collect())
    }

    /// A local variable or parameter by name: an object in memory, a value (from a register
    /// or computed), or an absent object when it was optimized out or lives in a register this
    /// frame does not know; `KeyError` for a name not in scope.
    fn __getitem__(&self, name: &str) -> PyResult<PyObj> {
        let (vars, fl) = self.variables()?;
        // the innermost block's, for a name declared again in a block
        let (Some(v), Some(fl)) = (vars.iter().rfind(|v| v.name == name), fl) else {
            return Err(PyKeyError::new_err(name.to_string()));
        };
        let prog = self.st.prog()?;
        match fl.value(prog, v, &self.regset, self.cfa) {
            Some(Local::Object(o)) => Ok(PyObj::new(&self.st, o)),
            Some(Local::Bytes(t, b)) => Ok(PyObj::from_val(
                &self.st,
                crate::value::Val::from_bytes(prog, t, b),
            )),
            Some(Local::Absent(t)) => Ok(PyObj {
                st: self.st.clone(),
                place: Place::Absent(t, Absence::OptimizedOut),
            }),
            None => Err(PyKeyError::new_err(format!("{name}: no type"))),
        }
    }

    fn __contains__(&self, name: &str) -> PyResult<bool> {
        Ok(self.variables()?.0.iter().any(|v| v.name == name))
    }

    fn __repr__(&self) -> String {
        format!("StackFrame(name={:?}, pc={:#x})", self.name, self.pc)
    }

    fn __str__(&self) -> String {
        describe(&self.st, self)
    }
}

fn describe(st: &State, f: &PyStackFrame) -> String {
    let mut s = match (&f.name, f.is_inline) {
        (Some(n), true) => n.clone(),
        (Some(n), false) => match st.prog().ok().and_then(|p| frame_symbol(p, f.lookup_pc)) {
            Some(sym) => {
                let off = f.pc.wrapping_sub(sym.address);
                match sym.size {
                    0 => format!("{n}+{off:#x}"),
                    size => format!("{n}+{off:#x}/{size:#x}"),
                }
            }
            None => n.clone(),
        },
        (None, _) => format!("{:#x}", f.pc),
    };
    if let Some((file, line, col)) = &f.source {
        s += &format!(" ({file}:{line}:{col})");
    }
    s
}

/// The symbol a frame at `pc` is named after: `prog.symbol(pc)`'s, as drgn names frames (with
/// a vmlinux, a label inside a function such as `entry_SYSCALL_64_after_hwframe` gives way to
/// the function). `bt` keeps crash's naming, the nearest symbol.
fn frame_symbol(prog: &kdive_program::Program, pc: u64) -> Option<PySymbol> {
    crate::program::symbol_at(prog, pc)
}

/// A stack trace, innermost frame first.
#[pyclass(name = "StackTrace", module = "kdive", unsendable)]
pub struct PyStackTrace {
    st: Arc<State>,
    frames: Vec<PyStackFrame>,
    /// Why the walk stopped early, if it did.
    #[pyo3(get)]
    incomplete: Option<String>,
}

#[pymethods]
impl PyStackTrace {
    fn __len__(&self) -> usize {
        self.frames.len()
    }

    fn __getitem__(&self, i: isize) -> PyResult<PyStackFrame> {
        let n = self.frames.len() as isize;
        let j = if i < 0 { i + n } else { i };
        if !(0..n).contains(&j) {
            return Err(PyIndexError::new_err("stack frame index out of range"));
        }
        Ok(self.frames[j as usize].clone())
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<PyObject> {
        let l = pyo3::types::PyList::new(
            py,
            self.frames
                .iter()
                .map(|f| Py::new(py, f.clone()))
                .collect::<PyResult<Vec<_>>>()?,
        )?;
        Ok(l.try_iter()?.into_any().unbind())
    }

    /// The program.
    #[getter]
    fn prog(&self) -> crate::program::PyProgram {
        crate::program::PyProgram {
            st: self.st.clone(),
        }
    }

    /// drgn's listing: `#0  name+off/size (file:line:col)` per frame.
    fn __str__(&self) -> String {
        self.frames
            .iter()
            .enumerate()
            .map(|(i, f)| format!("#{i:<2} {}", describe(&self.st, f)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The stack trace of the task at `task`, from the library's unwinder.
pub fn stack_trace_of(st: &Arc<State>, task: u64) -> PyResult<PyStackTrace> {
    let prog = st.prog()?;
    // a task that is not a task_struct fails here rather than in the unwinder
    Object::reference(
        prog,
        prog.type_("struct task_struct").map_err(py_err)?,
        task,
    )
    .member("stack")
    .and_then(|s| s.read_u64())
    .map_err(py_err)?;
    let ctx = st.backtraces()?;
    let bt = ctx.backtrace(prog, task);
    let mut trace = bt.trace.clone();
    // crash starts a kdump-stopped CPU's task from the innermost frame left on its stack; drgn
    // starts from the registers kdump saved (for an oops, the faulting context), as here
    if let (kdive_linux::stack::StartKind::Innermost { .. }, Some(cpu)) = (&bt.start, bt.active_cpu)
    {
        if let Some(r) = ctx.cpu_regs.get(&cpu) {
            let start = Start {
                regs: r.regs,
                return_address: false,
                ra_slot: None,
                found: FoundBy::Regs,
            };
            if let Ok(t) = prog.unwind(&start, &bt.stacks, ctx.limits) {
                trace = t;
            }
        }
    }
    let incomplete = match &trace.end {
        kdive_program::unwind::TraceEnd::Error(e) => Some(e.to_string()),
        _ => None,
    };
    let mut trace = trace.frames;
    prog.recover_saved_registers(&mut trace);
    let mut frames = Vec::new();
    for (i, f) in trace.iter().enumerate() {
        let lookup_pc = if f.exact { f.pc } else { f.pc.wrapping_sub(1) };
        // the CFA by the function's CFI, else the caller's stack pointer (unless the caller's
        // registers came from an exception frame)
        let cfa = prog.frame_cfa(lookup_pc, &f.regs).or_else(|| {
            trace
                .get(i + 1)
                .filter(|n| n.exception.is_none())
                .map(|n| n.sp)
        });
        let regs: Vec<(&'static str, u64)> = f
            .regs
            .iter()
            .filter_map(|(r, v)| reg_name(r).map(|n| (n, v)))
            .collect();
        let base = PyStackFrame {
            st: st.clone(),
            // drgn names a frame without a symbol by its address
            name: Some(
                frame_symbol(prog, lookup_pc).map_or_else(|| format!("{:#x}", f.pc), |s| s.name),
            ),
            pc: f.pc,
            sp: f.sp,
            is_inline: false,
            interrupted: f.exact,
            regs,
            regset: f.regs,
            cfa,
            level: 0,
            source: None,
            locals: Rc::new(OnceCell::new()),
            lookup_pc,
        };
        match prog.source(lookup_pc) {
            Ok(Some(src)) if !src.is_empty() => {
                for (level, s) in src.into_iter().enumerate() {
                    let mut fr = base.clone();
                    fr.level = level;
                    if let Some(n) = s.function {
                        fr.name = Some(n);
                    }
                    fr.is_inline = s.inlined;
                    fr.source = s
                        .table_file
                        .or(s.file)
                        .map(|file| (file, s.line.unwrap_or(0), s.column.unwrap_or(0)));
                    frames.push(fr);
                }
            }
            _ => frames.push(base),
        }
    }
    Ok(PyStackTrace {
        st: st.clone(),
        frames,
        incomplete,
    })
}
