//! Walks of `struct xarray` (and the IDR and radix trees built on it), bounded.

use std::collections::HashSet;

use kdive_program::{object::offset_of, Program, ProgramError, Result};

/// One pointer stored in an xarray, with its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XaEntry {
    pub index: u64,
    pub value: u64,
}

/// What an xarray walk found: the entries it could read and the nodes it could not.
#[derive(Debug, Default)]
pub struct XaWalk {
    pub entries: Vec<XaEntry>,
    pub errors: Vec<ProgramError>,
}

struct Layout {
    shift: u64,
    slots: u64,
    nslots: u64,
}

impl Layout {
    fn new(prog: &Program) -> Result<Layout> {
        let node_ty = prog.type_("struct xa_node")?;
        let slots_obj = kdive_program::Object::reference(prog, node_ty, 0).member("slots")?;
        Ok(Layout {
            shift: offset_of(prog, node_ty, "shift")?,
            slots: offset_of(prog, node_ty, "slots")?,
            nslots: slots_obj.array_len()?.clamp(1, 256),
        })
    }
}

/// Every entry below the `struct xa_node` at `node` (an internal node pointer, tagged or
/// not), indexed from 0 at that node, as [`xa_entries`] walks them.
pub fn xa_node_entries(prog: &Program, node: u64, limit: usize) -> Result<XaWalk> {
    let layout = Layout::new(prog)?;
    let mut walk = XaWalk::default();
    let mut seen = HashSet::new();
    visit(prog, &layout, node & !3, 0, 0, limit, &mut seen, &mut walk);
    Ok(walk)
}

/// The slots per node (`XA_CHUNK_SIZE`) and the `shift` of the node `node` (tagged or not).
pub fn xa_node_shift(prog: &Program, node: u64) -> Result<(u64, u8)> {
    let layout = Layout::new(prog)?;
    let shift = prog.mem().read_u8((node & !3).wrapping_add(layout.shift))?;
    Ok((layout.nslots, shift))
}

fn is_internal(v: u64) -> bool {
    v & 3 == 2
}

fn is_node(v: u64) -> bool {
    is_internal(v) && v > 4096
}

/// Every non-NULL, non-internal entry of the xarray at `xa` (a `struct xarray`), in index order.
/// Unreadable nodes are recorded and skipped; at most `limit` entries and nodes are visited.
pub fn xa_entries(prog: &Program, xa: u64, limit: usize) -> Result<XaWalk> {
    let xa_ty = prog.type_("struct xarray")?;
    let head = prog.read_u64(xa.wrapping_add(offset_of(prog, xa_ty, "xa_head")?))?;
    let layout = Layout::new(prog)?;
    let mut walk = XaWalk::default();
    if head == 0 {
        return Ok(walk);
    }
    if !is_node(head) {
        if !is_internal(head) {
            walk.entries.push(XaEntry {
                index: 0,
                value: head,
            });
        }
        return Ok(walk);
    }
    let mut seen = HashSet::new();
    visit(prog, &layout, head - 2, 0, 0, limit, &mut seen, &mut walk);
    Ok(walk)
}

#[allow(clippy::too_many_arguments)]
fn visit(
    prog: &Program,
    l: &Layout,
    node: u64,
    base: u64,
    depth: u32,
    limit: usize,
    seen: &mut HashSet<u64>,
    walk: &mut XaWalk,
) {
    let bail = |why: String| ProgramError::Walk {
        what: format!("xarray node {node:#x}"),
        why,
    };
    if depth > 12 || !seen.insert(node) || seen.len() + walk.entries.len() > limit {
        walk.errors
            .push(bail("loop, too deep, or over the walk limit".into()));
        return;
    }
    let shift = match prog.mem().read_u8(node.wrapping_add(l.shift)) {
        Ok(s) if s < 64 => s as u64,
        Ok(s) => return walk.errors.push(bail(format!("shift {s}"))),
        Err(e) => return walk.errors.push(e.into()),
    };
    let mut slots = vec![0u8; (l.nslots * 8) as usize];
    if let Err(e) = prog.read(node.wrapping_add(l.slots), &mut slots) {
        return walk.errors.push(e);
    }
    for (i, chunk) in slots.chunks_exact(8).enumerate() {
        let v = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let index = base | ((i as u64) << shift);
        if v == 0 {
            continue;
        }
        if is_node(v) && shift > 0 {
            visit(prog, l, v - 2, index, depth + 1, limit, seen, walk);
        } else if !is_internal(v) {
            walk.entries.push(XaEntry { index, value: v });
        }
    }
}
