//! kallsyms decoding over synthetic tables built by a small encoder (the layout of
//! `scripts/kallsyms.c` output), in a synthetic kernel memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use kdive_debuginfo::kallsyms::{AddressEncoding, Kallsyms, ModuleSymbols};
use kdive_debuginfo::{DebugInfoError, SymbolSource};
use kdive_dump::VmcoreInfo;
use kdive_memory::ReadVirt;
use kdive_testdata::kallsyms::{sym, tables_in, Addresses, Layout, Sym};
use kdive_testdata::mem::SparseMemory;

const TABLES: u64 = 0xffff_ffff_8a00_0000;
const TEXT: u64 = 0xffff_ffff_8100_0000;
const DATA: u64 = 0xffff_ffff_8200_0000;

struct Built {
    mem: SparseMemory,
    info: String,
}

/// The tables of `syms` at [`TABLES`] in 6.1's order, in whole pages of memory.
fn build(syms: &[Sym], enc: Addresses, legacy: bool) -> Built {
    build_in(syms, enc, legacy, Layout::Linux61)
}

/// The tables of `syms` at [`TABLES`] in the order of `layout`.
fn build_in(syms: &[Sym], enc: Addresses, legacy: bool, layout: Layout) -> Built {
    let t = tables_in(syms, TABLES, enc, legacy, layout);
    let mut bytes = t.bytes;
    bytes.resize(bytes.len().next_multiple_of(4096), 0);
    let mut mem = SparseMemory::new();
    mem.map(TABLES, bytes);
    Built {
        mem,
        info: t.vmcoreinfo,
    }
}

impl Built {
    fn vmcoreinfo(&self) -> VmcoreInfo {
        VmcoreInfo::parse(&self.info)
    }
    fn load(&self) -> Result<Kallsyms, DebugInfoError> {
        Kallsyms::load(Arc::new(self.mem.clone()), &self.vmcoreinfo())
    }
    fn symbol(&self, name: &str) -> u64 {
        self.vmcoreinfo().symbol(name).unwrap()
    }
    fn region(&mut self) -> &mut Vec<u8> {
        self.mem.region_mut(TABLES).unwrap()
    }
    fn poke(&mut self, addr: u64, bytes: &[u8]) {
        self.mem.write(addr, bytes);
    }
}

fn long_name() -> String {
    let mut s = String::from("_RNvNtCs1234_4core3fmt");
    while s.len() < 300 {
        s.push_str("QxZq");
    }
    s
}

/// A small kernel: aliases, duplicate locals, a long (Rust-like) name, data, `_end` last.
fn kernel(percpu: bool) -> Vec<Sym> {
    let mut v = vec![
        sym("_text", 'T', TEXT),
        sym("startup_64", 'T', TEXT),
        sym("_stext", 'T', TEXT),
        sym("__se_sys_alias", 't', TEXT + 0x800),
        sym("sys_alias", 'T', TEXT + 0x800),
        sym("weak_alias", 'W', TEXT + 0x800),
        sym("__x64_sys_pause", 'T', TEXT + 0x880),
        sym("__ia32_sys_pause", 'T', TEXT + 0x880),
        sym("pause_local", 't', TEXT + 0x880),
        sym("dup", 't', TEXT + 0x900),
        sym("dup", 't', TEXT + 0x980),
        sym("mixed", 't', TEXT + 0xa00),
        sym("mixed", 'T', TEXT + 0xa80),
        sym(&long_name(), 'T', TEXT + 0xb00),
        sym("init_task", 'D', DATA),
        sym("jiffies", 'D', DATA + 0x1000),
        sym("__bss_start", 'B', DATA + 0x2000),
        sym("_end", 'B', DATA + 0x3000),
    ];
    for i in 0..300u64 {
        let (name, kind) = if i % 3 == 0 {
            (format!("static_{i}"), 't')
        } else {
            (format!("func_{i}_do_sys"), 'T')
        };
        v.push(sym(&name, kind, TEXT + 0x1000 + i * 0x40));
    }
    if percpu {
        v.push(sym("fixed_percpu_data", 'A', 0));
        v.push(sym("__per_cpu_start", 'A', 0));
        v.push(sym("cpu_number", 'A', 0x1c000));
    }
    v
}

fn check_kernel(k: &Kallsyms) {
    // exact hits on aliases: global text first, then by name (crash's order)
    let s = k.by_addr(TEXT).unwrap();
    assert_eq!((&*s.name, s.kind, s.size), ("_stext", 'T', Some(0x800)));
    assert_eq!(k.by_addr(TEXT + 0x800).unwrap().name.as_ref(), "sys_alias");
    assert_eq!(k.by_addr(TEXT + 0x812).unwrap().name.as_ref(), "sys_alias");
    // like crash: an exact hit names the first global alias by name, an address inside the last
    assert_eq!(
        k.by_addr(TEXT + 0x880).unwrap().name.as_ref(),
        "__ia32_sys_pause"
    );
    let s = k.by_addr(TEXT + 0x887).unwrap();
    assert_eq!(
        (&*s.name, s.addr, s.size),
        ("__x64_sys_pause", TEXT + 0x880, Some(0x80))
    );
    // inside / at
    let s = k.by_addr(TEXT + 0x1000 + 5 * 0x40 + 0x13).unwrap();
    assert_eq!(
        (&*s.name, s.addr, s.size, s.kind),
        ("func_5_do_sys", TEXT + 0x1140, Some(0x40), 'T')
    );
    assert_eq!(
        k.by_addr(TEXT + 0x1000 + 6 * 0x40).unwrap().name.as_ref(),
        "static_6"
    );
    assert_eq!(
        k.by_addr(TEXT + 0xb00 + 7).unwrap().name.as_ref(),
        long_name()
    );
    // below the first and past the last symbol
    assert_eq!(k.by_addr(TEXT - 1), None);
    assert_eq!(k.by_addr(0x10), None);
    assert_eq!(k.by_addr(DATA + 0x3000).unwrap().name.as_ref(), "_end");
    assert_eq!(k.by_addr(DATA + 0x3001), None);
    assert_eq!(k.by_addr(0xffff_ffff_c000_0000), None);
    // data
    let s = k.by_addr(DATA + 0x10).unwrap();
    assert_eq!((&*s.name, s.kind, s.size), ("init_task", 'D', Some(0x1000)));
    // by name
    for (name, addr) in [
        ("_text", TEXT),
        ("_stext", TEXT),
        ("startup_64", TEXT),
        ("init_task", DATA),
        ("weak_alias", TEXT + 0x800),
    ] {
        assert_eq!(k.by_name(name).map(|s| s.addr), Some(addr), "{name}");
    }
    assert_eq!(k.by_name(&long_name()).unwrap().addr, TEXT + 0xb00);
    assert_eq!(k.by_name("nope"), None);
    assert_eq!(k.by_name("dup").unwrap().addr, TEXT + 0x900);
    assert_eq!(
        k.lookup_all("dup")
            .iter()
            .map(|s| s.addr)
            .collect::<Vec<_>>(),
        [TEXT + 0x900, TEXT + 0x980]
    );
    let m = k.by_name("mixed").unwrap();
    assert_eq!((m.kind, m.addr), ('T', TEXT + 0xa80));
    assert_eq!(k.lookup_all("mixed").len(), 2);
    assert!(k.by_name("func_299_do_sys").is_some());
    // iteration: by address
    let t = k.table().unwrap();
    let addrs: Vec<u64> = t.iter().filter(|s| !s.absolute).map(|s| s.addr).collect();
    assert!(addrs.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(t.iter().next().unwrap().name, "_stext");
    assert_eq!(t.len(), k.len());
}

#[test]
fn relative() {
    let b = build(&kernel(false), Addresses::Relative, false);
    let k = b.load().unwrap();
    assert_eq!(k.encoding(), AddressEncoding::Relative);
    assert_eq!(k.len(), kernel(false).len());
    check_kernel(&k);
}

#[test]
fn absolute_percpu() {
    let b = build(&kernel(true), Addresses::AbsolutePercpu, false);
    let k = b.load().unwrap();
    assert_eq!(k.encoding(), AddressEncoding::AbsolutePercpu);
    check_kernel(&k);
    // per-CPU symbols: found by name, never by address
    let s = k.by_name("cpu_number").unwrap();
    assert_eq!((s.addr, s.kind, s.size), (0x1c000, 'A', None));
    assert_eq!(k.by_name("fixed_percpu_data").unwrap().addr, 0);
    assert_eq!(k.by_addr(0x1c000), None);
    assert_eq!(k.table().unwrap().iter().filter(|s| s.absolute).count(), 3);
}

#[test]
fn absolute_addresses() {
    let b = build(&kernel(false), Addresses::Absolute, false);
    let k = b.load().unwrap();
    assert_eq!(k.encoding(), AddressEncoding::Absolute);
    check_kernel(&k);
}

#[test]
fn pc_relative() {
    let b = build(&kernel(false), Addresses::PcRelative, false);
    let k = b.load().unwrap();
    assert_eq!(k.encoding(), AddressEncoding::PcRelative);
    check_kernel(&k);
}

/// Without `SYMBOL(_stext)`, negative offsets alone select absolute-percpu.
#[test]
fn absolute_percpu_without_stext_hint() {
    let mut b = build(&kernel(true), Addresses::AbsolutePercpu, false);
    b.info = b
        .info
        .lines()
        .filter(|l| !l.starts_with("SYMBOL(_stext)"))
        .collect::<Vec<_>>()
        .join("\n");
    let k = b.load().unwrap();
    assert_eq!(k.encoding(), AddressEncoding::AbsolutePercpu);
    check_kernel(&k);
}

/// Before 6.1 a length byte of 0x80 is a plain length; the markers decide.
#[test]
fn legacy_one_byte_lengths() {
    let mut syms = kernel(false);
    syms.retain(|s| s.name.len() < 200);
    // 128 tokens: "T_" (token 0) + 127 incompressible characters. Its length byte is 0x80 and the
    // next byte 0, so the 2-byte reading (length 0) walks on, out of step, and must be refuted by the markers.
    let name = format!("_{}", &"Q9".repeat(64)[..127]);
    syms.push(sym(&name, 'T', TEXT + 0x500));
    let b = build(&syms, Addresses::Relative, true);
    let k = b.load().unwrap();
    assert_eq!(k.by_name(&name).unwrap().addr, TEXT + 0x500);
    assert_eq!(k.len(), syms.len());
    assert_eq!(
        k.by_addr(TEXT + 0x1000 + 0x40 * 299).unwrap().name.as_ref(),
        "func_299_do_sys"
    );
}

fn err_text(r: Result<Kallsyms, DebugInfoError>) -> String {
    match r {
        Ok(_) => panic!("corrupt table accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn absurd_num_syms() {
    let mut b = build(&kernel(false), Addresses::Relative, false);
    let at = b.symbol("kallsyms_num_syms");
    b.poke(at, &u32::MAX.to_le_bytes());
    let e = err_text(b.load());
    assert!(
        e.contains("kallsyms_num_syms") && e.contains("4294967295"),
        "{e}"
    );
    b.poke(at, &0u32.to_le_bytes());
    assert!(err_text(b.load()).contains("kallsyms_num_syms"));
}

#[test]
fn token_index_out_of_range() {
    let mut b = build(&kernel(false), Addresses::Relative, false);
    let at = b.symbol("kallsyms_token_index");
    b.poke(at + 2 * 0x41, &0xfff0u16.to_le_bytes());
    let e = err_text(b.load());
    assert!(
        e.contains("kallsyms_token_index") && e.contains("token 65"),
        "{e}"
    );
}

#[test]
fn token_table_unterminated() {
    // the index does not follow the table: the last token runs off the mapped memory
    let mut b = build(&kernel(false), Addresses::Relative, false);
    let table = b.symbol("kallsyms_token_table");
    let len = b.region().len();
    let new_table = TABLES + len as u64 + 0x10000;
    b.mem.map(new_table, b"abc".to_vec());
    b.info = b.info.replace(
        &format!("SYMBOL(kallsyms_token_table)={table:x}"),
        &format!("SYMBOL(kallsyms_token_table)={new_table:x}"),
    );
    let e = err_text(b.load());
    assert!(e.contains("kallsyms_token_table"), "{e}");
}

#[test]
fn names_truncated() {
    let mut b = build(&kernel(false), Addresses::Relative, false);
    let at = b.symbol("kallsyms_num_syms");
    b.poke(at, &100_000u32.to_le_bytes());
    let e = err_text(b.load());
    assert!(e.contains("kallsyms_names"), "{e}");
}

#[test]
fn names_unmapped() {
    let mut b = build(&kernel(false), Addresses::Relative, false);
    let names = b.symbol("kallsyms_names");
    b.info = b.info.replace(
        &format!("SYMBOL(kallsyms_names)={names:x}"),
        "SYMBOL(kallsyms_names)=ffffffffdead0000",
    );
    let e = err_text(b.load());
    assert!(
        e.contains("kallsyms_names") && e.contains("0xffffffffdead0000"),
        "{e}"
    );
}

#[test]
fn missing_vmcoreinfo() {
    let b = build(&kernel(false), Addresses::Relative, false);
    let info = VmcoreInfo::parse(&b.info.replace("SYMBOL(kallsyms_token_index)", "X"));
    match Kallsyms::load(Arc::new(b.mem.clone()), &info) {
        Err(DebugInfoError::Missing(m)) => assert!(m.contains("kallsyms_token_index")),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn stext_mismatch() {
    let mut b = build(&kernel(false), Addresses::Relative, false);
    b.info = b.info.replace(
        &format!("SYMBOL(_stext)={TEXT:x}"),
        "SYMBOL(_stext)=ffffffff91000000",
    );
    let e = err_text(b.load());
    assert!(
        e.contains("kallsyms_offsets") && e.contains("_stext"),
        "{e}"
    );
}

#[test]
fn offsets_unmapped() {
    let mut b = build(&kernel(false), Addresses::Relative, false);
    b.info = b.info.replace(
        &format!("SYMBOL(kallsyms_offsets)={TABLES:x}"),
        "SYMBOL(kallsyms_offsets)=ffffffffdead0000",
    );
    let e = err_text(b.load());
    assert!(e.contains("kallsyms_offsets"), "{e}");
}

/// ~150k symbols, like a distribution kernel: loading must stay well under 100 ms (optimised).
#[test]
fn load_time_150k() {
    let mut syms = vec![sym("_stext", 'T', TEXT)];
    for i in 0..150_000u64 {
        let name = match i % 4 {
            0 => format!("do_sys_func_{i}"),
            1 => format!("__static_init_task_{i}"),
            2 => format!("func_data_{i}_end"),
            _ => format!("ksym{i}"),
        };
        syms.push(sym(
            &name,
            if i % 2 == 0 { 'T' } else { 't' },
            TEXT + 0x10 + i * 0x20,
        ));
    }
    let b = build(&syms, Addresses::AbsolutePercpu, false);
    let info = b.vmcoreinfo();
    let t = Instant::now();
    let k = Kallsyms::load(Arc::new(b.mem.clone()), &info).unwrap();
    let load = t.elapsed();
    let t = Instant::now();
    assert_eq!(
        k.by_name("ksym149999").unwrap().addr,
        TEXT + 0x10 + 149_999 * 0x20
    );
    let first_name = t.elapsed();
    assert_eq!(k.len(), 150_001);
    assert_eq!(
        k.by_addr(TEXT + 0x10 + 77_777 * 0x20 + 3)
            .unwrap()
            .name
            .as_ref(),
        "__static_init_task_77777"
    );
    eprintln!("150k symbols: load {load:?}, first by_name (builds the name index) {first_name:?}");
    assert!(load.as_millis() < 1000, "load took {load:?}");
}

// ---- module symbols ----

fn elf_sym(name: u32, info: u8, shndx: u16, value: u64, size: u64) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&name.to_le_bytes());
    v.extend_from_slice(&[info, 0]);
    v.extend_from_slice(&shndx.to_le_bytes());
    v.extend_from_slice(&value.to_le_bytes());
    v.extend_from_slice(&size.to_le_bytes());
    v
}

const MOD_TEXT: u64 = 0xffff_ffff_c025_8000;
const MOD_DATA: u64 = 0xffff_ffff_c025_a000;

/// A module symtab like `hung.ko`'s core symtab (with `st_info` replaced by `info_of` when given).
/// Where the kernel wrote the type letters over the ELF fields (before 5.2, without a typetab).
#[derive(Clone, Copy, PartialEq)]
enum Over {
    Nothing,
    StInfo,
    StSize,
}

fn module_tables(over: Over) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let strtab =
        b"\0__pfx_fixture_hung_fn\0fixture_hung_fn\0__this_module\0fixture_mutex\0printk\0.text\0hung.c\0".to_vec();
    let off = |s: &str| {
        strtab
            .windows(s.len() + 2)
            .position(|w| w[0] == 0 && &w[1..=s.len()] == s.as_bytes() && w[s.len() + 1] == 0)
            .unwrap() as u32
            + 1
    };
    // (name, st_info, shndx, value, size, type letter)
    let rows = [
        ("__pfx_fixture_hung_fn", 0x00u8, 2u16, MOD_TEXT, 16u64, b't'),
        ("fixture_hung_fn", 0x02, 2, MOD_TEXT + 0x10, 0x50, b't'),
        ("__this_module", 0x11, 5, MOD_DATA + 0x40, 0x500, b'D'),
        ("fixture_mutex", 0x01, 5, MOD_DATA + 0x20, 0x20, b'd'),
        ("printk", 0x10, 0, 0, 0, b'U'),
        (".text", 0x03, 2, MOD_TEXT, 0, b't'),
        ("hung.c", 0x04, 0xfff1, 0, 0, b'a'),
    ];
    let mut symtab = elf_sym(0, 0, 0, 0, 0);
    let mut typetab = vec![0u8];
    for (name, info, shndx, value, size, letter) in rows {
        let section_or_file = matches!(info & 0xf, 3 | 4);
        let info = if over == Over::StInfo && !section_or_file {
            letter
        } else {
            info
        };
        let size = if over == Over::StSize && !section_or_file {
            u64::from(letter)
        } else {
            size
        };
        symtab.extend(elf_sym(off(name), info, shndx, value, size));
        typetab.push(letter);
    }
    (symtab, strtab, typetab)
}

fn check_module(m: &ModuleSymbols) {
    assert_eq!(m.module(), "hung");
    assert_eq!(m.len(), 4, "{:?}", m.iter().collect::<Vec<_>>());
    let s = m.by_addr(MOD_TEXT + 0x20).unwrap();
    assert_eq!(
        (&*s.name, s.kind, s.size, s.module.as_deref()),
        ("fixture_hung_fn", 't', Some(0x50), Some("hung"))
    );
    assert_eq!(
        m.by_addr(MOD_TEXT + 3).unwrap().name.as_ref(),
        "__pfx_fixture_hung_fn"
    );
    let s = m.by_name("__this_module").unwrap();
    assert_eq!((s.addr, s.kind), (MOD_DATA + 0x40, 'D'));
    assert_eq!(m.by_name("fixture_mutex").unwrap().kind, 'd');
    assert_eq!(m.by_name("printk"), None);
    assert_eq!(
        m.by_addr(MOD_DATA + 0x40 + 0x4ff).unwrap().name.as_ref(),
        "__this_module"
    );
    assert_eq!(m.by_addr(MOD_DATA + 0x40 + 0x500), None);
    assert_eq!(m.by_addr(MOD_TEXT - 1), None);
}

#[test]
fn module_with_typetab() {
    let (symtab, strtab, typetab) = module_tables(Over::Nothing);
    check_module(
        &ModuleSymbols::from_elf_symtab_typed("hung", &symtab, &strtab, &typetab).unwrap(),
    );
}

#[test]
fn module_letters_in_st_info() {
    let (symtab, strtab, _) = module_tables(Over::StInfo);
    check_module(&ModuleSymbols::from_elf_symtab("hung", &symtab, &strtab).unwrap());
}

#[test]
fn module_letters_in_st_size() {
    let (symtab, strtab, _) = module_tables(Over::StSize);
    let m = ModuleSymbols::from_elf_symtab("hung", &symtab, &strtab).unwrap();
    let kinds: Vec<(&str, char)> = m.iter().map(|s| (s.name, s.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("__pfx_fixture_hung_fn", 't'),
            ("fixture_hung_fn", 't'),
            ("fixture_mutex", 'd'),
            ("__this_module", 'D')
        ]
    );
    // the sizes were overwritten: distance to the next symbol, and the last one only exactly
    assert_eq!(m.by_name("__pfx_fixture_hung_fn").unwrap().size, Some(0x10));
    assert_eq!(
        m.by_addr(MOD_DATA + 0x40).unwrap().name.as_ref(),
        "__this_module"
    );
    assert_eq!(m.by_addr(MOD_DATA + 0x41), None);
}

#[test]
fn module_letters_from_elf() {
    let (symtab, strtab, _) = module_tables(Over::Nothing);
    let m = ModuleSymbols::from_elf_symtab("hung", &symtab, &strtab).unwrap();
    let kinds: Vec<(&str, char)> = m.iter().map(|s| (s.name, s.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("__pfx_fixture_hung_fn", '?'),
            ("fixture_hung_fn", 't'),
            ("fixture_mutex", 'd'),
            ("__this_module", 'D')
        ]
    );
}

#[test]
fn module_corrupt() {
    let (symtab, strtab, typetab) = module_tables(Over::Nothing);
    let e = ModuleSymbols::from_elf_symtab("hung", &symtab[..25], &strtab)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("module symtab"), "{e}");
    let e = ModuleSymbols::from_elf_symtab("hung", &symtab, &strtab[..20])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("module strtab"), "{e}");
    let e = ModuleSymbols::from_elf_symtab_typed("hung", &symtab, &strtab, &typetab[..3])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("module typetab"), "{e}");
    let mut bad = symtab.clone();
    bad[24..28].copy_from_slice(&10_000u32.to_le_bytes());
    let e = ModuleSymbols::from_elf_symtab("hung", &bad, &strtab)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("module strtab") && e.contains("symbol 1"), "{e}");
}

// ---- decoding on demand ----

/// `count` text symbols after the small kernel's, named so that name order differs from
/// address order.
fn many(count: u64) -> Vec<Sym> {
    let mut v = kernel(false);
    for i in 0..count {
        let name = format!(
            "{}_fn_{i}",
            ["zeta", "alpha", "mid", "beta"][i as usize % 4]
        );
        v.push(sym(&name, 't', TEXT + 0x10_0000 + i * 0x10));
    }
    v
}

/// Memory that counts the bytes read from it.
struct Counting(SparseMemory, AtomicUsize);

impl ReadVirt for Counting {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> kdive_memory::Result<()> {
        self.1.fetch_add(buf.len(), Ordering::Relaxed);
        self.0.read_virt(addr, buf)
    }
}

/// With the names-ordered table (6.2+, in either place), every lookup agrees with the whole
/// table, and a lookup by name reads a few blocks, not every name.
#[test]
fn names_ordered_table_in_both_places() {
    let syms = many(20_000);
    for layout in [Layout::Linux62, Layout::Linux64] {
        for enc in [
            Addresses::Relative,
            Addresses::AbsolutePercpu,
            Addresses::PcRelative,
        ] {
            let what = format!("{layout:?} {enc:?}");
            let b = build_in(&syms, enc, false, layout);
            let names_len = b.symbol("kallsyms_token_table") - b.symbol("kallsyms_names");
            let mem = Arc::new(Counting(b.mem.clone(), Default::default()));
            let k = Kallsyms::load(mem.clone(), &b.vmcoreinfo()).unwrap();
            let before = mem.1.load(Ordering::Relaxed);
            assert_eq!(
                k.by_name("mid_fn_19998").map(|s| s.addr),
                Some(TEXT + 0x10_0000 + 19_998 * 0x10),
                "{what}"
            );
            let read = mem.1.load(Ordering::Relaxed) - before;
            assert!(
                read < names_len as usize / 4,
                "{what}: {read} of {names_len} bytes"
            );
            check_kernel(&k);
            let whole = b.load().unwrap();
            for s in whole.table().unwrap().iter().step_by(97) {
                let found = k.lookup_all(s.name);
                assert!(found.iter().any(|f| f.addr == s.addr), "{what}: {}", s.name);
            }
        }
    }
}

/// Without the names-ordered table, or with one that is not in name order, a lookup by name
/// decodes every name once into a hash index.
#[test]
fn names_found_without_an_ordered_table() {
    let syms = many(3000);
    let mut b = build_in(&syms, Addresses::Relative, false, Layout::Linux64);
    let seqs = b.symbol("kallsyms_relative_base") + 8;
    let k = b.load().unwrap();
    assert_eq!(
        k.by_name("beta_fn_2999").unwrap().addr,
        TEXT + 0x10_0000 + 2999 * 0x10
    );
    // tables of symbol numbers out of range, all the same, or out of name order: refused
    b.poke(seqs, &vec![0xff; 3 * syms.len()]);
    check_kernel(&b.load().unwrap());
    b.poke(seqs, &vec![0; 3 * syms.len()]);
    check_kernel(&b.load().unwrap());
    let reversed: Vec<u8> = (0..syms.len() as u32)
        .rev()
        .flat_map(|i| i.to_be_bytes()[1..].to_vec())
        .collect();
    b.poke(seqs, &reversed);
    let k = b.load().unwrap();
    check_kernel(&k);
    assert_eq!(
        k.by_name("beta_fn_2999").unwrap().addr,
        TEXT + 0x10_0000 + 2999 * 0x10
    );
    assert_eq!(k.lookup_all("dup").len(), 2);
}

/// Markers that do not agree with the names: out of range or out of order, the whole table is
/// walked instead; shifted by a byte (still in order), the blocks around the bad marker cannot
/// be decoded, and only they are lost.
#[test]
fn markers_out_of_range_or_shifted() {
    let syms = many(1200);
    let b = build(&syms, Addresses::Relative, false);
    let token_table = b.symbol("kallsyms_token_table");
    let count = syms.len().div_ceil(256) as u64;
    let word = |b: &Built, at: u64| {
        let mut w = [0u8; 4];
        b.mem.read_virt(at, &mut w).unwrap();
        u32::from_le_bytes(w)
    };
    // the markers end at the token table, or 4 bytes before it (alignment)
    let markers = [0u64, 4]
        .into_iter()
        .map(|pad| token_table - pad - 4 * count)
        .find(|&m| word(&b, m) == 0 && word(&b, m + 4) > 0)
        .unwrap();
    let read = |b: &Built, k: u64| word(b, markers + 4 * k);
    for bad in [u32::MAX, 0, read(&b, 1)] {
        let mut b2 = build(&syms, Addresses::Relative, false);
        b2.poke(markers + 8, &bad.to_le_bytes());
        let k = b2.load().unwrap();
        check_kernel(&k);
        assert_eq!(k.table().unwrap().len(), syms.len());
    }
    let mut b3 = build(&syms, Addresses::Relative, false);
    b3.poke(markers + 8, &(read(&b, 2) + 1).to_le_bytes());
    let k = b3.load().unwrap();
    // symbols 256..768 are in the blocks the marker separates
    let mut sorted = syms.clone();
    sorted.sort_by_key(|s| s.addr);
    let (lost, kept) = (&sorted[600], &sorted[1000]);
    assert_eq!(k.by_name(&kept.name).map(|s| s.addr), Some(kept.addr));
    assert_eq!(k.by_addr(kept.addr).map(|s| s.addr), Some(kept.addr));
    assert_eq!(k.by_addr(lost.addr), None);
    let e = k
        .table()
        .err()
        .expect("a block that does not decode")
        .to_string();
    assert!(e.contains("kallsyms_names") && e.contains("block"), "{e}");
    assert_eq!(k.by_name("_stext").map(|s| s.addr), Some(TEXT));
}

/// A page of the names the dump does not have: opening and every other lookup still work.
#[test]
fn names_page_missing() {
    let syms = many(4000);
    let mut b = build_in(&syms, Addresses::Relative, false, Layout::Linux62);
    let names = b.symbol("kallsyms_names");
    let page = (names + 0x4000) & !0xfff;
    b.mem.exclude_page(page);
    let k = b.load().unwrap();
    let ok = (0..4000u64)
        .filter(|i| {
            k.by_name(&format!(
                "{}_fn_{i}",
                ["zeta", "alpha", "mid", "beta"][*i as usize % 4]
            ))
            .is_some()
        })
        .count();
    assert!((3000..4000).contains(&ok), "{ok} of 4000 found");
    assert!(k.table().is_err());
    assert_eq!(k.by_addr(DATA + 0x10).unwrap().name.as_ref(), "init_task");
}
