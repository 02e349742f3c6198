//! Test data for every crate of the workspace, made once: the fixture corpus, and synthetic
//! dumps, memories, types and symbols built in code.
//!
//! - [`fixtures`]: the real dumps and their references (re-exported at the top).
//! - [`btf`]: BTF blobs ([`btf::BtfBuilder`]).
//! - [`dwarf`]: a small ELF file with DWARF.
//! - [`kdump`]: kdump-compressed files ([`kdump::Writer`]) and where the parts of one are.
//! - [`elf`]: ELF vmcores and their notes, and where the parts of one are.
//! - [`flat`]: makedumpfile's flattened format.
//! - [`pages`]: page contents, compressed as makedumpfile does.
//! - [`bytes`]: little-endian fields of files being read or damaged.
//! - [`kernel`]: a small synthetic x86_64 kernel (tasks, printk, BTF, kallsyms) as an ELF vmcore.
//! - [`kallsyms`]: the kernel's kallsyms tables for a list of symbols.
//! - [`mem`]: kernel virtual memories ([`mem::SparseMemory`], [`mem::VirtBytes`], [`mem::Repeating`]).
//! - [`phys`]: physical memory as a dump format ([`phys::PhysMemory`]).
//! - [`temp`]: scratch directories and files removed on drop, `makedumpfile --split` sets.
//! - [`symbols`]: a symbol table ([`symbols::SymbolList`]).

use std::sync::Arc;

use kdive_debuginfo::table::TypeTable;
use kdive_debuginfo::Types;

pub mod btf;
pub mod bytes;
pub mod dwarf;
pub mod elf;
pub mod fixtures;
pub mod flat;
pub mod kallsyms;
pub mod kdump;
pub mod kernel;
pub mod mem;
pub mod pages;
pub mod phys;
pub mod symbols;
pub mod temp;

pub use fixtures::*;

/// A [`Types`] whose only provider is `table` (made with [`TypeTable::new`]`(0)`).
pub fn types_of(table: TypeTable) -> Types {
    assert_eq!(table.src(), 0, "the table must be provider 0");
    let mut types = Types::new();
    types.add_source(Arc::new(table));
    types
}
