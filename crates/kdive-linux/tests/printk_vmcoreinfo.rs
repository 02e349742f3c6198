//! `read_log` on the real dumps with the layer below the program only: the dump's page
//! tables (`KernelMemory`), `SYMBOL(prb)` from VMCOREINFO, and the hand-built printk types of
//! `printk_support` — checked first against VMCOREINFO's `SIZE()`/`OFFSET()` lines.

use std::sync::Arc;
use std::time::Instant;

use kdive_dump::Dump;
use kdive_linux::printk::read_log;
use kdive_memory::KernelMemory;
use kdive_program::object::offset_of;
use kdive_testdata::{corpus_or_skip, fixtures};

mod printk_support;

#[test]
fn log_from_vmcoreinfo_symbols_matches_references() {
    if corpus_or_skip("printk_vmcoreinfo").is_none() {
        return;
    }
    let mut fail = Vec::new();
    for fx in fixtures() {
        for path in fx.dumps() {
            let name = format!(
                "{}/{}",
                fx.name,
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let dump = match Dump::open(&path) {
                Ok(d) => Arc::new(d),
                Err(e) => {
                    fail.push(format!("{name}: Dump::open: {e}"));
                    continue;
                }
            };
            let Some(vi) = dump.vmcoreinfo() else {
                fail.push(format!("{name}: no VMCOREINFO"));
                continue;
            };
            let Some(prb) = vi.symbol("prb") else {
                fail.push(format!("{name}: no SYMBOL(prb)"));
                continue;
            };
            let sizes: Vec<(String, Option<u64>)> = [
                "printk_ringbuffer",
                "prb_desc",
                "printk_info",
                "prb_desc_ring",
                "prb_data_ring",
            ]
            .iter()
            .map(|s| (s.to_string(), vi.size(s)))
            .collect();
            let offsets: Vec<(String, Option<u64>)> = [
                "printk_info.caller_id",
                "printk_info.dev_info",
                "printk_info.text_len",
                "prb_desc.text_blk_lpos",
                "prb_desc_ring.infos",
                "prb_desc_ring.tail_id",
                "printk_ringbuffer.text_data_ring",
                "dev_printk_info.device",
            ]
            .iter()
            .map(|s| (s.to_string(), vi.offset(s)))
            .collect();
            let mem = match KernelMemory::new(dump.clone()) {
                Ok(m) => m,
                Err(e) => {
                    fail.push(format!("{name}: KernelMemory::new: {e}"));
                    continue;
                }
            };
            let prog = printk_support::program(Arc::new(mem), &[("prb", prb)]);
            for (s, want) in sizes {
                let got = prog
                    .type_(&format!("struct {s}"))
                    .and_then(|t| Ok(prog.types().size_of(t)?))
                    .ok();
                assert_eq!(got, want, "{name}: SIZE({s})");
            }
            for (path, want) in offsets {
                let (s, m) = path.split_once('.').unwrap_or_default();
                let got = prog
                    .type_(&format!("struct {s}"))
                    .and_then(|t| offset_of(&prog, t, m))
                    .ok();
                assert_eq!(got, want, "{name}: OFFSET({path})");
            }
            let t = Instant::now();
            match read_log(&prog) {
                Ok(log) => {
                    eprintln!("{name}: {} records in {:?}", log.records.len(), t.elapsed());
                    fail.extend(printk_support::check_log(&fx, &name, &log));
                }
                Err(e) => fail.push(format!("{name}: read_log: {e}")),
            }
        }
    }
    assert!(
        fail.is_empty(),
        "{} failure(s):\n{}",
        fail.len(),
        fail.join("\n")
    );
}

/// Truncated copies of a dump (what an interrupted capture leaves): no panic; what is read is
/// right, and a shortfall is explained in `problems`.
#[test]
fn truncated_dump_keeps_what_it_can() {
    let Some(fx) =
        corpus_or_skip("printk_truncated").and_then(|_| kdive_testdata::fixture("a-sysrq-6.1"))
    else {
        return;
    };
    let path = fx.reference_dump();
    let open = |p: &std::path::Path| -> Option<kdive_program::Program> {
        let dump = Arc::new(Dump::open(p).ok()?);
        let prb = dump.vmcoreinfo()?.symbol("prb")?;
        let mem = KernelMemory::new(dump).ok()?;
        Some(printk_support::program(Arc::new(mem), &[("prb", prb)]))
    };
    let full = read_log(&open(&path).expect("the full dump opens")).expect("the full dump's log");
    let bytes = std::fs::read(&path).expect("read the dump");
    let scratch = kdive_testdata::temp::Scratch::new("printk-trunc");
    let tmp = scratch.path().join("cut");
    for cut in [
        bytes.len() / 2,
        bytes.len() * 3 / 4,
        bytes.len() * 9 / 10,
        bytes.len() - 4096,
    ] {
        std::fs::write(&tmp, &bytes[..cut]).expect("write the truncated copy");
        let Some(prog) = open(&tmp) else {
            eprintln!("cut at {cut:#x}: does not open");
            continue;
        };
        match read_log(&prog) {
            Ok(log) => {
                eprintln!(
                    "cut at {cut:#x}: {} records, problems {:?}",
                    log.records.len(),
                    log.problems
                );
                assert!(
                    log.records.iter().all(|r| full.records.contains(r)),
                    "cut at {cut:#x}: a record that is not in the full dump"
                );
                if log.records.len() < full.records.len() {
                    assert!(
                        !log.problems.is_empty(),
                        "cut at {cut:#x}: records lost without a word"
                    );
                }
            }
            Err(e) => eprintln!("cut at {cut:#x}: {e}"),
        }
    }
}
