//! `read_log` on every dump of the fixture corpus, opened the way the front ends open them
//! (`open::kernel`), against crash's `log`, makedumpfile's `--dump-dmesg` and drgn's records.

use std::sync::Arc;
use std::time::Instant;

use kdive_linux::printk::read_log;
use kdive_testdata::{corpus_or_skip, fixtures};

mod printk_support;

#[test]
fn log_matches_crash_dmesg_and_drgn_on_every_dump() {
    if corpus_or_skip("printk_real").is_none() {
        return;
    }
    let mut fail = Vec::new();
    let mut n = 0;
    for fx in fixtures() {
        for dump in fx.dumps() {
            n += 1;
            let name = format!(
                "{}/{}",
                fx.name,
                dump.file_name().unwrap_or_default().to_string_lossy()
            );
            let prog = match kdive_dump::Dump::open(&dump) {
                Ok(d) => kdive_linux::open::kernel(Arc::new(d)).map_err(|e| e.to_string()),
                Err(e) => Err(format!("Dump::open: {e}")),
            };
            let prog = match prog {
                Ok(p) => p,
                Err(e) => {
                    fail.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let t = Instant::now();
            match read_log(&prog) {
                Ok(log) => {
                    let first = t.elapsed();
                    let t = Instant::now();
                    let again = read_log(&prog).map(|l| l.records.len());
                    eprintln!(
                        "{name}: {} records in {first:?} (again: {:?})",
                        log.records.len(),
                        t.elapsed()
                    );
                    assert_eq!(again.ok(), Some(log.records.len()));
                    fail.extend(printk_support::check_log(&fx, &name, &log));
                }
                Err(e) => fail.push(format!("{name}: read_log: {e}")),
            }
        }
    }
    assert!(n > 0, "no dumps in the corpus");
    assert!(
        fail.is_empty(),
        "{} failure(s):\n{}",
        fail.len(),
        fail.join("\n")
    );
}

#[test]
fn norm_matches_kdcheck() {
    assert_eq!(
        printk_support::norm("[    2.562967] [      T1] Unstable clock"),
        "[    2.562967] Unstable clock"
    );
    assert_eq!(
        printk_support::norm("[    0.1] [   C12] x  "),
        "[    0.1] x"
    );
    assert_eq!(
        printk_support::norm("                          on the kernel command line"),
        "on the kernel command line"
    );
    let plain = "[    0.000000] BIOS-e820: [mem 0x0-0x9fbff] usable";
    assert_eq!(printk_support::norm(plain), plain);
}
