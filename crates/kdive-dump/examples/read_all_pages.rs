//! Raw page throughput: read every present page of a dump through kdive, and decode the
//! same page data with the codec directly, on the same machine, in the same process.
//!
//! ```text
//! cargo run --release -p kdive-dump --example read_all_pages -- [--reps N] DUMP...
//! cargo run --release -p kdive-dump --example read_all_pages -- [--reps N] --extract FILE DUMP
//! ```
//!
//! For each DUMP it prints one JSON line:
//! * `kdive_s`: seconds for `DumpFormat::read_page` of every present page (kdive's whole
//!   path: bitmap rank, descriptor, bounds checks, decompression, LRU cache, copy-out), one
//!   value per repetition, each on a freshly opened dump (cold page cache of kdive; the OS page
//!   cache is warm after the first repetition);
//! * `codec_s`: seconds for `kdive_dump::codec::decompress` of the same compressed bytes, held
//!   in memory (`std::fs::read` of the file), located with a small page-descriptor parser of
//!   this example: the codec crates kdive uses, with none of the dump machinery. For an ELF
//!   dump the "codec" is a copy of each page from that in-memory file (`Codec::None`).
//!   Plain kdump and ELF files only (not flattened ones);
//! * `extract`: with `--extract FILE` (one DUMP), the compressed page data is also written to
//!   FILE for `bench/codec_ref.c`, which decodes it with the codecs' own
//!   C libraries (zlib, libzstd, liblzo2, snappy): the physical limit.
//!
//! The example also checks that both paths produce the same bytes (a checksum).
//! Format of a `.pages` file: `b"KDPAGES1"`, u32 LE page size, then per page: u8 codec
//! (0 raw, 1 zlib, 2 lzo, 3 snappy, 4 zstd), u32 LE length, the bytes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kdive_dump::{Codec, Dump, FormatKind, PageState};

fn main() {
    let mut reps = 5usize;
    let mut extract: Option<PathBuf> = None;
    let mut dumps = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).unwrap_or(5).max(1),
            "--extract" => extract = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                eprintln!("usage: read_all_pages [--reps N] [--extract FILE] DUMP...");
                return;
            }
            _ => dumps.push(PathBuf::from(a)),
        }
    }
    if dumps.is_empty() || (extract.is_some() && dumps.len() != 1) {
        eprintln!("usage: read_all_pages [--reps N] [--extract FILE] DUMP...");
        std::process::exit(2);
    }
    let mut failed = false;
    for d in &dumps {
        match one(d, reps, extract.as_deref()) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("read_all_pages: {}: {e}", d.display());
                println!(
                    "{{\"dump\": {:?}, \"error\": {:?}}}",
                    d.display().to_string(),
                    e
                );
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

/// One page's stored bytes: (pfn, codec, bytes in the file).
type PageRef<'f> = (u64, Codec, &'f [u8]);

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

fn list(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
    format!("[{}]", parts.join(", "))
}

fn one(path: &Path, reps: usize, extract: Option<&Path>) -> Result<String, String> {
    let t0 = Instant::now();
    let dump = Dump::open(path).map_err(|e| e.to_string())?;
    let open_s = t0.elapsed().as_secs_f64();
    let ps = dump.page_size() as usize;
    let max_pfn = dump.meta().max_pfn;
    let t1 = Instant::now();
    let present: Vec<u64> = (0..max_pfn)
        .filter(|&p| dump.format().page_state(p) == PageState::Present)
        .collect();
    let scan_s = t1.elapsed().as_secs_f64();
    let format = match &dump.meta().format {
        FormatKind::Elf { qemu, .. } => format!("elf{}", if *qemu { "-qemu" } else { "" }),
        FormatKind::Kdump { flattened, .. } => {
            format!("kdump{}", if *flattened { "-flattened" } else { "" })
        }
        FormatKind::MemoryDevice { .. } => "memory-device".into(),
    };
    let codecs: Vec<String> = dump
        .format()
        .codec_counts()
        .iter()
        .map(|(c, n)| format!("\"{c:?}\": {n}"))
        .collect();
    drop(dump);

    let mut page = vec![0u8; ps];
    let mut kdive_s = Vec::new();
    let mut kdive_sum = 0u64;
    let mut fields = vec![
        format!("\"dump\": {:?}", path.display().to_string()),
        format!("\"format\": {format:?}"),
        format!("\"page_size\": {ps}"),
        format!("\"max_pfn\": {max_pfn}"),
        format!("\"pages\": {}", present.len()),
        format!("\"bytes\": {}", present.len() * ps),
        format!("\"codecs\": {{{}}}", codecs.join(", ")),
        format!("\"open_s\": {open_s:.6}"),
        format!("\"scan_s\": {scan_s:.6}"),
    ];
    if format == "kdump" || format.starts_with("elf") {
        let file = std::fs::read(path).map_err(|e| e.to_string())?;
        let pages = if format == "kdump" {
            kdump_pages(&file, max_pfn)?
        } else {
            elf_pages(path, &file, &present, ps)?
        };
        // Only the pages kdive calls present (a descriptor with no data is "lost").
        let wanted: std::collections::HashSet<u64> = present.iter().copied().collect();
        let pages: Vec<PageRef<'_>> = pages
            .into_iter()
            .filter(|p| wanted.contains(&p.0))
            .collect();
        if pages.len() != present.len() {
            return Err(format!(
                "page parser found {} of {} present pages",
                pages.len(),
                present.len()
            ));
        }
        // Alternate: kdive, then the codec alone, in every repetition.
        let mut codec_s = Vec::new();
        let mut codec_sum = 0u64;
        for _ in 0..reps {
            let (t, sum) = kdive_pass(path, &present, &mut page)?;
            kdive_s.push(t);
            kdive_sum = sum;
            let mut sum = 0u64;
            let t = Instant::now();
            for &(pfn, codec, src) in &pages {
                kdive_dump::codec::decompress(codec, src, &mut page)
                    .map_err(|e| format!("pfn {pfn:#x}: {e}"))?;
                sum = checksum(sum, &page);
            }
            codec_s.push(t.elapsed().as_secs_f64());
            codec_sum = sum;
        }
        if codec_sum != kdive_sum {
            return Err("kdive and the codec produced different page contents".into());
        }
        let compressed: usize = pages.iter().map(|p| p.2.len()).sum();
        fields.push(format!("\"compressed_bytes\": {compressed}"));
        fields.push(format!("\"codec_s\": {}", list(&codec_s)));
        fields.push(format!("\"codec_median_s\": {:.6}", median(&codec_s)));
        fields.push(format!(
            "\"kdive_vs_codec\": {:.3}",
            median(&codec_s) / median(&kdive_s)
        ));
        if let Some(out) = extract {
            write_pages(out, ps, &pages).map_err(|e| e.to_string())?;
            fields.push(format!("\"extract\": {:?}", out.display().to_string()));
        }
    }
    if kdive_s.is_empty() {
        // Flattened files: kdive alone.
        for _ in 0..reps {
            let (t, sum) = kdive_pass(path, &present, &mut page)?;
            kdive_s.push(t);
            kdive_sum = sum;
        }
    }
    fields.push(format!("\"kdive_s\": {}", list(&kdive_s)));
    fields.push(format!("\"kdive_median_s\": {:.6}", median(&kdive_s)));
    fields.push(format!("\"checksum\": {kdive_sum}"));
    Ok(format!("{{{}}}", fields.join(", ")))
}

/// Every present page through `read_page`, on a freshly opened dump (cold kdive cache):
/// (seconds, checksum).
fn kdive_pass(path: &Path, present: &[u64], page: &mut [u8]) -> Result<(f64, u64), String> {
    let dump = Dump::open(path).map_err(|e| e.to_string())?;
    let mut sum = 0u64;
    let t = Instant::now();
    for &pfn in present {
        dump.format()
            .read_page(pfn, 0, page)
            .map_err(|e| format!("pfn {pfn:#x}: {e}"))?;
        sum = checksum(sum, page);
    }
    Ok((t.elapsed().as_secs_f64(), sum))
}

/// A cheap content checksum so the decode cannot be optimised away and both paths can be
/// compared.
fn checksum(sum: u64, page: &[u8]) -> u64 {
    let mut s = sum;
    for c in page.chunks_exact(512) {
        let mut w = [0u8; 8];
        w.copy_from_slice(&c[..8]);
        s = s.rotate_left(5) ^ u64::from_le_bytes(w);
    }
    s
}

fn le32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| format!("file too short at {at:#x}"))
}

fn le64(b: &[u8], at: usize) -> Result<u64, String> {
    b.get(at..at + 8)
        .map(|s| {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        })
        .ok_or_else(|| format!("file too short at {at:#x}"))
}

/// (pfn, codec, compressed bytes) of every dumped page of a plain 64-bit little-endian kdump
/// file, from its own headers: `block_size` at 428, `sub_hdr_size` at 432, `bitmap_blocks` at
/// 436; the 2nd bitmap is the second half of the bitmap blocks; one 24-byte `page_desc`
/// (offset, size, flags, page_flags) per set bit, in pfn order.
fn kdump_pages(file: &[u8], max_pfn: u64) -> Result<Vec<PageRef<'_>>, String> {
    if !file.starts_with(b"KDUMP   ") {
        return Err("not a plain kdump file".into());
    }
    let bs = le32(file, 428)? as usize;
    let sub = le32(file, 432)? as usize;
    let bitmap_blocks = le32(file, 436)? as usize;
    let bitmap_off = (1 + sub) * bs;
    let bitmap_len = bitmap_blocks * bs;
    let second = bitmap_off + bitmap_len / 2;
    let mut desc = bitmap_off + bitmap_len;
    let mut out = Vec::new();
    for pfn in 0..max_pfn {
        let byte = *file
            .get(second + (pfn / 8) as usize)
            .ok_or("2nd bitmap past the end of the file")?;
        if byte & (1 << (pfn % 8)) == 0 {
            continue;
        }
        let off = le64(file, desc)? as usize;
        let size = le32(file, desc + 8)? as usize;
        let flags = le32(file, desc + 12)?;
        desc += 24;
        let codec = if flags & 0x1 != 0 {
            Codec::Zlib
        } else if flags & 0x2 != 0 {
            Codec::Lzo
        } else if flags & 0x4 != 0 {
            Codec::Snappy
        } else if flags & 0x20 != 0 {
            Codec::Zstd
        } else {
            Codec::None
        };
        if off == 0 {
            continue; // incomplete dump: no data
        }
        let Some(data) = file.get(off..off + size) else {
            continue; // truncated: no data
        };
        out.push((pfn, codec, data));
    }
    Ok(out)
}

/// (pfn, `Codec::None`, bytes) of every present page of an ELF dump, from its `PT_LOAD`
/// segments (each page must lie whole inside one segment's file data).
fn elf_pages<'f>(
    path: &Path,
    file: &'f [u8],
    present: &[u64],
    ps: usize,
) -> Result<Vec<PageRef<'f>>, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: read-only mapping of a file nobody writes while the example runs.
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| e.to_string())?;
    let elf = kdive_dump::elf::ElfDump::parse(map).map_err(|e| e.to_string())?;
    let mut segs: Vec<kdive_dump::elf::Segment> = elf
        .segments()
        .iter()
        .copied()
        .filter(|s| s.paddr != u64::MAX && s.filesz > 0)
        .collect();
    segs.sort_by_key(|s| s.paddr);
    let mut out = Vec::with_capacity(present.len());
    for &pfn in present {
        let addr = pfn * ps as u64;
        let i = segs.partition_point(|s| s.paddr <= addr);
        let Some(s) = i.checked_sub(1).map(|i| segs[i]) else {
            continue;
        };
        if addr + ps as u64 > s.paddr + s.filesz {
            continue;
        }
        let off = (s.offset + (addr - s.paddr)) as usize;
        if let Some(data) = file.get(off..off + ps) {
            out.push((pfn, Codec::None, data));
        }
    }
    Ok(out)
}

fn write_pages(out: &Path, ps: usize, pages: &[PageRef<'_>]) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    w.write_all(b"KDPAGES1")?;
    w.write_all(&(ps as u32).to_le_bytes())?;
    for &(_, codec, data) in pages {
        let c: u8 = match codec {
            Codec::None => 0,
            Codec::Zlib => 1,
            Codec::Lzo => 2,
            Codec::Snappy => 3,
            Codec::Zstd => 4,
        };
        w.write_all(&[c])?;
        w.write_all(&(data.len() as u32).to_le_bytes())?;
        w.write_all(data)?;
    }
    w.flush()
}
