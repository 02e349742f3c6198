//! Shared by the printk tests: the printk structs of a 6.1 x86_64 kernel (the layouts
//! VMCOREINFO lists) as a type table, a program over them, and the checks of a log
//! against a fixture's references (crash `log`, makedumpfile `--dump-dmesg`, drgn).
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::Arc;

use kdive_debuginfo::table::TypeTable;
use kdive_debuginfo::{Member, TypeId};
use kdive_linux::printk::{format_record_lines, FormatOptions, Log};
use kdive_memory::ReadVirt;
use kdive_program::Program;
use kdive_testdata::symbols::SymbolList;
use kdive_testdata::Fixture;

// ---------- the printk types ----------

/// A struct member: name, type, byte offset, and for a bitfield (bit offset in that byte, width).
type MemberSpec<'a> = (&'a str, TypeId, u64, Option<(u64, u32)>);

fn strukt(t: &mut TypeTable, name: &str, size: u64, members: &[MemberSpec]) -> TypeId {
    let members = members
        .iter()
        .map(|&(n, ty, off, bf)| match bf {
            Some((bit, width)) => Member::bitfield(n, ty, off * 8 + bit, width),
            None => Member::at(n, ty, off),
        })
        .collect();
    t.struct_(name, size, members)
}

/// The printk types of a 6.1 x86_64 kernel (only the members read), and `struct printk_log` of 5.x.
pub fn kernel_types() -> TypeTable {
    let mut t = TypeTable::new(0);
    let char_ = t.int("char", 1, false);
    let u8_ = t.int("u8", 1, false);
    let u16_ = t.int("u16", 2, false);
    let u32_ = t.int("u32", 4, false);
    let u64_ = t.int("u64", 8, false);
    let uint = t.int("unsigned int", 4, false);
    let ulong = t.int("unsigned long", 8, false);
    let long = t.int("long", 8, true);
    let counter = t.struct_("", 8, vec![Member::at("counter", long, 0)]);
    let atomic64 = t.typedef("atomic64_t", counter);
    let atomic_long = t.typedef("atomic_long_t", atomic64);
    let lpos = strukt(
        &mut t,
        "prb_data_blk_lpos",
        16,
        &[("begin", ulong, 0, None), ("next", ulong, 8, None)],
    );
    let desc = strukt(
        &mut t,
        "prb_desc",
        24,
        &[
            ("state_var", atomic_long, 0, None),
            ("text_blk_lpos", lpos, 8, None),
        ],
    );
    let sub = t.array(char_, 16);
    let dev = t.array(char_, 48);
    let devinfo = strukt(
        &mut t,
        "dev_printk_info",
        64,
        &[("subsystem", sub, 0, None), ("device", dev, 16, None)],
    );
    let info = strukt(
        &mut t,
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
    let desc_p = t.pointer(desc);
    let info_p = t.pointer(info);
    let char_p = t.pointer(char_);
    let desc_ring = strukt(
        &mut t,
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
    let data_ring = strukt(
        &mut t,
        "prb_data_ring",
        32,
        &[
            ("size_bits", uint, 0, None),
            ("data", char_p, 8, None),
            ("head_lpos", atomic_long, 16, None),
            ("tail_lpos", atomic_long, 24, None),
        ],
    );
    strukt(
        &mut t,
        "printk_ringbuffer",
        88,
        &[
            ("desc_ring", desc_ring, 0, None),
            ("text_data_ring", data_ring, 48, None),
            ("fail", atomic_long, 80, None),
        ],
    );
    strukt(
        &mut t,
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

// ---------- a program ----------

/// A program over `mem` with the printk types and the data symbols `syms` (8 bytes each).
pub fn program(mem: Arc<dyn ReadVirt>, syms: &[(&str, u64)]) -> Program {
    let syms: Vec<(&str, u64, u64)> = syms.iter().map(|&(n, a)| (n, a, 8)).collect();
    Program::new(
        mem,
        kdive_testdata::types_of(kernel_types()),
        SymbolList::data(&syms).into_symbols(),
    )
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
