//! Bounded walks of maple trees (`struct maple_tree`, Linux 6.1+: a process's VMAs).
//!
//! An encoded node pointer keeps the node type in bits 3..7 and the node at the 256-byte
//! aligned address; leaves (`maple_leaf_64`) hold the entries, `maple_range_64` and
//! `maple_arange_64` nodes their children, each slot covering up to its pivot.

use std::collections::HashSet;

use kdive_program::{Object, Program, ProgramError, Result};

const NODE_MASK: u64 = 255;
const TYPE_SHIFT: u64 = 3;
const TYPE_MASK: u64 = 0xf;
const LEAF_64: u64 = 1;
const RANGE_64: u64 = 2;
const ARANGE_64: u64 = 3;
/// Slots of the widest node (`MAPLE_RANGE64_SLOTS`).
const MAX_SLOTS: u64 = 16;
/// `XA_ZERO_ENTRY`: a reserved slot, not an entry.
const ZERO_ENTRY: u64 = (257 << 2) | 2;

fn is_node(v: u64) -> bool {
    v & 3 == 2 && v > 4096
}

/// One entry: its first and last index (inclusive) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub first: u64,
    pub last: u64,
    pub value: u64,
    /// The slot taken in each node from the root down, the entry's own slot last (empty for
    /// an entry kept in the root itself).
    pub path: Vec<u8>,
}

/// A node's pivots and slots, and how many slots are in use (`end` is the last one).
fn node_parts<'p>(
    prog: &'p Program,
    enode: u64,
    max: u64,
) -> Result<(Object<'p>, Object<'p>, u64, bool)> {
    let node = prog.object("struct maple_node", enode & !NODE_MASK)?;
    let kind = (enode >> TYPE_SHIFT) & TYPE_MASK;
    let (m, end) = match kind {
        ARANGE_64 => {
            let m = node.member("ma64")?;
            let end = m.member("meta")?.member("end")?.read_u64()?;
            (m, end)
        }
        LEAF_64 | RANGE_64 => {
            let m = node.member("mr64")?;
            let pivots = m.member("pivot")?;
            let n = pivots.array_len()?;
            if n == 0 {
                return Err(ProgramError::Walk {
                    what: format!("maple node {enode:#x}"),
                    why: "no pivots in the node type".into(),
                });
            }
            let last = pivots.index(n - 1)?.read_u64()?;
            let end = if last == 0 {
                m.member("meta")?.member("end")?.read_u64()?
            } else if last == max {
                n - 1
            } else {
                n
            };
            (m, end)
        }
        other => {
            return Err(ProgramError::Walk {
                what: format!("maple node {enode:#x}"),
                why: format!("unknown node type {other}"),
            })
        }
    };
    let pivots = m.member("pivot")?;
    let slots = m.member("slot")?;
    // a node has at most 16 slots; `end` indexes the last one used
    let end = end
        .min(pivots.array_len()?)
        .min(slots.array_len()?.saturating_sub(1))
        .min(MAX_SLOTS - 1);
    Ok((pivots, slots, end, kind < RANGE_64))
}

/// Every entry of the maple tree at `tree` (a `struct maple_tree`), in index order. A walk that
/// meets an unreadable or unknown node, a node twice, or more than `limit` nodes stops; its error
/// comes back beside the entries read before it.
pub fn entries(
    prog: &Program,
    tree: u64,
    limit: usize,
) -> Result<(Vec<Entry>, Option<ProgramError>)> {
    let root = prog
        .object("struct maple_tree", tree)?
        .member("ma_root")?
        .read_u64()?;
    let mut out = Vec::new();
    if !is_node(root) {
        if root != 0 {
            out.push(Entry {
                first: 0,
                last: 0,
                value: root,
                path: Vec::new(),
            });
        }
        return Ok((out, None));
    }
    // depth first, children in order
    let mut stack = vec![(root, 0u64, u64::MAX, Vec::new())];
    let mut seen = HashSet::new();
    while let Some((enode, min, max, path)) = stack.pop() {
        if !seen.insert(enode & !NODE_MASK) || seen.len() > limit {
            let why = if seen.len() > limit {
                format!("more than {limit} nodes")
            } else {
                format!("node {enode:#x} reached twice")
            };
            let e = ProgramError::Walk {
                what: format!("maple tree at {tree:#x}"),
                why,
            };
            return Ok((out, Some(e)));
        }
        let (pivots, slots, end, leaf) = match node_parts(prog, enode, max) {
            Ok(p) => p,
            Err(e) => return Ok((out, Some(e))),
        };
        let mut children = Vec::new();
        let mut prev = min;
        for i in 0..=end {
            let last = if i < end {
                match pivots.index(i).and_then(|p| p.read_u64()) {
                    Ok(p) => p,
                    Err(e) => return Ok((out, Some(e))),
                }
            } else {
                max
            };
            let slot = match slots.index(i).and_then(|s| s.read_u64()) {
                Ok(s) => s,
                Err(e) => return Ok((out, Some(e))),
            };
            let mut here = path.clone();
            here.push(i as u8);
            if leaf {
                if slot != 0 && slot != ZERO_ENTRY {
                    out.push(Entry {
                        first: prev,
                        last,
                        value: slot,
                        path: here,
                    });
                }
            } else if slot != 0 {
                children.push((slot, prev, last, here));
            }
            prev = last.wrapping_add(1);
        }
        stack.extend(children.into_iter().rev());
    }
    Ok((out, None))
}
