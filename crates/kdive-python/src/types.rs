//! `Type` in drgn's shape: `kind`, `name`/`tag`, `size`, `length`, `type`, `members`,
//! `enumerators`, `parameters`; `str()` is the C definition.

use std::sync::Arc;

use kdive_debuginfo::{Qualifier, Type, TypeId, TypeKind};
use kdive_program::object::offset_of;
use pyo3::exceptions::{PyLookupError, PyTypeError};
use pyo3::prelude::*;

use crate::errors::py_err;
use crate::state::State;

/// drgn's `TypeKind`.
#[pyclass(eq, eq_int, module = "kdive", name = "TypeKind")]
#[derive(Clone, Copy, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum PyTypeKind {
    VOID,
    INT,
    BOOL,
    FLOAT,
    STRUCT,
    UNION,
    CLASS,
    ENUM,
    TYPEDEF,
    POINTER,
    ARRAY,
    FUNCTION,
}

#[pymethods]
impl PyTypeKind {
    /// The kind's name (`"STRUCT"`, ...), as a Python enum member's `name`.
    #[getter]
    fn name(&self) -> &'static str {
        match self {
            PyTypeKind::VOID => "VOID",
            PyTypeKind::INT => "INT",
            PyTypeKind::BOOL => "BOOL",
            PyTypeKind::FLOAT => "FLOAT",
            PyTypeKind::STRUCT => "STRUCT",
            PyTypeKind::UNION => "UNION",
            PyTypeKind::CLASS => "CLASS",
            PyTypeKind::ENUM => "ENUM",
            PyTypeKind::TYPEDEF => "TYPEDEF",
            PyTypeKind::POINTER => "POINTER",
            PyTypeKind::ARRAY => "ARRAY",
            PyTypeKind::FUNCTION => "FUNCTION",
        }
    }
}

/// drgn's `Qualifiers` as bits: CONST 1, VOLATILE 2, RESTRICT 4.
fn qualifier_bit(q: Qualifier) -> u32 {
    match q {
        Qualifier::Const => 1,
        Qualifier::Volatile => 2,
        Qualifier::Restrict => 4,
    }
}

/// A type of a program.
#[pyclass(name = "Type", module = "kdive", unsendable)]
pub struct PyType {
    pub st: Arc<State>,
    pub id: TypeId,
}

/// A member of a struct or union type.
#[pyclass(name = "TypeMember", module = "kdive", unsendable, get_all)]
pub struct PyTypeMember {
    /// `None` for an anonymous member.
    pub name: Option<String>,
    pub r#type: Py<PyType>,
    pub bit_offset: u64,
    pub offset: u64,
    /// Width of a bitfield, `None` for an ordinary member.
    pub bit_field_size: Option<u32>,
}

#[pymethods]
impl PyTypeMember {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "TypeMember(prog.type('{}'), name={:?}, bit_offset={})",
            self.r#type.borrow(py).name_c(),
            self.name.as_deref().unwrap_or(""),
            self.bit_offset
        )
    }
}

/// An enumerator of an enum type.
#[pyclass(name = "TypeEnumerator", module = "kdive", get_all)]
pub struct PyTypeEnumerator {
    pub name: String,
    pub value: i64,
}

#[pymethods]
impl PyTypeEnumerator {
    fn __repr__(&self) -> String {
        format!("TypeEnumerator({:?}, {})", self.name, self.value)
    }
    fn __iter__(slf: PyRef<'_, Self>, py: Python<'_>) -> PyResult<PyObject> {
        let t = (slf.name.clone(), slf.value).into_pyobject(py)?;
        Ok(t.try_iter()?.into_any().unbind())
    }
}

/// A parameter of a function type.
#[pyclass(name = "TypeParameter", module = "kdive", unsendable, get_all)]
pub struct PyTypeParameter {
    pub name: Option<String>,
    pub r#type: Py<PyType>,
}

impl PyType {
    pub fn new(st: &Arc<State>, id: TypeId) -> PyType {
        PyType { st: st.clone(), id }
    }

    /// The C spelling of this type.
    pub fn name_c(&self) -> String {
        self.st
            .prog()
            .map(|p| crate::format::c_type_name(p, self.id))
            .unwrap_or_default()
    }

    /// This type with its qualifiers peeled (drgn keeps qualifiers beside the type).
    fn unqualified_id(&self) -> PyResult<(TypeId, Arc<Type>, u32)> {
        let mut id = self.id;
        let mut quals = 0;
        for _ in 0..16 {
            let t = self
                .st
                .prog()?
                .types()
                .get(id)
                .map_err(|e| py_err(e.into()))?;
            match t.kind {
                TypeKind::Qualified { qual, target } => {
                    quals |= qualifier_bit(qual);
                    id = target;
                }
                _ => return Ok((id, t, quals)),
            }
        }
        Err(PyTypeError::new_err("qualifiers nest too deep"))
    }

    fn wrap(&self, py: Python<'_>, id: TypeId) -> PyResult<Py<PyType>> {
        Py::new(py, PyType::new(&self.st, id))
    }
}

#[pymethods]
impl PyType {
    /// The kind of type (`TypeKind.STRUCT`, ...).
    #[getter]
    fn kind(&self) -> PyResult<PyTypeKind> {
        let (_, t, _) = self.unqualified_id()?;
        Ok(match t.kind {
            TypeKind::Void => PyTypeKind::VOID,
            TypeKind::Int { is_bool: true, .. } => PyTypeKind::BOOL,
            TypeKind::Int { .. } => PyTypeKind::INT,
            TypeKind::Float { .. } => PyTypeKind::FLOAT,
            TypeKind::Pointer { .. } => PyTypeKind::POINTER,
            TypeKind::Array { .. } => PyTypeKind::ARRAY,
            TypeKind::Struct { .. } => PyTypeKind::STRUCT,
            TypeKind::Union { .. } => PyTypeKind::UNION,
            TypeKind::Fwd { union: true } => PyTypeKind::UNION,
            TypeKind::Fwd { union: false } => PyTypeKind::STRUCT,
            TypeKind::Enum { .. } => PyTypeKind::ENUM,
            TypeKind::Typedef { .. } => PyTypeKind::TYPEDEF,
            TypeKind::Function { .. } => PyTypeKind::FUNCTION,
            TypeKind::Qualified { .. } => PyTypeKind::VOID,
        })
    }

    /// drgn's qualifier bits (CONST 1, VOLATILE 2, RESTRICT 4).
    #[getter]
    fn qualifiers(&self) -> PyResult<u32> {
        Ok(self.unqualified_id()?.2)
    }

    /// The name of a base type or typedef (`None` for others).
    #[getter]
    fn name(&self) -> PyResult<Option<String>> {
        let (_, t, _) = self.unqualified_id()?;
        Ok(match t.kind {
            TypeKind::Void => Some("void".into()),
            TypeKind::Int { .. } | TypeKind::Float { .. } | TypeKind::Typedef { .. } => {
                t.name.as_deref().map(str::to_string)
            }
            _ => None,
        })
    }

    /// The tag of a struct, union or enum (`None` when anonymous or another kind).
    #[getter]
    fn tag(&self) -> PyResult<Option<String>> {
        let (_, t, _) = self.unqualified_id()?;
        Ok(match t.kind {
            TypeKind::Struct { .. }
            | TypeKind::Union { .. }
            | TypeKind::Enum { .. }
            | TypeKind::Fwd { .. } => t.name.as_deref().map(str::to_string),
            _ => None,
        })
    }

    /// Size in bytes (`None` for void, functions and incomplete types).
    #[getter]
    fn size(&self) -> PyResult<Option<u64>> {
        let (id, t, _) = self.unqualified_id()?;
        if matches!(
            t.kind,
            TypeKind::Void | TypeKind::Function { .. } | TypeKind::Fwd { .. }
        ) {
            return Ok(None);
        }
        Ok(self.st.prog()?.types().size_of(id).ok())
    }

    /// Number of elements of an array type.
    #[getter]
    fn length(&self) -> PyResult<Option<u64>> {
        let (_, t, _) = self.unqualified_id()?;
        Ok(match t.kind {
            TypeKind::Array { len, .. } => Some(len),
            _ => None,
        })
    }

    /// True for a signed integer type.
    #[getter]
    fn is_signed(&self) -> PyResult<Option<bool>> {
        let (_, t, _) = self.unqualified_id()?;
        Ok(match t.kind {
            TypeKind::Int { signed, .. } | TypeKind::Enum { signed, .. } => Some(signed),
            _ => None,
        })
    }

    /// The referenced type: a pointer's target, an array's element, a typedef's aliased type,
    /// a function's return type, an enum's compatible integer type (`None` otherwise).
    #[getter]
    fn r#type(&self, py: Python<'_>) -> PyResult<Option<Py<PyType>>> {
        let (_, t, _) = self.unqualified_id()?;
        let id = match t.kind {
            TypeKind::Pointer { target } | TypeKind::Typedef { target } => target,
            TypeKind::Array { elem, .. } => elem,
            TypeKind::Function { ret, .. } => ret,
            _ => return Ok(None),
        };
        self.wrap(py, id).map(Some)
    }

    /// The members of a struct or union, in order (`None` for other kinds).
    #[getter]
    fn members(&self, py: Python<'_>) -> PyResult<Option<Vec<PyTypeMember>>> {
        let (_, t, _) = self.unqualified_id()?;
        let (TypeKind::Struct { members, .. } | TypeKind::Union { members, .. }) = &t.kind else {
            return Ok(None);
        };
        members
            .iter()
            .map(|m| {
                Ok(PyTypeMember {
                    name: m.name.as_deref().map(str::to_string),
                    r#type: self.wrap(py, m.ty)?,
                    bit_offset: m.bit_offset,
                    offset: m.bit_offset / 8,
                    bit_field_size: m.bit_size,
                })
            })
            .collect::<PyResult<Vec<_>>>()
            .map(Some)
    }

    /// The enumerators of an enum (`None` for other kinds).
    #[getter]
    fn enumerators(&self) -> PyResult<Option<Vec<PyTypeEnumerator>>> {
        let (_, t, _) = self.unqualified_id()?;
        let TypeKind::Enum { values, .. } = &t.kind else {
            return Ok(None);
        };
        Ok(Some(
            values
                .iter()
                .map(|(n, v)| PyTypeEnumerator {
                    name: n.to_string(),
                    value: *v,
                })
                .collect(),
        ))
    }

    /// The parameters of a function type (`None` for other kinds).
    #[getter]
    fn parameters(&self, py: Python<'_>) -> PyResult<Option<Vec<PyTypeParameter>>> {
        let (_, t, _) = self.unqualified_id()?;
        let TypeKind::Function { params, .. } = &t.kind else {
            return Ok(None);
        };
        params
            .iter()
            .map(|(n, ty)| {
                Ok(PyTypeParameter {
                    name: n.as_deref().map(str::to_string),
                    r#type: self.wrap(py, *ty)?,
                })
            })
            .collect::<PyResult<Vec<_>>>()
            .map(Some)
    }

    /// True for a variadic function type.
    #[getter]
    fn is_variadic(&self) -> PyResult<Option<bool>> {
        let (_, t, _) = self.unqualified_id()?;
        Ok(match t.kind {
            TypeKind::Function { variadic, .. } => Some(variadic),
            _ => None,
        })
    }

    /// The type's name in C (`struct task_struct *`).
    fn type_name(&self) -> String {
        self.name_c()
    }

    /// False for `void`, a declared-only struct/union, or an array of unknown length.
    fn is_complete(&self) -> PyResult<bool> {
        let (_, t, _) = self.unqualified_id()?;
        Ok(!matches!(t.kind, TypeKind::Void | TypeKind::Fwd { .. }))
    }

    /// The type without qualifiers.
    fn unqualified(&self, py: Python<'_>) -> PyResult<Py<PyType>> {
        let (id, _, _) = self.unqualified_id()?;
        self.wrap(py, id)
    }

    /// True if the struct or union has member `name` (anonymous members searched too).
    fn has_member(&self, name: &str) -> PyResult<bool> {
        let (id, _, _) = self.unqualified_id()?;
        Ok(self.st.prog()?.types().has_member(id, name))
    }

    /// The member `name`, searched through anonymous members; `LookupError` if there is none.
    fn member(&self, py: Python<'_>, name: &str) -> PyResult<PyTypeMember> {
        let (id, _, _) = self.unqualified_id()?;
        let prog = self.st.prog()?;
        let m = prog.types().member(id, name).map_err(|_| {
            PyLookupError::new_err(format!("{} has no member {name:?}", self.name_c()))
        })?;
        let offset = offset_of(prog, id, name).map_err(py_err)?;
        Ok(PyTypeMember {
            name: Some(name.to_string()),
            r#type: self.wrap(py, m.ty)?,
            bit_offset: offset * 8 + m.bit_offset % 8,
            offset,
            bit_field_size: m.bit_size,
        })
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .downcast::<PyType>()
            .map(|o| o.borrow().id == self.id)
            .unwrap_or(false)
    }

    fn __hash__(&self) -> u64 {
        (u64::from(self.id.src) << 32) | u64::from(self.id.idx)
    }

    fn __repr__(&self) -> String {
        format!("prog.type('{}')", self.name_c())
    }

    /// The C definition (members of a struct, values of an enum), or the name for other kinds.
    fn __str__(&self) -> PyResult<String> {
        let (_, t, _) = self.unqualified_id()?;
        let prog = self.st.prog()?;
        Ok(match t.kind {
            TypeKind::Struct { .. }
            | TypeKind::Union { .. }
            | TypeKind::Enum { .. }
            | TypeKind::Typedef { .. } => {
                kdive_program::print::decl::definition(prog.types(), self.id, false)
                    .unwrap_or_else(|_| self.name_c())
            }
            _ => self.name_c(),
        })
    }
}
