//! Fuzz entry points: each takes arbitrary bytes, runs one parser over them and asks the result
//! the questions its callers ask. None may panic, hang or allocate without bound, whatever the
//! bytes. `fuzz/fuzz_targets/<name>.rs` calls the function of the same name in [`TARGETS`], and
//! `tests/fuzz_regressions.rs` replays every seed and regression file through it.

use std::sync::{Arc, OnceLock};

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::kallsyms::{Kallsyms, ModuleSymbols};
use kdive_debuginfo::{NameKind, SymbolSource, TypeId, TypeKind, Types};
use kdive_dump::elf::ElfDump;
use kdive_dump::flat::FlatFile;
use kdive_dump::kdump::{KdumpFile, Source};
use kdive_dump::{Arch, Codec, Dump, DumpFormat, Endian, VmcoreInfo};
use kdive_memory::{KernelMemory, ReadVirt};

use kdive_testdata::btf::{BtfBuilder, INT_SIGNED};
use kdive_testdata::mem::{Repeating, VirtBytes};
use kdive_testdata::phys::PhysMemory;

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every target: its name (the file under `fuzz/fuzz_targets/`, the folder under `fuzz/seeds/`)
/// and its entry point.
pub const TARGETS: &[(&str, Target)] = &[
    ("kdump", kdump),
    ("flattened", flattened),
    ("elf", elf),
    ("notes", notes),
    ("vmcoreinfo", vmcoreinfo),
    ("aarch64_mmu", aarch64_mmu),
    ("kallsyms", kallsyms),
    ("btf", btf),
    ("codec_zlib", codec_zlib),
    ("codec_lzo", codec_lzo),
    ("codec_snappy", codec_snappy),
    ("codec_zstd", codec_zstd),
    ("commands", commands),
    ("orc", orc),
    ("dwarf", dwarf),
    ("oops", oops),
    ("expr", expr),
    ("disasm", disasm),
    ("bpf_insn", bpf_insn),
];

/// Pages a format target reads at most per input (the bound keeps one input fast).
const MAX_PAGES_READ: u64 = 256;

/// A kdump-compressed file: header, sub-header, bitmaps, descriptors, then page reads.
pub fn kdump(data: &[u8]) {
    if let Ok(k) = KdumpFile::parse(Source::Bytes(data.to_vec())) {
        exercise(Box::new(k));
    }
}

/// A flattened (`makedumpfile -F`) file: the record index, reads of the virtual file, the ELF
/// vmcore (reassembled) or kdump inside.
pub fn flattened(data: &[u8]) {
    let Ok(flat) = FlatFile::index(data.to_vec()) else {
        return;
    };
    let len = flat.len();
    let mut buf = [0u8; 64];
    for at in [0, 4096, len / 2, len.saturating_sub(40)] {
        let _ = flat.read_at("fuzz", at, &mut buf);
        let _ = flat.slice("fuzz", at, 8192);
    }
    if let Ok(e) = kdive_dump::elf::ElfDump::parse_flattened(&flat) {
        exercise(Box::new(e));
    }
    if let Ok(k) = KdumpFile::parse(Source::Flattened(flat)) {
        exercise(Box::new(k));
    }
}

/// An ELF64 or ELF32 vmcore: program headers, notes, the physical index, page reads.
pub fn elf(data: &[u8]) {
    let Some(map) = mapping(data) else { return };
    if let Ok(e) = ElfDump::parse(map) {
        let _ = (
            e.segments().len(),
            e.is_kcore(),
            e.is_filtered(),
            e.notes().other.len(),
        );
        exercise(Box::new(e));
    }
}

/// An ELF note buffer, in both byte orders, for 64- and 32-bit machines.
pub fn notes(data: &[u8]) {
    for (endian, long32) in [Endian::Little, Endian::Big]
        .into_iter()
        .flat_map(|e| [(e, false), (e, true)])
    {
        let n = kdive_dump::notes::parse_notes_of(data, endian, long32);
        if let Some(text) = &n.vmcoreinfo {
            query_vmcoreinfo(&VmcoreInfo::parse(text));
        }
    }
}

/// Kernel log text: every report found, classified and titled, its `Code:` bytes disassembled
/// and its taint and error code decoded, as `kdive oops` shows them.
pub fn oops(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let o = kdive_commands::oops::from_text(&text, "fuzz");
    let _ = kdive_commands::Report::write_text(&o, &Default::default(), &mut std::io::sink());
    for r in kdive_oops::parse(&text) {
        let _ = kdive_oops::verdict(&r);
        if let Some(c) = &r.code {
            let _ = kdive_oops::decode::disassemble(c);
        }
    }
}

/// VMCOREINFO text, then a NUL, then physical memory from address 0: address translation set up
/// from the text and walked over the memory, and the whole kernel opened from it.
pub fn vmcoreinfo(data: &[u8]) {
    translate_and_open(data, Arch::X86_64);
}

/// [`vmcoreinfo`] for an aarch64 dump: the granule, address size, `kimage_voffset` and
/// `swapper_pg_dir` of the text choose the page-table format walked over the memory.
pub fn aarch64_mmu(data: &[u8]) {
    translate_and_open(data, Arch::Aarch64);
}

fn translate_and_open(data: &[u8], arch: Arch) {
    let (text, phys) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(text).into_owned();
    let info = VmcoreInfo::parse(&text);
    query_vmcoreinfo(&info);
    let mut phys = PhysMemory::from_bytes(phys, Some(text));
    phys.meta_mut().arch = arch;
    let dump = Arc::new(Dump::from_format(Vec::new(), Box::new(phys)));
    if let Ok(mem) = KernelMemory::new(dump.clone()) {
        let _ = mem.direct_map_base();
        let addrs = info
            .entries()
            .iter()
            .filter(|(k, _)| k.starts_with("SYMBOL("))
            .filter_map(|(k, _)| info.hex(k))
            .take(32)
            .chain([
                0xffff_8880_0000_0000,
                0xffff_ffff_8100_0000,
                0xfff0_0000_0000_0000,
                0xffff_0000_0000_0000,
                0xffff_8000_8000_0000,
                u64::MAX - 7,
            ]);
        let mut buf = [0u8; 16];
        for a in addrs {
            let _ = mem.walk(a);
            let _ = mem.read_virt(a, &mut buf);
            let _ = mem.read_cstr(a, 64);
        }
    }
    if let Ok(prog) = kdive_linux::open::kernel(dump) {
        let _ = prog.symbols().by_name("init_task");
        let _ = prog.type_("struct task_struct");
    }
}

/// Offsets into the input of the kallsyms target (see [`kallsyms`]).
pub const KALLSYMS_HEADER: usize = 48;
/// Where the kallsyms target's memory is mapped.
pub const KALLSYMS_BASE: u64 = 0xffff_ffff_8100_0000;

/// The kernel's kallsyms tables, and a module's ELF symtab.
///
/// Input: a 48-byte little-endian header, then memory mapped at [`KALLSYMS_BASE`]. Header: `u32`
/// flags (bit 0: absolute `kallsyms_addresses` instead of `kallsyms_offsets`; bit 1: a
/// `kallsyms_relative_base`; bit 2: VMCOREINFO gives `_stext`), six `u32` offsets into the memory
/// (`kallsyms_num_syms`, `_names`, `_token_table`, `_token_index`, the address table,
/// `_relative_base`), the `u64` value of `_stext`, and the `u32` length of the module symtab
/// (which is read from the start of the memory, its string table after it).
pub fn kallsyms(data: &[u8]) {
    let Some(head) = data.get(..KALLSYMS_HEADER) else {
        return;
    };
    let word = |i: usize| {
        u32::from_le_bytes([
            head[4 * i],
            head[4 * i + 1],
            head[4 * i + 2],
            head[4 * i + 3],
        ])
    };
    let flags = word(0);
    let at = |i: usize| KALLSYMS_BASE.wrapping_add(u64::from(word(i)));
    let stext = u64::from(word(7)) | u64::from(word(8)) << 32;
    let mut text = format!(
        "SYMBOL(kallsyms_num_syms)={:x}\nSYMBOL(kallsyms_names)={:x}\nSYMBOL(kallsyms_token_table)={:x}\nSYMBOL(kallsyms_token_index)={:x}\n",
        at(1), at(2), at(3), at(4)
    );
    let table = if flags & 1 != 0 {
        "kallsyms_addresses"
    } else {
        "kallsyms_offsets"
    };
    text += &format!("SYMBOL({table})={:x}\n", at(5));
    if flags & 2 != 0 {
        text += &format!("SYMBOL(kallsyms_relative_base)={:x}\n", at(6));
    }
    if flags & 4 != 0 {
        text += &format!("SYMBOL(_stext)={stext:x}\n");
    }
    let memory = &data[KALLSYMS_HEADER..];
    let mem = Arc::new(VirtBytes {
        base: KALLSYMS_BASE,
        bytes: memory.to_vec(),
    });
    if let Ok(k) = Kallsyms::load(mem, &VmcoreInfo::parse(&text)) {
        let _ = (k.encoding(), k.len(), k.lookup_all("_stext"));
        // lookups before anything is decoded at once, then through the whole table
        let _ = (k.by_addr(at(5)), k.by_name("init_task"));
        let some: Vec<(String, u64)> = k
            .table()
            .map(|t| {
                t.iter()
                    .take(64)
                    .map(|s| (s.name.to_string(), s.addr))
                    .collect()
            })
            .unwrap_or_default();
        for (name, addr) in some {
            let _ = (
                k.by_name(&name),
                k.by_addr(addr),
                k.by_addr(addr.wrapping_add(1)),
            );
        }
        let _ = (k.by_addr(0), k.by_addr(u64::MAX));
    }
    let split = (word(9) as usize).min(memory.len());
    let (symtab, strtab) = memory.split_at(split);
    for m in [
        ModuleSymbols::from_elf_symtab("fuzz", symtab, strtab),
        ModuleSymbols::from_elf_symtab_typed("fuzz", symtab, strtab, strtab),
    ]
    .into_iter()
    .flatten()
    {
        let some: Vec<u64> = m.iter().take(16).map(|s| s.addr).collect();
        for a in some {
            let _ = m.by_addr(a);
        }
        let _ = m.by_name("init_module");
    }
}

/// An input of [`kallsyms`]: the header (`flags`, the offsets into `memory` of
/// `kallsyms_num_syms`, `_names`, `_token_table`, `_token_index`, the address table and
/// `_relative_base`, `_stext`, the module symtab's length), then `memory`.
pub fn kallsyms_input(
    flags: u32,
    offsets: [u32; 6],
    stext: u64,
    symtab_len: u32,
    memory: &[u8],
) -> Vec<u8> {
    let mut input = flags.to_le_bytes().to_vec();
    for w in offsets {
        input.extend_from_slice(&w.to_le_bytes());
    }
    input.extend_from_slice(&stext.to_le_bytes());
    input.extend_from_slice(&symtab_len.to_le_bytes());
    input.resize(KALLSYMS_HEADER, 0);
    input.extend_from_slice(memory);
    input
}

/// Types visited per BTF input at most.
const MAX_TYPES_VISITED: u32 = 4096;

/// A BTF blob, as vmlinux BTF and as a module's split BTF over a small base: every type
/// converted, sized, its members looked up, names found.
pub fn btf(data: &[u8]) {
    let mut types = Types::new();
    let src = types.next_source_id();
    if let Ok(b) = BtfSource::parse(data.to_vec(), src) {
        types.add_source(Arc::new(b));
        exercise_types(&types, src);
        exercise_printing(types, src, data);
    }
    let mut types = Types::new();
    let base = Arc::new(btf_base(types.next_source_id()));
    let base_src = types.add_source(base.clone());
    if let Ok(b) = BtfSource::new_split(base, base_src, data.to_vec(), types.next_source_id()) {
        let src = types.add_source(Arc::new(b));
        exercise_types(&types, src);
    }
}

/// The base of the split-BTF half of [`btf`]: a few kernel-like types.
fn btf_base(src: u16) -> BtfSource {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    let blob = BLOB.get_or_init(|| {
        let mut b = BtfBuilder::new();
        let int = b.int("int", 4, INT_SIGNED);
        let long = b.int("long unsigned int", 8, 0);
        let lh = b.struct_("list_head", 16, &[]);
        let p = b.ptr(lh);
        b.struct_("list_head", 16, &[("next", p, 0, 0), ("prev", p, 64, 0)]);
        b.struct_(
            "module",
            32,
            &[
                ("list", lh, 0, 0),
                ("state", int, 128, 0),
                ("size", long, 192, 0),
            ],
        );
        b.build()
    });
    BtfSource::parse(blob.clone(), src).unwrap_or_else(|e| panic!("built-in base BTF: {e}"))
}

fn exercise_types(types: &Types, src: u16) {
    let Ok(idx_end) = types.get(TypeId { src, idx: 0 }).map(|_| MAX_TYPES_VISITED) else {
        return;
    };
    for idx in 1..idx_end {
        let id = TypeId { src, idx };
        let Ok(t) = types.get(id) else {
            if idx > 64 {
                break;
            }
            continue;
        };
        let _ = (types.size_of(id), types.resolve(id));
        if let TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } = &t.kind {
            for m in members.iter().take(16) {
                if let Some(name) = &m.name {
                    let _ = types.member(id, name);
                }
                let _ = types.size_of(m.ty);
            }
            let _ = types.has_member(id, "no_such_member");
        }
        let _ = types.pointer_to(id);
    }
    for name in ["task_struct", "list_head", "module"] {
        let _ = types.find(NameKind::Struct, name);
    }
    let _ = types.lookup("unsigned long **");
    let _ = types.lookup("struct task_struct *");
}

/// Prints the first types as crash's `struct`/`whatis` would: definitions, declarations, and
/// the value of each at an address whose memory repeats the input.
fn exercise_printing(types: Types, src: u16, data: &[u8]) {
    use kdive_program::print::{declaration, definition, format_value, PrintOptions};
    let prog = kdive_program::ProgramBuilder::new(Arc::new(Repeating(
        data.iter().copied().take(4096).collect(),
    )))
    .types(types)
    .build();
    // a few types: a print a corrupt type makes as large as allowed costs tens of milliseconds
    for idx in 1..8 {
        let id = TypeId { src, idx };
        if prog.types().get(id).is_err() {
            break;
        }
        let _ = definition(prog.types(), id, true);
        let _ = declaration(prog.types(), id, "x");
        if prog.types().size_of(id).is_ok_and(|n| n <= 1 << 16) {
            let obj = kdive_program::Object::reference(&prog, id, 0x1000);
            let _ = format_value(&obj, PrintOptions::default(), 0);
        }
    }
}

/// One zlib-compressed page.
pub fn codec_zlib(data: &[u8]) {
    decompress(Codec::Zlib, data);
}
/// One LZO1X-compressed page.
pub fn codec_lzo(data: &[u8]) {
    decompress(Codec::Lzo, data);
}
/// One snappy-compressed page.
pub fn codec_snappy(data: &[u8]) {
    decompress(Codec::Snappy, data);
}
/// One zstd-compressed page.
pub fn codec_zstd(data: &[u8]) {
    decompress(Codec::Zstd, data);
}

fn decompress(codec: Codec, data: &[u8]) {
    let mut page = [0u8; 4096];
    let _ = kdive_dump::codec::decompress(codec, data, &mut page);
}

/// The command layer (`sys`, `ps`, `log`, `analyze`, `mod`, `sym`, `dis`, `rd`, `search`, `list`,
/// `bt`) over the synthetic kernel of [`crate::synth`], its memory patched by the input: see
/// [`crate::synth::Patches`]. `dis` decodes the patched bytes of `init_task` as code.
pub fn commands(data: &[u8]) {
    crate::synth::run_commands_patched(
        data,
        &[
            "sys",
            "ps",
            "ps -t",
            "log",
            "log -T -m",
            "analyze",
            "mod",
            "sym init_task",
            "sym -q init",
            "dis init_task 48",
            "dis -x init_task+3 16",
            "dis -r init_task+40",
            "rd -S init_task 32",
            "rd -N -32 init_task 8",
            "search -x 2 -s init_task -l 0x800 init_task",
            "list -B task_struct.tasks -h init_task",
            "bt -r",
            "bt -e",
            "bt -FF",
            "task",
            "struct task_struct.pid,comm init_task",
            "kmem -i",
            "net",
            "irq",
        ],
    );
}

/// Longest expression the `expr` target passes on (the parser refuses longer ones anyway).
const MAX_EXPR: usize = 4096;

/// C expressions as `p`, `p/x`, `whatis`, `ptype` and `eval` take them: the text is parsed (every
/// name a type, then none) and the commands run it over the synthetic kernel of
/// [`crate::synth`], whose types, symbols and memory the names reach.
pub fn expr(data: &[u8]) {
    let text = String::from_utf8_lossy(&data[..data.len().min(MAX_EXPR)]);
    let _ = kdive_program::expr::parse(&text, &|_| true);
    let _ = kdive_program::expr::parse(&text, &|_| false);
    // one line each: a newline would end the command
    let line = text.replace(['\n', '\r'], " ");
    let cmds: Vec<String> = ["p", "p/x", "whatis", "ptype", "eval"]
        .iter()
        .map(|c| format!("{c} {line}"))
        .collect();
    let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
    crate::synth::run_commands_unpatched(&cmds);
}

/// Longest code the `disasm` target decodes per input.
const MAX_CODE: usize = 1 << 12;

/// Machine code as `dis` decodes it, by every architecture's decoder: the first byte picks the
/// load address's low bits (branch targets near the top of the address space wrap), the rest is
/// code. Every instruction is joined and written as `dis` writes it.
pub fn disasm(data: &[u8]) {
    let Some((&low, code)) = data.split_first() else {
        return;
    };
    let code = &code[..code.len().min(MAX_CODE)];
    let addr = 0xffff_ffff_ffff_f000 | u64::from(low) << 4;
    for arch in ["x86_64", "aarch64"] {
        let Some(dec) = kdive_program::disasm::decoder(arch) else {
            continue;
        };
        for i in kdive_program::disasm::decode_all(&*dec, addr, code, MAX_CODE) {
            let _ = i.text_with(dec.separator());
        }
    }
}

/// eBPF instructions as `bpf -t` lists them: the first byte's low bit picks the byte order,
/// the rest is the program's code (a 64-bit load may be cut off at the end).
pub fn bpf_insn(data: &[u8]) {
    let Some((&order, code)) = data.split_first() else {
        return;
    };
    let code = &code[..code.len().min(MAX_CODE)];
    let names = kdive_linux::bpf_insn::NoNames;
    let _ = kdive_linux::bpf_insn::disassemble(code, order & 1 == 1, &names);
}

/// Where the ORC target's memory is mapped.
pub const ORC_BASE: u64 = 0xffff_ffff_8100_0000;

/// An ORC unwind table as the unwinder reads it from the dump.
///
/// Input: a `u32` entry count, a layout byte (0: before Linux 6.3, 1: since, else guessed from
/// the data), 3 bytes of padding, then memory mapped at [`ORC_BASE`] holding `int ip[count]`
/// followed by the `orc_entry[count]` table. Every ip of the table (and the byte after it) is
/// looked up and turned into an unwind row.
pub fn orc(data: &[u8]) {
    use kdive_program::unwind::orc::{OrcLayout, OrcTable};
    let Some((head, memory)) = data.split_first_chunk::<8>() else {
        return;
    };
    let count = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let layout = match head[4] {
        0 => Some(OrcLayout::legacy()),
        1 => Some(OrcLayout::current()),
        _ => None,
    };
    let mem = VirtBytes {
        base: ORC_BASE,
        bytes: memory,
    };
    let orc_table = ORC_BASE.wrapping_add(4 * count as u64);
    let Ok(t) = OrcTable::read(&mem, "fuzz", ORC_BASE, orc_table, count, layout, Vec::new()) else {
        return;
    };
    let _ = (t.len(), t.name(), t.layout().generation());
    for (i, rel) in memory.chunks_exact(4).take(count.min(256)).enumerate() {
        let ip = (ORC_BASE + 4 * i as u64).wrapping_add_signed(i64::from(i32::from_le_bytes([
            rel[0], rel[1], rel[2], rel[3],
        ])));
        for pc in [ip, ip.wrapping_add(1), ip.wrapping_sub(1)] {
            if t.covers(pc) {
                let _ = t.lookup(&mem, pc).map(|e| e.to_row());
            }
        }
    }
}

/// An ELF debug file (a vmlinux or a module): its build-id, symbols, contents at addresses,
/// DWARF source lines of the addresses of its symbols and of the synthetic program of
/// `kdive_testdata::dwarf` (0x1000..0x1040), and its DWARF types ([`dwarf_types`]).
pub fn dwarf(data: &[u8]) {
    use kdive_debuginfo::dwarf::SourceLines;
    use kdive_debuginfo::elf_file::ElfFile;
    let Ok(f) = ElfFile::from_backing("fuzz".into(), Arc::new(data.to_vec())) else {
        return;
    };
    let _ = (
        f.build_id(),
        f.is_relocatable(),
        f.has_dwarf(),
        f.is_little_endian(),
    );
    let syms = f.symbol_addresses(&["_stext", "_etext", "linux_banner", "init_module"]);
    let mut addrs = vec![0, 0x10, 0x1000, 0x1004, 0x1012, 0x1020];
    addrs.extend(syms.iter().flatten());
    for &a in &addrs {
        let _ = f.read_at_address(a, 64);
    }
    if let Ok(lines) = SourceLines::new(&f) {
        for a in &addrs {
            for at in [*a, a.wrapping_add(1), a.wrapping_add(0x20)] {
                let _ = lines.frames(at);
            }
        }
    }
    dwarf_types(&f);
}

/// DWARF types, variables and functions of a debug file: names of the synthetic file of
/// `kdive_testdata::dwarf_types` and of real kernels and modules, each found type printed as
/// crash would, and DIEs read at offsets that need not start one.
fn dwarf_types(f: &kdive_debuginfo::elf_file::ElfFile) {
    use kdive_debuginfo::dwarf::DwarfTypes;
    use kdive_debuginfo::TypeSource;
    use kdive_program::print::{declaration, definition};
    let bases: std::collections::HashMap<String, u64> = [".text", ".data", ".bss", ".rodata"]
        .iter()
        .map(|s| (s.to_string(), 0xffff_ffff_c000_0000))
        .collect();
    let bases = f.is_relocatable().then_some(&bases);
    let Ok(d) = DwarfTypes::new(f, bases, 0) else {
        return;
    };
    let d = Arc::new(d);
    let mut types = Types::new();
    types.add_source(d.clone());
    let mut ids = Vec::new();
    for (kind, name) in [
        (NameKind::Struct, "s"),
        (NameKind::Struct, "later"),
        (NameKind::Struct, "task_struct"),
        (NameKind::Struct, "fixture_victim"),
        (NameKind::Enum, "color"),
        (NameKind::Typedef, "s_t"),
        (NameKind::Base, "unsigned long"),
    ] {
        ids.extend(d.find(kind, name).map(|i| d.type_id(i)));
    }
    for name in [
        "ptr",
        "lp",
        "def_var",
        "big",
        "none",
        "fixture_mutex",
        "__this_module",
    ] {
        ids.extend(d.find_variable(name, None).map(|v| d.type_id(v.die)));
    }
    for name in ["func", "init_module", "fixture_poke"] {
        ids.extend(d.find_function(name, None).map(|v| d.type_id(v.die)));
    }
    ids.extend((1..32u32).map(|i| d.type_id(i.wrapping_mul(7))));
    for id in ids {
        if types.get(id).is_err() {
            continue;
        }
        let _ = (types.size_of(id), types.resolve(id));
        let _ = types.member(id, "grid").map(|m| types.size_of(m.ty));
        let _ = definition(&types, id, true);
        let _ = declaration(&types, id, "x");
    }
    let _ = (d.units_indexed(), d.index_problems());
}

/// The questions every format answers: metadata, page states and reads (a bounded sample).
fn exercise(format: Box<dyn DumpFormat>) {
    let dump = Dump::from_format(Vec::new(), format);
    let meta = dump.meta();
    let (max_pfn, ps) = (meta.max_pfn, dump.page_size());
    let _ = dump.format().codec_counts();
    if let Some(info) = dump.vmcoreinfo() {
        query_vmcoreinfo(info);
    }
    let mut page = vec![0u8; usize::try_from(ps).unwrap_or(4096).min(1 << 20)];
    let spread = (max_pfn / 64).max(1);
    let pfns = (0..64)
        .chain((0..64).map(|i| i * spread))
        .chain((0..64).map(|i| max_pfn.saturating_sub(64) + i))
        .chain([max_pfn, u64::MAX / ps.max(1), u64::MAX]);
    for pfn in pfns.take(MAX_PAGES_READ as usize) {
        let _ = dump.format().page_state(pfn);
        let _ = dump.format().read_page(pfn, 0, &mut page);
        let _ = dump.format().read_page(pfn, 8, &mut page[..16]);
    }
    let mut buf = [0u8; 64];
    let _ = dump.read_phys(ps.wrapping_sub(32), &mut buf);
    let _ = dump.read_phys(u64::MAX - 16, &mut buf);
}

/// Reads every kind of VMCOREINFO value the layers above ask for.
fn query_vmcoreinfo(info: &VmcoreInfo) {
    let _ = (
        info.osrelease(),
        info.page_size(),
        info.kernel_offset(),
        info.build_id(),
    );
    let _ = (
        info.symbol("init_top_pgt"),
        info.number("phys_base"),
        info.size("page"),
    );
    let _ = (info.offset("list_head.next"), info.length("mem_section"));
}

/// The input as a read-only mapping (the ELF reader takes one).
fn mapping(data: &[u8]) -> Option<memmap2::Mmap> {
    if data.is_empty() {
        return None;
    }
    let mut m = memmap2::MmapMut::map_anon(data.len()).ok()?;
    m.copy_from_slice(data);
    m.make_read_only().ok()
}
