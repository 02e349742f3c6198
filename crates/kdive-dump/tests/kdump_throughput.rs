//! Page decode throughput on the real corpus. Run optimised:
//! `cargo test --release -p kdive-dump --test kdump_throughput -- --ignored --nocapture`

use std::time::Instant;

use kdive_dump::{Dump, PageState};
use kdive_testdata::{corpus_or_skip, fixture};

#[test]
#[ignore = "timing; run with --release --ignored"]
fn decode_every_present_page() {
    if corpus_or_skip("decode_every_present_page").is_none() {
        return;
    }
    let Some(fx) = fixture("formats-6.1") else {
        panic!("fixture formats-6.1 missing")
    };
    let names = [
        "vmcore.kdump-zlib-d31",
        "vmcore.kdump-zstd-d31",
        "vmcore.kdump-lzo-d31.zst",
        "vmcore.kdump-snappy-d31.zst",
        "vmcore.kdump-raw-d31.zst",
        "vmcore.flat-zlib-d31",
    ];
    for name in names {
        let t0 = Instant::now();
        let dump = Dump::open(fx.materialize(name)).unwrap();
        let open = t0.elapsed();
        let present: Vec<u64> = (0..dump.meta().max_pfn)
            .filter(|&p| dump.format().page_state(p) == PageState::Present)
            .collect();
        let mut page = vec![0u8; dump.page_size() as usize];
        let mut sum = 0u64;
        let t1 = Instant::now();
        for &pfn in &present {
            dump.format().read_page(pfn, 0, &mut page).unwrap();
            sum = sum.wrapping_add(u64::from(page[pfn as usize % page.len()]));
        }
        let secs = t1.elapsed().as_secs_f64();
        eprintln!(
            "{name:30} open {:>7.2?}  {} pages in {:.3} s: {:>9.0} pages/s, {:>6.0} MiB/s (checksum {sum})",
            open,
            present.len(),
            secs,
            present.len() as f64 / secs,
            present.len() as f64 * page.len() as f64 / secs / (1 << 20) as f64,
        );
    }
}
