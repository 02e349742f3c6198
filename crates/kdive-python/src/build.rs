//! Values built from Python ones, as drgn's `Object(prog, type, value=...)` builds them: a
//! mapping of member names for a struct or union (members left out are zero; later members
//! overwrite the bytes earlier ones of a union wrote), a sequence for an array, a number or an
//! `Object` for a scalar.

use kdive_debuginfo::{TypeId, TypeKind};
use kdive_program::Program;
use pyo3::exceptions::{PyLookupError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};

use crate::errors::py_err;
use crate::format::c_type_name;
use crate::object::PyObj;
use crate::value::{put_bits, MAX_HELD};

/// Deepest nesting of values built.
const MAX_DEPTH: usize = 32;

/// The bytes of a value of `ty` built from `v`.
pub fn build(prog: &Program, ty: TypeId, v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let size = size_of(prog, ty)?;
    if size > MAX_HELD {
        return Err(PyValueError::new_err(format!(
            "'{}' is too large to hold",
            c_type_name(prog, ty)
        )));
    }
    let mut buf = vec![0u8; size as usize];
    write(prog, ty, v, &mut buf, 0, None, 0)?;
    Ok(buf)
}

fn size_of(prog: &Program, ty: TypeId) -> PyResult<u64> {
    prog.types().size_of(ty).map_err(|e| py_err(e.into()))
}

/// Writes `v` as a `ty` at bit `at` of `buf` (a bitfield of `bits` bits).
fn write(
    prog: &Program,
    ty: TypeId,
    v: &Bound<'_, PyAny>,
    buf: &mut [u8],
    at: u64,
    bits: Option<u32>,
    depth: usize,
) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err("value nests too deep"));
    }
    let (_, t) = prog.types().resolve(ty).map_err(|e| py_err(e.into()))?;
    let tn = || c_type_name(prog, ty);
    match &t.kind {
        TypeKind::Struct { .. } | TypeKind::Union { .. } => {
            // drgn asks any mapping (anything with `[]`) for its items
            if !v.hasattr("__getitem__")? {
                return Err(PyTypeError::new_err(format!(
                    "'{}' value must be dictionary or mapping",
                    tn()
                )));
            }
            let rid = prog.types().resolve(ty).map_err(|e| py_err(e.into()))?.0;
            for item in v.call_method0("items")?.try_iter()? {
                let (name, mv): (String, Bound<'_, PyAny>) = item?.extract()?;
                let m = prog.types().member(rid, &name).map_err(|_| {
                    PyLookupError::new_err(format!("'{}' has no member '{name}'", tn()))
                })?;
                write(
                    prog,
                    m.ty,
                    &mv,
                    buf,
                    at + m.bit_offset,
                    m.bit_size,
                    depth + 1,
                )?;
            }
            Ok(())
        }
        TypeKind::Array { elem, len } => {
            let esize = size_of(prog, *elem)?;
            for (i, e) in v.try_iter()?.enumerate() {
                if i as u64 >= *len {
                    return Err(PyValueError::new_err(format!(
                        "too many items in array value of '{}'",
                        tn()
                    )));
                }
                write(
                    prog,
                    *elem,
                    &e?,
                    buf,
                    at + i as u64 * esize * 8,
                    None,
                    depth + 1,
                )?;
            }
            Ok(())
        }
        TypeKind::Float { size } => {
            let f: f64 = if v.is_instance_of::<PyObj>() {
                v.call_method0("__float__")?.extract()?
            } else {
                v.extract()?
            };
            let b = match size {
                4 => (f as f32).to_le_bytes().to_vec(),
                8 => f.to_le_bytes().to_vec(),
                _ => return Err(PyTypeError::new_err(format!("{size}-byte float"))),
            };
            let start = (at / 8) as usize;
            buf.get_mut(start..start + b.len())
                .ok_or_else(|| PyValueError::new_err("member outside the value"))?
                .copy_from_slice(&b);
            Ok(())
        }
        TypeKind::Int { .. } | TypeKind::Enum { .. } | TypeKind::Pointer { .. } => {
            let n = int_of(v, &tn)?;
            let width = bits.unwrap_or(size_of(prog, ty)? as u32 * 8);
            if put_bits(buf, at, width, n as u64) {
                Ok(())
            } else {
                Err(PyValueError::new_err("member outside the value"))
            }
        }
        _ => Err(PyTypeError::new_err(format!(
            "cannot build a value of '{}'",
            tn()
        ))),
    }
}

/// A scalar member's value: an integer, a float (truncated, as C converts it) or an `Object`.
fn int_of(v: &Bound<'_, PyAny>, tn: &dyn Fn() -> String) -> PyResult<i128> {
    if let Ok(o) = v.downcast::<PyObj>() {
        return o.borrow().int_value();
    }
    if v.is_instance_of::<PyBool>() || v.is_instance_of::<PyInt>() {
        return v.extract();
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(v.extract::<f64>()? as i128);
    }
    Err(PyTypeError::new_err(format!(
        "'{}' value must be number",
        tn()
    )))
}
