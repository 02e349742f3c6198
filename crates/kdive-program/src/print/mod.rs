//! Printing typed data the way gdb (and so crash) does: values ([`value`]) and type
//! definitions ([`decl`]).

pub mod decl;
pub mod value;

pub use decl::{declaration, definition};
pub use value::{format_value, PrintOptions};
