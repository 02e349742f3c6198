//! Memory nodes and zones (`pglist_data`, `struct zone`) and the buddy allocator's free
//! lists, read the way crash's `kmem -z`, `-n`, `-f` and `-F` show them.

use kdive_program::object::offset_of;
use kdive_program::{Object, Program, Result};

use crate::kmem::{enumerator, online_nodes};
use crate::list::ListWalk;
use crate::read_counter;

/// Most zones per node looked at (`MAX_NR_ZONES` is at most 6).
const MAX_ZONES: u64 = 8;
/// Most free-area orders (`NR_PAGE_ORDERS` is 11 on x86_64, up to 14 on arm64 64K pages).
const MAX_ORDERS: u64 = 16;
/// Most migrate types (`MIGRATE_TYPES` is 4 to 7).
const MAX_MIGRATE_TYPES: u64 = 8;

/// One memory node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: u32,
    /// Address of its `pglist_data`.
    pub pgdat: u64,
    pub start_pfn: u64,
    /// `node_spanned_pages`.
    pub spanned: u64,
    /// `node_present_pages`.
    pub present: u64,
    pub zones: Vec<Zone>,
}

/// One zone of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Its index in `node_zones[]`.
    pub index: u32,
    /// Address of its `struct zone`.
    pub addr: u64,
    pub name: String,
    /// `spanned_pages`.
    pub spanned: u64,
    /// `present_pages`.
    pub present: u64,
    pub start_pfn: u64,
    /// The min, low and high watermarks, in pages.
    pub watermarks: [u64; 3],
    /// `vm_stat[NR_FREE_PAGES]`.
    pub free_pages: u64,
}

/// Every online node with its zones, in node order.
pub fn nodes(prog: &Program) -> Result<Vec<Node>> {
    let mut out = Vec::new();
    for (id, pgdat) in online_nodes(prog)? {
        let p = prog.object("struct pglist_data", pgdat)?;
        let node_zones = p.member("node_zones")?;
        let mut zones = Vec::new();
        for i in 0..node_zones.array_len()?.min(MAX_ZONES) {
            zones.push(read_zone(prog, &node_zones.index(i)?, i as u32)?);
        }
        out.push(Node {
            id,
            pgdat,
            start_pfn: p.member("node_start_pfn")?.read_u64()?,
            spanned: p.member("node_spanned_pages")?.read_u64()?,
            present: p.member("node_present_pages")?.read_u64()?,
            zones,
        });
    }
    Ok(out)
}

fn read_zone(prog: &Program, z: &Object<'_>, index: u32) -> Result<Zone> {
    let name = match z.member("name")?.read_u64()? {
        0 => "(unknown)".to_string(),
        p => prog.mem().read_cstr(p, 32)?,
    };
    let wm = z.member("_watermark").or_else(|_| z.member("watermark"))?;
    let mark = |name: &str, default: i64| -> Result<u64> {
        let i = enumerator(prog, "enum zone_watermarks", name).unwrap_or(default);
        wm.index(i.clamp(0, 7) as u64)?.read_u64()
    };
    let free_idx = enumerator(prog, "enum zone_stat_item", "NR_FREE_PAGES").unwrap_or(0);
    let free = read_counter(&z.member("vm_stat")?.index(free_idx.clamp(0, 255) as u64)?)?;
    Ok(Zone {
        index,
        addr: z.address().unwrap_or(0),
        name,
        spanned: z.member("spanned_pages")?.read_u64()?,
        present: z.member("present_pages")?.read_u64()?,
        start_pfn: z.member("zone_start_pfn")?.read_u64()?,
        watermarks: [
            mark("WMARK_MIN", 0)?,
            mark("WMARK_LOW", 1)?,
            mark("WMARK_HIGH", 2)?,
        ],
        free_pages: free.max(0) as u64,
    })
}

/// The zone's `vm_stat[]` counters, `NR_VM_ZONE_STAT_ITEMS` of them.
pub fn zone_vm_stat(prog: &Program, zone: u64) -> Result<Vec<i64>> {
    let arr = prog.object("struct zone", zone)?.member("vm_stat")?;
    let n = arr.array_len()?.min(256);
    (0..n).map(|i| read_counter(&arr.index(i)?)).collect()
}

/// The shape of the zones' free areas: orders, migrate types, and where the lists are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeAreaLayout {
    /// Orders (`zone.free_area[]` entries).
    pub orders: u64,
    /// Migrate types (`free_area.free_list[]` entries).
    pub migrate_types: u64,
    pub free_area_offset: u64,
    pub free_area_size: u64,
    pub list_head_size: u64,
    /// Offset of the `list_head` linking a free `struct page` (`lru`/`buddy_list`).
    pub page_link_offset: u64,
}

impl FreeAreaLayout {
    /// Reads the layout from the types.
    pub fn new(prog: &Program) -> Result<FreeAreaLayout> {
        let zone = prog.type_("struct zone")?;
        let fa = prog.type_("struct free_area")?;
        let probe = Object::reference(prog, zone, 0).member("free_area")?;
        let lists = Object::reference(prog, fa, 0).member("free_list")?;
        let page = prog.type_("struct page")?;
        let link = offset_of(prog, page, "buddy_list").or_else(|_| offset_of(prog, page, "lru"))?;
        Ok(FreeAreaLayout {
            orders: probe.array_len()?.min(MAX_ORDERS),
            migrate_types: lists.array_len()?.min(MAX_MIGRATE_TYPES),
            free_area_offset: offset_of(prog, zone, "free_area")?,
            free_area_size: prog.types().size_of(fa)?,
            list_head_size: prog.types().size_of(prog.type_("struct list_head")?)?,
            page_link_offset: link,
        })
    }

    /// The address of the `list_head` of free blocks of `order` and `migrate_type` in the zone at `zone`.
    pub fn list_head(&self, zone: u64, order: u64, migrate_type: u64) -> u64 {
        zone.wrapping_add(self.free_area_offset)
            .wrapping_add(order * self.free_area_size)
            .wrapping_add(migrate_type * self.list_head_size)
    }
}

/// One free list: its blocks (the `struct page` heading each), as far as it could be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeList {
    pub order: u64,
    pub migrate_type: u64,
    /// Address of the list's `list_head`.
    pub head: u64,
    /// The first page of each free block.
    pub blocks: Vec<u64>,
    /// Why the walk stopped early, if it did.
    pub error: Option<String>,
}

/// The free blocks on one list of a zone.
pub fn free_list(
    prog: &Program,
    l: &FreeAreaLayout,
    zone: u64,
    order: u64,
    migrate_type: u64,
    limit: usize,
) -> FreeList {
    let head = l.list_head(zone, order, migrate_type);
    let mut out = FreeList {
        order,
        migrate_type,
        head,
        blocks: Vec::new(),
        error: None,
    };
    let walk = match ListWalk::new(prog, head, limit) {
        Ok(w) => w,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    for node in walk {
        match node {
            Ok(n) => out.blocks.push(n.wrapping_sub(l.page_link_offset)),
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        }
    }
    out
}

/// The free block holding page frame `pfn`: its first pfn and order, found by looking for a
/// buddy head page (`buddy` says how they are marked) whose `private` order covers `pfn`.
pub fn buddy_block_of(
    prog: &Program,
    sections: &crate::sparse::MemSections,
    layout: &crate::page::PageLayout,
    buddy: crate::page::PageMark,
    l: &FreeAreaLayout,
    pfn: u64,
) -> Result<Option<(u64, u64)>> {
    let page_ty = prog.type_("struct page")?;
    let private = offset_of(prog, page_ty, "private")?;
    for order in 0..l.orders {
        let head_pfn = pfn & !((1u64 << order) - 1);
        let Some(page) = sections.pfn_to_page(head_pfn) else {
            continue;
        };
        let Ok(f) = layout.read(prog, page) else {
            continue;
        };
        if buddy.is_set(&f) {
            // the first buddy head met decides: a block below it would have covered it
            let o = prog.read_u64(page.wrapping_add(private))?;
            let covers = o < l.orders && pfn - head_pfn < 1 << o;
            return Ok(covers.then_some((head_pfn, o)));
        }
    }
    Ok(None)
}
