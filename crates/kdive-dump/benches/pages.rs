//! Hot paths of the dump layer: page decompression per codec, and `read_page` / `page_state`
//! through a real kdump file.
//!
//! ```text
//! cargo bench -p kdive-dump --bench pages            # all
//! cargo bench -p kdive-dump --bench pages -- codec   # a group
//! ```
//!
//! The page contents are 512 present pages of the `formats-6.1` fixture (corpus in
//! `$KDIVE_CORPUS`, default `../shared/fixtures/corpus`), compressed with each codec's library
//! at the level makedumpfile uses (`kdive_testdata::pages::compress`).
//! Without the corpus the codec group uses the synthetic pages of `kdive_testdata::pages` and
//! the dump group is skipped.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kdive_dump::{codec, Codec, Dump, PageState};
use kdive_testdata::pages::{compress, samples};

const PAGES: usize = 512;

/// Page contents: real ones from the corpus when there, else synthetic.
fn sample_pages() -> Vec<Vec<u8>> {
    if let Some(dump) = fixture_dump("vmcore.kdump-zlib-d31") {
        let ps = dump.page_size() as usize;
        let present: Vec<u64> = (0..dump.meta().max_pfn)
            .filter(|&p| dump.format().page_state(p) == PageState::Present)
            .collect();
        // Spread over the whole dump: kernel text, page tables, slab, user data.
        let step = (present.len() / PAGES).max(1);
        return present
            .iter()
            .step_by(step)
            .take(PAGES)
            .filter_map(|&pfn| {
                let mut page = vec![0u8; ps];
                dump.format().read_page(pfn, 0, &mut page).ok()?;
                Some(page)
            })
            .collect();
    }
    eprintln!("pages bench: corpus not found, synthetic pages");
    let kinds = samples(4096);
    (0..PAGES).map(|i| kinds[i % kinds.len()].clone()).collect()
}

fn fixture_dump(name: &str) -> Option<Dump> {
    let fx = kdive_testdata::fixture("formats-6.1")?;
    Dump::open(fx.materialize(name)).ok()
}

fn bench_codecs(c: &mut Criterion) {
    let pages = sample_pages();
    let ps = pages[0].len();
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Bytes((pages.len() * ps) as u64));
    for codec in [
        Codec::Zlib,
        Codec::Lzo,
        Codec::Snappy,
        Codec::Zstd,
        Codec::None,
    ] {
        let packed: Vec<Vec<u8>> = pages.iter().map(|p| compress(codec, p)).collect();
        let mut out = vec![0u8; ps];
        g.bench_with_input(
            BenchmarkId::new("decompress", format!("{codec:?}")),
            &packed,
            |b, packed| {
                b.iter(|| {
                    for src in packed {
                        codec::decompress(codec, src, &mut out).expect("decodes");
                        black_box(&out);
                    }
                })
            },
        );
    }
    g.finish();
}

fn bench_dump(c: &mut Criterion) {
    let Some(dump) = fixture_dump("vmcore.kdump-zlib-d31") else {
        eprintln!("pages bench: corpus not found, dump group skipped");
        return;
    };
    let ps = dump.page_size() as usize;
    let present: Vec<u64> = (0..dump.meta().max_pfn)
        .filter(|&p| dump.format().page_state(p) == PageState::Present)
        .collect();
    // 4096 distinct compressed pages: twice the 8 MiB LRU cache, so every read misses.
    let misses: Vec<u64> = present.iter().copied().take(4096).collect();
    let mut g = c.benchmark_group("dump");
    let mut page = vec![0u8; ps];
    g.throughput(Throughput::Bytes((misses.len() * ps) as u64));
    g.bench_function("read_page/miss (zlib)", |b| {
        b.iter(|| {
            for &pfn in &misses {
                dump.format().read_page(pfn, 0, &mut page).expect("present");
            }
            black_box(&page);
        })
    });
    g.throughput(Throughput::Bytes(8 * 1024));
    let hot = present[present.len() / 2] * ps as u64;
    g.bench_function("read_phys/8 bytes x1024 (cache hit)", |b| {
        let mut w = [0u8; 8];
        b.iter(|| {
            for i in 0..1024u64 {
                dump.read_phys(hot + (i * 8) % ps as u64, &mut w)
                    .expect("present");
                black_box(&w);
            }
        })
    });
    let max = dump.meta().max_pfn;
    g.throughput(Throughput::Elements(max));
    g.bench_function("page_state/every pfn", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for pfn in 0..max {
                n += u64::from(dump.format().page_state(pfn) == PageState::Present);
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_codecs, bench_dump
}
criterion_main!(benches);
