//! `Program` in drgn's shape: `prog['name']`, `variable/function/type/symbol`, memory reads,
//! threads and stack traces, and crash's commands (`command`, `json`).

use std::sync::Arc;

use kdive_program::Object;
use pyo3::exceptions::{PyKeyError, PyLookupError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{cmd_err, fault_error, py_err};
use crate::object::{type_arg, PyObj};
use crate::stack::{stack_trace_of, PyStackTrace, PyThread};
use crate::state::State;
use crate::types::PyType;

/// Largest read `Program.read` does at once.
const MAX_READ: usize = 1 << 30;

/// A kernel in a dump.
#[pyclass(name = "Program", module = "kdive", unsendable)]
pub struct PyProgram {
    pub st: Arc<State>,
}

/// A symbol: name, address, size, binding and kind (drgn's `Symbol`).
#[pyclass(name = "Symbol", module = "kdive")]
pub struct PySymbol {
    #[pyo3(get)]
    pub name: String,
    #[pyo3(get)]
    pub address: u64,
    #[pyo3(get)]
    pub size: u64,
    /// The module holding it, `None` for vmlinux.
    #[pyo3(get)]
    pub module: Option<String>,
    /// nm's type letter (`T`, `t`, `D`, ...).
    #[pyo3(get)]
    pub kind_letter: String,
    /// drgn's `SymbolBinding` number: `STB_*` + 1, 0 unknown.
    binding_number: u8,
    /// drgn's `SymbolKind` number: `STT_*`.
    kind_number: u8,
}

/// `STT_NOTYPE`, `STT_OBJECT`, `STT_FUNC`.
const STT_NOTYPE: u8 = 0;
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;

#[pymethods]
impl PySymbol {
    /// Global, weak, local... (`kdive.SymbolBinding`).
    #[getter]
    fn binding(&self, py: Python<'_>) -> PyResult<PyObject> {
        enum_member(py, "SymbolBinding", self.binding_number)
    }

    /// Function, object... (`kdive.SymbolKind`).
    #[getter]
    fn kind(&self, py: Python<'_>) -> PyResult<PyObject> {
        enum_member(py, "SymbolKind", self.kind_number)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Symbol(name={}, address={:#x}, size={:#x}, binding={}, kind={})",
            self.name.clone().into_pyobject(py)?.repr()?,
            self.address,
            self.size,
            self.binding(py)?.bind(py).repr()?,
            self.kind(py)?.bind(py).repr()?,
        ))
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .downcast::<PySymbol>()
            .map(|o| {
                let o = o.borrow();
                o.name == self.name && o.address == self.address
            })
            .unwrap_or(false)
    }
}

/// The symbol naming `addr` (see [`PyProgram::symbol`]).
pub fn symbol_at(prog: &kdive_program::Program, addr: u64) -> Option<PySymbol> {
    let table = prog.debug().map(|d| d.symbol_table());
    if let Some(e) = table.and_then(|t| t.by_addr(addr)) {
        return Some(PySymbol::from_table(e));
    }
    prog.symbols()
        .by_addr(addr)
        .filter(|(s, _)| table.is_none() || s.module.is_some())
        .map(|(s, _)| PySymbol::from(&s))
}

/// Member `n` of the Python enum `kdive.NAME`.
fn enum_member(py: Python<'_>, name: &str, n: u8) -> PyResult<PyObject> {
    Ok(py.import("kdive")?.getattr(name)?.call1((n,))?.unbind())
}

impl PySymbol {
    /// A symbol of the kernel's or a module's symbol list: its binding and kind from its nm
    /// letter (upper case global, `W`/`V` weak; `T` code, `D`/`B`/`R` data).
    pub fn from(s: &kdive_debuginfo::Symbol) -> PySymbol {
        let binding = match s.kind {
            'w' | 'W' | 'v' | 'V' => 3,
            c if c.is_ascii_uppercase() => 2,
            _ => 1,
        };
        let kind = match s.kind.to_ascii_lowercase() {
            't' | 'w' => STT_FUNC,
            'd' | 'b' | 'r' | 'v' => STT_OBJECT,
            _ => STT_NOTYPE,
        };
        PySymbol {
            name: s.name.to_string(),
            address: s.addr,
            size: s.size.unwrap_or(0),
            module: s.module.as_deref().map(str::to_string),
            kind_letter: s.kind.to_string(),
            binding_number: binding,
            kind_number: kind,
        }
    }

    /// A symbol of the vmlinux symbol table, with its nm letter from its binding and kind.
    fn from_table(e: &kdive_program::symtab::TableEntry) -> PySymbol {
        let global = matches!(e.binding, 1 | 10);
        let letter = match (e.binding, e.kind) {
            (2, STT_OBJECT) => 'V',
            (2, _) => 'W',
            (_, STT_FUNC) => 'T',
            (_, STT_OBJECT) => 'D',
            _ => 'N',
        };
        PySymbol {
            name: e.name.clone(),
            address: e.addr,
            size: e.size,
            module: None,
            kind_letter: if global || e.binding == 2 {
                letter.to_string()
            } else {
                letter.to_ascii_lowercase().to_string()
            },
            binding_number: if e.binding <= 2 || e.binding == 10 {
                e.binding + 1
            } else {
                0
            },
            kind_number: e.kind,
        }
    }
}

/// A `char` array value that is not in the kernel's memory: drgn's `VMCOREINFO` object, the
/// dump's own VMCOREINFO note (the kernel's copy may be filtered out of the dump).
#[pyclass(name = "ByteArrayValue", module = "kdive")]
pub struct PyByteArray {
    data: Vec<u8>,
}

#[pymethods]
impl PyByteArray {
    /// The bytes up to the first NUL.
    fn string_(&self, py: Python<'_>) -> Py<PyBytes> {
        let end = self
            .data
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(self.data.len());
        PyBytes::new(py, &self.data[..end]).unbind()
    }
    fn to_bytes_(&self, py: Python<'_>) -> Py<PyBytes> {
        PyBytes::new(py, &self.data).unbind()
    }
    fn value_(&self) -> Vec<u8> {
        self.data.clone()
    }
    fn __len__(&self) -> usize {
        self.data.len()
    }
    fn __repr__(&self) -> String {
        format!("Object(prog, 'char [{}]', value=...)", self.data.len())
    }
}

impl PyProgram {
    /// drgn's `VMCOREINFO`: the dump's note as `KEY=VALUE` lines.
    fn vmcoreinfo(&self) -> PyResult<PyByteArray> {
        let dump = self.st.session.dump();
        let info = dump
            .vmcoreinfo()
            .ok_or_else(|| PyKeyError::new_err("the dump has no VMCOREINFO"))?;
        let mut data = Vec::new();
        for (k, v) in info.entries() {
            data.extend_from_slice(format!("{k}={v}\n").as_bytes());
        }
        Ok(PyByteArray { data })
    }

    pub fn prog(&self) -> PyResult<&kdive_program::Program> {
        self.st.prog()
    }

    /// The objects drgn adds for a Linux kernel that are no variable: `PAGE_SHIFT`,
    /// `PAGE_SIZE`, `PAGE_MASK`, `THREAD_SIZE` and `vmemmap` (from the dump's page
    /// tables and VMCOREINFO); `None` for any other name, or one this dump cannot answer.
    fn linux_object(&self, name: &str) -> PyResult<Option<PyObj>> {
        let prog = self.prog()?;
        let Some(kmem) = prog.kernel_memory() else {
            return Ok(None);
        };
        let page = kmem.page_size();
        let (ty, v) = match name {
            "PAGE_SHIFT" => ("int", u64::from(page.trailing_zeros())),
            "PAGE_SIZE" => ("unsigned long", page),
            "PAGE_MASK" => ("unsigned long", !(page - 1)),
            "THREAD_SIZE" => match kdive_linux::machine::thread_size(prog) {
                Ok(v) => ("unsigned long", v),
                Err(_) => return Ok(None),
            },
            // VMCOREINFO's `SYMBOL(vmemmap)` when it has one, else x86_64's KASLR variable
            "vmemmap" => match kmem.vmemmap_base().or_else(|| {
                prog.symbol_address("vmemmap_base")
                    .and_then(|a| prog.read_u64(a))
                    .ok()
            }) {
                Some(v) => ("struct page *", v),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let ty = prog.type_(ty).map_err(py_err)?;
        Ok(Some(self.wrap(Object::value(prog, ty, v))))
    }

    fn wrap(&self, o: Object<'_>) -> PyObj {
        PyObj::new(&self.st, o)
    }

    fn read_n<const N: usize>(&self, address: u64, physical: bool) -> PyResult<[u8; N]> {
        let mut b = [0u8; N];
        self.read_into(address, &mut b, physical)?;
        Ok(b)
    }

    fn read_into(&self, address: u64, buf: &mut [u8], physical: bool) -> PyResult<()> {
        if physical {
            let (n, e) = self.st.session.dump().read_phys_partial(address, buf);
            if n < buf.len() {
                let at = address + n as u64;
                let why = e
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "not in the dump".into());
                return Err(fault_error(
                    format!("physical address {at:#x}: {why}"),
                    Some(at),
                ));
            }
            return Ok(());
        }
        self.prog()?.read(address, buf).map_err(py_err)
    }
}

#[pymethods]
impl PyProgram {
    /// The global variable, function or constant `name` (drgn's `prog[name]`).
    fn __getitem__(&self, py: Python<'_>, name: &str) -> PyResult<PyObject> {
        if name == "VMCOREINFO" {
            return Ok(Py::new(py, self.vmcoreinfo()?)?.into_any());
        }
        let o = self
            .object(name, None)
            .map_err(|e| PyKeyError::new_err(e.value(py).to_string()))?;
        Ok(Py::new(py, o)?.into_any())
    }

    fn __contains__(&self, name: &str) -> bool {
        self.object(name, None).is_ok()
    }

    /// The variable, function or constant `name`; with `address`, the object of type `name` at that
    /// address (kdive's older form, kept).
    #[pyo3(signature = (name, address = None))]
    fn object(&self, name: &str, address: Option<u64>) -> PyResult<PyObj> {
        let prog = self.prog()?;
        if let Some(a) = address {
            return Ok(self.wrap(prog.object(name, a).map_err(py_err)?));
        }
        match prog.global(name) {
            Ok(o) => return Ok(self.wrap(o)),
            Err(e) if e.kind() != kdive_program::ErrorKind::Lookup => return Err(py_err(e)),
            Err(_) => {}
        }
        if let Some(o) = self.linux_object(name)? {
            return Ok(o);
        }
        match prog.function(name) {
            Ok(o) => Ok(self.wrap(o)),
            Err(e) => self.constant(name).map_err(|_| py_err(e)),
        }
    }

    /// The global variable `name`, typed by BTF or DWARF. A symbol no source types is a
    /// `LookupError` saying so: `Object(prog, TYPE, address=prog.symbol(name).address)` reads it.
    fn variable(&self, name: &str) -> PyResult<PyObj> {
        self.prog()?
            .global(name)
            .map(|o| self.wrap(o))
            .map_err(py_err)
    }

    /// The function `name`, typed by BTF's `FUNC` prototype or DWARF.
    fn function(&self, name: &str) -> PyResult<PyObj> {
        self.prog()?
            .function(name)
            .map(|o| self.wrap(o))
            .map_err(py_err)
    }

    /// The enumerator `name` (searched in the enum types the program knows).
    fn constant(&self, name: &str) -> PyResult<PyObj> {
        let prog = self.prog()?;
        let (ty, v) = prog
            .types()
            .find_enumerator(name)
            .ok_or_else(|| PyLookupError::new_err(format!("could not find constant {name:?}")))?;
        Ok(self.wrap(Object::value(prog, ty, v as u64)))
    }

    /// The type `name` (`"struct task_struct"`, `"unsigned long *"`); a `Type` is returned as is.
    #[pyo3(name = "type")]
    fn type_(&self, name: &Bound<'_, PyAny>) -> PyResult<PyType> {
        Ok(PyType::new(&self.st, type_arg(&self.st, name)?))
    }

    /// The pointer type to `type`.
    fn pointer_type(&self, r#type: &Bound<'_, PyAny>) -> PyResult<PyType> {
        let t = type_arg(&self.st, r#type)?;
        Ok(PyType::new(&self.st, self.prog()?.types().pointer_to(t)))
    }

    /// The array type of `length` elements of `type`.
    fn array_type(&self, r#type: &Bound<'_, PyAny>, length: u64) -> PyResult<PyType> {
        let t = type_arg(&self.st, r#type)?;
        Ok(PyType::new(
            &self.st,
            self.prog()?.types().array_of(t, length),
        ))
    }

    /// The symbol named `address` (a `str`) or containing it (an `int`); `LookupError` if none.
    /// With the vmlinux, its symbol table answers first, as drgn's does: an address in a
    /// sized symbol names that symbol rather than a sizeless alias (`jiffies_64`, not the
    /// linker's `jiffies`), and an address the table leaves unnamed is a module's or none.
    fn symbol(&self, address: &Bound<'_, PyAny>) -> PyResult<PySymbol> {
        let prog = self.prog()?;
        let table = prog.debug().map(|d| d.symbol_table());
        if let Ok(name) = address.extract::<String>() {
            if let Some(e) = table.and_then(|t| t.by_name(&name)) {
                return Ok(PySymbol::from_table(e));
            }
            return prog
                .symbols()
                .by_name(&name)
                .map(|s| PySymbol::from(&s))
                .ok_or_else(|| PyLookupError::new_err(format!("could not find symbol {name:?}")));
        }
        let a: u64 = if let Ok(o) = address.downcast::<PyObj>() {
            o.borrow().int_value()? as u64
        } else {
            address.extract()?
        };
        symbol_at(prog, a).ok_or_else(|| {
            PyLookupError::new_err(format!("could not find symbol containing {a:#x}"))
        })
    }

    /// `size` bytes at `address` (virtual, or physical with `physical=True`).
    #[pyo3(signature = (address, size, physical = false))]
    fn read(
        &self,
        py: Python<'_>,
        address: u64,
        size: usize,
        physical: bool,
    ) -> PyResult<Py<PyBytes>> {
        if size > MAX_READ {
            return Err(PyValueError::new_err("read: more than 1 GiB"));
        }
        let mut buf = vec![0u8; size];
        self.st.fresh();
        self.read_into(address, &mut buf, physical)?;
        Ok(PyBytes::new(py, &buf).unbind())
    }

    #[pyo3(signature = (address, physical = false))]
    fn read_u8(&self, address: u64, physical: bool) -> PyResult<u8> {
        Ok(u8::from_le_bytes(self.read_n::<1>(address, physical)?))
    }

    #[pyo3(signature = (address, physical = false))]
    fn read_u16(&self, address: u64, physical: bool) -> PyResult<u16> {
        Ok(u16::from_le_bytes(self.read_n::<2>(address, physical)?))
    }

    #[pyo3(signature = (address, physical = false))]
    fn read_u32(&self, address: u64, physical: bool) -> PyResult<u32> {
        Ok(u32::from_le_bytes(self.read_n::<4>(address, physical)?))
    }

    #[pyo3(signature = (address, physical = false))]
    fn read_u64(&self, address: u64, physical: bool) -> PyResult<u64> {
        Ok(u64::from_le_bytes(self.read_n::<8>(address, physical)?))
    }

    /// A word of the program's size (8 bytes on the 64-bit kernels kdive reads).
    #[pyo3(signature = (address, physical = false))]
    fn read_word(&self, address: u64, physical: bool) -> PyResult<u64> {
        self.read_u64(address, physical)
    }

    /// Every thread (task) of the kernel, as drgn lists them (the idle tasks left out).
    fn threads(&self) -> PyResult<Vec<PyThread>> {
        let list = self.st.task_list()?;
        list.tasks
            .iter()
            .filter(|t| !is_idle(list, **t))
            .map(|&t| PyThread::new(&self.st, t))
            .collect()
    }

    /// The thread with PID `tid`; `LookupError` if there is none.
    fn thread(&self, tid: i64) -> PyResult<PyThread> {
        find_task_addr(&self.st, tid)?
            .map(|a| PyThread::new(&self.st, a))
            .transpose()?
            .ok_or_else(|| PyLookupError::new_err(format!("thread with ID {tid} not found")))
    }

    /// The thread that caused the crash: the task running on the CPU that panicked.
    fn crashed_thread(&self) -> PyResult<PyThread> {
        let bt = self.st.backtraces()?;
        let cpu = bt.panic_cpu.ok_or_else(|| {
            PyValueError::new_err(
                "crashed thread is only defined for a dump of a kernel that panicked",
            )
        })?;
        let task = *bt
            .active
            .get(&cpu)
            .ok_or_else(|| PyLookupError::new_err(format!("no task known on panic CPU {cpu}")))?;
        PyThread::new(&self.st, task)
    }

    /// The stack trace of a task (`struct task_struct *` object) or thread ID.
    fn stack_trace(&self, thread: &Bound<'_, PyAny>) -> PyResult<PyStackTrace> {
        let task = if let Ok(o) = thread.downcast::<PyObj>() {
            let o = o.borrow();
            match o.address_()? {
                // a `struct task_struct` in memory, or a pointer to one
                Some(a) if !o.is_pointer()? => a,
                _ => o.int_value()? as u64,
            }
        } else {
            let tid: i64 = thread.extract()?;
            find_task_addr(&self.st, tid)?
                .ok_or_else(|| PyLookupError::new_err(format!("thread with ID {tid} not found")))?
        };
        stack_trace_of(&self.st, task)
    }

    /// drgn's `ProgramFlags`: a Linux kernel.
    #[getter]
    fn flags(&self, py: Python<'_>) -> PyResult<PyObject> {
        let m = py.import("kdive")?;
        Ok(m.getattr("ProgramFlags")?
            .getattr("IS_LINUX_KERNEL")?
            .unbind())
    }

    /// drgn's `Platform` of the dump (architecture and flags).
    #[getter]
    fn platform(&self, py: Python<'_>) -> PyResult<PyObject> {
        let m = py.import("kdive")?;
        let arch = format!("{:?}", self.st.session.dump().meta().arch).to_uppercase();
        Ok(m.getattr("_platform")?.call1((arch,))?.unbind())
    }

    /// Every task (threads included), as `struct task_struct *` objects (kdive's older name).
    fn for_each_task(&self) -> PyResult<Vec<PyObj>> {
        tasks_of(&self.st)
    }

    /// A crash command's text output (`"bt -a"`, `"log"`).
    fn command(&self, line: &str) -> PyResult<String> {
        Ok(kdive_commands::run(&self.st.session, line)
            .map_err(cmd_err)?
            .text())
    }

    /// A crash command's structured result, as Python dicts and lists.
    fn json(&self, py: Python<'_>, line: &str) -> PyResult<PyObject> {
        let v = kdive_commands::run(&self.st.session, line)
            .map_err(cmd_err)?
            .json();
        let json = py.import("json")?;
        Ok(json.call_method1("loads", (v.to_string(),))?.unbind())
    }

    /// A cache helpers may keep per-program data in (drgn's `prog.cache`).
    #[getter]
    fn cache(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(self.st.cache(py).into_any())
    }

    fn __repr__(&self) -> String {
        let paths: Vec<String> = self
            .st
            .session
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!("kdive.Program({})", paths.join(", "))
    }
}

/// An idle task: drgn lists tasks by PID, and the idle tasks (PID 0) have none.
fn is_idle(list: &kdive_linux::task::TaskList, t: u64) -> bool {
    list.idle.values().any(|&idle| idle == t)
}

/// Every task as drgn's `for_each_task` gives them: `struct task_struct *` values.
pub fn tasks_of(st: &Arc<State>) -> PyResult<Vec<PyObj>> {
    let list = st.task_list()?;
    let prog = st.prog()?;
    let ty = prog.type_("struct task_struct *").map_err(py_err)?;
    Ok(list
        .tasks
        .iter()
        .filter(|t| !is_idle(list, **t))
        .map(|&t| PyObj::new(st, Object::value(prog, ty, t)))
        .collect())
}

/// The task with PID `pid` (0: the first CPU's idle task).
pub fn find_task_addr(st: &Arc<State>, pid: i64) -> PyResult<Option<u64>> {
    let list = st.task_list()?;
    let prog = st.prog()?;
    if pid == 0 {
        return Ok(list.idle.values().next().copied());
    }
    let ty = prog.type_("struct task_struct").map_err(py_err)?;
    for &t in &list.tasks {
        let o = Object::reference(prog, ty, t);
        if let Ok(p) = o.member("pid").and_then(|p| p.read_i64()) {
            if p == pid {
                return Ok(Some(t));
            }
        }
    }
    Ok(None)
}

/// Opens a dump (and optionally the kernel's vmlinux and module debug files) as a `Program`;
/// without a path, or with `/proc/kcore`, the running kernel, whose memory each read sees as
/// it is then (with `snapshot=True`, pages once read are kept).
#[pyfunction]
#[pyo3(signature = (path = None, vmlinux = None, *extra, snapshot = false))]
pub fn open(
    path: Option<std::path::PathBuf>,
    vmlinux: Option<std::path::PathBuf>,
    extra: Vec<std::path::PathBuf>,
    snapshot: bool,
) -> PyResult<PyProgram> {
    let path = path.unwrap_or_else(|| "/proc/kcore".into());
    let files: Vec<std::path::PathBuf> =
        std::iter::once(path).chain(vmlinux).chain(extra).collect();
    let s = kdive_commands::Session::open_with(&files, &kdive_linux::OpenOptions::default())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    if let Some(why) = s.minimal_reason() {
        return Err(PyValueError::new_err(format!(
            "no kernel view of this dump: {why}"
        )));
    }
    let live = s.is_live() && !snapshot;
    Ok(PyProgram {
        st: Arc::new(State::new(s).live(live)),
    })
}
