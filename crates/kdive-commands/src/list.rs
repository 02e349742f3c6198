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

use kdive_linux::list::ListWalk;
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
}

/// Runs `list`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::LIST, args)?;
    let mut offset_arg = f.value('o');
    let struct_arg = f.value('s');
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
    let offset = match offset_arg {
        None => 0,
        Some(o) => match o.split_once('.') {
            Some((ty, member)) => {
                let id = find_aggregate(prog, ty, None)
                    .ok_or_else(|| usage(format!("invalid structure: {ty}")))?;
                offset_of(prog, id, member).map_err(|e| CommandError::Program {
                    cmd: "list",
                    source: e,
                })?
            }
            None => parse_number(o).ok_or_else(|| usage(format!("invalid offset: {o}")))?,
        },
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
    let addrs = if f.has('H') || f.has('h') {
        let head = if f.has('H') {
            start
        } else {
            start.wrapping_add(offset)
        };
        let mut out = if f.has('h') { vec![start] } else { Vec::new() };
        match ListWalk::new(prog, head, limit) {
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
        singly_linked(prog, start, offset, limit, &mut problems)
    };
    let mut entries = Vec::with_capacity(addrs.len());
    for address in addrs {
        let contents = match &contents {
            None => None,
            Some((ty, members)) => {
                let obj = Object::reference(prog, *ty, address);
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
    if !problems.is_empty() {
        problems.push("list: this list is incomplete".into());
    }
    Ok(Box::new(List { entries, problems }))
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
