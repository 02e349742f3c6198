//! `struct page`: its fields as crash's `kmem -p` shows them, page flags decoded by the
//! kernel's own names, compound pages and slab pages.
//!
//! Flag names come from the kernel's `pageflag_names[]` table (what `/proc/kpageflags` tools
//! and crash use), else from `enum pageflags`.

use kdive_debuginfo::TypeKind;
use kdive_program::object::offset_of;
use kdive_program::{Program, Result};

use crate::kmem::enumerator;

/// Most entries read from `pageflag_names[]` (the kernel has about 30).
const MAX_FLAG_NAMES: u64 = 64;

/// Where the fields of `struct page` are, asked once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLayout {
    pub size: u64,
    pub flags: u64,
    pub mapping: u64,
    pub index: u64,
    /// `_refcount` (`_count` before 4.6).
    pub refcount: u64,
    /// `compound_head`: bit 0 set in a tail page, the rest is the head page.
    pub compound_head: u64,
    /// `page_type` (or the `_mapcount` it shares), when the kernel has it.
    pub page_type: Option<u64>,
}

impl PageLayout {
    /// Reads the layout from the kernel's types.
    pub fn new(prog: &Program) -> Result<PageLayout> {
        let page = prog.type_("struct page")?;
        let t = prog.types();
        let off = |m: &str| offset_of(prog, page, m);
        Ok(PageLayout {
            size: t.size_of(page)?,
            flags: off("flags")?,
            mapping: off("mapping")?,
            index: off("index")?,
            refcount: off("_refcount").or_else(|_| off("_count"))?,
            compound_head: off("compound_head").or_else(|_| off("lru"))?,
            page_type: off("page_type").ok(),
        })
    }

    /// The fields of the `struct page` whose bytes are `b` (at least `size` of them).
    pub fn decode(&self, b: &[u8]) -> PageFields {
        let u64_at = |o: u64| {
            b.get(o as usize..o as usize + 8)
                .map_or(0, |w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
        };
        let u32_at = |o: u64| {
            b.get(o as usize..o as usize + 4)
                .map_or(0, |w| u32::from_le_bytes(w.try_into().unwrap_or_default()))
        };
        PageFields {
            flags: u64_at(self.flags),
            mapping: u64_at(self.mapping),
            index: u64_at(self.index),
            count: u32_at(self.refcount),
            compound_head: u64_at(self.compound_head),
            page_type: self.page_type.map(u32_at),
        }
    }

    /// Reads the `struct page` at `page`.
    pub fn read(&self, prog: &Program, page: u64) -> Result<PageFields> {
        let mut b = vec![0u8; self.size as usize];
        prog.read(page, &mut b)?;
        Ok(self.decode(&b))
    }

    /// The head page of the compound page `page` belongs to (`page` itself when it is not a
    /// tail page).
    pub fn compound_head(&self, prog: &Program, page: u64) -> Result<u64> {
        let h = prog.read_u64(page.wrapping_add(self.compound_head))?;
        Ok(if h & 1 == 1 { h - 1 } else { page })
    }
}

/// The fields of one `struct page` that crash shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageFields {
    pub flags: u64,
    pub mapping: u64,
    pub index: u64,
    /// `_refcount`, as crash prints it (unsigned).
    pub count: u32,
    pub compound_head: u64,
    pub page_type: Option<u32>,
}

/// The names of the page flags: each flag's mask and name, in the kernel's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFlagNames {
    pub flags: Vec<(u64, String)>,
}

impl PageFlagNames {
    /// The kernel's `pageflag_names[]` (up to its `{0, NULL}` end), else `enum pageflags`
    /// (up to `__NR_PAGEFLAGS`, without the `PG_` prefix).
    pub fn new(prog: &Program) -> Result<PageFlagNames> {
        match from_table(prog) {
            Ok(n) if !n.flags.is_empty() => Ok(n),
            table => from_enum(prog).or_else(|e| table.map_err(|_| e)),
        }
    }

    /// The names of the flags set in `flags`, comma separated, in the kernel's order.
    pub fn decode(&self, flags: u64) -> String {
        let mut out = String::new();
        for (mask, name) in &self.flags {
            if flags & mask != 0 {
                if !out.is_empty() {
                    out.push(',');
                }
                out.push_str(name);
            }
        }
        out
    }
}

fn from_table(prog: &Program) -> Result<PageFlagNames> {
    let base = prog.symbol_address("pageflag_names")?;
    let ty = prog.type_("struct trace_print_flags")?;
    let size = prog.types().size_of(ty)?;
    let (mask_off, name_off) = (offset_of(prog, ty, "mask")?, offset_of(prog, ty, "name")?);
    let mut out = PageFlagNames::default();
    for i in 0..MAX_FLAG_NAMES {
        let e = base.wrapping_add(i * size);
        let mask = prog.read_u64(e.wrapping_add(mask_off))?;
        let name = prog.read_u64(e.wrapping_add(name_off))?;
        if name == 0 {
            break;
        }
        out.flags
            .push((mask, prog.mem().read_cstr(name, 64)?.to_string()));
    }
    Ok(out)
}

/// `enum pageflags`, in the enum's order, up to `__NR_PAGEFLAGS` (the aliases after it left out).
pub fn pageflags_enum(prog: &Program) -> Result<Vec<(String, i64)>> {
    let (_, t) = prog.types().resolve(prog.type_("enum pageflags")?)?;
    let TypeKind::Enum { values, .. } = &t.kind else {
        return Ok(Vec::new());
    };
    Ok(values
        .iter()
        .take_while(|(n, _)| n.as_ref() != "__NR_PAGEFLAGS")
        .map(|(n, v)| (n.to_string(), *v))
        .collect())
}

fn from_enum(prog: &Program) -> Result<PageFlagNames> {
    Ok(PageFlagNames {
        flags: pageflags_enum(prog)?
            .into_iter()
            .filter(|(_, v)| (0..64).contains(v))
            .map(|(n, v)| (1u64 << v, n.strip_prefix("PG_").unwrap_or(&n).to_string()))
            .collect(),
    })
}

/// How the kernel marks a kind of page (a slab page, a free buddy page): a page flag, or a
/// page type kept in `page_type` (which shares its word with `_mapcount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageMark {
    /// A bit of `flags` (`PG_slab` before 6.8).
    Flag(u64),
    /// The top byte of `page_type` (6.11 on: `PGTY_slab`, `PGTY_buddy`).
    TypeByte(u8),
    /// The whole `page_type` word (before 6.11: `PAGE_BUDDY_MAPCOUNT_VALUE` is -129).
    TypeValue(u32),
}

impl PageMark {
    /// How slab pages are marked: VMCOREINFO's `NUMBER(PG_slab)` or
    /// `NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)`, else `enum pageflags`' `PG_slab` or `enum
    /// pagetype`'s `PGTY_slab`.
    pub fn slab(prog: &Program) -> Option<PageMark> {
        Self::find(prog, "PG_slab", "PAGE_SLAB_MAPCOUNT_VALUE", "PGTY_slab")
    }

    /// How free pages heading a buddy block are marked (`PAGE_BUDDY_MAPCOUNT_VALUE`, `PGTY_buddy`).
    pub fn buddy(prog: &Program) -> Option<PageMark> {
        Self::find(prog, "PG_buddy", "PAGE_BUDDY_MAPCOUNT_VALUE", "PGTY_buddy")
    }

    fn find(prog: &Program, flag: &str, mapcount: &str, pgty: &str) -> Option<PageMark> {
        let info = prog.dump().and_then(|d| d.vmcoreinfo());
        let number = |k: &str| info.and_then(|i| i.number(k));
        let bit = number(flag).or_else(|| enumerator(prog, "enum pageflags", flag));
        if let Some(b) = bit.filter(|b| (0..64).contains(b)) {
            return Some(PageMark::Flag(1 << b));
        }
        if let Some(v) = number(mapcount) {
            let v = v as u32;
            return Some(if v & 0x00ff_ffff == 0 {
                PageMark::TypeByte((v >> 24) as u8)
            } else {
                PageMark::TypeValue(v)
            });
        }
        enumerator(prog, "enum pagetype", pgty)
            .filter(|v| (0..256).contains(v))
            .map(|v| PageMark::TypeByte(v as u8))
    }

    /// True when the page's fields carry the mark.
    pub fn is_set(&self, p: &PageFields) -> bool {
        match *self {
            PageMark::Flag(mask) => p.flags & mask != 0,
            PageMark::TypeByte(t) => p.page_type.is_some_and(|pt| pt >> 24 == u32::from(t)),
            PageMark::TypeValue(v) => p.page_type == Some(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_in_the_kernels_order() {
        let n = PageFlagNames {
            flags: vec![
                (1 << 0, "locked".into()),
                (1 << 9, "slab".into()),
                (1 << 16, "head".into()),
            ],
        };
        // a-sysrq-6.1's task_struct slab page: fffffc0010200 slab,head
        assert_eq!(n.decode(0xfffffc0010200), "slab,head");
        assert_eq!(n.decode(0), "");
    }

    #[test]
    fn page_marks() {
        let p = PageFields {
            flags: 1 << 9,
            mapping: 0,
            index: 0,
            count: 1,
            compound_head: 0,
            page_type: Some(0xf500_0000),
        };
        assert!(PageMark::Flag(1 << 9).is_set(&p));
        // 6.12: PAGE_SLAB_MAPCOUNT_VALUE -184549376
        assert!(PageMark::TypeByte(0xf5).is_set(&p));
        assert!(!PageMark::TypeByte(0xf0).is_set(&p));
        // 6.1: PAGE_BUDDY_MAPCOUNT_VALUE -129
        let buddy = PageFields {
            page_type: Some(-129i32 as u32),
            ..p
        };
        assert!(PageMark::TypeValue(0xffff_ff7f).is_set(&buddy));
        assert!(!PageMark::TypeValue(0xffff_ff7f).is_set(&p));
    }
}
