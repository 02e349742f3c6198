//! The native part of the `kdive` Python module, in drgn's shape: `Program` (`prog['name']`,
//! `variable`, `function`, `type`, `symbol`, reads, threads, stack traces), `Object`, `Type`,
//! `StackTrace`/`StackFrame`, drgn's exception classes, and the library's kernel walks for the
//! helpers in `kdive.helpers.linux.*` (pure Python, beside this module). Every crash command
//! runs as text or JSON (`prog.command("bt")`, `prog.json("ps")`).

mod build;
mod errors;
mod format;
mod helpers;
mod hot;
mod object;
mod program;
mod stack;
mod state;
mod types;
mod value;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::object::{type_arg, PyObj};
use crate::program::PyProgram;

/// `cast(type, obj)`: the value of `obj` converted to `type` (a `Type` or a type name), by C's
/// rules for explicit conversions: only to a scalar type, from a scalar or an array in memory
/// (its address).
#[pyfunction]
fn cast(r#type: &Bound<'_, PyAny>, obj: &PyObj) -> PyResult<PyObj> {
    use kdive_debuginfo::TypeKind;
    let ty = type_arg(&obj.st, r#type)?;
    let prog = obj.st.prog()?;
    let kind = |t| {
        prog.types()
            .resolve(t)
            .map(|(_, t)| t.kind.clone())
            .map_err(|e| errors::py_err(e.into()))
    };
    let name = |t| format::c_type_name(prog, t);
    let to = kind(ty)?;
    if matches!(
        to,
        TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Array { .. }
    ) {
        return Err(PyTypeError::new_err(format!(
            "cannot cast to '{}'",
            name(ty)
        )));
    }
    let from = kind(obj.type_id()?)?;
    let n: f64;
    let bits = match from {
        TypeKind::Array { .. } => obj.address_()?.ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err("cannot get address of value")
        })?,
        TypeKind::Float { .. } => {
            n = obj.float_value()?;
            n as i64 as u64
        }
        TypeKind::Int { .. } | TypeKind::Enum { .. } | TypeKind::Pointer { .. } => {
            obj.int_value()? as u64
        }
        _ => {
            return Err(PyTypeError::new_err(format!(
                "cannot cast '{}' to '{}'",
                name(obj.type_id()?),
                name(ty)
            )))
        }
    };
    let v = match to {
        TypeKind::Float { size } => {
            let f = if matches!(from, TypeKind::Float { .. }) {
                obj.float_value()?
            } else {
                obj.int_value()? as f64
            };
            let b = if size == 4 {
                (f as f32).to_le_bytes().to_vec()
            } else {
                f.to_le_bytes().to_vec()
            };
            value::Val::from_bytes(prog, ty, b)
        }
        TypeKind::Int { is_bool: true, .. } => {
            value::Val::Obj(kdive_program::Object::value(prog, ty, u64::from(bits != 0)))
        }
        _ => value::Val::Obj(kdive_program::Object::value(prog, ty, bits)),
    };
    Ok(PyObj::from_val(&obj.st, v))
}

/// `reinterpret(type, obj)`: the same memory (or bytes) seen as `type`.
#[pyfunction]
fn reinterpret(r#type: &Bound<'_, PyAny>, obj: &PyObj) -> PyResult<PyObj> {
    let ty = type_arg(&obj.st, r#type)?;
    let v = obj.val()?;
    // a value holds only its own bytes
    if v.address().is_none() {
        let prog = obj.st.prog()?;
        let size = |t| {
            prog.types()
                .size_of(t)
                .map_err(|e| errors::py_err(e.into()))
        };
        if size(ty)? > size(v.type_id())? {
            return Err(errors::OutOfBoundsError::new_err(format!(
                "'{}' is out of bounds of value of '{}'",
                format::c_type_name(prog, ty),
                format::c_type_name(prog, v.type_id())
            )));
        }
    }
    let v = v.reinterpret(ty).map_err(errors::py_err)?;
    Ok(PyObj::from_val(&obj.st, v))
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
