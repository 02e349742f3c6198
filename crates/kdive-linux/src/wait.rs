//! Wait queues: the entries waiting on a `wait_queue_head_t`.

use kdive_program::{Program, Result};

use crate::list::list_entries;

/// What waits on the wait queue head at `head`: each `wait_queue_entry`'s `private` (the
/// waiting task, for entries made by the kernel's `DEFINE_WAIT`), in queue order; and the error
/// that cut the walk short, if one did.
pub fn waiters(prog: &Program, head: u64, limit: usize) -> Result<(Vec<u64>, Option<String>)> {
    let list = prog
        .object("struct wait_queue_head", head)?
        .member("head")?
        .address()
        .unwrap_or(0);
    let (entries, err) = list_entries(prog, list, "struct wait_queue_entry", "entry", limit)?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        out.push(
            prog.object("struct wait_queue_entry", e)?
                .member("private")?
                .read_u64()?,
        );
    }
    Ok((out, err.map(|e| e.to_string())))
}
