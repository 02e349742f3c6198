//! The kernel's VM counters by name: the global `vm_zone_stat[]` and `vm_node_stat[]` (or
//! `vm_stat[]` of old kernels), and the per-CPU `vm_event_states` summed over the CPUs.
//! Names come from the enums that index them.

use kdive_debuginfo::TypeKind;
use kdive_program::{Program, Result};

use crate::percpu::per_cpu_offset;
use crate::read_counter;

/// Most counters of one kind (the kernel has about 50 node items and 100 events).
const MAX_ITEMS: i64 = 1024;

/// The enumerators of `enum spec` below the value of `end`, indexed by value (an enumerator
/// sharing its value with an earlier one replaces it, as in crash's tables). Empty when the
/// kernel has no such enum.
pub fn names_by_value(prog: &Program, spec: &str, end: &str) -> Vec<String> {
    let Ok((_, t)) = prog
        .type_(spec)
        .and_then(|id| Ok(prog.types().resolve(id)?))
    else {
        return Vec::new();
    };
    let TypeKind::Enum { values, .. } = &t.kind else {
        return Vec::new();
    };
    let n = values
        .iter()
        .find(|(name, _)| name.as_ref() == end)
        .map_or(0, |(_, v)| (*v).clamp(0, MAX_ITEMS)) as usize;
    let mut out = vec![String::new(); n];
    for (name, v) in values.iter() {
        if let Some(slot) = usize::try_from(*v).ok().and_then(|i| out.get_mut(i)) {
            *slot = name.to_string();
        }
    }
    out
}

/// One group of named counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    /// `VM_ZONE_STAT`, `VM_NODE_STAT`, `VM_STAT` or `VM_EVENT_STATES`.
    pub title: &'static str,
    /// Each counter's value (events are unsigned: read them as `u64`).
    pub items: Vec<(String, i64)>,
    /// The values are signed (`%ld`), not unsigned (`%lu`, the events).
    pub signed: bool,
}

/// Reads `names.len()` counters from the `atomic_long_t` array at symbol `array`.
fn global_array(prog: &Program, array: &str, names: Vec<String>) -> Result<Vec<(String, i64)>> {
    let base = prog.symbol_address(array)?;
    let ty = prog.type_("atomic_long_t")?;
    let size = prog.types().size_of(ty)?;
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let o = kdive_program::Object::reference(prog, ty, base.wrapping_add(i as u64 * size));
            Ok((n, read_counter(&o)?))
        })
        .collect()
}

/// The global zone and node counters (`kmem -V`'s first part): `VM_ZONE_STAT` and
/// `VM_NODE_STAT`, or `VM_STAT` on kernels before the split.
pub fn global_stats(prog: &Program) -> Result<Vec<Counters>> {
    let zone = names_by_value(prog, "enum zone_stat_item", "NR_VM_ZONE_STAT_ITEMS");
    if prog.symbol_address("vm_node_stat").is_ok() {
        let node = names_by_value(prog, "enum node_stat_item", "NR_VM_NODE_STAT_ITEMS");
        return Ok(vec![
            Counters {
                title: "VM_ZONE_STAT",
                items: global_array(prog, "vm_zone_stat", zone)?,
                signed: true,
            },
            Counters {
                title: "VM_NODE_STAT",
                items: global_array(prog, "vm_node_stat", node)?,
                signed: true,
            },
        ]);
    }
    Ok(vec![Counters {
        title: "VM_STAT",
        items: global_array(prog, "vm_stat", zone)?,
        signed: true,
    }])
}

/// The VM events (`enum vm_event_item`) summed over `cpus`' `vm_event_states`.
pub fn events(prog: &Program, cpus: &[u32]) -> Result<Counters> {
    let names = names_by_value(prog, "enum vm_event_item", "NR_VM_EVENT_ITEMS");
    let base = prog.symbol_address("vm_event_states")?;
    let mut sums = vec![0u64; names.len()];
    let mut buf = vec![0u8; names.len() * 8];
    for &cpu in cpus {
        prog.read(base.wrapping_add(per_cpu_offset(prog, cpu)?), &mut buf)?;
        for (s, w) in sums.iter_mut().zip(buf.chunks_exact(8)) {
            *s = s.wrapping_add(u64::from_le_bytes(w.try_into().unwrap_or_default()));
        }
    }
    Ok(Counters {
        title: "VM_EVENT_STATES",
        items: names
            .into_iter()
            .zip(sums.into_iter().map(|v| v as i64))
            .collect(),
        signed: false,
    })
}
