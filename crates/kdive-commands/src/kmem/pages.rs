//! `struct page`s as crash prints them: the page line of `kmem -p`, `kmem ADDR` and `vtop`,
//! all pages streamed (`kmem -p`), and the page-flag table of `kmem -g`.

use std::io::{self, Write};
use std::sync::Arc;

use kdive_linux::mmzone::nodes;
use kdive_linux::page::{PageFlagNames, PageLayout};
use kdive_linux::sparse::MemSections;
use kdive_memory::ReadVirt;
use kdive_program::Program;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::format::{justify, Justify};
use crate::{CommandError, Report, TextOptions};

/// `struct page`s read per chunk while streaming (32K of them at 64 bytes each).
const CHUNK_PAGES: u64 = 512;

/// What every page line needs, read once per command: the sections, the `struct page`
/// layout, the flag names, and the width of the PHYSICAL column.
pub struct MemMap {
    pub sections: MemSections,
    pub layout: PageLayout,
    pub names: PageFlagNames,
    /// crash's `PADDR_PRLEN`: hex digits of the memory size.
    pub paddr_width: usize,
}

impl MemMap {
    /// Reads the sections and the page layout of the kernel.
    pub fn new(prog: &Program, page_size: u64) -> Result<MemMap, CommandError> {
        let err = |source| CommandError::Program {
            cmd: "kmem",
            source,
        };
        let sections = MemSections::new(prog, page_size).map_err(err)?;
        let layout = PageLayout::new(prog).map_err(err)?;
        let names = PageFlagNames::new(prog).unwrap_or_default();
        // crash: the digits of the memory size (present pages of every node)
        let present: u64 = nodes(prog)
            .map(|n| n.iter().map(|n| n.present).sum())
            .unwrap_or(0);
        let paddr_width = format!("{:x}", present.saturating_mul(page_size)).len();
        Ok(MemMap {
            sections,
            layout,
            names,
            paddr_width,
        })
    }

    /// The page line of the `struct page` at `page` (of page frame `pfn`).
    pub fn row(&self, prog: &Program, page: u64, pfn: u64) -> Result<PageRow, CommandError> {
        let f = self
            .layout
            .read(prog, page)
            .map_err(|source| CommandError::Program {
                cmd: "kmem",
                source,
            })?;
        Ok(PageRow::new(
            page,
            pfn << self.sections.page_shift,
            &f,
            &self.names,
        ))
    }

    /// The page line of the page holding physical address `paddr`, if it has a `struct page`.
    pub fn row_of_phys(&self, prog: &Program, paddr: u64) -> Option<Result<PageRow, CommandError>> {
        let pfn = paddr >> self.sections.page_shift;
        let page = self.sections.pfn_to_page(pfn)?;
        Some(self.row(prog, page, pfn))
    }

    /// Width of the PHYSICAL column of page lines (at least 8).
    pub fn phys_width(&self) -> usize {
        self.paddr_width.max(8)
    }
}

/// One page line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRow {
    /// Address of the `struct page`.
    #[serde(with = "crate::hex")]
    pub page: u64,
    #[serde(with = "crate::hex")]
    pub physical: u64,
    #[serde(with = "crate::hex")]
    pub mapping: u64,
    /// `index` (hexadecimal in the text).
    pub index: u64,
    /// `_refcount`.
    pub count: u32,
    #[serde(with = "crate::hex")]
    pub flags: u64,
    /// The flags set, by the kernel's names.
    pub flag_names: Vec<String>,
}

impl PageRow {
    fn new(
        page: u64,
        physical: u64,
        f: &kdive_linux::page::PageFields,
        names: &PageFlagNames,
    ) -> PageRow {
        let decoded = names.decode(f.flags);
        PageRow {
            page,
            physical,
            mapping: f.mapping,
            index: f.index,
            count: f.count,
            flags: f.flags,
            flag_names: if decoded.is_empty() {
                Vec::new()
            } else {
                decoded.split(',').map(String::from).collect()
            },
        }
    }
}

/// `      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS`.
pub fn page_header(phys_width: usize) -> String {
    format!(
        "{} {} {} {}CNT FLAGS",
        justify("PAGE", 16, Justify::Center),
        justify("PHYSICAL", phys_width, Justify::Right),
        justify("MAPPING", 16, Justify::CenterRight),
        justify("INDEX", 8, Justify::CenterRight),
    )
}

/// One page line: `fffff7b1406fa400 1be90000 ffff8e11811b7100        0  1 fffffc0010200 slab,head`.
pub fn page_line(r: &PageRow, phys_width: usize) -> String {
    let mut buf = Vec::with_capacity(160);
    line_into(
        &mut buf,
        [r.page, r.physical, r.mapping, r.index],
        r.count,
        r.flags,
        r.flag_names.iter().map(String::as_str),
        phys_width,
    );
    buf.pop();
    String::from_utf8_lossy(&buf).into_owned()
}

/// `kmem -p`: every page, or one.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemPages {
    /// Width of the PHYSICAL column.
    pub phys_width: usize,
    pub pages: PageItems,
}

/// An entry of `kmem -p`: a page (its fields), or a run of `struct page`s that could not be
/// read (`{"unreadable": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PageItem {
    Page(PageRow),
    Unreadable { unreadable: UnreadableRun },
}

/// `struct page`s that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableRun {
    /// The first `struct page` of the run.
    #[serde(with = "crate::hex")]
    pub page: u64,
    /// `struct page`s in the run.
    pub count: u64,
    pub error: String,
}

/// An entry as the stream reads it (a page's raw fields), or as a list holds it.
pub enum RawItem<'a> {
    Page {
        page: u64,
        physical: u64,
        fields: &'a kdive_linux::page::PageFields,
        names: &'a PageFlagNames,
    },
    Item(PageItem),
}

impl RawItem<'_> {
    /// The entry as a result holds it.
    pub fn to_item(&self) -> PageItem {
        match self {
            RawItem::Page {
                page,
                physical,
                fields,
                names,
            } => PageItem::Page(PageRow::new(*page, *physical, fields, names)),
            RawItem::Item(u) => u.clone(),
        }
    }
}

/// The entries of `kmem -p`: read from the dump while they are written (text or JSON), so
/// that all of memory is never held at once; read back from JSON as a list.
pub enum PageItems {
    List(Vec<PageItem>),
    Stream(Arc<PageStream>),
}

impl std::fmt::Debug for PageItems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageItems::List(l) => f.debug_tuple("List").field(&l.len()).finish(),
            PageItems::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl PageItems {
    /// Calls `each` on every entry, in order, stopping at its first error.
    pub fn for_each<E>(&self, mut each: impl FnMut(PageItem) -> Result<(), E>) -> Result<(), E> {
        self.for_each_raw(|r| each(r.to_item()))
    }

    /// As [`PageItems::for_each`], without building a [`PageItem`] per page (the text path).
    fn for_each_raw<E>(&self, mut each: impl FnMut(RawItem<'_>) -> Result<(), E>) -> Result<(), E> {
        match self {
            PageItems::List(l) => l.iter().try_for_each(|i| each(RawItem::Item(i.clone()))),
            PageItems::Stream(s) => s.for_each(&mut each),
        }
    }
}

impl Serialize for PageItems {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        self.for_each(|item| seq.serialize_element(&item))?;
        seq.end()
    }
}

impl<'de> Deserialize<'de> for PageItems {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(PageItems::List(Vec::deserialize(d)?))
    }
}

/// Every `struct page` of every present section, read chunk by chunk when asked.
pub struct PageStream {
    mem: Arc<dyn ReadVirt>,
    layout: PageLayout,
    names: PageFlagNames,
    page_shift: u32,
    /// `(first struct page, first pfn, pages)` of each section with a `mem_map`.
    runs: Vec<(u64, u64, u64)>,
}

impl PageStream {
    /// The pages of `map`'s sections.
    pub fn new(prog: &Program, map: MemMap) -> PageStream {
        let per = map.sections.pages_per_section();
        let runs = map
            .sections
            .sections
            .iter()
            .filter(|s| s.raw & kdive_linux::sparse::SECTION_HAS_MEM_MAP != 0)
            .map(|s| (s.mem_map, s.start_pfn, per))
            .collect();
        PageStream {
            mem: prog.shared_mem(),
            layout: map.layout,
            names: map.names,
            page_shift: map.sections.page_shift,
            runs,
        }
    }

    fn for_each<E>(&self, each: &mut impl FnMut(RawItem<'_>) -> Result<(), E>) -> Result<(), E> {
        let size = self.layout.size;
        let mut buf = vec![0u8; (CHUNK_PAGES * size) as usize];
        for &(mem_map, start_pfn, n) in &self.runs {
            let mut i = 0;
            while i < n {
                let k = CHUNK_PAGES.min(n - i);
                let first = mem_map.wrapping_add(i * size);
                let chunk = &mut buf[..(k * size) as usize];
                let got = self.mem.read_partial(first, chunk);
                let whole = (got.read as u64 / size).min(k);
                for j in 0..whole {
                    let b = &chunk[(j * size) as usize..((j + 1) * size) as usize];
                    let f = self.layout.decode(b);
                    let pfn = start_pfn + i + j;
                    each(RawItem::Page {
                        page: first.wrapping_add(j * size),
                        physical: pfn << self.page_shift,
                        fields: &f,
                        names: &self.names,
                    })?;
                }
                if let Some(e) = got.error {
                    // the rest of this chunk is unreadable: say so once, go on with the next
                    each(RawItem::Item(PageItem::Unreadable {
                        unreadable: UnreadableRun {
                            page: first.wrapping_add(whole * size),
                            count: k - whole,
                            error: e.to_string(),
                        },
                    }))?;
                }
                i += k;
            }
        }
        Ok(())
    }
}

impl Report for KmemPages {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", page_header(self.phys_width))?;
        let mut line = Vec::with_capacity(160);
        self.pages.for_each_raw(|item| {
            line.clear();
            match item {
                RawItem::Page {
                    page,
                    physical,
                    fields: f,
                    names,
                } => {
                    let set = names.flags.iter().filter(|(m, _)| f.flags & m != 0);
                    line_into(
                        &mut line,
                        [page, physical, f.mapping, f.index],
                        f.count,
                        f.flags,
                        set.map(|(_, n)| n.as_str()),
                        self.phys_width,
                    );
                }
                RawItem::Item(PageItem::Page(r)) => {
                    line.extend_from_slice(page_line(&r, self.phys_width).as_bytes());
                    line.push(b'\n');
                }
                RawItem::Item(PageItem::Unreadable { unreadable: u }) => {
                    writeln!(
                        line,
                        "kmem: {} struct pages from {:x} cannot be read: {}",
                        u.count, u.page, u.error
                    )?;
                }
            }
            out.write_all(&line)
        })
    }
}

/// Appends `v` in hexadecimal, padded with spaces to `width` (on the right with `left`).
fn push_hex(buf: &mut Vec<u8>, v: u64, width: usize, left: bool) {
    let mut digits = [0u8; 16];
    let mut n = 0;
    let mut x = v;
    loop {
        digits[n] = b"0123456789abcdef"[(x & 0xf) as usize];
        n += 1;
        x >>= 4;
        if x == 0 {
            break;
        }
    }
    let pad = width.saturating_sub(n);
    if !left {
        buf.resize(buf.len() + pad, b' ');
    }
    buf.extend(digits[..n].iter().rev());
    if left {
        buf.resize(buf.len() + pad, b' ');
    }
}

/// One page line into `buf`, newline included: `[page, physical, mapping, index]`, the count,
/// the flags and the names of those set.
fn line_into<'n>(
    buf: &mut Vec<u8>,
    [page, physical, mapping, index]: [u64; 4],
    count: u32,
    flags: u64,
    names: impl Iterator<Item = &'n str>,
    phys_width: usize,
) {
    push_hex(buf, page, 16, true);
    buf.push(b' ');
    push_hex(buf, physical, phys_width, false);
    buf.push(b' ');
    push_hex(buf, mapping, 16, false);
    buf.push(b' ');
    push_hex(buf, index, 8, false);
    buf.push(b' ');
    let c = (count as i32).to_string();
    buf.resize(buf.len() + 2usize.saturating_sub(c.len()), b' ');
    buf.extend_from_slice(c.as_bytes());
    buf.push(b' ');
    push_hex(buf, flags, 0, false);
    for (i, n) in names.enumerate() {
        buf.push(if i == 0 { b' ' } else { b',' });
        buf.extend_from_slice(n.as_bytes());
    }
    buf.push(b'\n');
}

/// `kmem -g [FLAGS]`: the kernel's page flags (`enum pageflags`), or those set in FLAGS.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemPageFlags {
    /// The value asked about (`None`: every flag).
    #[serde(with = "crate::hex_opt")]
    pub value: Option<u64>,
    /// Width of the name column: the longest enumerator of `enum pageflags`.
    pub name_width: usize,
    /// Hex digits of the VALUE column.
    pub value_digits: usize,
    pub flags: Vec<PageFlag>,
}

/// One enumerator of `enum pageflags`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PageFlag {
    pub name: String,
    pub bit: u32,
    /// `1 << bit`.
    #[serde(with = "crate::hex")]
    pub value: u64,
}

impl KmemPageFlags {
    /// The table, as crash's `dump_page_flags` builds it from the enum.
    pub fn new(prog: &Program, value: Option<u64>) -> Result<KmemPageFlags, CommandError> {
        let all = pageflags_enum_all(prog)?;
        let name_width = all.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        let largest = all
            .iter()
            .filter(|(n, _)| n.contains("PG_"))
            .map(|(_, v)| *v)
            .max()
            .unwrap_or(0);
        let flags = all
            .into_iter()
            .filter(|(n, v)| n.contains("PG_") && (0..64).contains(v))
            .filter(|(_, v)| value.is_none_or(|f| f >> v & 1 == 1))
            .map(|(name, v)| PageFlag {
                name,
                bit: v as u32,
                value: 1 << v,
            })
            .collect();
        Ok(KmemPageFlags {
            value,
            name_width,
            value_digits: ((largest + 1) / 4 + 1).clamp(1, 16) as usize,
            flags,
        })
    }
}

/// Every enumerator of `enum pageflags` (aliases and `__NR_PAGEFLAGS` included).
fn pageflags_enum_all(prog: &Program) -> Result<Vec<(String, i64)>, CommandError> {
    let id = prog.type_("enum pageflags").map_err(|_| {
        CommandError::Unavailable("kmem: enum pageflags does not exist in this kernel".into())
    })?;
    let all = match prog.types().resolve(id).map(|(_, t)| t) {
        Ok(t) => match &t.kind {
            kdive_debuginfo::TypeKind::Enum { values, .. } => {
                values.iter().map(|(n, v)| (n.to_string(), *v)).collect()
            }
            _ => Vec::new(),
        },
        Err(e) => {
            return Err(CommandError::Program {
                cmd: "kmem",
                source: e.into(),
            })
        }
    };
    Ok(all)
}

impl Report for KmemPageFlags {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let indent = if self.value.is_some() { "  " } else { "" };
        if let Some(v) = self.value {
            writeln!(out, "FLAGS: {v:x}")?;
        }
        writeln!(
            out,
            "{indent}{} BIT  VALUE",
            justify("PAGE-FLAG", self.name_width, Justify::Left)
        )?;
        for f in &self.flags {
            writeln!(
                out,
                "{indent}{}  {:2}  {:0d$x}",
                justify(&f.name, self.name_width, Justify::Left),
                f.bit,
                f.value,
                d = self.value_digits
            )?;
        }
        if self.value.is_some() && self.flags.is_empty() {
            writeln!(out, "  (none found)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_line_as_crash() {
        // a-sysrq-6.1, 023-kmem-task.txt
        assert_eq!(
            page_header(8),
            "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS"
        );
        let r = PageRow {
            page: 0xfffff7b1406fa400,
            physical: 0x1be90000,
            mapping: 0xffff8e11811b7100,
            index: 0,
            count: 1,
            flags: 0xfffffc0010200,
            flag_names: vec!["slab".into(), "head".into()],
        };
        assert_eq!(
            page_line(&r, 8),
            "fffff7b1406fa400 1be90000 ffff8e11811b7100        0  1 fffffc0010200 slab,head"
        );
        let r = PageRow {
            page: 0xfffff7b140000000,
            physical: 0,
            mapping: 0,
            flags: 0x7ffffc0001000,
            flag_names: vec!["reserved".into()],
            ..r
        };
        assert_eq!(
            page_line(&r, 8),
            "fffff7b140000000        0                0        0  1 7ffffc0001000 reserved"
        );
    }
}

/// Parses a hexadecimal operand of `kmem`.
pub(crate) fn hex_operand(w: &str) -> Result<u64, CommandError> {
    crate::rd::parse_hex(w)
        .ok_or_else(|| CommandError::Usage(format!("kmem: invalid address: {w}")))
}

/// `kmem -p [-P] [ADDR...]`: every page, or the page each address names (a `struct page`, or
/// a kernel virtual or, with -P, physical address in it).
pub fn run(
    s: &crate::Session,
    prog: &Program,
    words: &[String],
    physical: bool,
) -> Result<Box<dyn Report>, CommandError> {
    let map = MemMap::new(prog, s.dump().kernel_page_size())?;
    let phys_width = map.phys_width();
    if words.is_empty() {
        return Ok(Box::new(KmemPages {
            phys_width,
            pages: PageItems::Stream(Arc::new(PageStream::new(prog, map))),
        }));
    }
    let mut items = Vec::new();
    for w in words {
        let a = hex_operand(w)?;
        let (page, pfn) = match map.sections.page_to_pfn(a) {
            Some(pfn) if !physical => (a, pfn),
            _ => {
                let paddr = if physical {
                    a
                } else {
                    prog.kernel_memory()
                        .and_then(|m| m.translate(a).ok())
                        .ok_or_else(|| CommandError::Usage(format!("kmem: {a:x}: not mapped")))?
                };
                let pfn = paddr >> map.sections.page_shift;
                let page = map.sections.pfn_to_page(pfn).ok_or_else(|| {
                    CommandError::Usage(format!("kmem: {a:x}: address not found in mem map"))
                })?;
                (page, pfn)
            }
        };
        items.push(PageItem::Page(map.row(prog, page, pfn)?));
    }
    Ok(Box::new(KmemPages {
        phys_width,
        pages: PageItems::List(items),
    }))
}

/// `kmem -g [FLAGS]`.
pub fn run_flags(prog: &Program, words: &[String]) -> Result<Box<dyn Report>, CommandError> {
    match words {
        [] => Ok(Box::new(KmemPageFlags::new(prog, None)?)),
        [w] => Ok(Box::new(KmemPageFlags::new(prog, Some(hex_operand(w)?))?)),
        _ => Err(CommandError::Usage("kmem: -g takes one value".into())),
    }
}
