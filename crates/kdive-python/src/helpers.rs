//! The library's kernel walks for the Python helpers (`kdive.helpers.linux.*`): each returns
//! what it found and, for a walk that stopped early, the error to raise after yielding it, as
//! drgn's generators do.

use std::sync::Arc;

use kdive_linux::list::ListWalk;
use kdive_program::object::offset_of;
use kdive_program::{Object, ProgramError};
use pyo3::prelude::*;

use crate::errors::py_err;
use crate::object::PyObj;
use crate::program::{tasks_of, PyProgram};
use crate::state::State;

/// A walk's result: addresses (or other values) found, and the error that stopped it.
type Walked<T> = (Vec<T>, Option<PyErr>);

fn addr_of(o: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(p) = o.downcast::<PyObj>() {
        let p = p.borrow();
        // an object in memory stands for its address, a pointer for its value
        return match (p.is_pointer()?, p.obj()?.address()) {
            (false, Some(a)) => Ok(a),
            _ => Ok(p.int_value()? as u64),
        };
    }
    o.extract()
}

fn state(prog: &Bound<'_, PyAny>) -> PyResult<Arc<State>> {
    if let Ok(p) = prog.downcast::<PyProgram>() {
        return Ok(p.borrow().st.clone());
    }
    if let Ok(o) = prog.downcast::<PyObj>() {
        return Ok(o.borrow().st.clone());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "expected a Program or an Object",
    ))
}

fn split<T>(r: (Vec<T>, Option<ProgramError>)) -> Walked<T> {
    (r.0, r.1.map(py_err))
}

/// The nodes of the `list_head` list at `head` (its address or object), head excluded.
#[pyfunction]
#[pyo3(signature = (head, reverse = false))]
pub fn _list_nodes(head: &Bound<'_, PyAny>, reverse: bool) -> PyResult<Walked<u64>> {
    let st = state(head)?;
    let prog = st.prog()?;
    let dir = if reverse {
        kdive_linux::list::Direction::Prev
    } else {
        kdive_linux::list::Direction::Next
    };
    let walk = ListWalk::with_direction(prog, addr_of(head)?, dir, st.session.walk_limit)
        .map_err(py_err)?;
    let mut out = Vec::new();
    for n in walk {
        match n {
            Ok(a) => out.push(a),
            Err(e) => return Ok((out, Some(py_err(e)))),
        }
    }
    Ok((out, None))
}

/// The nodes of a NULL-terminated `hlist` starting at the node address `first`.
#[pyfunction]
pub fn _hlist_nodes(prog: &Bound<'_, PyAny>, first: u64) -> PyResult<Walked<u64>> {
    let st = state(prog)?;
    let p = st.prog()?;
    let ty = p.type_("struct hlist_node").map_err(py_err)?;
    let next = offset_of(p, ty, "next").map_err(py_err)?;
    Ok(split(kdive_linux::list::chain(
        p,
        first,
        next,
        st.session.walk_limit,
        "hlist",
    )))
}

/// The `rb_node`s of the tree whose root node is at `root`, in order.
#[pyfunction]
pub fn _rb_nodes(prog: &Bound<'_, PyAny>, root: u64) -> PyResult<Walked<u64>> {
    let st = state(prog)?;
    let p = st.prog()?;
    Ok(split(
        kdive_linux::rbtree::inorder(p, root, st.session.walk_limit).map_err(py_err)?,
    ))
}

/// `(index, entry)` of every entry of the `struct xarray` at `xa`, in index order.
#[pyfunction]
pub fn _xa_entries(prog: &Bound<'_, PyAny>, xa: u64) -> PyResult<Walked<(u64, u64)>> {
    let st = state(prog)?;
    let p = st.prog()?;
    let w = kdive_linux::xarray::xa_entries(p, xa, st.session.walk_limit).map_err(py_err)?;
    Ok((
        w.entries.iter().map(|e| (e.index, e.value)).collect(),
        w.errors.into_iter().next().map(py_err),
    ))
}

/// `(first, last, entry)` of every entry of the `struct maple_tree` at `mt`, in index order.
#[pyfunction]
pub fn _mt_entries(prog: &Bound<'_, PyAny>, mt: u64) -> PyResult<Walked<(u64, u64, u64)>> {
    let st = state(prog)?;
    let p = st.prog()?;
    let (found, err) = kdive_linux::maple::entries(p, mt, st.session.walk_limit).map_err(py_err)?;
    Ok(split((
        found
            .into_iter()
            .map(|e| (e.first, e.last, e.value))
            .collect(),
        err,
    )))
}

/// `SECTION_SIZE_BITS` and `(number, address, section_mem_map)` of each present section.
type SectionTable = (u32, Vec<(u64, u64, u64)>);

/// SPARSEMEM's table: `SECTION_SIZE_BITS` and `(number, address, section_mem_map)` of each
/// present `struct mem_section`, in number order.
#[pyfunction]
pub fn _mem_sections(prog: &Bound<'_, PyAny>) -> PyResult<SectionTable> {
    let st = state(prog)?;
    let p = st.prog()?;
    let page_size = p.kernel_memory().map(|k| k.page_size()).ok_or_else(|| {
        py_err(ProgramError::Unsupported(
            "memory sections need the dump's page tables".into(),
        ))
    })?;
    let t = kdive_linux::sparse::MemSections::new(p, page_size).map_err(py_err)?;
    let found = t.sections.iter().map(|s| (s.nr, s.addr, s.raw)).collect();
    Ok((t.section_size_bits, found))
}

/// `__per_cpu_offset[cpu]`.
#[pyfunction]
pub fn _per_cpu_offset(prog: &Bound<'_, PyAny>, cpu: u32) -> PyResult<u64> {
    let st = state(prog)?;
    kdive_linux::percpu::per_cpu_offset(st.prog()?, cpu).map_err(py_err)
}

/// The CPUs of the mask `which` (`online`, `possible`, `present`, `active`).
#[pyfunction]
pub fn _cpus(prog: &Bound<'_, PyAny>, which: &str) -> PyResult<Vec<u32>> {
    let st = state(prog)?;
    let p = st.prog()?;
    let n = kdive_linux::percpu::nr_cpu_ids(p).map_err(py_err)?;
    kdive_linux::percpu::cpumask(p, &format!("__cpu_{which}_mask"), n).map_err(py_err)
}

/// Every task, as `struct task_struct *` objects.
#[pyfunction]
pub fn _tasks(prog: &Bound<'_, PyAny>) -> PyResult<Vec<PyObj>> {
    tasks_of(&state(prog)?)
}

/// The task with PID `pid`, or `None`.
#[pyfunction]
pub fn _find_task(prog: &Bound<'_, PyAny>, pid: i64) -> PyResult<Option<PyObj>> {
    let st = state(prog)?;
    let p = st.prog()?;
    let ty = p.type_("struct task_struct *").map_err(py_err)?;
    Ok(crate::program::find_task_addr(&st, pid)?.map(|a| PyObj::new(&st, Object::value(p, ty, a))))
}

/// The one-letter state of a task (`R`, `S`, `D`, ...), from `__state` (or `state`) and
/// `exit_state`.
#[pyfunction]
pub fn _task_state_char(task: &Bound<'_, PyAny>) -> PyResult<char> {
    let st = state(task)?;
    let p = st.prog()?;
    let t = p
        .object("struct task_struct", addr_of(task)?)
        .map_err(py_err)?;
    let state = t
        .member("__state")
        .or_else(|_| t.member("state"))
        .and_then(|s| s.read_u64())
        .map_err(py_err)?;
    let exit = t
        .member("exit_state")
        .and_then(|s| s.read_u64())
        .map_err(py_err)?;
    Ok(kdive_linux::task::state_char(state, exit))
}

/// The path of `dentry` through the mount `vfsmnt` (the kernel's `d_path`).
#[pyfunction]
pub fn _d_path(prog: &Bound<'_, PyAny>, vfsmnt: u64, dentry: u64) -> PyResult<String> {
    let st = state(prog)?;
    kdive_linux::fs::d_path(st.prog()?, vfsmnt, dentry).map_err(py_err)
}

/// The mounts of the initial namespace: `(struct mount address, devname, dirname, fstype)`.
#[pyfunction]
pub fn _mounts(prog: &Bound<'_, PyAny>) -> PyResult<Vec<(u64, String, String, String)>> {
    let st = state(prog)?;
    let (m, _) = kdive_linux::fs::mounts(st.prog()?, st.session.walk_limit).map_err(py_err)?;
    Ok(m.into_iter()
        .map(|m| (m.addr, m.devname, m.dirname, m.fstype))
        .collect())
}

/// The loaded modules: `(struct module address, name)`, in the kernel's list order.
#[pyfunction]
pub fn _modules(prog: &Bound<'_, PyAny>) -> PyResult<Vec<(u64, String)>> {
    let st = state(prog)?;
    let (m, _) = kdive_linux::module::modules(st.prog()?, st.session.walk_limit).map_err(py_err)?;
    Ok(m.into_iter().map(|m| (m.addr, m.name)).collect())
}

/// The kernel log records: `(seq, ts_nsec, level, facility, caller_id, text, dict)`.
#[allow(clippy::type_complexity)]
#[pyfunction]
pub fn _printk_records(
    prog: &Bound<'_, PyAny>,
) -> PyResult<Vec<(u64, u64, u8, u8, Option<u32>, String, Vec<(String, String)>)>> {
    let st = state(prog)?;
    let log = st.session.log().map_err(crate::errors::cmd_err)?;
    Ok(log
        .records
        .iter()
        .map(|r| {
            (
                r.seq,
                r.ts_nsec,
                r.level,
                r.facility,
                r.caller_id,
                r.text.clone(),
                r.dict.clone(),
            )
        })
        .collect())
}

/// The run-queue length of each online CPU: `(cpu, nr_running)`.
#[pyfunction]
pub fn _runqueue(prog: &Bound<'_, PyAny>, cpu: u32) -> PyResult<PyObj> {
    let st = state(prog)?;
    let o = kdive_linux::task::runqueue(st.prog()?, cpu).map_err(py_err)?;
    Ok(PyObj::new(&st, o))
}

/// Most bytes `_access_remote_vm` reads at once.
const MAX_USER_READ: usize = 1 << 30;

/// `size` bytes at `address` in the user memory of the `mm_struct` `mm` (its address or
/// pointer), through its page tables (drgn's `access_remote_vm`).
#[pyfunction]
pub fn _access_remote_vm(
    py: Python<'_>,
    mm: &Bound<'_, PyAny>,
    address: u64,
    size: usize,
) -> PyResult<Py<pyo3::types::PyBytes>> {
    let st = state(mm)?;
    if size > MAX_USER_READ {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "access_remote_vm: more than 1 GiB",
        ));
    }
    let space = kdive_linux::mm::address_space(st.prog()?, addr_of(mm)?).map_err(py_err)?;
    let mut buf = vec![0u8; size];
    kdive_memory::ReadVirt::read_virt(&space, address, &mut buf).map_err(|e| py_err(e.into()))?;
    Ok(pyo3::types::PyBytes::new(py, &buf).unbind())
}

/// The physical address `address` maps to through the page tables of the `mm_struct` `mm` (its
/// address or pointer): drgn's `follow_phys`; `FaultError` where nothing maps it.
#[pyfunction]
pub fn _follow_phys(mm: &Bound<'_, PyAny>, address: u64) -> PyResult<u64> {
    let st = state(mm)?;
    let space = kdive_linux::mm::address_space(st.prog()?, addr_of(mm)?).map_err(py_err)?;
    let m = space.mapping(address).map_err(|e| py_err(e.into()))?;
    Ok(m.paddr)
}

/// The kernel virtual address of physical address 0 in the direct map (`phys_to_virt(0)`).
#[pyfunction]
pub fn _direct_map_base(prog: &Bound<'_, PyAny>) -> PyResult<u64> {
    Ok(kdive_linux::mm::direct_map_base(state(prog)?.prog()?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_direct_map_base, m)?)?;
    m.add_function(wrap_pyfunction!(_access_remote_vm, m)?)?;
    m.add_function(wrap_pyfunction!(_follow_phys, m)?)?;
    m.add_function(wrap_pyfunction!(_list_nodes, m)?)?;
    m.add_function(wrap_pyfunction!(_hlist_nodes, m)?)?;
    m.add_function(wrap_pyfunction!(_rb_nodes, m)?)?;
    m.add_function(wrap_pyfunction!(_xa_entries, m)?)?;
    m.add_function(wrap_pyfunction!(_mem_sections, m)?)?;
    m.add_function(wrap_pyfunction!(_mt_entries, m)?)?;
    m.add_function(wrap_pyfunction!(_per_cpu_offset, m)?)?;
    m.add_function(wrap_pyfunction!(_cpus, m)?)?;
    m.add_function(wrap_pyfunction!(_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(_find_task, m)?)?;
    m.add_function(wrap_pyfunction!(_task_state_char, m)?)?;
    m.add_function(wrap_pyfunction!(_d_path, m)?)?;
    m.add_function(wrap_pyfunction!(_mounts, m)?)?;
    m.add_function(wrap_pyfunction!(_modules, m)?)?;
    m.add_function(wrap_pyfunction!(_printk_records, m)?)?;
    m.add_function(wrap_pyfunction!(_runqueue, m)?)?;
    Ok(())
}
