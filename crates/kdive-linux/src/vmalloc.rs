//! vmalloc space: the busy `vmap_area`s, each with its `vm_struct`, in address order (the
//! `vmap_area_list`, or each `vmap_nodes[]` busy list since 6.9).

use kdive_program::object::offset_of;
use kdive_program::{Program, Result};

use crate::list::ListWalk;

/// Most `vmap_nodes` looked at.
const MAX_VMAP_NODES: u64 = 4096;

/// One vmalloc area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmapArea {
    /// Address of its `struct vmap_area`.
    pub addr: u64,
    /// Its `struct vm_struct` (0 for an area without one).
    pub vm: u64,
    pub start: u64,
    pub end: u64,
}

/// Every busy vmalloc area that has a `vm_struct` (as crash's `kmem -v` lists them), sorted by
/// start address, and why the walk stopped early, if it did.
pub fn vmap_areas(prog: &Program, limit: usize) -> Result<(Vec<VmapArea>, Option<String>)> {
    let ty = prog.type_("struct vmap_area")?;
    let list_off = offset_of(prog, ty, "list")?;
    let (va_start, va_end) = (
        offset_of(prog, ty, "va_start")?,
        offset_of(prog, ty, "va_end")?,
    );
    let vm_off = offset_of(prog, ty, "vm")?;
    let mut heads = Vec::new();
    if let Ok(nodes) = prog.symbol_address("vmap_nodes") {
        // 6.9+: vmap_nodes[nr_vmap_nodes], each with a busy rb_list
        let base = prog.read_u64(nodes)?;
        let n = u64::from(prog.mem().read_u32(prog.symbol_address("nr_vmap_nodes")?)?);
        let node_ty = prog.type_("struct vmap_node")?;
        let size = prog.types().size_of(node_ty)?;
        let busy_head = offset_of(prog, node_ty, "busy.head")?;
        for i in 0..n.min(MAX_VMAP_NODES) {
            heads.push(base.wrapping_add(i * size).wrapping_add(busy_head));
        }
    } else {
        heads.push(prog.symbol_address("vmap_area_list")?);
    }
    let mut areas = Vec::new();
    let mut problem = None;
    'heads: for head in heads {
        for node in ListWalk::new(prog, head, limit)? {
            let va = match node {
                Ok(n) => n.wrapping_sub(list_off),
                Err(e) => {
                    problem = Some(format!("vmap_area list at {head:#x}: {e}"));
                    break 'heads;
                }
            };
            let vm = prog.read_u64(va.wrapping_add(vm_off))?;
            if vm == 0 {
                continue;
            }
            areas.push(VmapArea {
                addr: va,
                vm,
                start: prog.read_u64(va.wrapping_add(va_start))?,
                end: prog.read_u64(va.wrapping_add(va_end))?,
            });
        }
    }
    areas.sort_by_key(|a| a.start);
    Ok((areas, problem))
}
