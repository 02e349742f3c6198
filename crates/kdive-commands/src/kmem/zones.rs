//! Nodes and zones: `kmem -f`/`-F` (the buddy allocator's free lists), `kmem -z` (each zone
//! and its counters) and `kmem -n` (nodes, zones, memory sections and memory blocks).

use std::io::{self, Write};

use kdive_linux::memory_block::{memory_blocks, state_name};
use kdive_linux::mmzone::{free_list, nodes, zone_vm_stat, FreeAreaLayout, Node, Zone};
use kdive_linux::sparse::section_state;
use kdive_linux::vmstat::names_by_value;
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use super::pages::MemMap;
use crate::format::{justify, Justify};
use crate::{CommandError, Report, TextOptions};

fn program_err(source: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "kmem",
        source,
    }
}

/// A zone as `kmem -f` heads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZoneLine {
    pub node: u32,
    pub index: u32,
    pub name: String,
    /// `spanned_pages`.
    pub size: u64,
    /// Free pages (`vm_stat[NR_FREE_PAGES]`).
    pub free: u64,
    /// The `struct page` of the zone's first page (0 for an empty zone).
    #[serde(with = "crate::hex")]
    pub mem_map: u64,
    #[serde(with = "crate::hex")]
    pub start_paddr: u64,
    /// The zone's first page's index in its node's `mem_map`.
    pub start_mapnr: u64,
}

impl ZoneLine {
    pub(crate) fn new(map: &MemMap, node: &Node, z: &Zone, page_shift: u32) -> ZoneLine {
        let mem_map = if z.spanned == 0 {
            0
        } else {
            map.sections.pfn_to_page(z.start_pfn).unwrap_or(0)
        };
        let node_map = map.sections.pfn_to_page(node.start_pfn).unwrap_or(0);
        ZoneLine {
            node: node.id,
            index: z.index,
            name: z.name.clone(),
            size: z.spanned,
            free: z.free_pages,
            mem_map,
            start_paddr: z.start_pfn << page_shift,
            start_mapnr: if mem_map == 0 {
                0
            } else {
                mem_map.saturating_sub(node_map) / map.sections.page_struct_size.max(1)
            },
        }
    }

    /// `ZONE  NAME        SIZE    FREE      MEM_MAP       START_PADDR  START_MAPNR`.
    pub fn header() -> String {
        format!(
            "ZONE  NAME        SIZE    FREE  {}  START_PADDR  START_MAPNR",
            justify("MEM_MAP", 16, Justify::Center)
        )
    }

    /// `  0   DMA         4095    3808  fffff7b140000040      1000          0     `.
    pub fn line(&self) -> String {
        format!(
            "{:3}   {:<9} {:6}  {:6}  {}  {}  {}",
            self.index,
            self.name,
            self.size,
            self.free,
            justify(&format!("{:x}", self.mem_map), 16, Justify::Center),
            justify(&format!("{:x}", self.start_paddr), 11, Justify::CenterRight),
            justify(&self.start_mapnr.to_string(), 11, Justify::CenterRight)
        )
    }
}

/// One free list of a zone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FreeListRow {
    pub order: u64,
    pub migrate_type: u64,
    /// Address of the list's `list_head` (crash's FREE_AREA_STRUCT).
    #[serde(with = "crate::hex")]
    pub list_head: u64,
    /// Free blocks on the list.
    pub blocks: u64,
    /// Free pages on the list (`blocks << order`).
    pub pages: u64,
    /// With `-F`: each block's first `struct page`.
    pub block_pages: Option<Vec<crate::Hex>>,
    /// Why the list could not be followed to its end.
    pub error: Option<String>,
}

/// A zone and its free lists (none for a zone without free pages).
#[derive(Debug, Serialize, Deserialize)]
pub struct FreeZone {
    pub zone: ZoneLine,
    pub lists: Vec<FreeListRow>,
}

/// `kmem -f` and `kmem -F`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemFree {
    /// `-F`: every block listed.
    pub verbose: bool,
    pub page_size: u64,
    /// The NODE headings are shown (more than one node).
    pub node_headings: bool,
    pub zones: Vec<FreeZone>,
    /// The zones' free page counts summed.
    pub nr_free_pages: u64,
    /// Free pages found on the lists.
    pub found: u64,
}

/// Reads the free lists of every zone (`verbose`: keep each block).
pub fn free_areas(
    prog: &Program,
    map: &MemMap,
    page_size: u64,
    verbose: bool,
    limit: usize,
) -> Result<KmemFree, CommandError> {
    let nodes = nodes(prog).map_err(program_err)?;
    let l = FreeAreaLayout::new(prog).map_err(program_err)?;
    let shift = page_size.trailing_zeros();
    let mut out = KmemFree {
        verbose,
        page_size,
        node_headings: nodes.len() > 1,
        zones: Vec::new(),
        nr_free_pages: 0,
        found: 0,
    };
    for n in &nodes {
        for z in &n.zones {
            let zone = ZoneLine::new(map, n, z, shift);
            out.nr_free_pages += zone.free;
            let mut lists = Vec::new();
            if zone.free != 0 {
                for order in 0..l.orders {
                    for mt in 0..l.migrate_types {
                        let fl = free_list(prog, &l, z.addr, order, mt, limit);
                        out.found += (fl.blocks.len() as u64) << order;
                        lists.push(FreeListRow {
                            order,
                            migrate_type: mt,
                            list_head: fl.head,
                            blocks: fl.blocks.len() as u64,
                            pages: (fl.blocks.len() as u64) << order,
                            block_pages: verbose
                                .then(|| fl.blocks.iter().map(|&b| crate::Hex(b)).collect()),
                            error: fl.error,
                        });
                    }
                }
            }
            out.zones.push(FreeZone { zone, lists });
        }
    }
    Ok(out)
}

/// `  0       4k  ffff8e119ace0100  `: an AREA line up to its counts.
pub fn area_line(order: u64, list_head: u64, page_size: u64) -> String {
    format!(
        "{order:3}  {:>7}  {}  ",
        format!("{}k", (page_size << order.min(40)) / 1024),
        justify(&format!("{list_head:x}"), 16, Justify::Center)
    )
}

impl Report for KmemFree {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let mut last_node = None;
        for (i, z) in self.zones.iter().enumerate() {
            if self.node_headings && last_node != Some(z.zone.node) {
                if last_node.is_some() {
                    writeln!(out, "\n{}", "-".repeat(74))?;
                }
                writeln!(
                    out,
                    "{}NODE\n {:2}",
                    if last_node.is_some() { "\n" } else { "" },
                    z.zone.node
                )?;
            } else if i > 0 {
                writeln!(out)?;
            }
            last_node = Some(z.zone.node);
            writeln!(out, "{}", ZoneLine::header())?;
            writeln!(out, "{}", z.zone.line())?;
            if !self.verbose && !z.lists.is_empty() {
                writeln!(out, "AREA    SIZE  FREE_AREA_STRUCT  BLOCKS  PAGES")?;
            }
            for l in &z.lists {
                let area = area_line(l.order, l.list_head, self.page_size);
                if self.verbose {
                    writeln!(out, "AREA    SIZE  FREE_AREA_STRUCT")?;
                    writeln!(out, "{area}")?;
                    for p in l.block_pages.iter().flatten() {
                        writeln!(out, "{:x}", p.0)?;
                    }
                } else {
                    writeln!(out, "{area}{:6} {:6}", l.blocks, l.pages)?;
                }
                if let Some(e) = &l.error {
                    writeln!(
                        out,
                        "kmem: corrupted free list {} from free_area struct: {e}",
                        l.migrate_type
                    )?;
                }
            }
        }
        write!(out, "\nnr_free_pages: {}  ", self.nr_free_pages)?;
        if self.nr_free_pages == self.found {
            writeln!(out, "(verified)")
        } else {
            writeln!(out, "(found {})", self.found)
        }
    }
}

/// One zone of `kmem -z`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ZoneStat {
    pub node: u32,
    pub index: u32,
    #[serde(with = "crate::hex")]
    pub addr: u64,
    pub name: String,
    /// `spanned_pages`.
    pub size: u64,
    pub present: u64,
    pub min: u64,
    pub low: u64,
    pub high: u64,
    /// The zone's `vm_stat[]`, by the names of `enum zone_stat_item`.
    pub vm_stat: Vec<(String, i64)>,
}

/// `kmem -z`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemZones {
    pub zones: Vec<ZoneStat>,
}

/// Reads every zone and its counters.
pub fn zone_stats(prog: &Program) -> Result<KmemZones, CommandError> {
    let names = names_by_value(prog, "enum zone_stat_item", "NR_VM_ZONE_STAT_ITEMS");
    let mut zones = Vec::new();
    for n in nodes(prog).map_err(program_err)? {
        for z in n.zones {
            let values = zone_vm_stat(prog, z.addr).map_err(program_err)?;
            zones.push(ZoneStat {
                node: n.id,
                index: z.index,
                addr: z.addr,
                name: z.name,
                size: z.spanned,
                present: z.present,
                min: z.watermarks[0],
                low: z.watermarks[1],
                high: z.watermarks[2],
                vm_stat: names.iter().cloned().zip(values).collect(),
            });
        }
    }
    Ok(KmemZones { zones })
}

/// `name: value` lines with the names right-aligned to the longest, as crash's `dump_vm_stat`.
pub fn write_counters(
    out: &mut dyn Write,
    items: &[(String, i64)],
    signed: bool,
) -> io::Result<()> {
    let width = items.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (n, v) in items {
        if signed {
            writeln!(out, "{n:>width$}: {v}")?;
        } else {
            writeln!(out, "{n:>width$}: {}", *v as u64)?;
        }
    }
    Ok(())
}

impl Report for KmemZones {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for z in &self.zones {
            writeln!(
                out,
                "NODE: {}  ZONE: {}  ADDR: {:x}  NAME: \"{}\"",
                z.node, z.index, z.addr, z.name
            )?;
            if z.size == 0 {
                writeln!(out, "  [unpopulated]\n")?;
                continue;
            }
            write!(out, "  SIZE: {}", z.size)?;
            if z.present < z.size {
                write!(out, "  PRESENT: {}", z.present)?;
            }
            writeln!(out, "  MIN/LOW/HIGH: {}/{}/{}", z.min, z.low, z.high)?;
            writeln!(out, "  VM_STAT:")?;
            write_counters(out, &z.vm_stat, true)?;
            writeln!(out, "\n")?;
        }
        Ok(())
    }
}

/// One node of `kmem -n`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NodeRow {
    pub id: u32,
    /// `node_spanned_pages`.
    pub size: u64,
    #[serde(with = "crate::hex")]
    pub pgdat: u64,
    pub zones: Vec<NodeZoneRow>,
    /// The `struct page` of the node's first page.
    #[serde(with = "crate::hex")]
    pub mem_map: u64,
    #[serde(with = "crate::hex")]
    pub start_paddr: u64,
    pub start_mapnr: u64,
}

/// A zone as `kmem -n` shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct NodeZoneRow {
    pub index: u32,
    #[serde(with = "crate::hex")]
    pub addr: u64,
    pub name: String,
    pub size: u64,
    #[serde(with = "crate::hex")]
    pub mem_map: u64,
    #[serde(with = "crate::hex")]
    pub start_paddr: u64,
    /// The zone's first page frame number (0 for an empty zone).
    pub start_mapnr: u64,
}

/// One present memory section.
#[derive(Debug, Serialize, Deserialize)]
pub struct SectionRow {
    pub nr: u64,
    #[serde(with = "crate::hex")]
    pub section: u64,
    #[serde(with = "crate::hex")]
    pub coded_mem_map: u64,
    #[serde(with = "crate::hex")]
    pub mem_map: u64,
    /// crash's letters for the state bits (`PMOE`).
    pub state: String,
    pub pfn: u64,
}

/// One memory block.
#[derive(Debug, Serialize, Deserialize)]
pub struct MemBlockRow {
    #[serde(with = "crate::hex")]
    pub addr: u64,
    pub name: String,
    #[serde(with = "crate::hex")]
    pub start: u64,
    /// Last byte (`None`: the kernel does not say where a block ends).
    #[serde(with = "crate::hex_opt")]
    pub end: Option<u64>,
    pub node: Option<i64>,
    pub state: String,
    pub start_section: u64,
}

/// `kmem -n`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemNodes {
    /// crash's `PADDR_PRLEN`: hex digits of the memory size.
    pub paddr_width: usize,
    pub nodes: Vec<NodeRow>,
    pub sections: Vec<SectionRow>,
    /// `None` when the kernel has no memory bus.
    pub memory_blocks: Option<Vec<MemBlockRow>>,
    pub problems: Vec<String>,
}

/// Reads nodes, sections and memory blocks.
pub fn memory_nodes(
    prog: &Program,
    map: &MemMap,
    page_size: u64,
    limit: usize,
) -> Result<KmemNodes, CommandError> {
    let shift = page_size.trailing_zeros();
    let page_of = |pfn: u64| map.sections.pfn_to_page(pfn).unwrap_or(0);
    let nodes = nodes(prog)
        .map_err(program_err)?
        .into_iter()
        .map(|n| NodeRow {
            id: n.id,
            size: n.spanned,
            pgdat: n.pgdat,
            mem_map: page_of(n.start_pfn),
            start_paddr: n.start_pfn << shift,
            start_mapnr: n.start_pfn,
            zones: n
                .zones
                .iter()
                .map(|z| NodeZoneRow {
                    index: z.index,
                    addr: z.addr,
                    name: z.name.clone(),
                    size: z.spanned,
                    mem_map: if z.spanned == 0 {
                        0
                    } else {
                        page_of(z.start_pfn)
                    },
                    start_paddr: z.start_pfn << shift,
                    start_mapnr: if z.spanned == 0 { 0 } else { z.start_pfn },
                })
                .collect(),
        })
        .collect();
    let sections = map
        .sections
        .sections
        .iter()
        .map(|s| SectionRow {
            nr: s.nr,
            section: s.addr,
            coded_mem_map: s.coded_mem_map,
            mem_map: s.mem_map,
            state: section_state(s.raw),
            pfn: s.start_pfn,
        })
        .collect();
    let mut problems = Vec::new();
    let probed = prog
        .symbol_address("memory_block_size_probed")
        .and_then(|a| prog.read_u64(a))
        .ok();
    let section_bits = map.sections.section_size_bits;
    let memory_blocks = match memory_blocks(prog, limit) {
        Ok((blocks, err)) => {
            problems.extend(err);
            Some(
                blocks
                    .into_iter()
                    .map(|b| {
                        let start = b.start_section << section_bits;
                        let end = match (probed, b.end_section) {
                            (Some(size), _) => Some(start.wrapping_add(size).wrapping_sub(1)),
                            (None, Some(e)) => Some(((e + 1) << section_bits).wrapping_sub(1)),
                            (None, None) => None,
                        };
                        MemBlockRow {
                            addr: b.addr,
                            name: b.name,
                            start,
                            end,
                            node: b.nid,
                            state: state_name(b.state).to_string(),
                            start_section: b.start_section,
                        }
                    })
                    .collect(),
            )
        }
        Err(e) if prog.type_("struct memory_block").is_err() => {
            let _ = e;
            None
        }
        Err(e) => {
            problems.push(format!("memory blocks: {e}"));
            None
        }
    };
    Ok(KmemNodes {
        paddr_width: map.paddr_width,
        nodes,
        sections,
        memory_blocks,
        problems,
    })
}

impl KmemNodes {
    fn write_node(&self, n: &NodeRow, out: &mut dyn Write) -> io::Result<()> {
        let flen = 16;
        writeln!(
            out,
            "NODE  {}  {}  {}  {}",
            justify("SIZE", 8, Justify::Center),
            justify("PGLIST_DATA", flen, Justify::Center),
            justify("BOOTMEM_DATA", flen, Justify::Center),
            justify("NODE_ZONES", flen, Justify::Center)
        )?;
        let size = justify(&n.size.to_string(), 8, Justify::Center);
        let first_zone = n.zones.first().map_or(n.pgdat, |z| z.addr);
        writeln!(
            out,
            " {:2}   {size}  {}  {}  {}",
            n.id,
            justify(&format!("{:x}", n.pgdat), flen, Justify::Center),
            justify("----", flen, Justify::Center),
            justify(&format!("{first_zone:x}"), flen, Justify::Center)
        )?;
        let indent = 12 + 8 + flen + flen;
        for z in n.zones.iter().skip(1) {
            writeln!(out, "{}{:x}", " ".repeat(indent), z.addr)?;
        }
        writeln!(
            out,
            "{}     START_PADDR    START_MAPNR",
            justify("MEM_MAP", 16, Justify::Center)
        )?;
        writeln!(
            out,
            "{}  {}  {}",
            justify(&format!("{:x}", n.mem_map), 16, Justify::Center),
            justify(&format!("{:x}", n.start_paddr), 16, Justify::CenterRight),
            justify(&n.start_mapnr.to_string(), 11, Justify::CenterRight)
        )?;
        writeln!(out, "\n{}", zone_header())?;
        for z in &n.zones {
            writeln!(
                out,
                " {:2}   {:<9} {:7}  {:>16x}  {:>11x}  {:>11}",
                z.index, z.name, z.size, z.mem_map, z.start_paddr, z.start_mapnr
            )?;
        }
        Ok(())
    }
}

/// `ZONE  NAME         SIZE       MEM_MAP      START_PADDR  START_MAPNR`.
fn zone_header() -> String {
    format!(
        "ZONE  NAME         SIZE  {}  START_PADDR  START_MAPNR",
        justify("MEM_MAP", 16, Justify::CenterRight)
    )
}

impl Report for KmemNodes {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, n) in self.nodes.iter().enumerate() {
            if i > 0 {
                writeln!(out, "\n{}\n", "-".repeat(zone_header().len()))?;
            }
            self.write_node(n, out)?;
        }
        writeln!(out, "\n{}\n", "-".repeat(67))?;
        writeln!(
            out,
            "NR  {}  {}  {}  {} PFN",
            justify("SECTION", 16, Justify::Center),
            justify("CODED_MEM_MAP", 16, Justify::Center),
            justify("MEM_MAP", 16, Justify::Center),
            justify("STATE", 5, Justify::Center)
        )?;
        for s in &self.sections {
            writeln!(
                out,
                "{:2}  {}  {}  {}  {} {:<16}",
                s.nr,
                justify(&format!("{:x}", s.section), 16, Justify::Center),
                justify(&format!("{:x}", s.coded_mem_map), 16, Justify::CenterRight),
                justify(&format!("{:x}", s.mem_map), 16, Justify::CenterRight),
                justify(&s.state, 5, Justify::Center),
                s.pfn
            )?;
        }
        if let Some(blocks) = &self.memory_blocks {
            let pw = self.paddr_width;
            let ranged = blocks.iter().all(|b| b.end.is_some());
            let range_hdr = if ranged {
                "PHYSICAL RANGE"
            } else {
                "PHYSICAL START"
            };
            let with_node = blocks.iter().all(|b| b.node.is_some());
            if with_node {
                writeln!(
                    out,
                    "\n{} {}   {}   {}  {} {}",
                    justify("MEM_BLOCK", 16, Justify::Center),
                    justify("NAME", 10, Justify::Center),
                    justify(range_hdr, pw * 2 + 2, Justify::Center),
                    justify("NODE", 4, Justify::Center),
                    justify("STATE", 7, Justify::Left),
                    justify("START_SECTION_NO", 12, Justify::Left)
                )?;
            } else {
                writeln!(
                    out,
                    "\n{} {}   {}    {} {}",
                    justify("MEM_BLOCK", 16, Justify::Center),
                    justify("NAME", 10, Justify::Center),
                    justify(range_hdr, pw * 2, Justify::Center),
                    justify("STATE", 7, Justify::Left),
                    justify("START_SECTION_NO", 12, Justify::Left)
                )?;
            }
            for b in blocks {
                let range = match b.end {
                    Some(e) => format!(
                        "{} - {}",
                        justify(&format!("{:x}", b.start), pw, Justify::Right),
                        justify(&format!("{e:x}"), pw, Justify::Right)
                    ),
                    None => justify(&format!("{:x}", b.start), pw * 2 + 3, Justify::Center),
                };
                match b.node {
                    Some(nid) if with_node => writeln!(
                        out,
                        " {} {} {range} {}  {} {}",
                        justify(&format!("{:x}", b.addr), 16, Justify::Left),
                        justify(&b.name, 12, Justify::Center),
                        justify(&nid.to_string(), 4, Justify::Center),
                        justify(&b.state, 7, Justify::Left),
                        justify(&b.start_section.to_string(), 12, Justify::Left)
                    )?,
                    _ => writeln!(
                        out,
                        " {} {} {range}  {} {}",
                        justify(&format!("{:x}", b.addr), 16, Justify::Left),
                        justify(&b.name, 10, Justify::Center),
                        justify(&b.state, 7, Justify::Left),
                        justify(&b.start_section.to_string(), 12, Justify::Left)
                    )?,
                }
            }
        }
        for p in &self.problems {
            writeln!(out, "kmem: {p}")?;
        }
        Ok(())
    }
}
