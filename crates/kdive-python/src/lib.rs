//! The native part of the `kdive` Python module, in drgn's shape: `Program` (`prog['name']`,
//! `variable`, `function`, `type`, `symbol`, reads, threads, stack traces), `Object`, `Type`,
//! `StackTrace`/`StackFrame`, drgn's exception classes, and the library's kernel walks for the
//! helpers in `kdive.helpers.linux.*` (pure Python, beside this module). Every crash command
//! runs as text or JSON (`prog.command("bt")`, `prog.json("ps")`).

mod errors;
mod format;
mod helpers;
mod hot;
mod object;
mod program;
mod stack;
mod state;
mod types;

use pyo3::prelude::*;

use crate::object::{type_arg, PyObj};
use crate::program::PyProgram;

/// `cast(type, obj)`: the value of `obj` converted to `type` (a `Type` or a type name).
#[pyfunction]
fn cast(r#type: &Bound<'_, PyAny>, obj: &PyObj) -> PyResult<PyObj> {
    let ty = type_arg(&obj.st, r#type)?;
    let o = obj.obj()?;
    let prog = obj.st.prog()?;
    // a scalar is converted by value; anything else is seen as the new type where it lies
    match o.read_u64() {
        Ok(bits) if o.address().is_none() || !is_aggregate(prog, ty) => Ok(PyObj::new(
            &obj.st,
            kdive_program::Object::value(prog, ty, bits),
        )),
        _ => Ok(PyObj::new(&obj.st, o.cast_to(ty))),
    }
}

fn is_aggregate(prog: &kdive_program::Program, ty: kdive_debuginfo::TypeId) -> bool {
    matches!(
        prog.types().resolve(ty).map(|t| t.1.kind.clone()),
        Ok(kdive_debuginfo::TypeKind::Struct { .. }
            | kdive_debuginfo::TypeKind::Union { .. }
            | kdive_debuginfo::TypeKind::Array { .. })
    )
}

/// `reinterpret(type, obj)`: the same memory (or bits) seen as `type`.
#[pyfunction]
fn reinterpret(r#type: &Bound<'_, PyAny>, obj: &PyObj) -> PyResult<PyObj> {
    let ty = type_arg(&obj.st, r#type)?;
    Ok(PyObj::new(&obj.st, obj.obj()?.cast_to(ty)))
}

/// `container_of(ptr, type, member)`: the `type *` whose `member` `ptr` points to.
#[pyfunction]
fn container_of(ptr: &PyObj, r#type: &Bound<'_, PyAny>, member: &str) -> PyResult<PyObj> {
    let ty = type_arg(&ptr.st, r#type)?;
    let prog = ptr.st.prog()?;
    let off = kdive_program::object::offset_of(prog, ty, member).map_err(errors::py_err)?;
    let addr = (ptr.int_value()? as u64).wrapping_sub(off);
    Ok(PyObj::new(
        &ptr.st,
        kdive_program::Object::value(prog, prog.types().pointer_to(ty), addr),
    ))
}

/// `sizeof(type_or_obj)`: size in bytes.
#[pyfunction]
fn sizeof(x: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(o) = x.downcast::<PyObj>() {
        let o = o.borrow();
        let prog = o.st.prog()?;
        return prog
            .types()
            .size_of(o.type_id()?)
            .map_err(|e| errors::py_err(e.into()));
    }
    let t = x.downcast::<types::PyType>()?.borrow();
    let prog = t.st.prog()?;
    prog.types()
        .size_of(t.id)
        .map_err(|e| errors::py_err(e.into()))
}

/// `offsetof(type, member)`: byte offset of a member (dots for nesting).
#[pyfunction]
fn offsetof(r#type: &types::PyType, member: &str) -> PyResult<u64> {
    let prog = r#type.st.prog()?;
    kdive_program::object::offset_of(prog, r#type.id, member).map_err(errors::py_err)
}

/// Every task of `prog` (drgn's `for_each_task`), as `struct task_struct *` objects.
#[pyfunction]
fn for_each_task(prog: &PyProgram) -> PyResult<Vec<PyObj>> {
    program::tasks_of(&prog.st)
}

/// The task with PID `pid` (drgn's `find_task`), or `None`.
#[pyfunction]
fn find_task(prog: &Bound<'_, PyAny>, pid: i64) -> PyResult<Option<PyObj>> {
    helpers::_find_task(prog, pid)
}

#[pymodule]
#[pyo3(name = "_kdive")]
fn kdive_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyProgram>()?;
    m.add_class::<PyObj>()?;
    m.add_class::<types::PyType>()?;
    m.add_class::<types::PyTypeKind>()?;
    m.add_class::<types::PyTypeMember>()?;
    m.add_class::<types::PyTypeEnumerator>()?;
    m.add_class::<types::PyTypeParameter>()?;
    m.add_class::<program::PySymbol>()?;
    m.add_class::<program::PyByteArray>()?;
    m.add_class::<stack::PyThread>()?;
    m.add_class::<stack::PyStackTrace>()?;
    m.add_class::<stack::PyStackFrame>()?;
    m.add_function(wrap_pyfunction!(program::open, m)?)?;
    m.add_function(wrap_pyfunction!(for_each_task, m)?)?;
    m.add_function(wrap_pyfunction!(find_task, m)?)?;
    m.add_function(wrap_pyfunction!(cast, m)?)?;
    m.add_function(wrap_pyfunction!(reinterpret, m)?)?;
    m.add_function(wrap_pyfunction!(container_of, m)?)?;
    m.add_function(wrap_pyfunction!(sizeof, m)?)?;
    m.add_function(wrap_pyfunction!(offsetof, m)?)?;
    helpers::register(m)?;
    let py = m.py();
    m.add("FaultError", py.get_type::<errors::FaultError>())?;
    m.add(
        "ObjectAbsentError",
        py.get_type::<errors::ObjectAbsentError>(),
    )?;
    m.add(
        "MissingDebugInfoError",
        py.get_type::<errors::MissingDebugInfoError>(),
    )?;
    m.add(
        "OutOfBoundsError",
        py.get_type::<errors::OutOfBoundsError>(),
    )?;
    Ok(())
}
