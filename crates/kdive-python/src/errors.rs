//! drgn's exception classes and the mapping of kdive's typed errors onto them.

use kdive_program::{ErrorKind, ProgramError};
use pyo3::exceptions::{PyException, PyLookupError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    kdive,
    FaultError,
    PyException,
    "Memory the dump does not hold (drgn's `FaultError`): `.address` and `.message`."
);
pyo3::create_exception!(
    kdive,
    ObjectAbsentError,
    PyException,
    "A value was asked of an absent object (drgn's `ObjectAbsentError`)."
);
pyo3::create_exception!(
    kdive,
    MissingDebugInfoError,
    PyException,
    "What was asked needs debugging information the dump and files do not give."
);
pyo3::create_exception!(
    kdive,
    OutOfBoundsError,
    PyException,
    "A value does not fit in its type (drgn's `OutOfBoundsError`)."
);

/// drgn's `FaultError(message, address)`: memory the dump cannot give (unmapped, or a page not
/// in it), with `.message` and `.address`.
pub fn fault_error(message: String, address: Option<u64>) -> PyErr {
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
pub fn py_err(e: ProgramError) -> PyErr {
    match e.kind() {
        ErrorKind::Fault => fault_error(e.to_string(), e.fault_address()),
        // crash's advice (`p *(T *)&x`) in Python's words
        ErrorKind::Lookup => match &e {
            ProgramError::NoType(name) => PyLookupError::new_err(format!(
                "no type for {name} (no BTF or DWARF types it): read it as \
                 Object(prog, TYPE, address=prog.symbol({name:?}).address), or give the vmlinux"
            )),
            _ => PyLookupError::new_err(e.to_string()),
        },
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A command's error as a Python exception (by its kind, as [`py_err`]).
pub fn cmd_err(e: kdive_commands::CommandError) -> PyErr {
    match e.kind() {
        "fault" => fault_error(e.to_string(), e.fault_address()),
        "lookup" => PyLookupError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}
