//! `Object` in drgn's shape: a typed value in the dump's memory, a computed value, or absent.
//! Members as attributes, `[]`, `deref_()`, `address_of_()`, `value_()`, `string_()`, C
//! arithmetic and comparisons, `repr`/`str` in drgn's syntax.

use std::sync::Arc;

use kdive_debuginfo::{Type, TypeId, TypeKind};
use kdive_program::object::ObjectHandle;
use kdive_program::{Object, ProgramError};
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError, PyZeroDivisionError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::errors::{py_err, ObjectAbsentError, OutOfBoundsError};
use crate::format::{format_object, FormatOptions};
use crate::hot::{Attr, Shape};
use crate::program::PyProgram;
use crate::state::State;
use crate::types::PyType;
use crate::value::{Held, Val};

/// Deepest nesting `value_()` converts (corrupt types can nest without end).
const MAX_VALUE_DEPTH: usize = 32;
/// Most array elements `value_()` converts.
const MAX_VALUE_ELEMENTS: u64 = 1 << 16;
/// Longest string `string_()` reads through a pointer.
const MAX_STRING: usize = 1 << 20;

/// Where an object is.
#[derive(Clone)]
pub enum Place {
    /// In memory, or an integer or pointer value.
    Obj(ObjectHandle),
    /// An aggregate or float value: its bytes, held by the object.
    Held(Held),
    /// An object with a type and no value (drgn's absent object), and why it has none.
    Absent(TypeId, Absence),
}

/// Why an object is absent (drgn's `AbsenceReason`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Absence {
    /// Made without a value.
    Other,
    /// A variable the compiler left no value of at this point of the code.
    OptimizedOut,
}

/// A typed value of a program.
#[pyclass(name = "Object", module = "kdive", frozen)]
pub struct PyObj {
    pub st: Arc<State>,
    pub place: Place,
}

/// A scalar's value.
enum Scalar {
    Int(i128),
    Bool(bool),
    Float(f64),
}

/// What kind of scalar a type is, for arithmetic.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arith {
    Int,
    Pointer { elem_size: u64 },
    Float,
}

impl PyObj {
    pub fn new(st: &Arc<State>, o: Object<'_>) -> PyObj {
        PyObj {
            st: st.clone(),
            place: Place::Obj(o.handle()),
        }
    }

    /// An object of `v`'s kind: in memory or an integer value, or held.
    pub fn from_val(st: &Arc<State>, v: Val<'_>) -> PyObj {
        PyObj {
            st: st.clone(),
            place: match v {
                Val::Obj(o) => Place::Obj(o.handle()),
                Val::Held(_, h) => Place::Held(h),
            },
        }
    }

    /// The library object; an absent object is `ObjectAbsentError`, a held value (which has
    /// no address) `ValueError`.
    pub fn obj(&self) -> PyResult<Object<'_>> {
        match &self.place {
            Place::Obj(h) => Ok(Object::from_handle(self.st.prog()?, *h)),
            Place::Held(_) => Err(PyValueError::new_err("cannot get address of value")),
            Place::Absent(..) => Err(ObjectAbsentError::new_err("object absent")),
        }
    }

    /// The object to read, of either kind; an absent object is `ObjectAbsentError`.
    pub fn val(&self) -> PyResult<Val<'_>> {
        match &self.place {
            Place::Obj(h) => Ok(Val::Obj(Object::from_handle(self.st.prog()?, *h))),
            Place::Held(h) => Ok(Val::Held(self.st.prog()?, h.clone())),
            Place::Absent(..) => Err(ObjectAbsentError::new_err("object absent")),
        }
    }

    pub fn type_id(&self) -> PyResult<TypeId> {
        Ok(match &self.place {
            Place::Obj(h) => Object::from_handle(self.st.prog()?, *h).type_id(),
            Place::Held(h) => h.ty,
            Place::Absent(t, _) => *t,
        })
    }

    fn resolved(&self) -> PyResult<(TypeId, Arc<Type>)> {
        let prog = self.st.prog()?;
        prog.types()
            .resolve(self.type_id()?)
            .map_err(|e| py_err(e.into()))
    }

    fn derive(&self, f: impl FnOnce(Val<'_>) -> Result<Val<'_>, ProgramError>) -> PyResult<PyObj> {
        let n = f(self.val()?).map_err(py_err)?;
        Ok(PyObj::from_val(&self.st, n))
    }

    fn value_obj(&self, ty: TypeId, bits: u64) -> PyResult<PyObj> {
        Ok(PyObj::new(
            &self.st,
            Object::value(self.st.prog()?, ty, bits),
        ))
    }

    fn arith(&self) -> PyResult<Option<Arith>> {
        let (_, t) = self.resolved()?;
        Ok(match t.kind {
            TypeKind::Int { .. } | TypeKind::Enum { .. } => Some(Arith::Int),
            TypeKind::Float { .. } => Some(Arith::Float),
            TypeKind::Pointer { target } => {
                let prog = self.st.prog()?;
                // `void *` arithmetic steps by bytes, as GNU C does
                let elem_size = match prog.types().resolve(target) {
                    Ok((_, t)) if matches!(t.kind, TypeKind::Void | TypeKind::Function { .. }) => 1,
                    _ => prog.types().size_of(target).unwrap_or(1),
                };
                Some(Arith::Pointer { elem_size })
            }
            _ => None,
        })
    }

    fn scalar(&self) -> PyResult<Scalar> {
        scalar_of(&self.val()?)
    }

    /// `obj.name` for a member name (`->` through a pointer to a struct); `None` for a name
    /// Python answers (methods end in `_`, dunders). The inner error is the member's absence.
    fn member_attr(&self, name: &Bound<'_, PyString>) -> PyResult<Option<PyResult<PyObj>>> {
        let st = &self.st;
        let prog = st.prog()?;
        let types = prog.types();
        let mut hot = st.hot();
        // the object, the struct whose member is asked, and the pointer's target if through one
        let mut found = None;
        if let Place::Held(h) = &self.place {
            let info = hot.shapes.get(types, h.ty).map_err(py_err)?;
            if info.shape == Shape::Record {
                found = Some((Val::Held(prog, h.clone()), info.rid, None));
            }
        }
        if let Place::Obj(h) = self.place {
            let o = Object::from_handle(prog, h);
            let info = hot.shapes.get(types, o.type_id()).map_err(py_err)?;
            match info.shape {
                Shape::Record => found = Some((Val::Obj(o), info.rid, None)),
                Shape::Pointer { target } => {
                    let t = hot.shapes.get(types, target).map_err(py_err)?;
                    if t.shape == Shape::Record {
                        found = Some((Val::Obj(o), t.rid, Some(target)));
                    }
                }
                _ => {}
            }
        }
        let m = match hot.names.lookup(types, found.as_ref().map(|f| f.1), name)? {
            Ok(Attr::Python) => return Ok(None),
            Ok(Attr::Member(m)) => m,
            Ok(Attr::NoRecord) => {
                drop(hot);
                let what = match self.place {
                    Place::Obj(_) | Place::Held(_) => "not a struct or union",
                    Place::Absent(..) => "object absent",
                };
                return Ok(Some(Err(PyAttributeError::new_err(format!(
                    "{} has no member '{name}': {what}",
                    self.type_name()?
                )))));
            }
            Err(e) => return Ok(Some(Err(PyAttributeError::new_err(e.to_string())))),
        };
        let Some((o, _, through)) = found else {
            return Ok(None);
        };
        let o = match (through, o) {
            (Some(target), Val::Obj(o)) => Val::Obj(Object::reference(
                prog,
                target,
                hot.bits(&o, 8).map_err(py_err)?,
            )),
            (_, o) => o,
        };
        drop(hot);
        Ok(Some(Ok(PyObj::from_val(st, o.field(&m).map_err(py_err)?))))
    }

    /// The type's name, as C (and drgn) writes it.
    fn type_name(&self) -> PyResult<String> {
        Ok(crate::format::c_type_name(self.st.prog()?, self.type_id()?))
    }

    /// The value a comparison sees: a scalar's, an array's address; `None` for an aggregate.
    fn compared(&self) -> PyResult<Option<Scalar>> {
        if self.arith()?.is_some() {
            return self.scalar().map(Some);
        }
        if let TypeKind::Array { .. } = self.resolved()?.1.kind {
            let addr = self.obj()?.address();
            return Ok(addr.map(|a| Scalar::Int(i128::from(a))));
        }
        Ok(None)
    }

    /// `TypeError` when a non-scalar is converted to a Python `what`, in drgn's words.
    fn converted(&self, what: &str) -> PyResult<()> {
        if self.arith()?.is_some() {
            return Ok(());
        }
        Err(PyTypeError::new_err(format!(
            "cannot convert '{}' to {what}",
            self.type_name()?
        )))
    }

    /// Number of elements of an array type; `TypeError` for another type.
    fn array_len(&self) -> PyResult<u64> {
        match self.resolved()?.1.kind {
            TypeKind::Array { len, .. } => Ok(len),
            _ => Err(PyTypeError::new_err(format!(
                "'{}' has no len()",
                self.type_name()?
            ))),
        }
    }

    /// True for a pointer-typed object.
    pub fn is_pointer(&self) -> PyResult<bool> {
        Ok(matches!(self.resolved()?.1.kind, TypeKind::Pointer { .. }))
    }

    /// The value as a float (integers converted); `TypeError` for a non-scalar.
    pub fn float_value(&self) -> PyResult<f64> {
        Ok(match self.scalar()? {
            Scalar::Float(f) => f,
            Scalar::Int(i) => i as f64,
            Scalar::Bool(b) => f64::from(u8::from(b)),
        })
    }

    /// The value as an integer (pointers and booleans too); `TypeError` otherwise.
    pub fn int_value(&self) -> PyResult<i128> {
        match self.scalar()? {
            Scalar::Int(v) => Ok(v),
            Scalar::Bool(b) => Ok(i128::from(b)),
            Scalar::Float(f) => Ok(f as i128),
        }
    }

    fn to_py_value(&self, py: Python<'_>, o: Val<'_>, depth: usize) -> PyResult<PyObject> {
        if depth > MAX_VALUE_DEPTH {
            return Err(PyValueError::new_err("value nests too deep"));
        }
        let prog = o.prog();
        let (_, t) = prog
            .types()
            .resolve(o.type_id())
            .map_err(|e| py_err(e.into()))?;
        match &t.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                let d = PyDict::new(py);
                for m in members {
                    let f = o.field(m).map_err(py_err)?;
                    let v = self.to_py_value(py, f, depth + 1)?;
                    match &m.name {
                        Some(n) => d.set_item(n.as_ref(), v)?,
                        // an anonymous member's members belong to the outer value
                        None => {
                            if let Ok(inner) = v.bind(py).downcast::<PyDict>() {
                                d.update(inner.as_mapping())?;
                            }
                        }
                    }
                }
                Ok(d.into_any().unbind())
            }
            TypeKind::Array { len, .. } => {
                if *len > MAX_VALUE_ELEMENTS {
                    return Err(PyValueError::new_err(format!("{len} elements is too many")));
                }
                let l = PyList::empty(py);
                for i in 0..*len {
                    let e = o.index(i).map_err(py_err)?;
                    l.append(self.to_py_value(py, e, depth + 1)?)?;
                }
                Ok(l.into_any().unbind())
            }
            _ => Ok(match scalar_of(&o)? {
                Scalar::Int(v) => v.into_pyobject(py)?.into_any().unbind(),
                Scalar::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
                Scalar::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
            }),
        }
    }

    /// An operand of arithmetic: an `Object` (its kind, value and type) or a Python number.
    fn operand(
        other: &Bound<'_, PyAny>,
    ) -> PyResult<Option<(Option<Arith>, Option<TypeId>, Operand)>> {
        if let Ok(o) = other.downcast::<PyObj>() {
            let o = o.borrow();
            let a = o.arith()?;
            let v = match a {
                Some(Arith::Float) => match o.scalar()? {
                    Scalar::Float(f) => Operand::Float(f),
                    _ => return Ok(None),
                },
                Some(_) => Operand::Int(o.int_value()?),
                None => return Ok(None),
            };
            return Ok(Some((a, Some(o.type_id()?), v)));
        }
        if other.is_instance_of::<pyo3::types::PyBool>()
            || other.is_instance_of::<pyo3::types::PyInt>()
        {
            return Ok(Some((None, None, Operand::Int(other.extract::<i128>()?))));
        }
        if let Ok(f) = other.extract::<f64>() {
            return Ok(Some((None, None, Operand::Float(f))));
        }
        Ok(None)
    }

    fn binop(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: Op,
        reflected: bool,
    ) -> PyResult<PyObject> {
        let Some(mine) = self.arith()? else {
            return Ok(py.NotImplemented());
        };
        let Some((their_kind, their_ty, theirs)) = Self::operand(other)? else {
            return Ok(py.NotImplemented());
        };
        let my_ty = self.type_id()?;
        let my_val = match mine {
            Arith::Float => match self.scalar()? {
                Scalar::Float(f) => Operand::Float(f),
                _ => Operand::Float(0.0),
            },
            _ => Operand::Int(self.int_value()?),
        };
        let (l, r) = if reflected {
            (theirs, my_val)
        } else {
            (my_val, theirs)
        };
        // floating point: a Python float
        if let (Operand::Float(_), _) | (_, Operand::Float(_)) = (l, r) {
            let (a, b) = (l.as_f64(), r.as_f64());
            let v = match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div => a / b,
                _ => return Ok(py.NotImplemented()),
            };
            return Ok(v.into_pyobject(py)?.into_any().unbind());
        }
        let (Operand::Int(a), Operand::Int(b)) = (l, r) else {
            return Ok(py.NotImplemented());
        };
        // pointer arithmetic
        let their_ptr = matches!(their_kind, Some(Arith::Pointer { .. }));
        if let Arith::Pointer { elem_size } = mine {
            let es = i128::from(elem_size.max(1));
            return match (op, their_ptr, reflected) {
                (Op::Add, false, _) => {
                    let off = if reflected { a } else { b };
                    let base = if reflected { b } else { a };
                    Ok(Py::new(py, self.value_obj(my_ty, (base + off * es) as u64)?)?.into_any())
                }
                (Op::Sub, false, false) => {
                    Ok(Py::new(py, self.value_obj(my_ty, (a - b * es) as u64)?)?.into_any())
                }
                (Op::Sub, true, _) => Ok(((a - b) / es).into_pyobject(py)?.into_any().unbind()),
                _ => Err(PyTypeError::new_err(format!(
                    "invalid operands for pointer {}",
                    op.symbol()
                ))),
            };
        }
        if let (Some(Arith::Pointer { elem_size }), Op::Add) = (their_kind, op) {
            let Some(t) = their_ty else {
                return Ok(py.NotImplemented());
            };
            let es = i128::from(elem_size.max(1));
            let (base, off) = if reflected { (a, b) } else { (b, a) };
            return Ok(Py::new(py, self.value_obj(t, (base + off * es) as u64)?)?.into_any());
        }
        if their_ptr {
            return Err(PyTypeError::new_err(format!(
                "invalid operands for {}",
                op.symbol()
            )));
        }
        let v = op.int(a, b)?;
        // C's conversions: a shift has its promoted left operand's type; other operators the
        // common type of both promoted operands (a Python int counts as an `int`)
        let prog = self.st.prog()?;
        let mine = promoted(prog, my_ty)?;
        let theirs = match their_ty {
            Some(t) => promoted(prog, t)?,
            None => (prog.type_("int").map_err(py_err)?, 4, true),
        };
        let ty = match op {
            Op::Shl | Op::Shr => {
                if reflected {
                    theirs.0
                } else {
                    mine.0
                }
            }
            _ if theirs.1 > mine.1 || (theirs.1 == mine.1 && mine.2 && !theirs.2) => theirs.0,
            _ => mine.0,
        };
        Ok(Py::new(py, self.value_obj(ty, v as u64)?)?.into_any())
    }
}

/// The value of a scalar object as a number; `TypeError` for anything else.
fn scalar_of(o: &Val<'_>) -> PyResult<Scalar> {
    let (_, t) = o
        .prog()
        .types()
        .resolve(o.type_id())
        .map_err(|e| py_err(e.into()))?;
    match t.kind {
        TypeKind::Int { is_bool: true, .. } => Ok(Scalar::Bool(o.read_u64().map_err(py_err)? != 0)),
        TypeKind::Int { signed: true, .. } | TypeKind::Enum { signed: true, .. } => {
            Ok(Scalar::Int(i128::from(o.read_i64().map_err(py_err)?)))
        }
        TypeKind::Int { .. } | TypeKind::Enum { .. } | TypeKind::Pointer { .. } => {
            Ok(Scalar::Int(i128::from(o.read_u64().map_err(py_err)?)))
        }
        TypeKind::Float { size } => {
            let b = o.read_bytes().map_err(py_err)?;
            match (size, b.as_slice()) {
                (4, &[a, b2, c, d]) => {
                    Ok(Scalar::Float(f64::from(f32::from_le_bytes([a, b2, c, d]))))
                }
                (8, s) if s.len() == 8 => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    Ok(Scalar::Float(f64::from_le_bytes(a)))
                }
                _ => Err(PyTypeError::new_err(format!("{size}-byte float"))),
            }
        }
        _ => Err(PyTypeError::new_err(format!(
            "cannot convert '{}' to a number",
            crate::format::c_type_name(o.prog(), o.type_id())
        ))),
    }
}

#[derive(Clone, Copy)]
enum Operand {
    Int(i128),
    Float(f64),
}

impl Operand {
    fn as_f64(self) -> f64 {
        match self {
            Operand::Int(i) => i as f64,
            Operand::Float(f) => f,
        }
    }
}

/// C's integer promotion of `ty`, typedefs and qualifiers looked through: types narrower than
/// `int` (and `bool`) become `int`, an enum its integer type; with its size and signedness.
fn promoted(prog: &kdive_program::Program, ty: TypeId) -> PyResult<(TypeId, u64, bool)> {
    let (rid, t) = prog.types().resolve(ty).map_err(|e| py_err(e.into()))?;
    let (size, signed, is_enum) = match t.kind {
        TypeKind::Int {
            size,
            signed,
            is_bool,
            ..
        } => (size, signed && !is_bool, false),
        TypeKind::Enum { size, signed, .. } => (size, signed, true),
        _ => return Ok((rid, 8, false)),
    };
    let named = |n: &str| prog.type_(n).map_err(py_err);
    if size < 4 {
        return Ok((named("int")?, 4, true));
    }
    if is_enum {
        let n = match (size, signed) {
            (4, true) => "int",
            (4, false) => "unsigned int",
            (_, true) => "long",
            _ => "unsigned long",
        };
        return Ok((named(n)?, u64::from(size), signed));
    }
    Ok((rid, u64::from(size), signed))
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Mod => "%",
            Op::And => "&",
            Op::Or => "|",
            Op::Xor => "^",
            Op::Shl => "<<",
            Op::Shr => ">>",
        }
    }

    /// C's integer operation (division truncates toward zero).
    fn int(self, a: i128, b: i128) -> PyResult<i128> {
        let zero = || PyZeroDivisionError::new_err("division by zero");
        Ok(match self {
            Op::Add => a.wrapping_add(b),
            Op::Sub => a.wrapping_sub(b),
            Op::Mul => a.wrapping_mul(b),
            Op::Div => a.checked_div(b).ok_or_else(zero)?,
            Op::Mod => a.checked_rem(b).ok_or_else(zero)?,
            Op::And => a & b,
            Op::Or => a | b,
            Op::Xor => a ^ b,
            Op::Shl => a.wrapping_shl(u32::try_from(b).unwrap_or(127).min(127)),
            Op::Shr => a.wrapping_shr(u32::try_from(b).unwrap_or(127).min(127)),
        })
    }
}

/// Python's own attribute lookup (methods, properties).
fn generic_getattr(slf: &Bound<'_, PyObj>, name: &Bound<'_, PyString>) -> PyResult<PyObject> {
    let py = slf.py();
    // SAFETY: both pointers are live references held by the caller; the result is a new
    // reference or NULL with an exception set, which `from_owned_ptr_or_err` takes over
    unsafe {
        let r = pyo3::ffi::PyObject_GenericGetAttr(slf.as_ptr(), name.as_ptr());
        Bound::from_owned_ptr_or_err(py, r).map(Bound::unbind)
    }
}

/// The NUL-terminated string at `addr` (at most [`MAX_STRING`] bytes).
fn read_cstring(prog: &kdive_program::Program, addr: u64) -> PyResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    while out.len() < MAX_STRING {
        let at = addr.wrapping_add(out.len() as u64);
        // a chunk never crosses a page, so a string at the end of mapped memory reads
        let n = (4096 - (at % 4096)).min(buf.len() as u64) as usize;
        prog.read(at, &mut buf[..n]).map_err(py_err)?;
        match buf[..n].iter().position(|&c| c == 0) {
            Some(end) => {
                out.extend_from_slice(&buf[..end]);
                return Ok(out);
            }
            None => out.extend_from_slice(&buf[..n]),
        }
    }
    Ok(out)
}

/// True for the types whose values are held as bytes: structs, unions, arrays and floats.
pub fn holds_bytes(prog: &kdive_program::Program, ty: TypeId) -> bool {
    matches!(
        prog.types().resolve(ty).map(|(_, t)| t.kind.clone()),
        Ok(TypeKind::Struct { .. }
            | TypeKind::Union { .. }
            | TypeKind::Array { .. }
            | TypeKind::Float { .. })
    )
}

/// A `Type` argument: a `Type`, or a type name (`"struct task_struct *"`).
pub fn type_arg(st: &Arc<State>, t: &Bound<'_, PyAny>) -> PyResult<TypeId> {
    if let Ok(ty) = t.downcast::<PyType>() {
        return Ok(ty.borrow().id);
    }
    let name: String = t
        .extract()
        .map_err(|_| PyTypeError::new_err("expected a Type or a type name"))?;
    let prog = st.prog()?;
    // array declarators (`int [3]`, `char [2][16]`): the innermost dimension is the last
    let mut base = name.trim();
    let mut dims = Vec::new();
    while let Some(open) = base.strip_suffix(']').and_then(|b| b.rfind('[')) {
        let n = base[open + 1..base.len() - 1].trim();
        dims.push(if n.is_empty() {
            0
        } else {
            n.parse::<u64>()
                .map_err(|_| PyValueError::new_err(format!("bad array length in {name:?}")))?
        });
        base = base[..open].trim_end();
    }
    let mut ty = prog.type_(base).map_err(py_err)?;
    for len in dims {
        ty = prog.types().array_of(ty, len);
    }
    Ok(ty)
}

#[pymethods]
impl PyObj {
    /// `Object(prog, type, value=None, *, address=None)`: a value, an object at an address, or
    /// (with neither) an absent object.
    #[new]
    #[pyo3(signature = (prog, r#type, value = None, *, address = None))]
    fn py_new(
        prog: &PyProgram,
        r#type: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        address: Option<u64>,
    ) -> PyResult<PyObj> {
        let st = prog.st.clone();
        let ty = type_arg(&st, r#type)?;
        let p = st.prog()?;
        let place = match (address, value) {
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "object cannot have address and value",
                ))
            }
            (Some(a), None) => Place::Obj(Object::reference(p, ty, a).handle()),
            // an aggregate or a float: its bytes, built from a mapping, a sequence or a number
            (None, Some(v)) if holds_bytes(p, ty) => {
                Place::Held(Held::new(ty, crate::build::build(p, ty, v)?))
            }
            (None, Some(v)) => {
                let bits: i128 = if let Ok(o) = v.downcast::<PyObj>() {
                    o.borrow().int_value()?
                } else {
                    v.extract()?
                };
                Place::Obj(Object::value(p, ty, bits as u64).handle())
            }
            (None, None) => Place::Absent(ty, Absence::Other),
        };
        Ok(PyObj { st, place })
    }

    /// `Object.from_bytes_(prog, type, bytes)`: the value of `type` the first bytes of
    /// `bytes` hold.
    #[staticmethod]
    #[pyo3(signature = (prog, r#type, bytes, *, bit_offset = 0, bit_field_size = None))]
    fn from_bytes_(
        prog: &PyProgram,
        r#type: &Bound<'_, PyAny>,
        bytes: &[u8],
        bit_offset: u64,
        bit_field_size: Option<u32>,
    ) -> PyResult<PyObj> {
        let st = prog.st.clone();
        let ty = type_arg(&st, r#type)?;
        let p = st.prog()?;
        if bit_offset != 0 || bit_field_size.is_some() {
            return Err(PyValueError::new_err(
                "from_bytes_: bit offsets and bit fields are not supported",
            ));
        }
        let size = p.types().size_of(ty).map_err(|e| py_err(e.into()))?;
        if (bytes.len() as u64) < size {
            return Err(PyValueError::new_err("buffer is too small"));
        }
        let v = Val::from_bytes(p, ty, bytes[..size as usize].to_vec());
        Ok(PyObj::from_val(&st, v))
    }

    /// A member (`task.comm`, `task.mm.pgd`: a pointer to a struct is followed as `->`).
    /// Methods and attributes end in `_` (or are dunders); every other name is a member, looked
    /// up first: Python's own lookup failing first would cost an exception per member access.
    fn __getattribute__(slf: &Bound<'_, Self>, name: &Bound<'_, PyString>) -> PyResult<PyObject> {
        match slf.get().member_attr(name)? {
            Some(Ok(o)) => Ok(Py::new(slf.py(), o)?.into_any()),
            // a name that is no member may still be an attribute of the class
            Some(Err(e)) => generic_getattr(slf, name).map_err(|_| e),
            None => generic_getattr(slf, name),
        }
    }

    /// Member `name` (drgn's `member_`); dots for nesting (`"se.sum_exec_runtime"`).
    fn member_(&self, name: &str) -> PyResult<PyObj> {
        self.derive(|o| o.member(name))
    }

    /// Member names (for completion).
    fn __dir__(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let mut names: Vec<String> = [
            "value_",
            "string_",
            "address_of_",
            "read_",
            "deref_",
            "member_",
            "to_bytes_",
            "format_",
            "type_",
            "address_",
            "absent_",
            "prog_",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (_, t) = self.resolved()?;
        let prog = self.st.prog()?;
        let t = match t.kind {
            TypeKind::Pointer { target } => prog.types().resolve(target).map(|x| x.1).unwrap_or(t),
            _ => t,
        };
        if let TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } = &t.kind {
            names.extend(
                members
                    .iter()
                    .filter_map(|m| m.name.as_deref().map(str::to_string)),
            );
        }
        let _ = py;
        Ok(names)
    }

    /// Element `i` of an array, or of what a pointer points to (negative indices for pointers).
    fn __getitem__(&self, i: &Bound<'_, PyAny>) -> PyResult<PyObj> {
        let i: i64 = if let Ok(o) = i.downcast::<PyObj>() {
            o.borrow().int_value()? as i64
        } else {
            i.extract()?
        };
        // a held array has no memory past its end to read
        if let Place::Held(_) = self.place {
            if i < 0 || i as u64 >= self.array_len()? {
                return Err(OutOfBoundsError::new_err(format!(
                    "out of bounds of value: index {i} of '{}'",
                    self.type_name()?
                )));
            }
        }
        self.derive(|o| o.index(i as u64))
    }

    /// Number of elements of an array.
    fn __len__(&self) -> PyResult<usize> {
        Ok(self.array_len()? as usize)
    }

    /// The elements of an array.
    fn __iter__(&self, py: Python<'_>) -> PyResult<PyObject> {
        let n = self.array_len()?;
        let o = self.val()?;
        if n > MAX_VALUE_ELEMENTS * 16 {
            return Err(PyValueError::new_err(format!("{n} elements is too many")));
        }
        let items = (0..n)
            .map(|i| {
                o.index(i)
                    .map(|e| PyObj::from_val(&self.st, e))
                    .map_err(py_err)
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(
            py,
            items
                .into_iter()
                .map(|x| Py::new(py, x))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .try_iter()?
        .into_any()
        .unbind())
    }

    /// What a pointer points to (`*ptr`).
    fn deref_(&self) -> PyResult<PyObj> {
        self.derive(|o| o.deref())
    }

    /// `&obj`: a pointer to an object in memory.
    fn address_of_(&self) -> PyResult<PyObj> {
        if let Place::Held(_) = self.place {
            return Err(PyValueError::new_err("cannot take address of value"));
        }
        let o = self.obj()?;
        Ok(PyObj::new(&self.st, o.address_of().map_err(py_err)?))
    }

    /// The value as Python sees it: `int` for integers and pointers, `bool`, `float`, a `dict`
    /// for a struct or union, a `list` for an array.
    fn value_(&self, py: Python<'_>) -> PyResult<PyObject> {
        let o = match self.val()? {
            Val::Obj(o) => o,
            held => return self.to_py_value(py, held, 0),
        };
        self.st.fresh();
        // integers and pointers, the common case, read at once
        let mut hot = self.st.hot();
        let (size, signed) = match hot
            .shapes
            .get(o.prog().types(), o.type_id())
            .map_err(py_err)?
            .shape
        {
            Shape::Int { size, signed } => (size, signed),
            Shape::Pointer { .. } => (8, false),
            _ => {
                drop(hot);
                // an aggregate in memory is read whole, once
                let v = self.val()?.read().map_err(py_err)?;
                return self.to_py_value(py, v, 0);
            }
        };
        let raw = hot.bits(&o, size).map_err(py_err)?;
        drop(hot);
        let bits = u32::from(size) * 8;
        if signed && o.bit_size().is_none() {
            // sign-extended from the type's width
            let v = ((raw << (64 - bits)) as i64) >> (64 - bits);
            return Ok(v.into_pyobject(py)?.into_any().unbind());
        }
        if signed {
            return Ok(o
                .read_i64()
                .map_err(py_err)?
                .into_pyobject(py)?
                .into_any()
                .unbind());
        }
        Ok(raw.into_pyobject(py)?.into_any().unbind())
    }

    /// The same object read now: a computed value for a scalar (an aggregate stays a
    /// reference: its bytes are read when asked for).
    fn read_(&self) -> PyResult<PyObj> {
        let v = self.val()?;
        self.st.fresh();
        Ok(PyObj::from_val(&self.st, v.read().map_err(py_err)?))
    }

    /// A C string: a `char` array up to its NUL, or what a `char *` points to.
    fn string_(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        if let Place::Held(h) = &self.place {
            let TypeKind::Array { .. } = self.resolved()?.1.kind else {
                return Err(PyTypeError::new_err(format!(
                    "string_: {} is not a char array or pointer",
                    self.type_name()?
                )));
            };
            let b = h.bytes();
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            return Ok(PyBytes::new(py, &b[..end]).unbind());
        }
        let o = self.obj()?;
        self.st.fresh();
        // a short `char` array in memory (`comm`), the common case, through the page cache
        if let Some(addr) = o.address() {
            let types = o.prog().types();
            let mut hot = self.st.hot();
            if let Shape::Array {
                elem,
                len: len @ 1..=4096,
            } = hot.shapes.get(types, o.type_id()).map_err(py_err)?.shape
            {
                if let Shape::Int { size: 1, .. } =
                    hot.shapes.get(types, elem).map_err(py_err)?.shape
                {
                    let mut buf = [0u8; 4096];
                    let v = &mut buf[..len as usize];
                    hot.pages.read(o.prog(), addr, v).map_err(py_err)?;
                    drop(hot);
                    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
                    return Ok(PyBytes::new(py, &v[..end]).unbind());
                }
            }
        }
        let (_, t) = self.resolved()?;
        let bytes = match t.kind {
            // an array of unknown length (`const char linux_banner[]`) reads up to its NUL
            TypeKind::Array { len: 0, .. } => {
                let addr = o
                    .address()
                    .ok_or_else(|| PyTypeError::new_err("string_: no address"))?;
                read_cstring(self.st.prog()?, addr)?
            }
            TypeKind::Array { len, .. } => {
                let mut v = o.read_bytes().map_err(py_err)?;
                let n = (len as usize).min(v.len());
                let end = v[..n].iter().position(|&c| c == 0).unwrap_or(n);
                v.truncate(end);
                v
            }
            TypeKind::Pointer { .. } => {
                read_cstring(self.st.prog()?, o.read_u64().map_err(py_err)?)?
            }
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "string_: {} is not a char array or pointer",
                    o.type_name()
                )))
            }
        };
        Ok(PyBytes::new(py, &bytes).unbind())
    }

    /// The object's bytes.
    fn to_bytes_(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        let v = self.val()?.read_bytes().map_err(py_err)?;
        Ok(PyBytes::new(py, &v).unbind())
    }

    /// The address of an object in memory, `None` for a value or an absent object.
    #[getter]
    pub fn address_(&self) -> PyResult<Option<u64>> {
        match self.place {
            Place::Obj(_) => Ok(self.obj()?.address()),
            Place::Held(_) | Place::Absent(..) => Ok(None),
        }
    }

    /// True for an absent object (no value, no address).
    #[getter]
    fn absent_(&self) -> bool {
        matches!(self.place, Place::Absent(..))
    }

    /// The width in bits of a bitfield, `None` otherwise.
    #[getter]
    fn bit_field_size_(&self) -> PyResult<Option<u32>> {
        match self.place {
            Place::Obj(_) => Ok(self.obj()?.bit_size()),
            Place::Held(_) | Place::Absent(..) => Ok(None),
        }
    }

    /// The object's type.
    #[getter]
    fn type_(&self) -> PyResult<PyType> {
        Ok(PyType::new(&self.st, self.type_id()?))
    }

    /// The program this object belongs to.
    #[getter]
    fn prog_(&self) -> PyProgram {
        PyProgram {
            st: self.st.clone(),
        }
    }

    /// The struct of type `type_name` holding this object as `member` (see `container_of`).
    fn container_of_(&self, type_name: &str, member: &str) -> PyResult<PyObj> {
        let o = self.obj()?;
        Ok(PyObj::new(
            &self.st,
            o.container_of(type_name, member).map_err(py_err)?,
        ))
    }

    /// drgn's C syntax (`(pid_t)1`, `*(struct list_head *)0x… = { … }`); `integer_base=16`
    /// for hex integers. Other drgn options are accepted and ignored.
    #[pyo3(signature = (*, integer_base = 10, dereference = None, type_name = true, **_kwargs))]
    fn format_(
        &self,
        integer_base: u32,
        dereference: Option<bool>,
        type_name: bool,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<String> {
        let opts = FormatOptions {
            hex: integer_base == 16,
            dereference: dereference.unwrap_or(true),
            type_name,
        };
        match self.place {
            Place::Absent(t, why) => Ok(format!(
                "({}){}",
                crate::format::c_type_name(self.st.prog()?, t),
                match why {
                    Absence::Other => "<absent>",
                    Absence::OptimizedOut => "<optimized out>",
                }
            )),
            Place::Obj(_) | Place::Held(_) => format_object(&self.val()?, opts).map_err(py_err),
        }
    }

    /// The value as gdb (and crash's `p`/`struct`) prints it; `hex=True` for integers in hex.
    #[pyo3(signature = (hex = false))]
    fn gdb_format_(&self, hex: bool) -> PyResult<String> {
        let o = self.obj()?;
        let opts = kdive_program::print::PrintOptions {
            hex,
            ..Default::default()
        };
        kdive_program::print::format_value(&o, opts, 0).map_err(py_err)
    }

    fn __str__(&self) -> PyResult<String> {
        self.format_(10, None, true, None)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let prog = match self.st.prog() {
            Ok(p) => p,
            Err(e) => return format!("Object(<{e}>)"),
        };
        let tn = crate::format::c_type_name(prog, self.type_id().unwrap_or(TypeId::VOID));
        match self.place {
            Place::Absent(_, Absence::Other) => format!("Object(prog, '{tn}')"),
            Place::Absent(_, Absence::OptimizedOut) => {
                format!("Object(prog, '{tn}', absence_reason=AbsenceReason.OPTIMIZED_OUT)")
            }
            // drgn's spelling of a held value: its `value_()`, as Python writes it
            Place::Held(_) => match self.value_(py).and_then(|v| v.bind(py).repr()) {
                Ok(v) => format!("Object(prog, '{tn}', value={v})"),
                Err(e) => format!("Object(prog, '{tn}', <{e}>)"),
            },
            Place::Obj(h) => {
                let o = Object::from_handle(prog, h);
                match o.address() {
                    Some(a) => format!("Object(prog, '{tn}', address={a:#x})"),
                    None => match (self.arith(), self.int_value()) {
                        (Ok(Some(Arith::Pointer { .. })), Ok(v)) => {
                            format!("Object(prog, '{tn}', value={v:#x})")
                        }
                        (_, Ok(v)) => format!("Object(prog, '{tn}', value={v})"),
                        (_, Err(e)) => format!("Object(prog, '{tn}', <{e}>)"),
                    },
                }
            }
        }
    }

    // C arithmetic: pointers step by their target's size; integers keep the wider type
    fn __add__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Add, false)
    }

    fn __radd__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Add, true)
    }

    fn __sub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Sub, false)
    }

    fn __rsub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Sub, true)
    }

    fn __mul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Mul, false)
    }

    fn __rmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Mul, true)
    }

    fn __truediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Div, false)
    }

    fn __rtruediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Div, true)
    }

    fn __floordiv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Div, false)
    }

    fn __rfloordiv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Div, true)
    }

    fn __mod__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Mod, false)
    }

    fn __rmod__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Mod, true)
    }

    fn __and__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::And, false)
    }

    fn __rand__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::And, true)
    }

    fn __or__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Or, false)
    }

    fn __ror__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Or, true)
    }

    fn __xor__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Xor, false)
    }

    fn __rxor__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Xor, true)
    }

    fn __lshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Shl, false)
    }

    fn __rlshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Shl, true)
    }

    fn __rshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Shr, false)
    }

    fn __rrshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.binop(py, other, Op::Shr, true)
    }

    fn __int__(&self) -> PyResult<i128> {
        self.converted("int")?;
        self.int_value()
    }

    fn __index__(&self) -> PyResult<i128> {
        match self.arith()? {
            Some(Arith::Int | Arith::Pointer { .. }) => self.int_value(),
            _ => Err(PyTypeError::new_err("not an integer")),
        }
    }

    fn __float__(&self) -> PyResult<f64> {
        self.float_value()
    }

    fn __bool__(&self) -> PyResult<bool> {
        self.converted("bool")?;
        Ok(match self.scalar()? {
            Scalar::Float(f) => f != 0.0,
            Scalar::Int(i) => i != 0,
            Scalar::Bool(b) => b,
        })
    }

    fn __neg__(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.binop(py, &0i64.into_pyobject(py)?.into_any(), Op::Sub, true)
    }

    fn __pos__(&self) -> PyResult<PyObj> {
        self.read_()
    }

    fn __invert__(&self) -> PyResult<PyObj> {
        self.value_obj(self.type_id()?, !(self.int_value()? as u64))
    }

    fn __abs__(&self, py: Python<'_>) -> PyResult<PyObject> {
        if self.int_value()? < 0 {
            self.__neg__(py)
        } else {
            Ok(Py::new(py, self.read_()?)?.into_any())
        }
    }

    fn __richcmp__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: pyo3::basic::CompareOp,
    ) -> PyResult<PyObject> {
        // as drgn: anything but an Object or a number is not compared; an array is its address
        // (C's decay to a pointer); other aggregates are no operands of a comparison
        let theirs = match other.downcast::<PyObj>() {
            Ok(o) => o.borrow().compared()?.map(|s| match s {
                Scalar::Int(i) => Operand::Int(i),
                Scalar::Bool(b) => Operand::Int(i128::from(b)),
                Scalar::Float(f) => Operand::Float(f),
            }),
            Err(_) => match Self::operand(other)? {
                Some((_, _, v)) => Some(v),
                None => return Ok(py.NotImplemented()),
            },
        };
        let (Some(mine), Some(theirs)) = (self.compared()?, theirs) else {
            let their_type = match other.downcast::<PyObj>() {
                Ok(o) => o.borrow().type_name()?,
                Err(_) => "int".into(),
            };
            return Err(PyTypeError::new_err(format!(
                "invalid operands to comparison ('{}' and '{their_type}')",
                self.type_name()?
            )));
        };
        let ord = match (mine, theirs) {
            (Scalar::Float(a), b) => a.partial_cmp(&b.as_f64()),
            (Scalar::Int(a), Operand::Float(b)) => (a as f64).partial_cmp(&b),
            (Scalar::Int(a), Operand::Int(b)) => Some(a.cmp(&b)),
            (Scalar::Bool(a), b) => i128::from(a).partial_cmp(&match b {
                Operand::Int(i) => i,
                Operand::Float(f) => f as i128,
            }),
        };
        let r = ord.is_some_and(|o| op.matches(o));
        Ok(r.into_pyobject(py)?.to_owned().into_any().unbind())
    }
}
