//! The linux layer: kernel knowledge as helpers over `Program`/`Object`, and the one way to
//! open a dump ([`open()`]).
//!
//! Version differences are settled by asking the types (does `task_struct` have `__state`?),
//! never by parsing version strings. Every walk is bounded and detects cycles.

pub mod audit;
pub mod block;
pub mod bpf;
pub mod bpf_insn;
pub mod debuginfo_find;
pub mod dev;
pub mod fs;
pub mod ipc;
pub mod irq;
pub mod kmem;
pub mod list;
pub mod live_files;
pub mod locks;
pub mod machine;
pub mod maple;
pub mod memory_block;
pub mod mm;
pub mod mmzone;
pub mod module;
pub mod net;
pub mod open;
pub mod page;
pub mod pci;
pub mod percpu;
pub mod printk;
pub mod rbtree;
pub mod resource;
pub mod sbitmap;
pub mod sched;
pub mod signal;
pub mod slab;
pub mod slab_object;
pub mod sparse;
pub mod stack;
mod stack_arm64;
pub mod swap;
pub mod system;
pub mod taint;
pub mod task;
pub mod timer;
pub mod vmalloc;
pub mod vmstat;
pub mod wait;
pub mod xarray;

pub use open::{open, open_dump, DumpOpened, NoKernel, Notice, OpenError, OpenOptions, Opened};

/// Default bound on list and tree walks (`--max-list-entries` changes it).
pub const DEFAULT_WALK_LIMIT: usize = 1 << 20;

use kdive_debuginfo::TypeKind;
use kdive_program::{Object, Result};

/// Reads an integer that may be wrapped in `atomic_t`/`atomic_long_t`/`refcount_t`-style structs
/// (`{ counter }`, `{ refs }`).
pub fn read_counter(o: &Object<'_>) -> Result<i64> {
    let (_, t) = o.prog().types().resolve(o.type_id())?;
    match t.kind {
        TypeKind::Struct { .. } => {
            let inner = o.member("counter").or_else(|_| o.member("refs"))?;
            read_counter(&inner)
        }
        _ => o.read_i64(),
    }
}
