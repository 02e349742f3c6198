//! C expressions over a [`Program`](crate::Program), as crash's `p`, `eval` and `whatis` take
//! them: globals, enum constants, literals, members (`.`, `->`), `[]`, unary `*` and `&`, casts
//! to any type, arithmetic, shifts, bit and logical operators, comparisons, `?:`, `sizeof` and
//! `offsetof`.
//!
//! [`parse`] turns text into an [`Expr`] (it asks the caller which names are types, as a C
//! parser must); [`evaluate`] computes its [`Value`] from the dump.

mod eval;
mod parse;

pub use eval::{evaluate, resolve_type, NoDebug, Value};
pub use parse::{parse, BinOp, Expr, FunctionDeclarator, ParseError, TypeName, UnOp};
