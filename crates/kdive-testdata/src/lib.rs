//! Test data for every crate of the workspace, made once: the fixture corpus, and synthetic
//! dumps, memories, types and symbols built in code.
//!
//! - [`fixtures`]: the real dumps and their references (re-exported at the top).
//! - [`dwarf`]: a small ELF file with DWARF.
//! - [`kallsyms`]: the kernel's kallsyms tables for a list of symbols.
//! - [`mem`]: kernel virtual memories ([`mem::SparseMemory`], [`mem::VirtBytes`], [`mem::Repeating`]).
//! - [`phys`]: physical memory as a dump format ([`phys::PhysMemory`]).
//! - [`symbols`]: a symbol table ([`symbols::SymbolList`]).

use std::sync::Arc;

use kdive_debuginfo::table::TypeTable;
use kdive_debuginfo::Types;

pub mod dwarf;
pub mod fixtures;
pub mod kallsyms;
pub mod mem;
pub mod phys;
pub mod symbols;

pub use fixtures::*;

/// A [`Types`] whose only provider is `table` (made with [`TypeTable::new`]`(0)`).
pub fn types_of(table: TypeTable) -> Types {
    assert_eq!(table.src(), 0, "the table must be provider 0");
    let mut types = Types::new();
    types.add_source(Arc::new(table));
    types
}
