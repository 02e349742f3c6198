//! `list`: walks a linked list of kernel structures and prints each entry's address (and,
//! with `-s`, its contents), as crash does.
//!
//! `list [[-o] OFFSET|struct.member] [-s struct[.member,...]] [-x] [-h|-H] START`
//! - no `-h`/`-H`: START is the first structure; the pointer at OFFSET holds the next
//!   structure's address; the walk ends at NULL or back at START.
//! - `-h`: START is a structure with an embedded `list_head` at OFFSET; entries are the
//!   structures around each `list_head` (START first), up to the return to START.
//! - `-H`: START is a standalone `list_head`; entries are the structures around the others.
//!
//! Every walk is bounded by `--max-list-entries` and stops at a loop that does not return to
//! its start, saying so.

use std::collections::HashSet;

use kdive_program::object::offset_of;
use kdive_program::Object;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::structs::{address_of, find_aggregate, options, struct_value, StructValue};
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// One entry of the list.
#[derive(Debug, Serialize, Deserialize)]
pub struct ListEntry {
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// Its contents, with `-s`.
    pub contents: Option<StructValue>,
}

/// What `list` reports: the entries, and why the walk stopped early (if it did).
#[derive(Debug, Serialize, Deserialize)]
pub struct List {
    pub entries: Vec<ListEntry>,
    pub problems: Vec<String>,
    /// `-B`: the loop found, if any.
    #[serde(default)]
    pub r#loop: Option<ListLoop>,
}

/// Runs `list`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::LIST, args)?;
    let mut offset_arg = f.value('o');
    // -S reads members directly in crash; here both read them the same way
    let struct_arg = f.value('s').or(f.value('S'));
    let prog = s.kernel()?;
    let usage = |m: String| CommandError::Usage(format!("list: {m}"));
    // crash's `-o` may be left out: `list task_struct.tasks -h init_task`
    let start_word = match f.positional.as_slice() {
        [w] => w,
        [o, w] if offset_arg.is_none() => {
            offset_arg = Some(o);
            w
        }
        _ => return Err(usage("give one start address or symbol".into())),
    };
    let start = address_of(prog, start_word)
        .ok_or_else(|| usage(format!("invalid address or symbol: {start_word}")))?;
    let parse_offset = |o: &str| -> Result<u64, CommandError> {
        match o.split_once('.') {
            Some((ty, member)) => {
                let id = find_aggregate(prog, ty, None)
                    .ok_or_else(|| usage(format!("invalid structure: {ty}")))?;
                offset_of(prog, id, member).map_err(|e| CommandError::Program {
                    cmd: "list",
                    source: e,
                })
            }
            None => parse_number(o).ok_or_else(|| usage(format!("invalid offset: {o}"))),
        }
    };
    let offset = offset_arg.map(parse_offset).transpose()?.unwrap_or(0);
    // -O: where the head structure's own list_head is (-h), when not at OFFSET
    let head_offset = f.value('O').map(parse_offset).transpose()?;
    // -l: with -s, the entries are list_heads this far into the structures shown
    let link_offset = f.value('l').map(parse_offset).transpose()?.unwrap_or(0);
    let end = match f.value('e') {
        Some(e) => {
            Some(address_of(prog, e).ok_or_else(|| usage(format!("invalid end address: {e}")))?)
        }
        None => None,
    };
    if head_offset.is_some() && !f.has('h') {
        return Err(usage("-O goes with -h".into()));
    }
    if f.has('l') && struct_arg.is_none() {
        return Err(usage("-l goes with -s or -S".into()));
    }
    let dir = if f.has('r') {
        kdive_linux::list::Direction::Prev
    } else {
        kdive_linux::list::Direction::Next
    };
    let contents = match struct_arg {
        None => None,
        Some(spec) => {
            let (name, members) = match spec.split_once('.') {
                Some((n, m)) => (n, Some(m.split(',').collect::<Vec<_>>())),
                None => (spec, None),
            };
            let ty = find_aggregate(prog, name, None)
                .ok_or_else(|| usage(format!("invalid structure: {name}")))?;
            Some((ty, members))
        }
    };
    let limit = s.walk_limit;
    let mut problems = Vec::new();
    let mut brent = None;
    let mut addrs = if f.has('B') {
        let next_at = if f.has('r') { offset + 8 } else { offset };
        let list_head = f.has('h') || f.has('H');
        let step = |a: u64| -> kdive_program::Result<u64> {
            let n = prog.read_u64(a.wrapping_add(next_at))?;
            Ok(if list_head { n.wrapping_sub(offset) } else { n })
        };
        // -H: the standalone head is no entry, and the ring ends back at it
        let (first, head) = if f.has('H') {
            let head = start.wrapping_sub(offset);
            (step(head).unwrap_or(0), Some(head))
        } else {
            (start, None)
        };
        let (addrs, found) = brent_walk(first, head, step, limit, &mut problems);
        brent = found;
        addrs
    } else if f.has('H') || f.has('h') {
        let head = if f.has('H') {
            start
        } else {
            start.wrapping_add(head_offset.unwrap_or(offset))
        };
        let mut out = if f.has('h') { vec![start] } else { Vec::new() };
        match kdive_linux::list::ListWalk::with_direction(prog, head, dir, limit) {
            Ok(walk) => {
                for node in walk {
                    match node {
                        Ok(n) => out.push(n.wrapping_sub(offset)),
                        Err(e) => {
                            problems.push(format!("list: {e}"));
                            break;
                        }
                    }
                }
            }
            Err(e) => problems.push(format!("list: {e}")),
        }
        out
    } else {
        if f.has('r') {
            return Err(usage(
                "-r walks list_head lists backwards: give -h or -H".into(),
            ));
        }
        singly_linked(prog, start, offset, limit, &mut problems)
    };
    if let Some(e) = end {
        if let Some(at) = addrs.iter().position(|&a| a == e) {
            addrs.truncate(at);
            problems.clear();
        }
    }
    let mut entries = Vec::with_capacity(addrs.len());
    for address in addrs {
        let contents = match &contents {
            None => None,
            Some((ty, members)) => {
                let obj = Object::reference(prog, *ty, address.wrapping_sub(link_offset));
                match struct_value(&obj, members.as_deref(), options(&f), None) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        problems.push(format!("list: entry {address:#x}: {e}"));
                        None
                    }
                }
            }
        };
        entries.push(ListEntry { address, contents });
    }
    if !problems.is_empty() && brent.is_none() {
        problems.push("list: this list is incomplete".into());
    }
    Ok(Box::new(List {
        entries,
        problems,
        r#loop: brent,
    }))
}

/// A loop found by `-B`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ListLoop {
    /// Entries in the loop.
    pub length: u64,
    /// Entries before it.
    pub from_start: u64,
}

/// `-B`: the entries from `first` on, with R. P. Brent's loop detection (constant memory): a
/// loop's entries are listed once, and its length and distance from the start returned.
fn brent_walk(
    first: u64,
    head: Option<u64>,
    step: impl Fn(u64) -> kdive_program::Result<u64>,
    limit: usize,
    problems: &mut Vec<String>,
) -> (Vec<u64>, Option<ListLoop>) {
    let mut out = Vec::new();
    // the loop's length (lambda): the hare runs ahead in powers of two
    let (mut power, mut lambda) = (1u64, 1u64);
    let (mut tortoise, mut hare) = (first, first);
    let mut looped = false;
    loop {
        if hare == 0 || Some(hare) == head || out.len() >= limit {
            break;
        }
        out.push(hare);
        let next = match step(hare) {
            Ok(n) => n,
            Err(e) => {
                problems.push(format!("list: the next pointer of {hare:#x}: {e}"));
                return (out, None);
            }
        };
        if next == first || Some(next) == head {
            // back at the start: a ring, which is how lists end
            return (out, None);
        }
        hare = next;
        if tortoise == hare {
            looped = true;
            break;
        }
        if power == lambda {
            tortoise = hare;
            power *= 2;
            lambda = 0;
        }
        lambda += 1;
    }
    if !looped {
        if out.len() >= limit {
            problems.push(format!(
                "list: more than {limit} entries (--max-list-entries)"
            ));
        }
        return (out, None);
    }
    // the loop's start (mu): walk two pointers lambda apart from the beginning
    let (mut a, mut b) = (first, first);
    for _ in 0..lambda {
        b = step(b).unwrap_or(0);
    }
    let mut mu = 0u64;
    while a != b && mu < limit as u64 {
        a = step(a).unwrap_or(0);
        b = step(b).unwrap_or(0);
        mu += 1;
    }
    out.truncate((mu + lambda) as usize);
    problems.push(format!("list: loop detected, loop length: {lambda}"));
    problems.push(format!("list: length from start to loop: {mu:x}"));
    (
        out,
        Some(ListLoop {
            length: lambda,
            from_start: mu,
        }),
    )
}

/// Structures linked by a pointer at `offset` that holds the next one's address, from
/// `start` until NULL or back at `start`.
fn singly_linked(
    prog: &kdive_program::Program,
    start: u64,
    offset: u64,
    limit: usize,
    problems: &mut Vec<String>,
) -> Vec<u64> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut cur = start;
    while cur != 0 {
        if !seen.insert(cur) {
            problems.push(format!("list: loops back to {cur:#x}, not to the start"));
            break;
        }
        if out.len() >= limit {
            problems.push(format!(
                "list: more than {limit} entries (--max-list-entries)"
            ));
            break;
        }
        out.push(cur);
        match prog.read_u64(cur.wrapping_add(offset)) {
            Ok(n) if n == start => break,
            Ok(n) => cur = n,
            Err(e) => {
                problems.push(format!("list: the next pointer of {cur:#x}: {e}"));
                break;
            }
        }
    }
    out
}

/// A decimal number, or hex with `0x`.
fn parse_number(w: &str) -> Option<u64> {
    match w.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => w.parse().ok(),
    }
}

impl Report for List {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for e in &self.entries {
            writeln!(out, "{:x}", e.address)?;
            if let Some(c) = &e.contents {
                c.write_body(out)?;
            }
        }
        for p in &self.problems {
            writeln!(out, "{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain given as (entry, next) pairs.
    fn chain(links: &[(u64, u64)]) -> impl Fn(u64) -> kdive_program::Result<u64> + '_ {
        move |a| {
            links
                .iter()
                .find(|l| l.0 == a)
                .map(|l| l.1)
                .ok_or_else(|| kdive_program::ProgramError::NoSymbol(format!("{a:x}")))
        }
    }

    #[test]
    fn brent_finds_a_loop_and_lists_it_once() {
        // 1 -> 2 -> 3 -> 4 -> 5 -> 3: a loop of three entries, two entries in
        let links = [(1, 2), (2, 3), (3, 4), (4, 5), (5, 3)];
        let mut problems = Vec::new();
        let (addrs, found) = brent_walk(1, None, chain(&links), 100, &mut problems);
        assert_eq!(addrs, [1, 2, 3, 4, 5]);
        let found = found.unwrap();
        assert_eq!((found.length, found.from_start), (3, 2));
        assert_eq!(problems[0], "list: loop detected, loop length: 3");
    }

    #[test]
    fn brent_ends_at_null_the_start_or_the_head() {
        let mut problems = Vec::new();
        let (addrs, found) = brent_walk(1, None, chain(&[(1, 2), (2, 0)]), 100, &mut problems);
        assert_eq!((addrs, found.is_none()), (vec![1, 2], true));
        // a ring back to the first entry (-h)
        let (addrs, _) = brent_walk(1, None, chain(&[(1, 2), (2, 1)]), 100, &mut problems);
        assert_eq!(addrs, [1, 2]);
        // a ring back to a standalone head (-H)
        let (addrs, _) = brent_walk(2, Some(9), chain(&[(2, 3), (3, 9)]), 100, &mut problems);
        assert_eq!(addrs, [2, 3]);
        assert!(problems.is_empty(), "{problems:?}");
        // an unreadable pointer
        let (addrs, found) = brent_walk(1, None, chain(&[(1, 7)]), 100, &mut problems);
        assert_eq!((addrs, found.is_none()), (vec![1, 7], true));
        assert_eq!(problems.len(), 1);
    }
}
