//! What a blocked task waits on: the mutex or rw_semaphore whose wait list holds a waiter that
//! lives on the task's stack, and the task that owns the lock.
//!
//! A sleeping locker puts a `struct mutex_waiter` / `struct rwsem_waiter` (`{list, task, ...}`)
//! on its own stack and links it into the lock's `wait_list`. So the task's stack is searched for
//! a word equal to the task's address at the waiter's `task` offset, the wait list is followed
//! (bounded) to the node that is not a waiter — the list head inside the lock — and the lock's
//! `owner` (flags in its low three bits) names the owner. Offsets come from the types.

use std::collections::HashSet;

use kdive_program::object::offset_of;
use kdive_program::{Program, Result};

use crate::stack::BacktraceContext;

/// Nodes of a wait list followed at most.
const MAX_WAITERS: usize = 4096;
/// Low bits of `mutex.owner` / `rw_semaphore.owner` that are flags.
const OWNER_FLAGS: u64 = 0x7;
/// `RWSEM_READER_OWNED`: the owner field holds the last reader, not a writer.
const RWSEM_READER_OWNED: u64 = 0x1;

/// Which kind of sleeping lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Mutex,
    RwSemaphore,
}

impl LockKind {
    pub fn name(self) -> &'static str {
        match self {
            LockKind::Mutex => "mutex",
            LockKind::RwSemaphore => "rw_semaphore",
        }
    }
}

/// The lock a task sleeps on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub kind: LockKind,
    /// The `struct mutex` / `struct rw_semaphore`.
    pub lock: u64,
    /// The owner's `task_struct` (without flag bits); None when the lock records none.
    pub owner: Option<u64>,
    /// An rw_semaphore held by readers: `owner` is only the last reader.
    pub reader_owned: bool,
}

/// The lock `task` sleeps on, looked for as `kind` (the caller knows which from the task's
/// stack: `__mutex_lock`, `rwsem_down_*`). `tasks` are every task's address.
pub fn waited_lock(
    prog: &Program,
    ctx: &BacktraceContext,
    task: u64,
    kind: LockKind,
    tasks: &HashSet<u64>,
) -> Result<Option<Waiting>> {
    let (waiter_ty, lock_ty) = match kind {
        LockKind::Mutex => ("struct mutex_waiter", "struct mutex"),
        LockKind::RwSemaphore => ("struct rwsem_waiter", "struct rw_semaphore"),
    };
    let wty = prog.type_(waiter_ty)?;
    let lty = prog.type_(lock_ty)?;
    let w_list = offset_of(prog, wty, "list")?;
    let w_task = offset_of(prog, wty, "task")?;
    let l_list = offset_of(prog, lty, "wait_list")?;
    let l_owner = offset_of(prog, lty, "owner")?;
    let stack = ctx.task_stack(prog, task)?;
    let size = stack.end.saturating_sub(stack.start);
    if size == 0 || size > 1 << 20 {
        return Ok(None);
    }
    let mut buf = vec![0u8; size as usize];
    prog.read(stack.start, &mut buf)?;
    let on_a_stack = |node: u64| -> bool {
        // a waiter node: its task field names a task whose stack holds the node
        let Ok(t) = prog.read_u64(node.wrapping_sub(w_list).wrapping_add(w_task)) else {
            return false;
        };
        tasks.contains(&t)
            && ctx
                .task_stack(prog, t)
                .is_ok_and(|r| (r.start..r.end).contains(&node))
    };
    for (i, word) in buf.chunks_exact(8).enumerate() {
        let value = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let at = stack.start + i as u64 * 8;
        if value != task || at < stack.start + w_task {
            continue;
        }
        let waiter = at - w_task;
        let first = waiter + w_list;
        // follow the list to the head inside the lock
        let mut node = first;
        let mut seen = HashSet::new();
        let mut head = None;
        for _ in 0..MAX_WAITERS {
            let Ok(next) = prog.read_u64(node) else { break };
            // a list node's neighbour points back at it
            if prog.read_u64(next.wrapping_add(8)).ok() != Some(node) || !seen.insert(next) {
                break;
            }
            if next == first {
                break;
            }
            if !on_a_stack(next) {
                head = Some(next);
                break;
            }
            node = next;
        }
        let Some(head) = head else { continue };
        let lock = head.wrapping_sub(l_list);
        let raw = prog.read_u64(lock.wrapping_add(l_owner))?;
        let owner = Some(raw & !OWNER_FLAGS).filter(|&o| o != 0);
        return Ok(Some(Waiting {
            kind,
            lock,
            owner,
            reader_owned: kind == LockKind::RwSemaphore && raw & RWSEM_READER_OWNED != 0,
        }));
    }
    Ok(None)
}
