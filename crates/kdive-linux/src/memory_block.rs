//! Memory blocks (`/sys/devices/system/memory/memoryN`): the devices of the `memory` bus, each
//! a `struct memory_block` covering some memory sections.

use kdive_program::object::offset_of;
use kdive_program::{Program, ProgramError, Result};

use crate::list::ListWalk;

/// One memory block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryBlock {
    /// Address of its `struct memory_block`.
    pub addr: u64,
    /// Its device name (`memory0`).
    pub name: String,
    pub start_section: u64,
    /// `end_section_nr`, on kernels that keep it.
    pub end_section: Option<u64>,
    /// `MEM_ONLINE` (1), `MEM_OFFLINE` (4), ...
    pub state: u64,
    /// `nid`, on kernels that keep it.
    pub nid: Option<i64>,
}

/// The `subsys_private` of the bus named `bus`: found among `bus_kset`'s kobjects (6.3 on),
/// else through `memory_subsys.p`.
fn bus_private(prog: &Program, bus: &str, limit: usize) -> Result<u64> {
    let bus_type = prog.type_("struct bus_type")?;
    if prog.types().has_member(bus_type, "p") {
        let sym = prog.symbol_address(&format!("{bus}_subsys"))?;
        return prog.object("struct bus_type", sym)?.member("p")?.read_u64();
    }
    let kset = prog.read_u64(prog.symbol_address("bus_kset")?)?;
    let kset_ty = prog.type_("struct kset")?;
    let kobj_ty = prog.type_("struct kobject")?;
    let priv_ty = prog.type_("struct subsys_private")?;
    let head = kset.wrapping_add(offset_of(prog, kset_ty, "list")?);
    let entry = offset_of(prog, kobj_ty, "entry")?;
    let name = offset_of(prog, kobj_ty, "name")?;
    // the kobject is subsys_private.subsys.kobj
    let kobj_in_priv = offset_of(prog, priv_ty, "subsys")? + offset_of(prog, kset_ty, "kobj")?;
    for node in ListWalk::new(prog, head, limit)? {
        let kobj = node?.wrapping_sub(entry);
        let n = prog.read_u64(kobj.wrapping_add(name))?;
        if n != 0 && prog.mem().read_cstr(n, 32)? == bus {
            return Ok(kobj.wrapping_sub(kobj_in_priv));
        }
    }
    Err(ProgramError::Walk {
        what: "bus_kset".into(),
        why: format!("no {bus} bus"),
    })
}

/// Every memory block, in the bus's device order, and what stopped the walk early.
pub fn memory_blocks(prog: &Program, limit: usize) -> Result<(Vec<MemoryBlock>, Option<String>)> {
    let private = bus_private(prog, "memory", limit)?;
    let priv_ty = prog.type_("struct subsys_private")?;
    let klist = prog.type_("struct klist")?;
    let head = private
        .wrapping_add(offset_of(prog, priv_ty, "klist_devices")?)
        .wrapping_add(offset_of(prog, klist, "k_list")?);
    let dp = prog.type_("struct device_private")?;
    let knode = offset_of(prog, dp, "knode_bus")?
        + offset_of(prog, prog.type_("struct klist_node")?, "n_node")?;
    let device_off = offset_of(prog, dp, "device")?;
    let mb_ty = prog.type_("struct memory_block")?;
    let dev_off = offset_of(prog, mb_ty, "dev")?;
    let has = |m: &str| prog.types().has_member(mb_ty, m);
    let kobj_name = offset_of(prog, prog.type_("struct device")?, "kobj.name")?;
    let mut out = Vec::new();
    for node in ListWalk::new(prog, head, limit)? {
        let n = match node {
            Ok(n) => n,
            Err(e) => return Ok((out, Some(e.to_string()))),
        };
        let device = prog.read_u64(n.wrapping_sub(knode).wrapping_add(device_off))?;
        let addr = device.wrapping_sub(dev_off);
        let mb = prog.object("struct memory_block", addr)?;
        let name = match prog.read_u64(device.wrapping_add(kobj_name))? {
            0 => String::new(),
            p => prog.mem().read_cstr(p, 32)?,
        };
        out.push(MemoryBlock {
            addr,
            name,
            start_section: mb.member("start_section_nr")?.read_u64()?,
            end_section: if has("end_section_nr") {
                Some(mb.member("end_section_nr")?.read_u64()?)
            } else {
                None
            },
            state: mb.member("state")?.read_u64()?,
            nid: if has("nid") {
                Some(mb.member("nid")?.read_i64()?)
            } else {
                None
            },
        });
    }
    Ok((out, None))
}

/// crash's name for a memory block state.
pub fn state_name(state: u64) -> &'static str {
    match state {
        1 => "ONLINE",
        2 => "GOING_OFFLINE",
        4 => "OFFLINE",
        8 => "GOING_ONLINE",
        16 => "CANCEL_ONLINE",
        32 => "CANCEL_OFFLINE",
        _ => "UNKNOWN",
    }
}
