//! `kmem -V` (the VM counters), `kmem -o` (per-CPU offsets) and `kmem -h` (huge page pools).

use std::io::{self, Write};

use kdive_linux::percpu::{online_cpus, per_cpu_offset};
use kdive_linux::vmstat::{events, global_stats};
use kdive_program::object::offset_of;
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use super::pages_to_size;
use super::zones::write_counters;
use crate::format::{justify, Justify};
use crate::{CommandError, Report, TextOptions};

/// Most `hstates[]` entries looked at (`HUGE_MAX_HSTATE` is 2 on x86_64).
const MAX_HSTATES: u64 = 16;

fn program_err(source: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "kmem",
        source,
    }
}

/// The CPUs crash counts: 0 up to the highest online one.
pub fn cpus(prog: &Program) -> Result<Vec<u32>, CommandError> {
    let online = online_cpus(prog).map_err(program_err)?;
    Ok((0..=online.last().copied().unwrap_or(0)).collect())
}

/// A group of counters of `kmem -V`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CounterGroup {
    /// `VM_ZONE_STAT`, `VM_NODE_STAT`, `VM_STAT`, `VM_EVENT_STATES`.
    pub title: String,
    /// Values are signed; the events are unsigned (read them as such).
    pub signed: bool,
    pub items: Vec<(String, i64)>,
}

/// `kmem -V`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemVmStat {
    pub groups: Vec<CounterGroup>,
    /// What could not be read (the events, when the kernel has none).
    pub problems: Vec<String>,
}

/// Reads the global counters and the events summed over the CPUs.
pub fn vm_stat(prog: &Program) -> Result<KmemVmStat, CommandError> {
    let mut groups: Vec<CounterGroup> = global_stats(prog)
        .map_err(program_err)?
        .into_iter()
        .map(|c| CounterGroup {
            title: c.title.into(),
            signed: c.signed,
            items: c.items,
        })
        .collect();
    let mut problems = Vec::new();
    match events(prog, &cpus(prog)?) {
        Ok(c) => groups.push(CounterGroup {
            title: c.title.into(),
            signed: c.signed,
            items: c.items,
        }),
        Err(e) => problems.push(format!("vm_event_states: {e}")),
    }
    Ok(KmemVmStat { groups, problems })
}

impl Report for KmemVmStat {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        // the zone and node counters share one width; the events have their own
        let stats: Vec<(String, i64)> = self
            .groups
            .iter()
            .filter(|g| g.signed)
            .flat_map(|g| g.items.iter().cloned())
            .collect();
        let width = stats.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "  {}:", g.title)?;
            if g.signed {
                for (n, v) in &g.items {
                    writeln!(out, "{n:>width$}: {v}")?;
                }
            } else {
                write_counters(out, &g.items, false)?;
            }
        }
        for p in &self.problems {
            writeln!(out, "kmem: {p}")?;
        }
        Ok(())
    }
}

/// One CPU's per-CPU offset.
#[derive(Debug, Serialize, Deserialize)]
pub struct CpuOffset {
    pub cpu: u32,
    #[serde(with = "crate::hex")]
    pub offset: u64,
}

/// `kmem -o`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemPerCpu {
    pub cpus: Vec<CpuOffset>,
}

/// Reads `__per_cpu_offset[]`.
pub fn per_cpu_offsets(prog: &Program) -> Result<KmemPerCpu, CommandError> {
    let cpus = cpus(prog)?
        .into_iter()
        .map(|cpu| {
            Ok(CpuOffset {
                cpu,
                offset: per_cpu_offset(prog, cpu).map_err(program_err)?,
            })
        })
        .collect::<Result<_, CommandError>>()?;
    Ok(KmemPerCpu { cpus })
}

impl Report for KmemPerCpu {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "PER-CPU OFFSET VALUES:")?;
        for c in &self.cpus {
            writeln!(out, "{:>7}: {:x}", format!("CPU {}", c.cpu), c.offset)?;
        }
        Ok(())
    }
}

/// One huge page size.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hstate {
    /// Address of its `struct hstate`.
    #[serde(with = "crate::hex")]
    pub addr: u64,
    pub order: u32,
    pub free: i64,
    pub total: i64,
    pub name: String,
}

/// `kmem -h`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemHugePages {
    pub page_size: u64,
    pub hstates: Vec<Hstate>,
}

/// Reads each `hstates[]` entry with an order (the registered sizes).
pub fn huge_pages(prog: &Program, page_size: u64) -> Result<KmemHugePages, CommandError> {
    let base = prog
        .symbol_address("hstates")
        .map_err(|_| CommandError::Unavailable("kmem: hstates[] array does not exist".into()))?;
    let ty = prog.type_("struct hstate").map_err(program_err)?;
    let size = prog
        .types()
        .size_of(ty)
        .map_err(|e| program_err(e.into()))?;
    let name_off = offset_of(prog, ty, "name").map_err(program_err)?;
    // crash reads the array's length from the debug info; without it, hugetlb_max_hstate
    let n = prog
        .symbol_address("hugetlb_max_hstate")
        .and_then(|a| Ok(u64::from(prog.mem().read_u32(a)?)))
        .unwrap_or(MAX_HSTATES)
        .min(MAX_HSTATES);
    let mut hstates = Vec::new();
    for i in 0..n {
        let addr = base.wrapping_add(i * size);
        let h = prog.object("struct hstate", addr).map_err(program_err)?;
        let order = h
            .member("order")
            .and_then(|o| o.read_u64())
            .map_err(program_err)? as u32;
        if order == 0 || order >= 48 {
            continue;
        }
        let read = |m: &str| h.member(m).and_then(|o| o.read_i64()).map_err(program_err);
        hstates.push(Hstate {
            addr,
            order,
            free: read("free_huge_pages")?,
            total: read("nr_huge_pages")?,
            name: prog
                .mem()
                .read_cstr(addr.wrapping_add(name_off), 32)
                .map_err(|e| program_err(e.into()))?,
        });
    }
    Ok(KmemHugePages { page_size, hstates })
}

impl Report for KmemHugePages {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}   SIZE    FREE   TOTAL  NAME",
            justify("HSTATE", 16, Justify::Center)
        )?;
        for h in &self.hstates {
            // crash: pages_to_size with the space before the unit taken out
            let size = pages_to_size(1 << h.order, self.page_size).replacen(' ', "", 1);
            writeln!(
                out,
                "{:x}  {:>5}  {:>6}  {:>6}  {}",
                h.addr, size, h.free, h.total, h.name
            )?;
        }
        Ok(())
    }
}
