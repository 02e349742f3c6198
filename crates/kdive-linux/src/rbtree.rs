//! Bounded, cycle-detecting in-order walks of the kernel's red-black trees (`struct rb_node`).

use std::collections::HashSet;

use kdive_program::object::offset_of;
use kdive_program::{Program, ProgramError, Result};

/// Deepest tree followed (a valid red-black tree of 2^32 nodes is at most 64 deep).
const MAX_DEPTH: usize = 128;

/// The nodes (addresses of the embedded `rb_node`s) of the tree whose root node is `root`
/// (0 for an empty tree), in order. A walk that meets an unreadable node, a node seen before, a
/// tree deeper than a red-black tree can be, or more than `limit` nodes stops; its error comes
/// back beside the nodes read before it.
pub fn inorder(
    prog: &Program,
    root: u64,
    limit: usize,
) -> Result<(Vec<u64>, Option<ProgramError>)> {
    let node = prog.type_("struct rb_node")?;
    let (left, right) = (
        offset_of(prog, node, "rb_left")?,
        offset_of(prog, node, "rb_right")?,
    );
    let fail = |why: String| ProgramError::Walk {
        what: format!("red-black tree at {root:#x}"),
        why,
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<u64> = Vec::new();
    let mut cur = root;
    loop {
        while cur != 0 {
            if !seen.insert(cur) {
                return Ok((out, Some(fail(format!("node {cur:#x} reached twice")))));
            }
            if stack.len() >= MAX_DEPTH {
                return Ok((out, Some(fail(format!("deeper than {MAX_DEPTH} levels")))));
            }
            stack.push(cur);
            cur = match prog.read_u64(cur.wrapping_add(left)) {
                Ok(n) => n,
                Err(e) => return Ok((out, Some(e))),
            };
        }
        let Some(n) = stack.pop() else { break };
        if out.len() >= limit {
            return Ok((out, Some(fail(format!("more than {limit} nodes")))));
        }
        out.push(n);
        cur = match prog.read_u64(n.wrapping_add(right)) {
            Ok(r) => r,
            Err(e) => return Ok((out, Some(e))),
        };
    }
    Ok((out, None))
}

/// The order [`walk`] visits a red-black tree in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A node, then its left subtree, then its right one (crash's `tree` default).
    RootFirst,
    /// Left subtree, node, right subtree: lowest key first.
    InOrder,
}

/// One node met by [`walk`]: the `rb_node`'s address and its position from the root
/// (`"root/l/r"`, as crash's `tree -p` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visited {
    pub node: u64,
    pub position: String,
}

/// What [`walk`] found: the nodes, the subtrees it left out because their top could not be
/// read, and the error that stopped it, if one did.
#[derive(Debug, Default)]
pub struct RbWalk {
    pub nodes: Vec<Visited>,
    /// `rb_node: NODE: corrupted rb_left pointer: CHILD`, as crash words it.
    pub skipped: Vec<String>,
    pub stopped: Option<ProgramError>,
}

/// The nodes of the tree whose top `rb_node` is `top` (0 for an empty tree), in `order`,
/// with their positions. A child that cannot be read is left out with its subtree (as crash
/// does); a node met twice, a tree deeper than a red-black tree can be, or more than `limit`
/// nodes stops the walk.
pub fn walk(prog: &Program, top: u64, order: Order, limit: usize) -> Result<RbWalk> {
    let node = prog.type_("struct rb_node")?;
    let (left, right) = (
        offset_of(prog, node, "rb_left")?,
        offset_of(prog, node, "rb_right")?,
    );
    let fail = |why: String| ProgramError::Walk {
        what: format!("red-black tree at {top:#x}"),
        why,
    };
    let mut w = RbWalk::default();
    let mut seen = HashSet::new();
    // explicit stack of (node, position, children pushed yet)
    let mut stack: Vec<(u64, String, bool)> = Vec::new();
    if top != 0 {
        stack.push((top, "root".to_string(), false));
    }
    while let Some((n, pos, expanded)) = stack.pop() {
        if expanded {
            // in order: the node comes after its left subtree
            if w.nodes.len() >= limit {
                w.stopped = Some(fail(format!("more than {limit} nodes")));
                return Ok(w);
            }
            w.nodes.push(Visited {
                node: n,
                position: pos,
            });
            continue;
        }
        if !seen.insert(n) {
            w.stopped = Some(fail(format!("node {n:#x} reached twice")));
            return Ok(w);
        }
        if stack.len() > 2 * MAX_DEPTH {
            w.stopped = Some(fail(format!("deeper than {MAX_DEPTH} levels")));
            return Ok(w);
        }
        let (l, r) = match (
            prog.read_u64(n.wrapping_add(left)),
            prog.read_u64(n.wrapping_add(right)),
        ) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(e), _) | (_, Err(e)) => {
                w.stopped = Some(e);
                return Ok(w);
            }
        };
        let mut child = |c: u64, side: &str, name: &str| {
            if c == 0 {
                return None;
            }
            // crash: a child whose own rb_left cannot be read is a corrupted pointer
            if prog.read_u64(c.wrapping_add(left)).is_err() {
                w.skipped
                    .push(format!("rb_node: {n:x}: corrupted {name} pointer: {c:x}"));
                return None;
            }
            Some((c, format!("{pos}/{side}"), false))
        };
        let lc = child(l, "l", "rb_left");
        let rc = child(r, "r", "rb_right");
        match order {
            Order::RootFirst => {
                if w.nodes.len() >= limit {
                    w.stopped = Some(fail(format!("more than {limit} nodes")));
                    return Ok(w);
                }
                stack.extend(rc);
                stack.extend(lc);
                w.nodes.push(Visited {
                    node: n,
                    position: pos,
                });
            }
            Order::InOrder => {
                stack.extend(rc);
                stack.push((n, pos, true));
                stack.extend(lc);
            }
        }
    }
    Ok(w)
}
