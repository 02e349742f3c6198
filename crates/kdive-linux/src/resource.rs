//! The kernel's resource trees: `ioport_resource` (I/O ports) and `iomem_resource` (physical
//! memory regions), the trees behind `/proc/ioports` and `/proc/iomem`.
//!
//! Each `struct resource` has a `child` (its first sub-range) and a `sibling` (the next range
//! at the same level); the walk visits them depth first, parent before children, as the kernel
//! prints them.

use std::collections::HashSet;

use kdive_program::{Program, Result};

/// Deepest nesting followed (the kernel's trees are a handful of levels deep).
const MAX_DEPTH: usize = 64;

/// One `struct resource`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Resource {
    /// Its address.
    pub addr: u64,
    pub start: u64,
    pub end: u64,
    /// `name`; `None` when it could not be read.
    pub name: Option<String>,
    /// `flags` (`IORESOURCE_*`).
    pub flags: u64,
    /// 0 for the root, 1 for its children, ...
    pub depth: usize,
}

/// A resource tree read in the kernel's order, and what could not be read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResourceTree {
    /// The root first, then every range depth first.
    pub resources: Vec<Resource>,
    pub problems: Vec<String>,
}

/// The tree under the `struct resource` global `root` (`ioport_resource`, `iomem_resource`),
/// at most `limit` entries; a cycle or a deeper nesting than 64 levels stops the walk there and
/// is reported.
pub fn resource_tree(prog: &Program, root: &str, limit: usize) -> Result<ResourceTree> {
    let addr = prog.symbol_address(root)?;
    let mut tree = ResourceTree {
        resources: Vec::new(),
        problems: Vec::new(),
    };
    let mut seen = HashSet::new();
    // (entry, depth): the entries still to visit, the next one last
    let mut stack = vec![(addr, 0usize)];
    let mut first = true;
    while let Some((entry, depth)) = stack.pop() {
        if tree.resources.len() >= limit {
            tree.problems
                .push(format!("{root}: stopped after {limit} resources"));
            break;
        }
        if !seen.insert(entry) {
            tree.problems.push(format!(
                "{root}: resource {entry:#x} is reached twice (a cycle)"
            ));
            continue;
        }
        let r = match prog.object("struct resource", entry) {
            Ok(r) => r,
            Err(e) => {
                tree.problems
                    .push(format!("{root}: resource {entry:#x}: {e}"));
                continue;
            }
        };
        let read = |m: &str| r.member(m).and_then(|o| o.read_u64());
        let (start, end, flags, child, sibling) = match (
            read("start"),
            read("end"),
            read("flags"),
            read("child"),
            read("sibling"),
        ) {
            (Ok(s), Ok(e), Ok(f), Ok(c), Ok(n)) => (s, e, f, c, n),
            (s, e, f, c, n) => {
                let err = [s, e, f, c, n].into_iter().find_map(|v| v.err());
                if first {
                    // the root itself is unreadable: nothing to show
                    if let Some(err) = err {
                        return Err(err);
                    }
                }
                tree.problems.push(format!(
                    "{root}: resource {entry:#x}: {}",
                    err.map_or_else(String::new, |e| e.to_string())
                ));
                continue;
            }
        };
        first = false;
        tree.resources.push(Resource {
            addr: entry,
            start,
            end,
            name: r.member("name").and_then(|n| n.read_string(256)).ok(),
            flags,
            depth,
        });
        // the root's siblings are not part of its tree
        if sibling != 0 && depth > 0 {
            stack.push((sibling, depth));
        }
        if child != 0 && child != entry {
            if depth + 1 >= MAX_DEPTH {
                tree.problems.push(format!(
                    "{root}: resource {entry:#x}: children deeper than {MAX_DEPTH} levels not read"
                ));
            } else {
                stack.push((child, depth + 1));
            }
        }
    }
    Ok(tree)
}
