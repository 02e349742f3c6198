//! Builds the fuzz corpora from the fixture dumps and the synthetic kernel:
//! `cargo run --release -p kdive-robustness --example fuzz_corpus -- fuzz/corpus fuzz/seeds`.
//!
//! Every input goes to `CORPUS/<target>/`; the small ones (at most [`SEED_MAX`] bytes, as the
//! committed seeds must be) also go to `SEEDS/<target>/`. Inputs: the first 64 KiB of each dump
//! (and their first 8 KiB as seeds), the ELF and kdump note buffers, VMCOREINFO texts, compressed
//! pages of each codec, BTF and kallsyms tables cut down from the dumps' own, and the synthetic
//! kernel (whole, and with a few patches for the command target), the fixtures' module `.ko`
//! files and the synthetic DWARF programs of `kdive_testdata::dwarf` and `::dwarf_types` for the
//! dwarf target.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdive_dump::Dump;
use kdive_robustness::fuzz::{kallsyms_input, KALLSYMS_BASE};
use kdive_testdata::bytes::{range, u32_at, u64_at};
use kdive_testdata::elf::ElfLayout;
use kdive_testdata::kdump::layout::KdumpLayout;
use kdive_testdata::kernel as synth;

const SEED_MAX: usize = 8 << 10;

struct Out {
    corpus: PathBuf,
    seeds: PathBuf,
}

impl Out {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) {
        let mut dirs = vec![&self.corpus];
        if bytes.len() <= SEED_MAX {
            dirs.push(&self.seeds);
        }
        for d in dirs {
            let dir = d.join(target);
            std::fs::create_dir_all(&dir).expect("create corpus dir");
            std::fs::write(dir.join(name), bytes).expect("write input");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = Out {
        corpus: PathBuf::from(args.first().map_or("fuzz/corpus", String::as_str)),
        seeds: PathBuf::from(args.get(1).map_or("fuzz/seeds", String::as_str)),
    };
    for f in kdive_testdata::fixtures() {
        for path in f.dumps() {
            let file = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .replace(".zst", "");
            let name = format!(
                "{}-{}",
                f.name,
                file.trim_start_matches(&format!("{}-", f.name))
            );
            from_dump(&out, &name, &path);
        }
        for ko in std::fs::read_dir(&f.dir).into_iter().flatten().flatten() {
            let file = ko.file_name().to_string_lossy().into_owned();
            if file.ends_with(".ko") {
                let bytes = std::fs::read(ko.path()).expect("read module");
                out.put("dwarf", &format!("{}-{file}", f.name), &bytes);
            }
        }
    }
    from_synth(&out);
    for version in [4, 5] {
        out.put(
            "dwarf",
            &format!("synthetic-v{version}"),
            &kdive_testdata::dwarf::dwarf_elf(version),
        );
    }
    out.put(
        "dwarf",
        "synthetic-types",
        &kdive_testdata::dwarf_types::dwarf_types_elf(),
    );
}

fn from_dump(out: &Out, name: &str, path: &Path) {
    let bytes = std::fs::read(path).expect("read dump");
    let head = &bytes[..bytes.len().min(64 << 10)];
    let target = if head.starts_with(b"\x7fELF") {
        "elf"
    } else if head.starts_with(b"makedumpfile") {
        "flattened"
    } else {
        "kdump"
    };
    out.put(target, name, head);
    out.put(
        target,
        &format!("{name}-8k"),
        &head[..head.len().min(SEED_MAX)],
    );
    if let Some(l) = ElfLayout::parse(&bytes) {
        for (i, h) in l.headers(&bytes, 4).enumerate() {
            out.put(
                "notes",
                &format!("{name}-{i}"),
                range(&bytes, u64_at(&bytes, h + 8), u64_at(&bytes, h + 32)),
            );
        }
    }
    if let Some(l) = KdumpLayout::parse(&bytes) {
        let (off, size) = l.notes(&bytes);
        out.put("notes", name, range(&bytes, off as u64, size as u64));
        codec_pages(out, name, &bytes, &l);
    }
    let Ok(dump) = Dump::open(path) else { return };
    let dump = Arc::new(dump);
    if let Some(text) = &dump.meta().vmcoreinfo_raw {
        out.put("vmcoreinfo", name, format!("{text}\0").as_bytes());
    }
    let Ok(prog) = kdive_linux::open::kernel(dump) else {
        return;
    };
    btf(out, name, &prog);
    kallsyms(out, name, &prog);
    orc(out, name, &prog);
}

/// The first entries of the kernel's ORC tables, in the orc target's layout (`u32` count,
/// layout byte 2 = guess, then the ip and entry tables).
fn orc(out: &Out, name: &str, prog: &kdive_program::Program) {
    let (Ok(ips), Ok(orcs)) = (
        prog.symbol_address("__start_orc_unwind_ip"),
        prog.symbol_address("__start_orc_unwind"),
    ) else {
        return;
    };
    for count in [100usize, 1000] {
        let (mut ip, mut orc) = (vec![0u8; 4 * count], vec![0u8; 6 * count]);
        if prog.read(ips, &mut ip).is_err() || prog.read(orcs, &mut orc).is_err() {
            return;
        }
        let mut input = (count as u32).to_le_bytes().to_vec();
        input.extend_from_slice(&[2, 0, 0, 0]);
        input.extend_from_slice(&ip);
        input.extend_from_slice(&orc);
        out.put("orc", &format!("{name}-{count}"), &input);
    }
}

/// A few compressed pages of each codec the dump uses, of varied compressed sizes.
fn codec_pages(out: &Out, name: &str, bytes: &[u8], l: &KdumpLayout) {
    let mut taken = 0;
    for i in (0..20_000usize.min(l.desc_count)).step_by(97) {
        let (off, size, flags) = l.nth_page(bytes, i);
        let codec = match flags {
            f if f & 1 != 0 => "codec_zlib",
            f if f & 2 != 0 => "codec_lzo",
            f if f & 4 != 0 => "codec_snappy",
            f if f & 0x20 != 0 => "codec_zstd",
            _ => continue,
        };
        if off == 0 || size == 0 || size >= l.block_size {
            continue;
        }
        out.put(
            codec,
            &format!("{name}-{i}"),
            range(bytes, off as u64, size as u64),
        );
        taken += 1;
        if taken == 12 {
            break;
        }
    }
}

/// The kernel's BTF cut to its first `types` records and `strings` bytes of names (header fixed up).
fn cut_btf(blob: &[u8], types: usize, strings: usize) -> Vec<u8> {
    let hdr = u32_at(blob, 4) as usize;
    let (toff, tlen, soff, slen) = (
        u32_at(blob, 8) as usize,
        u32_at(blob, 12) as usize,
        u32_at(blob, 16) as usize,
        u32_at(blob, 20) as usize,
    );
    let t = &blob[hdr + toff..hdr + toff + tlen];
    let mut pos = 0;
    for _ in 0..types {
        if pos + 12 > t.len() {
            break;
        }
        let info = u32_at(t, pos + 4);
        let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        pos += 12
            + match kind {
                1 | 14 | 17 => 4,
                3 => 12,
                4 | 5 | 15 | 19 => 12 * vlen,
                6 | 13 => 8 * vlen,
                _ => 0,
            };
    }
    let s = &blob[hdr + soff..hdr + soff + slen];
    let cut = s[..strings.min(s.len())]
        .iter()
        .rposition(|&c| c == 0)
        .map_or(1, |i| i + 1);
    let mut v = blob[..24].to_vec();
    for (i, x) in [24u32, 0, pos as u32, pos as u32, cut as u32]
        .into_iter()
        .enumerate()
    {
        v[4 + 4 * i..8 + 4 * i].copy_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(&t[..pos.min(t.len())]);
    v.extend_from_slice(&s[..cut]);
    v
}

fn btf(out: &Out, name: &str, prog: &kdive_program::Program) {
    let (Ok(start), Ok(stop)) = (
        prog.symbol_address("__start_BTF"),
        prog.symbol_address("__stop_BTF"),
    ) else {
        return;
    };
    let mut blob = vec![0u8; (stop - start) as usize];
    if prog.read(start, &mut blob).is_err() {
        return;
    }
    out.put("btf", &format!("{name}-small"), &cut_btf(&blob, 120, 3000));
    out.put(
        "btf",
        &format!("{name}-large"),
        &cut_btf(&blob, 3000, 64 << 10),
    );
}

/// The first `count` symbols of the kernel's kallsyms tables, in the kallsyms target's layout.
fn kallsyms(out: &Out, name: &str, prog: &kdive_program::Program) {
    let Some(info) = prog.dump().and_then(|d| d.vmcoreinfo()) else {
        return;
    };
    let mem = prog.mem();
    let sym = |n: &str| info.symbol(n);
    let (Some(names), Some(table), Some(index)) = (
        sym("kallsyms_names"),
        sym("kallsyms_token_table"),
        sym("kallsyms_token_index"),
    ) else {
        return;
    };
    let (addrs, width, absolute) = match sym("kallsyms_offsets") {
        Some(a) => (a, 4, false),
        None => match sym("kallsyms_addresses") {
            Some(a) => (a, 8, true),
            None => return,
        },
    };
    for count in [40usize, 400] {
        let mut raw = vec![0u8; 64 * count];
        if mem.read_virt(names, &mut raw).is_err() {
            return;
        }
        let mut pos = 0;
        for _ in 0..count {
            let b = raw[pos];
            pos += if b & 0x80 != 0 {
                2 + (usize::from(b & 0x7f) | usize::from(raw[pos + 1]) << 7)
            } else {
                1 + usize::from(b)
            };
        }
        let mut idx = [0u8; 512];
        let mut tokens = vec![0u8; 4096];
        if mem.read_virt(index, &mut idx).is_err() || mem.read_virt(table, &mut tokens).is_err() {
            return;
        }
        let mut offs = vec![0u8; width * count];
        if mem.read_virt(addrs, &mut offs).is_err() {
            return;
        }
        let rel = sym("kallsyms_relative_base").and_then(|a| mem.read_u64(a).ok());
        let mut memory = (count as u32).to_le_bytes().to_vec();
        memory.resize(8, 0);
        let mut place = |bytes: &[u8]| {
            let at = memory.len().next_multiple_of(8);
            memory.resize(at, 0);
            memory.extend_from_slice(bytes);
            at as u32
        };
        let at_names = place(&raw[..pos]);
        let at_table = place(&tokens);
        let at_index = place(&idx);
        let at_addrs = place(&offs);
        let at_rel = place(&rel.unwrap_or(0).to_le_bytes());
        let flags = u32::from(absolute) | u32::from(rel.is_some()) << 1 | 4;
        let stext = sym("_stext").unwrap_or(0);
        let offsets = [0, at_names, at_table, at_index, at_addrs, at_rel];
        let input = kallsyms_input(flags, offsets, stext, 0, &memory);
        out.put("kallsyms", &format!("{name}-{count}"), &input);
    }
}

fn from_synth(out: &Out) {
    let k = synth::kernel();
    let mut vi = k.vmcoreinfo.clone().into_bytes();
    vi.push(0);
    vi.extend_from_slice(&k.phys);
    out.put("vmcoreinfo", "synth-kernel", &vi);
    out.put("btf", "synth", &synth::btf());
    out.put(
        "elf",
        "synth-kernel",
        &synth::vmcore(&k.phys, &k.vmcoreinfo),
    );
    // The synthetic kernel's own kallsyms tables, in place.
    let info = kdive_dump::VmcoreInfo::parse(&k.vmcoreinfo);
    let off = |n: &str| info.symbol(n).map_or(0, |a| (a - KALLSYMS_BASE) as u32);
    let offsets = [
        "kallsyms_num_syms",
        "kallsyms_names",
        "kallsyms_token_table",
        "kallsyms_token_index",
        "kallsyms_offsets",
        "kallsyms_relative_base",
    ]
    .map(off);
    let input = kallsyms_input(6, offsets, KALLSYMS_BASE, 0, &k.phys);
    out.put("kallsyms", "synth-kernel", &input);
    // Command target: no patch; init's task list entry pointing at itself; garbage in the printk ring.
    let tasks_next = (k.tasks[1] - synth::KBASE) as usize + k.tasks_offset as usize - k.data.start;
    let t = (tasks_next as u16).to_le_bytes();
    out.put("commands", "none", &[]);
    out.put("commands", "task-loop", &[0x80, t[0], t[1], t[0], t[1]]);
    out.put(
        "commands",
        "bytes",
        &[0x08, t[0], t[1], 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80],
    );
    let end = (k.data.len() - 64) as u16;
    out.put(
        "commands",
        "printk",
        &[
            0x3f,
            end.to_le_bytes()[0],
            end.to_le_bytes()[1],
            0xaa,
            0x55,
            0x17,
        ],
    );
}
