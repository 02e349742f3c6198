//! The `kdive` Python module, in drgn's spirit: `kdive.open(VMCORE)` gives a `Program`; typed
//! `Object`s read members (`task.comm`), follow pointers, index arrays and give values
//! (`value_()`, `string_()`); helpers walk the kernel (`for_each_task`, `find_task`); every
//! crash command runs as text or JSON (`prog.command("bt")`, `prog.json("ps")`).

use std::path::PathBuf;
use std::sync::Arc;

use kdive_commands::Session;
use kdive_debuginfo::TypeKind;
use kdive_program::object::ObjectHandle;
use kdive_program::{ErrorKind, Object, Program, ProgramError};
use pyo3::exceptions::{PyAttributeError, PyException, PyIndexError, PyLookupError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

pyo3::create_exception!(
    kdive,
    FaultError,
    PyException,
    "Memory the dump does not hold."
);

/// drgn's `FaultError(message, address)`: memory the dump cannot give (unmapped, or a page not
/// in it), with `.message` and `.address`.
fn fault_error(message: String, address: Option<u64>) -> PyErr {
    Python::with_gil(|py| {
        let err = FaultError::new_err((message.clone(), address));
        let value = err.value(py);
        // setting attributes on a fresh exception instance cannot fail short of memory
        let _ = value.setattr("message", message);
        let _ = value.setattr("address", address);
        err
    })
}

/// A program-layer error as the Python exception drgn raises for it: `FaultError` for memory,
/// `LookupError` for a name or type that does not exist, `ValueError` otherwise.
fn py_err(e: ProgramError) -> PyErr {
    match e.kind() {
        ErrorKind::Fault => fault_error(e.to_string(), e.fault_address()),
        ErrorKind::Lookup => PyLookupError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A command's error as a Python exception (by its kind, as [`py_err`]).
fn cmd_err(e: kdive_commands::CommandError) -> PyErr {
    match e.kind() {
        "fault" => fault_error(e.to_string(), e.fault_address()),
        "lookup" => PyLookupError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A kernel in a dump.
#[pyclass(name = "Program", module = "kdive", unsendable)]
struct PyProgram {
    session: Arc<Session>,
}

impl PyProgram {
    fn prog(&self) -> PyResult<&Program> {
        self.session.kernel().map_err(cmd_err)
    }

    fn wrap(&self, o: Object<'_>) -> PyObj {
        PyObj {
            session: self.session.clone(),
            handle: o.handle(),
        }
    }
}

#[pymethods]
impl PyProgram {
    /// Every task (threads included), as `struct task_struct` objects.
    fn for_each_task(&self) -> PyResult<Vec<PyObj>> {
        for_each_task_of(self)
    }

    /// The object of type `type_name` (`"struct task_struct"`) at `address`.
    fn object(&self, type_name: &str, address: u64) -> PyResult<PyObj> {
        let o = self.prog()?.object(type_name, address).map_err(py_err)?;
        Ok(self.wrap(o))
    }

    /// The address of a symbol.
    fn symbol(&self, name: &str) -> PyResult<u64> {
        self.prog()?
            .symbol_address(name)
            .map_err(|e| PyLookupError::new_err(e.to_string()))
    }

    /// `bytes` of memory at a kernel virtual address.
    fn read(&self, address: u64, size: usize) -> PyResult<Py<PyBytes>> {
        if size > 1 << 30 {
            return Err(PyValueError::new_err("read: more than 1 GiB"));
        }
        let mut buf = vec![0u8; size];
        self.prog()?.read(address, &mut buf).map_err(py_err)?;
        Python::with_gil(|py| Ok(PyBytes::new(py, &buf).unbind()))
    }

    /// A crash command's text output (`"bt -a"`, `"log | tail"` without the pipe).
    fn command(&self, line: &str) -> PyResult<String> {
        Ok(kdive_commands::run(&self.session, line)
            .map_err(cmd_err)?
            .text())
    }

    /// A crash command's structured result, as Python dicts and lists.
    fn json(&self, py: Python<'_>, line: &str) -> PyResult<PyObject> {
        let v = kdive_commands::run(&self.session, line)
            .map_err(cmd_err)?
            .json();
        let json = py.import("json")?;
        Ok(json.call_method1("loads", (v.to_string(),))?.unbind())
    }

    fn __repr__(&self) -> String {
        let paths: Vec<String> = self
            .session
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!("kdive.Program({})", paths.join(", "))
    }
}

fn for_each_task_of(p: &PyProgram) -> PyResult<Vec<PyObj>> {
    let tasks = p.session.tasks().map_err(cmd_err)?;
    let prog = p.prog()?;
    let ty = prog.type_("struct task_struct").map_err(py_err)?;
    Ok(tasks
        .infos
        .iter()
        .map(|t| p.wrap(Object::reference(prog, ty, t.addr)))
        .collect())
}

/// A typed value: in the dump's memory, or computed.
#[pyclass(name = "Object", module = "kdive", unsendable)]
struct PyObj {
    session: Arc<Session>,
    handle: ObjectHandle,
}

impl PyObj {
    fn with<T>(&self, f: impl FnOnce(Object<'_>) -> Result<T, ProgramError>) -> PyResult<T> {
        let prog = self.session.kernel().map_err(cmd_err)?;
        f(Object::from_handle(prog, self.handle)).map_err(py_err)
    }

    fn derive(
        &self,
        f: impl FnOnce(Object<'_>) -> Result<Object<'_>, ProgramError>,
    ) -> PyResult<PyObj> {
        let handle = self.with(|o| f(o).map(|n| n.handle()))?;
        Ok(PyObj {
            session: self.session.clone(),
            handle,
        })
    }
}

#[pymethods]
impl PyObj {
    /// A member (`task.comm`, `task.se`).
    fn __getattr__(&self, name: &str) -> PyResult<PyObj> {
        if name.ends_with('_') || name.starts_with("__") {
            return Err(PyAttributeError::new_err(name.to_string()));
        }
        self.derive(|o| o.member(name))
            .map_err(|e| PyAttributeError::new_err(e.to_string()))
    }

    /// A member by name or path (`"se.sum_exec_runtime"`).
    fn member_(&self, name: &str) -> PyResult<PyObj> {
        self.derive(|o| o.member(name))
    }

    /// Element `i` of an array, or of what a pointer points to.
    fn __getitem__(&self, i: i64) -> PyResult<PyObj> {
        let i = u64::try_from(i).map_err(|_| PyIndexError::new_err("negative index"))?;
        self.derive(|o| o.index(i))
    }

    /// What a pointer points to.
    fn deref_(&self) -> PyResult<PyObj> {
        self.derive(|o| o.deref())
    }

    /// The value as a Python int (signed for signed integer types).
    fn value_(&self) -> PyResult<i128> {
        self.with(|o| {
            let (_, t) = o.prog().types().resolve(o.type_id())?;
            let signed = matches!(
                t.kind,
                TypeKind::Int { signed: true, .. } | TypeKind::Enum { signed: true, .. }
            );
            if signed {
                o.read_i64().map(i128::from)
            } else {
                o.read_u64().map(i128::from)
            }
        })
    }

    /// A C string: a `char` array up to its NUL, or what a `char *` points to.
    fn string_(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        let s = self.with(|o| o.read_string(1 << 16))?;
        Ok(PyBytes::new(py, s.as_bytes()).unbind())
    }

    /// The address of an object in memory, `None` for a computed value.
    #[getter]
    fn address_(&self) -> PyResult<Option<u64>> {
        self.with(|o| Ok(o.address()))
    }

    /// The type's name in C.
    #[getter]
    fn type_(&self) -> PyResult<String> {
        self.with(|o| Ok(o.type_name()))
    }

    /// The struct of type `type_name` holding this object as `member` (`container_of`).
    fn container_of_(&self, type_name: &str, member: &str) -> PyResult<PyObj> {
        self.derive(|o| o.container_of(type_name, member))
    }

    /// The value as gdb (and crash's `p`/`struct`) prints it; `hex=True` for integers in hex.
    #[pyo3(signature = (hex = false))]
    fn format_(&self, hex: bool) -> PyResult<String> {
        self.with(|o| {
            let opts = kdive_program::print::PrintOptions {
                hex,
                ..Default::default()
            };
            kdive_program::print::format_value(&o, opts, 0)
        })
    }

    fn __str__(&self) -> PyResult<String> {
        self.format_(false)
    }

    fn __int__(&self) -> PyResult<i128> {
        self.value_()
    }

    fn __index__(&self) -> PyResult<i128> {
        self.value_()
    }

    fn __bool__(&self) -> PyResult<bool> {
        self.with(|o| o.read_u64().map(|v| v != 0))
    }

    fn __repr__(&self) -> String {
        self.with(|o| {
            Ok(match o.address() {
                Some(a) => format!("Object({}, address={a:#x})", o.type_name()),
                None => format!(
                    "Object({}, value={:#x})",
                    o.type_name(),
                    o.read_u64().unwrap_or(0)
                ),
            })
        })
        .unwrap_or_else(|e| format!("Object(<{e}>)"))
    }
}

/// Opens a dump (and optionally the kernel's vmlinux for source lines) as a `Program`.
#[pyfunction]
#[pyo3(signature = (path, vmlinux = None))]
fn open(path: PathBuf, vmlinux: Option<PathBuf>) -> PyResult<PyProgram> {
    let files: Vec<PathBuf> = std::iter::once(path).chain(vmlinux).collect();
    let s = Session::open_with(&files, &kdive_linux::OpenOptions::default())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    if let Some(why) = s.minimal_reason() {
        return Err(PyValueError::new_err(format!(
            "no kernel view of this dump: {why}"
        )));
    }
    Ok(PyProgram {
        session: Arc::new(s),
    })
}

/// Every task of `prog` (drgn's `for_each_task`).
#[pyfunction]
fn for_each_task(prog: &PyProgram) -> PyResult<Vec<PyObj>> {
    for_each_task_of(prog)
}

/// The task with PID `pid` (drgn's `find_task`), or `None`.
#[pyfunction]
fn find_task(prog: &PyProgram, pid: i32) -> PyResult<Option<PyObj>> {
    let tasks = prog.session.tasks().map_err(cmd_err)?;
    let Some(t) = tasks.infos.iter().find(|t| t.pid == pid) else {
        return Ok(None);
    };
    prog.object("struct task_struct", t.addr).map(Some)
}

#[pymodule]
fn kdive(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyProgram>()?;
    m.add_class::<PyObj>()?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add_function(wrap_pyfunction!(for_each_task, m)?)?;
    m.add_function(wrap_pyfunction!(find_task, m)?)?;
    m.add("FaultError", m.py().get_type::<FaultError>())?;
    Ok(())
}
