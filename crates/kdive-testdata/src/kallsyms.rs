//! The kernel's kallsyms tables, laid out as `scripts/kallsyms.c` writes them, for a list of
//! symbols: [`tables`].

use std::fmt::Write;

/// One symbol of the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sym {
    pub name: String,
    /// nm-style type letter; `A` marks a per-CPU (absolute) symbol.
    pub kind: char,
    pub addr: u64,
}

/// A [`Sym`].
pub fn sym(name: &str, kind: char, addr: u64) -> Sym {
    Sym {
        name: name.to_string(),
        kind,
        addr,
    }
}

/// How the tables give addresses (the kernel's choices over the years).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addresses {
    /// `kallsyms_addresses`: absolute 64-bit addresses.
    Absolute,
    /// `kallsyms_offsets` from `kallsyms_relative_base`.
    Relative,
    /// Offsets from the base, per-CPU symbols absolute and the others negative (before 6.11).
    AbsolutePercpu,
    /// Offsets relative to each entry's own address (no base).
    PcRelative,
}

/// Multi-character tokens, numbered from 0; every printable character is also its own token
/// (number = the character); the other numbers are unused filler (`~`).
pub const TOKENS: &[&str] = &[
    "T_", "t_", "__", "sys", "do_", "func", "static", "init", "task", "_end", "data", "Tfunc_",
    "tstatic_",
];

/// The 256 tokens of the token table.
pub fn tokens() -> Vec<Vec<u8>> {
    (0..256usize)
        .map(|i| match TOKENS.get(i) {
            Some(t) => t.as_bytes().to_vec(),
            None if (0x20..0x7f).contains(&i) => vec![i as u8],
            None => b"~".to_vec(),
        })
        .collect()
}

/// Greedy longest-match compression with [`tokens`].
pub fn compress(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match (0..TOKENS.len())
            .filter(|&t| text[i..].starts_with(TOKENS[t].as_bytes()))
            .max_by_key(|&t| TOKENS[t].len())
        {
            Some(t) => {
                out.push(t as u8);
                i += TOKENS[t].len();
            }
            None => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

fn align(v: &mut Vec<u8>, a: usize) {
    v.resize(v.len().next_multiple_of(a), 0);
}

/// The tables of [`tables`]: their bytes and the VMCOREINFO lines that locate them.
#[derive(Debug, Clone)]
pub struct Tables {
    /// Mapped at the address given to [`tables`].
    pub bytes: Vec<u8>,
    /// `SYMBOL(kallsyms_*)=...` lines, and `SYMBOL(_stext)` when there is such a symbol.
    pub vmcoreinfo: String,
}

/// Which order `scripts/kallsyms.c` writes the tables in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Up to 6.1: addresses, base, count, names, markers, tokens.
    Linux61,
    /// 6.2, 6.3: the names-ordered table (`kallsyms_seqs_of_names`) between the markers and
    /// the tokens.
    Linux62,
    /// 6.4+: count, names, markers, tokens, addresses, base, names-ordered table.
    Linux64,
}

/// The tables for `syms` (sorted here by address) placed at `at`, in 6.1's order: addresses or
/// offsets, relative base, `num_syms`, names, markers, token table, token index. `legacy`: one
/// length byte per name (before 6.1) instead of the 2-byte form for long names.
pub fn tables(syms: &[Sym], at: u64, addresses: Addresses, legacy: bool) -> Tables {
    tables_in(syms, at, addresses, legacy, Layout::Linux61)
}

/// The tables for `syms` placed at `at`, in the order of `layout`.
pub fn tables_in(
    syms: &[Sym],
    at: u64,
    addresses: Addresses,
    legacy: bool,
    layout: Layout,
) -> Tables {
    let mut syms = syms.to_vec();
    syms.sort_by_key(|s| s.addr);
    let n = syms.len();
    let mut region = Vec::new();
    let mut info = String::new();
    let label = |name: &str, off: usize, info: &mut String| {
        let _ = writeln!(info, "SYMBOL({name})={:x}", at + off as u64);
    };
    let percpu = |s: &Sym| s.kind == 'A';
    let base = syms
        .iter()
        .filter(|s| !percpu(s))
        .map(|s| s.addr)
        .min()
        .unwrap_or(0);
    let write_addresses = |region: &mut Vec<u8>, info: &mut String| {
        let table = at + region.len() as u64;
        if addresses == Addresses::Absolute {
            label("kallsyms_addresses", region.len(), info);
            for s in &syms {
                region.extend_from_slice(&s.addr.to_le_bytes());
            }
        } else {
            label("kallsyms_offsets", region.len(), info);
            for (i, s) in syms.iter().enumerate() {
                let off: i64 = match addresses {
                    Addresses::Relative => (s.addr - base) as i64,
                    Addresses::AbsolutePercpu if percpu(s) => s.addr as i64,
                    Addresses::AbsolutePercpu => base.wrapping_sub(1).wrapping_sub(s.addr) as i64,
                    _ => s.addr.wrapping_sub(table + 4 * i as u64) as i64,
                };
                region.extend_from_slice(&(off as i32).to_le_bytes());
            }
        }
        align(region, 8);
        if matches!(addresses, Addresses::Relative | Addresses::AbsolutePercpu) {
            label("kallsyms_relative_base", region.len(), info);
            region.extend_from_slice(&base.to_le_bytes());
        }
    };
    // symbol numbers in name order (`strcmp` of the names without their type letter), 3 bytes each
    let write_seqs = |region: &mut Vec<u8>| {
        align(region, 8);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| syms[a].name.as_bytes().cmp(syms[b].name.as_bytes()));
        for i in order {
            region.extend_from_slice(&(i as u32).to_be_bytes()[1..]);
        }
    };
    if layout != Layout::Linux64 {
        write_addresses(&mut region, &mut info);
    }
    label("kallsyms_num_syms", region.len(), &mut info);
    region.extend_from_slice(&(n as u32).to_le_bytes());
    align(&mut region, 8);
    label("kallsyms_names", region.len(), &mut info);
    let names_start = region.len();
    let mut markers = Vec::new();
    for (i, s) in syms.iter().enumerate() {
        if i % 256 == 0 {
            markers.push((region.len() - names_start) as u32);
        }
        let c = compress(format!("{}{}", s.kind, s.name).as_bytes());
        if c.len() > 0x7f && !legacy {
            region.extend_from_slice(&[(c.len() & 0x7f) as u8 | 0x80, (c.len() >> 7) as u8]);
        } else {
            region.push(u8::try_from(c.len()).expect("a legacy name of at most 255 tokens"));
        }
        region.extend_from_slice(&c);
    }
    align(&mut region, 4);
    for m in markers {
        region.extend_from_slice(&m.to_le_bytes());
    }
    if layout == Layout::Linux62 {
        write_seqs(&mut region);
    }
    align(&mut region, 8);
    label("kallsyms_token_table", region.len(), &mut info);
    let table_start = region.len();
    let mut index = Vec::new();
    for t in tokens() {
        index.push((region.len() - table_start) as u16);
        region.extend_from_slice(&t);
        region.push(0);
    }
    align(&mut region, 8);
    label("kallsyms_token_index", region.len(), &mut info);
    for i in index {
        region.extend_from_slice(&i.to_le_bytes());
    }
    if layout == Layout::Linux64 {
        align(&mut region, 8);
        write_addresses(&mut region, &mut info);
        write_seqs(&mut region);
    }
    if let Some(s) = syms.iter().find(|s| s.name == "_stext") {
        let _ = writeln!(info, "SYMBOL(_stext)={:x}", s.addr);
    }
    Tables {
        bytes: region,
        vmcoreinfo: info,
    }
}
