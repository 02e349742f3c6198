//! ELF x86_64 vmcores written in code ([`core`](fn@core), [`core_aligned`]; ELF32 ones of other
//! machines, [`core32`]; Xen's [`xc_core`]), their notes ([`note`], [`prstatus`], [`prstatus32`],
//! [`qemu`]), and where the parts of an existing one are ([`ElfLayout`]).

use crate::bytes::{put_u16, put_u32, put_u64, u32_at, u64_at};

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const ET_CORE: u16 = 4;
const EM_X86_64: u16 = 62;

/// A `PT_LOAD`: `data` is stored, `memsz` may be larger (the tail is filtered out).
#[derive(Debug, Clone)]
pub struct Load {
    pub paddr: u64,
    pub vaddr: u64,
    pub data: Vec<u8>,
    pub memsz: u64,
}

/// A `PT_LOAD` of `data` at `paddr`, virtual address 0.
pub fn load(paddr: u64, data: Vec<u8>) -> Load {
    let memsz = data.len() as u64;
    Load {
        paddr,
        vaddr: 0,
        data,
        memsz,
    }
}

/// Offset of program header `i` in a [`core()`] image.
pub fn ph(i: usize) -> usize {
    EHDR_SIZE + PHDR_SIZE * i
}

/// A little-endian x86_64 ELF64 core: header, one `PT_NOTE` then the `PT_LOAD`s, the notes,
/// then the loads' data, each right after the one before.
pub fn core(notes: &[u8], loads: &[Load]) -> Vec<u8> {
    core_aligned(notes, loads, 1)
}

/// As [`core()`], the loads' data starting at the next multiple of `align` after the notes.
pub fn core_aligned(notes: &[u8], loads: &[Load], align: usize) -> Vec<u8> {
    let phnum = 1 + loads.len();
    let mut v = vec![0u8; ph(phnum)];
    v[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    put_u16(&mut v, 16, ET_CORE);
    put_u16(&mut v, 18, EM_X86_64);
    put_u32(&mut v, 20, 1);
    put_u64(&mut v, 32, EHDR_SIZE as u64);
    put_u16(&mut v, 52, EHDR_SIZE as u16);
    put_u16(&mut v, 54, PHDR_SIZE as u16);
    put_u16(&mut v, 56, phnum as u16);
    put_u16(&mut v, 58, 64);
    let header = |v: &mut Vec<u8>, i: usize, ty: u32, l: &Load, offset: usize| {
        let at = ph(i);
        put_u32(v, at, ty);
        let load = ty == PT_LOAD;
        put_u32(v, at + 4, if load { 7 } else { 0 }); // RWX
        put_u64(v, at + 8, offset as u64);
        put_u64(v, at + 16, l.vaddr);
        put_u64(v, at + 24, l.paddr);
        put_u64(v, at + 32, l.data.len() as u64);
        put_u64(v, at + 40, l.memsz);
        put_u64(v, at + 48, if load { 4096 } else { 0 });
    };
    let note_load = Load {
        paddr: 0,
        vaddr: 0,
        data: notes.to_vec(),
        memsz: notes.len() as u64,
    };
    let at = v.len();
    header(&mut v, 0, PT_NOTE, &note_load, at);
    v.extend_from_slice(notes);
    v.resize(v.len().next_multiple_of(align.max(1)), 0);
    for (i, l) in loads.iter().enumerate() {
        let at = v.len();
        header(&mut v, i + 1, PT_LOAD, l, at);
        v.extend_from_slice(&l.data);
    }
    v
}

/// A little-endian ELF32 core of machine `machine` (3 i386, 40 arm), laid out as [`core()`]:
/// header, one `PT_NOTE` then the `PT_LOAD`s (32-bit addresses), the notes, the loads' data.
pub fn core32(machine: u16, notes: &[u8], loads: &[Load]) -> Vec<u8> {
    const EHDR32: usize = 52;
    const PHDR32: usize = 32;
    let phnum = 1 + loads.len();
    let mut v = vec![0u8; EHDR32 + PHDR32 * phnum];
    v[..7].copy_from_slice(b"\x7fELF\x01\x01\x01");
    put_u16(&mut v, 16, ET_CORE);
    put_u16(&mut v, 18, machine);
    put_u32(&mut v, 20, 1);
    put_u32(&mut v, 28, EHDR32 as u32);
    put_u16(&mut v, 40, EHDR32 as u16);
    put_u16(&mut v, 42, PHDR32 as u16);
    put_u16(&mut v, 44, phnum as u16);
    put_u16(&mut v, 46, 40);
    let header = |v: &mut Vec<u8>, i: usize, ty: u32, data: &[u8], l: Option<&Load>| {
        let at = EHDR32 + PHDR32 * i;
        let offset = v.len() as u32;
        put_u32(v, at, ty);
        put_u32(v, at + 4, offset);
        put_u32(v, at + 8, l.map_or(0, |l| l.vaddr as u32));
        put_u32(v, at + 12, l.map_or(0, |l| l.paddr as u32));
        put_u32(v, at + 16, data.len() as u32);
        put_u32(v, at + 20, l.map_or(data.len() as u64, |l| l.memsz) as u32);
        put_u32(v, at + 24, if l.is_some() { 7 } else { 0 });
        put_u32(v, at + 28, if l.is_some() { 4096 } else { 0 });
        v.extend_from_slice(data);
    };
    header(&mut v, 0, PT_NOTE, notes, None);
    for (i, l) in loads.iter().enumerate() {
        header(&mut v, i + 1, PT_LOAD, &l.data, Some(l));
    }
    v
}

/// A Xen `xc_core` file (`xl dump-core`) as far as telling it apart goes: an ELF64 core with
/// no program headers whose sections are `.shstrtab`, `.note.Xen`, `.xen_prstatus`,
/// `.xen_shared_info`, `.xen_pages` and `.xen_pfn` (all empty).
pub fn xc_core() -> Vec<u8> {
    const SHDR: usize = 64;
    let names = [
        "",
        ".shstrtab",
        ".note.Xen",
        ".xen_prstatus",
        ".xen_shared_info",
        ".xen_pages",
        ".xen_pfn",
    ];
    let mut strtab = Vec::new();
    let mut name_at = Vec::new();
    for n in names {
        name_at.push(strtab.len() as u32);
        strtab.extend_from_slice(n.as_bytes());
        strtab.push(0);
    }
    let shoff = EHDR_SIZE + strtab.len().next_multiple_of(8);
    let mut v = vec![0u8; shoff + SHDR * names.len()];
    v[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    put_u16(&mut v, 16, ET_CORE);
    put_u16(&mut v, 18, EM_X86_64);
    put_u32(&mut v, 20, 1);
    put_u64(&mut v, 40, shoff as u64);
    put_u16(&mut v, 52, EHDR_SIZE as u16);
    put_u16(&mut v, 58, SHDR as u16);
    put_u16(&mut v, 60, names.len() as u16);
    put_u16(&mut v, 62, 1);
    v[EHDR_SIZE..EHDR_SIZE + strtab.len()].copy_from_slice(&strtab);
    for (i, &at) in name_at.iter().enumerate().skip(1) {
        let h = shoff + SHDR * i;
        put_u32(&mut v, h, at);
        put_u32(&mut v, h + 4, if i == 1 { 3 } else { 1 }); // SHT_STRTAB, SHT_PROGBITS
        put_u64(&mut v, h + 24, if i == 1 { EHDR_SIZE as u64 } else { 0 });
        put_u64(&mut v, h + 32, if i == 1 { strtab.len() as u64 } else { 0 });
    }
    v
}

/// One note: header, name (NUL-terminated, padded), desc (padded).
pub fn note(name: &str, n_type: u32, desc: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    let namesz = name.len() + 1;
    v.extend_from_slice(&(namesz as u32).to_le_bytes());
    v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    v.extend_from_slice(&n_type.to_le_bytes());
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    v.resize(v.len().next_multiple_of(4), 0);
    v.extend_from_slice(desc);
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

/// An x86_64 `NT_PRSTATUS` (336 bytes) with `pid` and `regs[i] = base + i`.
pub fn prstatus(pid: u32, base: u64) -> Vec<u8> {
    let mut d = vec![0u8; 336];
    d[32..36].copy_from_slice(&pid.to_le_bytes());
    for i in 0..27 {
        d[112 + 8 * i..120 + 8 * i].copy_from_slice(&(base + i as u64).to_le_bytes());
    }
    note("CORE", kdive_dump::notes::NT_PRSTATUS, &d)
}

/// A 32-bit machine's `NT_PRSTATUS` (i386: 17 registers, 144 bytes; arm: 18, 148 bytes) with
/// `pid` at its offset 24 and `regs[i] = base + i` from offset 72.
pub fn prstatus32(pid: u32, base: u32, nregs: usize) -> Vec<u8> {
    let mut d = vec![0u8; 72 + 4 * nregs + 4];
    d[24..28].copy_from_slice(&pid.to_le_bytes());
    for i in 0..nregs {
        d[72 + 4 * i..76 + 4 * i].copy_from_slice(&(base + i as u32).to_le_bytes());
    }
    note("CORE", kdive_dump::notes::NT_PRSTATUS, &d)
}

/// A 440-byte `QEMUCPUState` with `regs[i] = base + i`, `cr[i] = 0xc0 + i`, gs.base, kernel_gs_base.
pub fn qemu(base: u64, gs_base: u64, kernel_gs_base: u64) -> Vec<u8> {
    let mut d = vec![0u8; 440];
    d[0..4].copy_from_slice(&1u32.to_le_bytes());
    d[4..8].copy_from_slice(&440u32.to_le_bytes());
    for i in 0..18 {
        d[8 + 8 * i..16 + 8 * i].copy_from_slice(&(base + i as u64).to_le_bytes());
    }
    let gs = 152 + 4 * 24;
    d[gs..gs + 4].copy_from_slice(&0x18u32.to_le_bytes());
    d[gs + 16..gs + 24].copy_from_slice(&gs_base.to_le_bytes());
    for i in 0..5 {
        d[392 + 8 * i..400 + 8 * i].copy_from_slice(&(0xc0 + i as u64).to_le_bytes());
    }
    d[432..440].copy_from_slice(&kernel_gs_base.to_le_bytes());
    note("QEMU", 0, &d)
}

/// Where the parts of an existing little-endian ELF64 vmcore are.
#[derive(Debug, Clone)]
pub struct ElfLayout {
    pub phoff: usize,
    pub phnum: usize,
    /// `(offset, size)` of the first `PT_NOTE`.
    pub notes: (usize, usize),
    /// File offset of the first `PT_LOAD`'s data.
    pub data_start: usize,
}

impl ElfLayout {
    /// The layout, if `b` starts like an ELF file and has a `PT_LOAD`.
    pub fn parse(b: &[u8]) -> Option<ElfLayout> {
        if !b.starts_with(b"\x7fELF") {
            return None;
        }
        let phoff = u64_at(b, 32) as usize;
        let phnum = usize::from(u16::from_le_bytes([*b.get(56)?, *b.get(57)?]));
        let l = ElfLayout {
            phoff,
            phnum,
            notes: (0, 0),
            data_start: 0,
        };
        let notes = l.headers(b, PT_NOTE).next().map_or((0, 0), |h| {
            (u64_at(b, h + 8) as usize, u64_at(b, h + 32) as usize)
        });
        let data_start = l
            .headers(b, PT_LOAD)
            .map(|h| u64_at(b, h + 8) as usize)
            .min()?;
        Some(ElfLayout {
            notes,
            data_start,
            ..l
        })
    }

    /// Offsets of the program headers of type `p_type`, in file order.
    pub fn headers<'a>(&self, b: &'a [u8], p_type: u32) -> impl Iterator<Item = usize> + 'a {
        let phoff = self.phoff;
        (0..self.phnum)
            .map(move |i| phoff + PHDR_SIZE * i)
            .filter(move |&h| u32_at(b, h) == p_type)
    }
}
