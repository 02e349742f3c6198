//! Bounded, cycle-detecting walks of the kernel's lists: `struct list_head` rings and
//! NULL-terminated singly linked chains.

use std::collections::HashSet;

use kdive_program::{Program, ProgramError, Result};

/// Direction of a list walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Next,
    Prev,
}

/// Iterates the nodes (addresses of the embedded `list_head`s) of the list whose head is at
/// `head`, excluding the head itself. Stops with an error on an unreadable pointer, a loop that
/// does not return to the head, or more than `limit` entries.
pub struct ListWalk<'p> {
    prog: &'p Program,
    head: u64,
    cur: u64,
    offset: u64,
    seen: HashSet<u64>,
    limit: usize,
    done: bool,
}

impl<'p> ListWalk<'p> {
    /// Walks `next` pointers from the list head at `head`.
    pub fn new(prog: &'p Program, head: u64, limit: usize) -> Result<ListWalk<'p>> {
        Self::with_direction(prog, head, Direction::Next, limit)
    }

    /// Walks in the given direction (`prev` walks recover what lies behind a break in `next`).
    pub fn with_direction(
        prog: &'p Program,
        head: u64,
        dir: Direction,
        limit: usize,
    ) -> Result<ListWalk<'p>> {
        let lh = prog.type_("struct list_head")?;
        let name = if dir == Direction::Next {
            "next"
        } else {
            "prev"
        };
        let offset = kdive_program::object::offset_of(prog, lh, name)?;
        Ok(ListWalk {
            prog,
            head,
            cur: head,
            offset,
            seen: HashSet::new(),
            limit,
            done: false,
        })
    }
}

impl Iterator for ListWalk<'_> {
    type Item = Result<u64>;

    fn next(&mut self) -> Option<Result<u64>> {
        if self.done {
            return None;
        }
        let next = match self.prog.read_u64(self.cur.wrapping_add(self.offset)) {
            Ok(n) => n,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if next == self.head {
            self.done = true;
            return None;
        }
        let fail = |why: String| ProgramError::Walk {
            what: format!("list at {:#x}", self.head),
            why,
        };
        if next == 0 {
            self.done = true;
            return Some(Err(fail(format!(
                "NULL pointer after entry {:#x}",
                self.cur
            ))));
        }
        if !self.seen.insert(next) {
            self.done = true;
            return Some(Err(fail(format!(
                "loops back to {next:#x} without returning to the head"
            ))));
        }
        if self.seen.len() > self.limit {
            self.done = true;
            return Some(Err(fail(format!("more than {} entries", self.limit))));
        }
        self.cur = next;
        Some(Ok(next))
    }
}

/// Addresses of the structs of type `spec` linked through member `member` into the list at `head`
/// (`list_for_each_entry`). The walk's error, if any, is returned beside the entries read before it.
pub fn list_entries(
    prog: &Program,
    head: u64,
    spec: &str,
    member: &str,
    limit: usize,
) -> Result<(Vec<u64>, Option<ProgramError>)> {
    let ty = prog.type_(spec)?;
    let off = kdive_program::object::offset_of(prog, ty, member)?;
    let mut out = Vec::new();
    for node in ListWalk::new(prog, head, limit)? {
        match node {
            Ok(n) => out.push(n.wrapping_sub(off)),
            Err(e) => return Ok((out, Some(e))),
        }
    }
    Ok((out, None))
}

/// The addresses of a NULL-terminated singly linked chain starting at `first`, following the
/// pointer at offset `next_off` of each element. A chain that cannot be read, loops or exceeds
/// `limit` stops; its error comes back beside the elements read before it.
pub fn chain(
    prog: &Program,
    first: u64,
    next_off: u64,
    limit: usize,
    what: &str,
) -> (Vec<u64>, Option<ProgramError>) {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut cur = first;
    while cur != 0 {
        if !seen.insert(cur) {
            let why = format!("loops back to {cur:#x}");
            return (out, Some(walk_err(what, first, why)));
        }
        if out.len() >= limit {
            let why = format!("more than {limit} entries");
            return (out, Some(walk_err(what, first, why)));
        }
        out.push(cur);
        match prog.read_u64(cur.wrapping_add(next_off)) {
            Ok(n) => cur = n,
            Err(e) => {
                let why = format!("the next pointer of {cur:#x}: {e}");
                return (out, Some(walk_err(what, first, why)));
            }
        }
    }
    (out, None)
}

fn walk_err(what: &str, first: u64, why: String) -> ProgramError {
    ProgramError::Walk {
        what: format!("{what} chain at {first:#x}"),
        why,
    }
}
