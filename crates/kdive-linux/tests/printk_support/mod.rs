//! Shared by the printk tests: a hand-built type table with the printk structs of a 6.1
//! x86_64 kernel (the layouts VMCOREINFO lists), a symbol table, and the checks of a log
//! against a fixture's references (crash `log`, makedumpfile `--dump-dmesg`, drgn).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kdive_debuginfo::{
    Member, NameKind, Symbol, SymbolSource, Symbols, Type, TypeId, TypeKind, TypeSource, Types,
};
use kdive_linux::printk::{format_record_lines, FormatOptions, Log};
use kdive_memory::ReadVirt;
use kdive_program::Program;
use kdive_testdata::Fixture;

// ---------- a tiny type table ----------

#[derive(Default)]
pub struct Table {
    types: Vec<Arc<Type>>,
    names: HashMap<(NameKind, String), u32>,
}

impl TypeSource for Table {
    fn get(&self, idx: u32) -> kdive_debuginfo::Result<Arc<Type>> {
        self.types
            .get(idx as usize)
            .cloned()
            .ok_or_else(|| kdive_debuginfo::DebugInfoError::NotFound(format!("type {idx}")))
    }
    fn find(&self, kind: NameKind, name: &str) -> Option<u32> {
        self.names.get(&(kind, name.to_string())).copied()
    }
}

/// A struct member: name, type, byte offset, and for a bitfield (bit offset in that byte, width).
type MemberSpec<'a> = (&'a str, TypeId, u64, Option<(u64, u32)>);

impl Table {
    fn new() -> Table {
        let mut t = Table::default();
        t.types.push(Arc::new(Type {
            name: None,
            kind: TypeKind::Void,
        }));
        t
    }
    fn add(&mut self, name: Option<(NameKind, &str)>, kind: TypeKind) -> TypeId {
        let idx = self.types.len() as u32;
        self.types.push(Arc::new(Type {
            name: name.map(|(_, n)| n.into()),
            kind,
        }));
        if let Some((k, n)) = name {
            self.names.insert((k, n.to_string()), idx);
        }
        TypeId { src: 0, idx }
    }
    fn int(&mut self, name: &str, size: u32) -> TypeId {
        let kind = TypeKind::Int {
            size,
            signed: name == "long",
            is_bool: false,
            is_char: name == "char",
        };
        self.add(Some((NameKind::Base, name)), kind)
    }
    fn ptr(&mut self, target: TypeId) -> TypeId {
        self.add(None, TypeKind::Pointer { target })
    }
    fn array(&mut self, elem: TypeId, len: u64) -> TypeId {
        self.add(None, TypeKind::Array { elem, len })
    }
    /// A struct from `(name, type, byte offset, bitfield (bit offset in byte, width))` members.
    fn strukt(&mut self, name: &str, size: u64, members: &[MemberSpec]) -> TypeId {
        let members = members
            .iter()
            .map(|&(n, ty, off, bf)| Member {
                name: Some(n.into()),
                ty,
                bit_offset: off * 8 + bf.map_or(0, |b| b.0),
                bit_size: bf.map(|b| b.1),
            })
            .collect();
        self.add(
            Some((NameKind::Struct, name)),
            TypeKind::Struct { size, members },
        )
    }
}

/// The printk types of a 6.1 x86_64 kernel (only the members read), and `struct printk_log` of 5.x.
pub fn kernel_types() -> Table {
    let mut t = Table::new();
    let char_ = t.int("char", 1);
    let u8_ = t.int("u8", 1);
    let u16_ = t.int("u16", 2);
    let u32_ = t.int("u32", 4);
    let u64_ = t.int("u64", 8);
    let uint = t.int("unsigned int", 4);
    let ulong = t.int("unsigned long", 8);
    let long = t.int("long", 8);
    let counter = t.add(
        None,
        TypeKind::Struct {
            size: 8,
            members: vec![Member {
                name: Some("counter".into()),
                ty: long,
                bit_offset: 0,
                bit_size: None,
            }],
        },
    );
    let atomic64 = t.add(
        Some((NameKind::Typedef, "atomic64_t")),
        TypeKind::Typedef { target: counter },
    );
    let atomic_long = t.add(
        Some((NameKind::Typedef, "atomic_long_t")),
        TypeKind::Typedef { target: atomic64 },
    );
    let lpos = t.strukt(
        "prb_data_blk_lpos",
        16,
        &[("begin", ulong, 0, None), ("next", ulong, 8, None)],
    );
    let desc = t.strukt(
        "prb_desc",
        24,
        &[
            ("state_var", atomic_long, 0, None),
            ("text_blk_lpos", lpos, 8, None),
        ],
    );
    let sub = t.array(char_, 16);
    let dev = t.array(char_, 48);
    let devinfo = t.strukt(
        "dev_printk_info",
        64,
        &[("subsystem", sub, 0, None), ("device", dev, 16, None)],
    );
    let info = t.strukt(
        "printk_info",
        88,
        &[
            ("seq", u64_, 0, None),
            ("ts_nsec", u64_, 8, None),
            ("text_len", u16_, 16, None),
            ("facility", u8_, 18, None),
            ("flags", u8_, 19, Some((0, 5))),
            ("level", u8_, 19, Some((5, 3))),
            ("caller_id", u32_, 20, None),
            ("dev_info", devinfo, 24, None),
        ],
    );
    let desc_p = t.ptr(desc);
    let info_p = t.ptr(info);
    let char_p = t.ptr(char_);
    let desc_ring = t.strukt(
        "prb_desc_ring",
        48,
        &[
            ("count_bits", uint, 0, None),
            ("descs", desc_p, 8, None),
            ("infos", info_p, 16, None),
            ("head_id", atomic_long, 24, None),
            ("tail_id", atomic_long, 32, None),
            ("last_finalized_seq", atomic_long, 40, None),
        ],
    );
    let data_ring = t.strukt(
        "prb_data_ring",
        32,
        &[
            ("size_bits", uint, 0, None),
            ("data", char_p, 8, None),
            ("head_lpos", atomic_long, 16, None),
            ("tail_lpos", atomic_long, 24, None),
        ],
    );
    t.strukt(
        "printk_ringbuffer",
        88,
        &[
            ("desc_ring", desc_ring, 0, None),
            ("text_data_ring", data_ring, 48, None),
            ("fail", atomic_long, 80, None),
        ],
    );
    t.strukt(
        "printk_log",
        20,
        &[
            ("ts_nsec", u64_, 0, None),
            ("len", u16_, 8, None),
            ("text_len", u16_, 10, None),
            ("dict_len", u16_, 12, None),
            ("facility", u8_, 14, None),
            ("flags", u8_, 15, Some((0, 5))),
            ("level", u8_, 15, Some((5, 3))),
            ("caller_id", u32_, 16, None),
        ],
    );
    t
}

// ---------- symbols ----------

pub struct Syms(pub HashMap<String, u64>);

impl SymbolSource for Syms {
    fn by_name(&self, name: &str) -> Option<Symbol> {
        self.0.get(name).map(|&addr| Symbol {
            name: name.into(),
            addr,
            size: Some(8),
            kind: 'd',
            module: None,
        })
    }
    fn by_addr(&self, _addr: u64) -> Option<Symbol> {
        None
    }
}

pub fn program(mem: Arc<dyn ReadVirt>, syms: &[(&str, u64)]) -> Program {
    let mut types = Types::new();
    assert_eq!(types.next_source_id(), 0);
    types.add_source(Arc::new(kernel_types()));
    let mut symbols = Symbols::new();
    symbols.add_source(Arc::new(Syms(
        syms.iter().map(|&(n, a)| (n.to_string(), a)).collect(),
    )));
    Program::new(mem, types, symbols)
}

// ---------- checks against a fixture's references ----------

/// kdcheck.py's `norm_log_line`: a `[ts] [   T12] ` caller id is dropped, a continuation line
/// loses its indent, trailing blanks go.
pub fn norm(line: &str) -> String {
    let line = line.trim_end();
    if !line.trim_start().starts_with('[') {
        return line.trim_start().to_string();
    }
    let Some(end) = line.find("] ") else {
        return line.to_string();
    };
    let rest = &line[end + 2..];
    if let Some(close) = rest.strip_prefix('[').and_then(|r| r.find("] ")) {
        let id = rest[1..1 + close].trim_start();
        if id.len() > 1 && id.starts_with(['T', 'C']) && id[1..].bytes().all(|b| b.is_ascii_digit())
        {
            return format!("{} {}", &line[..end + 1], &rest[close + 3..]);
        }
    }
    line.to_string()
}

fn lines(log: &Log, opts: &FormatOptions) -> Vec<String> {
    log.records
        .iter()
        .flat_map(|r| format_record_lines(r, opts))
        .collect()
}

/// The first line where `want` and `got` differ, as a failure message.
fn first_diff(name: &str, what: &str, want: &[&str], got: &[String]) -> Option<String> {
    let i = (0..want.len().max(got.len()))
        .find(|&i| want.get(i).copied() != got.get(i).map(String::as_str))?;
    Some(format!(
        "{name}: line {} differs from {what}:\n  want: {:?}\n  ours: {:?}",
        i + 1,
        want.get(i),
        got.get(i)
    ))
}

/// Every way the fixture's references say the log of one of its (healthy) dumps must look;
/// failures as text.
pub fn check_log(fx: &Fixture, name: &str, log: &Log) -> Vec<String> {
    let mut fail = Vec::new();
    if !log.problems.is_empty() {
        fail.push(format!(
            "{name}: problems on a healthy dump: {:?}",
            log.problems
        ));
    }
    let ours = lines(log, &FormatOptions::default());

    // crash's `log`, line for line
    if let Some(crash) = fx.crash_ref("log") {
        let mut want: Vec<&str> = crash
            .lines()
            .skip_while(|l| l.starts_with("crash>"))
            .collect();
        while want.last().is_some_and(|l| l.trim().is_empty()) {
            want.pop();
        }
        fail.extend(first_diff(name, "crash log", &want, &ours));
    }

    // makedumpfile --dump-dmesg: every line present (normalized); reproduced exactly with its
    // caller-id column when it has one (makedumpfile 1.7.8 prints `[%8s] `)
    if let Ok(dmesg) = std::fs::read(fx.dir.join("vmcore-dmesg.txt")) {
        let dmesg = String::from_utf8_lossy(&dmesg);
        let got: HashSet<String> = ours.iter().map(|l| norm(l)).collect();
        let missing: Vec<&str> = dmesg
            .lines()
            .filter(|l| !l.trim().is_empty() && !got.contains(&norm(l)))
            .collect();
        if !missing.is_empty() {
            fail.push(format!(
                "{name}: {} dmesg lines missing, first {:?}",
                missing.len(),
                missing[0]
            ));
        }
        if dmesg
            .lines()
            .next()
            .is_some_and(|l| norm(l) != l.trim_end())
        {
            let with_caller = lines(
                log,
                &FormatOptions {
                    caller_width: Some(8),
                    ..Default::default()
                },
            );
            let want: Vec<&str> = dmesg.lines().collect();
            fail.extend(first_diff(
                name,
                "dmesg with caller ids",
                &want,
                &with_caller,
            ));
        }
    }

    // drgn's records: timestamp, level and full text, in order
    let drgn = fx.drgn();
    if let Some(recs) = drgn.get("printk").and_then(|p| p.as_array()) {
        let want: Vec<(u64, u64, String)> = recs
            .iter()
            .map(|r| {
                (
                    r.get("ts_ns").and_then(|v| v.as_u64()).unwrap_or(u64::MAX),
                    r.get("level").and_then(|v| v.as_u64()).unwrap_or(99),
                    r.get("text")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect();
        let got: Vec<(u64, u64, String)> = log
            .records
            .iter()
            .map(|r| (r.ts_nsec, r.level as u64, r.text.clone()))
            .collect();
        if got != want {
            let i = (0..want.len().max(got.len()))
                .find(|&i| want.get(i) != got.get(i))
                .unwrap_or(0);
            fail.push(format!(
                "{name}: records differ from drgn ({} vs {}), first at {i}:\n  drgn: {:?}\n  ours: {:?}",
                want.len(),
                got.len(),
                want.get(i),
                got.get(i)
            ));
        }
    }
    fail
}
