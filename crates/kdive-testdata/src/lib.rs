//! Test data for every crate of the workspace, made once (rust-minidump's `synth-minidump` is
//! the model): the real fixture corpus, and dumps, memories, types and symbols built in code.
//! Every crate's tests, the fuzz targets and their seeds, and the benches take them from here.
//!
//! The real dumps:
//! - [`fixtures`](mod@fixtures) (re-exported at the top): the corpus of real vmcores with the references of
//!   crash and drgn, the fixture kernels' vmlinux files.
//!
//! Files, as bytes:
//! - [`kdump::Writer`]: a kdump-compressed file page by page (data in every codec, zero,
//!   excluded, lost, past the end, undecodable pages), any header version, word size, byte
//!   order, split part; [`kdump::layout`] says where the fields of one are and patches pages.
//! - [`elf::core`]: an ELF64 x86_64 vmcore of `PT_LOAD`s and a note segment made by
//!   [`elf::note`], [`elf::prstatus`] and [`elf::qemu`]; [`elf::ElfLayout`] reads one back.
//! - [`flat::flatten`]: makedumpfile's flattened format around any bytes.
//! - [`pages`]: pages compressed as makedumpfile compresses them, and sample contents.
//! - [`btf::BtfBuilder`]: a BTF blob of any kind of type, plain or split, either byte order.
//! - [`kallsyms::tables`]: the kernel's kallsyms tables, in every address encoding.
//! - [`dwarf`]: a small ELF file with DWARF line and inline information; [`dwarf_types`]: one
//!   whose DWARF describes types and variables.
//! - [`kernel`]: a synthetic x86_64 kernel (tasks, runqueue, utsname, printk ring, BTF,
//!   kallsyms) as physical memory with VMCOREINFO, and as an ELF vmcore.
//!
//! In memory, implementing the layers' traits:
//! - [`mem::SparseMemory`] (byte regions, pages that read as filtered out), [`mem::VirtBytes`]
//!   and [`mem::Repeating`]: kernel virtual memory (`ReadVirt`).
//! - [`phys::PhysMemory`]: physical pages as a dump format (`DumpFormat`);
//!   [`paging::PageTables`]: one with x86_64 page tables (4- or 5-level, huge pages) and the
//!   `KernelMemory` that reads through them.
//! - [`symbols::SymbolList`]: symbols by name, address and size (`SymbolSource`); types are
//!   `kdive_debuginfo::table::TypeTable`s, registered by [`types_of`].
//!
//! And around them: [`temp`] (scratch files removed on drop, `makedumpfile --split` sets),
//! [`bytes`] (fields of files being read or damaged).
//!
//! ```
//! use kdive_debuginfo::table::TypeTable;
//! use kdive_debuginfo::Member;
//! use kdive_dump::kdump::{KdumpFile, Source};
//! use kdive_dump::{Codec, DumpFormat, PageState};
//! use kdive_memory::ReadVirt;
//! use kdive_testdata::kdump::{Page, Writer};
//! use kdive_testdata::mem::SparseMemory;
//! use kdive_testdata::symbols::SymbolList;
//!
//! // A kdump file of 8 pages: page 1 zlib-compressed, page 2 filtered out.
//! let file = Writer::new(4096, 8)
//!     .page(1, Page::Data(Codec::Zlib, vec![0x5a; 4096]))
//!     .page(2, Page::Excluded)
//!     .build();
//! let dump = KdumpFile::parse(Source::Bytes(file)).unwrap();
//! assert_eq!(dump.page_state(2), PageState::Excluded);
//! let mut b = [0u8; 4];
//! dump.read_page(1, 100, &mut b).unwrap();
//! assert_eq!(b, [0x5a; 4]);
//!
//! // Kernel memory: a word, and a page the dump filtered out.
//! let mut mem = SparseMemory::new();
//! mem.words(0xffff_ffff_8200_0000, &[42])
//!     .fill(0xffff_8880_0000_0000, 4096, 0)
//!     .exclude_page(0xffff_8880_0000_0000);
//! assert_eq!(mem.read_u64(0xffff_ffff_8200_0000).unwrap(), 42);
//! assert!(mem.read_u64(0xffff_8880_0000_0000).unwrap_err().is_missing_page());
//!
//! // Types and symbols.
//! let mut t = TypeTable::new(0);
//! let ulong = t.int("unsigned long", 8, false);
//! t.struct_("counter", 8, vec![Member::at("value", ulong, 0)]);
//! let types = kdive_testdata::types_of(t);
//! assert!(types.lookup("struct counter").is_ok());
//! let syms = SymbolList::data(&[("jiffies", 0xffff_ffff_8200_0000, 8)]).into_symbols();
//! assert_eq!(syms.address_of("jiffies"), Some(0xffff_ffff_8200_0000));
//! ```

use std::sync::Arc;

use kdive_debuginfo::table::TypeTable;
use kdive_debuginfo::Types;

pub mod btf;
pub mod bytes;
pub mod dwarf;
pub mod dwarf_types;
pub mod elf;
pub mod fixtures;
pub mod flat;
pub mod kallsyms;
pub mod kdump;
pub mod kernel;
pub mod mem;
pub mod pages;
pub mod paging;
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
