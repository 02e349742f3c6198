//! `tree`: the entries of a red-black tree, radix tree, XArray or maple tree, as crash prints
//! them: each entry's address, with `-p` its position, with `-s` its contents.
//!
//! `tree [-t rbtree|radix|xarray|maple] [-r OFFSET] [-o OFFSET] [-s STRUCT[.MEMBER,...]]
//! [-N] [-l] [-p] [-x|-d] ROOT`. Every walk is bounded by `--max-list-entries` and stops at a
//! node it has met before, saying so.

use std::io::{self, Write};

use kdive_debuginfo::TypeId;
use kdive_linux::{maple, rbtree, xarray};
use kdive_program::object::offset_of;
use kdive_program::{Object, Program};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::structs::{address_of, find_aggregate, options, struct_value, StructValue};
use crate::table::{self, FlagName};
use crate::{CommandError, Report, Session, TextOptions};

/// The kind of tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TreeKind {
    Rbtree,
    /// A radix tree: an XArray since 4.20.
    Radix,
    Xarray,
    Maple,
}

/// One entry of the tree.
#[derive(Debug, Serialize, Deserialize)]
pub struct TreeEntry {
    /// The entry (for a red-black tree, the structure around the `rb_node`).
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// The entry's index (XArray, radix and maple trees: crash counts a maple tree's
    /// entries from 1).
    pub index: Option<u64>,
    /// Where the entry is, as crash's `-p` prints it (`root/l/r`, `root/0/12`).
    pub position: Option<String>,
    /// With `-s`: each structure asked for.
    pub contents: Vec<StructValue>,
}

/// What `tree` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tree {
    pub kind: TreeKind,
    /// `-p`: positions are shown.
    pub show_position: bool,
    pub entries: Vec<TreeEntry>,
    /// Why the walk stopped early, or what could not be read.
    pub problems: Vec<String>,
}

fn usage(m: String) -> CommandError {
    CommandError::Usage(format!("tree: {m}\nusage: {}", table::TREE.synopsis()))
}

/// An offset argument: a number, or `STRUCT.MEMBER`.
fn offset_arg(prog: &Program, flag: char, w: &str) -> Result<u64, CommandError> {
    if let Some((ty, member)) = w.split_once('.') {
        let id = find_aggregate(prog, ty, None)
            .ok_or_else(|| usage(format!("invalid -{flag} argument: {w}")))?;
        return offset_of(prog, id, member).map_err(|e| usage(format!("-{flag} {w}: {e}")));
    }
    let n = match w.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => w.parse().ok(),
    };
    n.ok_or_else(|| usage(format!("invalid -{flag} argument: {w}")))
}

/// Runs `tree`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::TREE, args)?;
    let prog = s.kernel()?;
    let kind = match f.value('t') {
        None => TreeKind::Rbtree,
        Some(t) if t.starts_with("rb") => TreeKind::Rbtree,
        Some(t) if t.starts_with("ra") => TreeKind::Radix,
        Some(t) if t.starts_with('x') => TreeKind::Xarray,
        Some(t) if t.starts_with('m') => TreeKind::Maple,
        Some(t) => return Err(usage(format!("invalid tree type: {t}"))),
    };
    let rb = kind == TreeKind::Rbtree;
    if !rb && f.has('l') {
        return Err(usage(
            "-l option is only applicable to red-black trees".into(),
        ));
    }
    if !rb && f.value('o').is_some() {
        return Err(usage(
            "-o option is only applicable to red-black trees".into(),
        ));
    }
    if f.value('r').is_some() && f.has('N') {
        return Err(usage("-r and -N options are mutually exclusive".into()));
    }
    let [root_word] = f.positional.as_slice() else {
        return Err(usage("give one starting address or symbol".into()));
    };
    let start = address_of(prog, root_word)
        .ok_or_else(|| usage(format!("invalid start argument: {root_word}")))?;
    let root_off = f.value('r').map(|w| offset_arg(prog, 'r', w)).transpose()?;
    let node_off = f.value('o').map(|w| offset_arg(prog, 'o', w)).transpose()?;
    let start = start.wrapping_add(root_off.unwrap_or(0));
    let specs: Vec<(TypeId, Option<Vec<String>>)> = f
        .given()
        .filter(|(n, _)| matches!(n, FlagName::Letter('s' | 'S')))
        .filter_map(|(_, v)| v)
        .map(|spec| {
            let (name, members) = match spec.split_once('.') {
                Some((n, m)) => (n, Some(m.split(',').map(String::from).collect())),
                None => (spec, None),
            };
            let ty = find_aggregate(prog, name, None)
                .ok_or_else(|| usage(format!("invalid structure: {name}")))?;
            Ok((ty, members))
        })
        .collect::<Result<_, CommandError>>()?;
    let limit = s.walk_limit;
    let mut problems = Vec::new();
    let program = |e: kdive_program::ProgramError| CommandError::Program {
        cmd: "tree",
        source: e,
    };
    // (entry address, index, position) of each entry
    let found: Vec<(u64, Option<u64>, String)> = match kind {
        TreeKind::Rbtree => {
            let top = if f.has('N') {
                start
            } else {
                let root = prog.type_("struct rb_root").map_err(program)?;
                let off = offset_of(prog, root, "rb_node").map_err(program)?;
                prog.read_u64(start.wrapping_add(off)).map_err(program)?
            };
            let order = if f.has('l') {
                rbtree::Order::InOrder
            } else {
                rbtree::Order::RootFirst
            };
            let w = rbtree::walk(prog, top, order, limit).map_err(program)?;
            problems.extend(w.skipped);
            problems.extend(w.stopped.map(|e| e.to_string()));
            let off = node_off.unwrap_or(0);
            w.nodes
                .into_iter()
                .map(|v| (v.node.wrapping_sub(off), None, v.position))
                .collect()
        }
        TreeKind::Radix | TreeKind::Xarray => {
            xarray_entries(prog, start, f.has('N'), limit, &mut problems).map_err(program)?
        }
        TreeKind::Maple => {
            if f.has('N') {
                return Err(usage("-N is not implemented for maple trees".into()));
            }
            let (entries, err) = maple::entries(prog, start, limit).map_err(program)?;
            problems.extend(err.map(|e| e.to_string()));
            entries
                .into_iter()
                .enumerate()
                .map(|(i, e)| {
                    let (slot, nodes) = e.path.split_last().map_or((0, &[][..]), |(l, r)| (*l, r));
                    let mut pos = if e.path.is_empty() {
                        String::new()
                    } else {
                        "root".into()
                    };
                    for n in nodes {
                        pos.push_str(&format!("/{n}"));
                    }
                    (e.value, Some(i as u64 + 1), format!("{pos}/{slot}"))
                })
                .collect()
        }
    };
    let mut entries = Vec::with_capacity(found.len());
    for (address, index, position) in found {
        let mut contents = Vec::new();
        for (ty, members) in &specs {
            let obj = Object::reference(prog, *ty, address);
            let m: Option<Vec<&str>> = members
                .as_ref()
                .map(|m| m.iter().map(String::as_str).collect());
            match struct_value(&obj, m.as_deref(), options(&f), None) {
                Ok(v) => contents.push(v),
                Err(e) => problems.push(format!("entry {address:#x}: {e}")),
            }
        }
        entries.push(TreeEntry {
            address,
            index,
            position: f.has('p').then_some(position),
            contents,
        });
    }
    Ok(Box::new(Tree {
        kind,
        show_position: f.has('p'),
        entries,
        problems,
    }))
}

/// The entries of the XArray at `start` (or below the node `start` with `-N`), with crash's
/// positions: `root`, each node's slot on the way down, then the entry's slot.
fn xarray_entries(
    prog: &Program,
    start: u64,
    node: bool,
    limit: usize,
    problems: &mut Vec<String>,
) -> kdive_program::Result<Vec<(u64, Option<u64>, String)>> {
    let (walk, top) = if node {
        (xarray::xa_node_entries(prog, start, limit)?, Some(start))
    } else {
        let ty = prog.type_("struct xarray")?;
        let head = prog.read_u64(start.wrapping_add(offset_of(prog, ty, "xa_head")?))?;
        let top = (head & 3 == 2 && head > 4096).then_some(head);
        (xarray::xa_entries(prog, start, limit)?, top)
    };
    problems.extend(walk.errors.iter().map(|e| e.to_string()));
    // the height of the tree: the top node's shift / bits per level, plus one
    let (levels, bits) = match top {
        Some(t) => {
            let (nslots, shift) = xarray::xa_node_shift(prog, t)?;
            let bits = u64::from(nslots.max(2).trailing_zeros());
            (u64::from(shift) / bits + 1, bits)
        }
        None => (0, 6),
    };
    let mask = (1u64 << bits) - 1;
    Ok(walk
        .entries
        .into_iter()
        .map(|e| {
            let mut pos = if levels == 0 {
                "direct".to_string()
            } else {
                "root".to_string()
            };
            for h in (1..levels).rev() {
                pos.push_str(&format!("/{}", (e.index >> (h * bits)) & mask));
            }
            pos.push_str(&format!("/{}", e.index & mask));
            (e.value, Some(e.index), pos)
        })
        .collect())
}

impl Report for Tree {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for e in &self.entries {
            writeln!(out, "{:x}", e.address)?;
            if let Some(p) = &e.position {
                match e.index {
                    Some(i) => writeln!(out, "  index: {i}  position: {p}")?,
                    None => writeln!(out, "  position: {p}")?,
                }
            }
            for c in &e.contents {
                c.write_body(out)?;
            }
        }
        for p in &self.problems {
            writeln!(out, "tree: {p}")?;
        }
        Ok(())
    }
}
