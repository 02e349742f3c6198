//! Split kdump sets over synthetic parts: any order, missing parts, bad sets.

use std::path::PathBuf;

use kdive_dump::kdump::{KdumpFile, Source};
use kdive_dump::split::SplitDump;
use kdive_dump::{Codec, DumpError, DumpFormat, PageState, Result};
use kdive_testdata::kdump::{Page, Writer};

const BS: usize = 4096;

fn content(pfn: u64) -> Vec<u8> {
    (0..BS)
        .map(|i| (i as u64 ^ pfn.wrapping_mul(31)) as u8)
        .collect()
}

/// A dump of 300 pfns: data everywhere but an excluded page every 10 and a hole at 250..260.
fn whole() -> Writer {
    let mut w = Writer::new(BS as u32, 300);
    for pfn in (0..300).filter(|p| !(250..260).contains(p)) {
        let page = if pfn % 10 == 3 {
            Page::Excluded
        } else {
            Page::Data(Codec::Zlib, content(pfn))
        };
        w.pages.insert(pfn, page);
    }
    w
}

fn part(w: &Writer, start: u64, end: u64) -> (PathBuf, Box<dyn DumpFormat>) {
    let mut w = w.clone();
    w.split = Some((start, end));
    let k = KdumpFile::parse(Source::Bytes(w.build())).expect("part parses");
    (PathBuf::from(format!("part-{start}-{end}")), Box::new(k))
}

fn read(d: &dyn DumpFormat, pfn: u64) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; BS];
    d.read_page(pfn, 0, &mut buf).map(|_| buf)
}

#[test]
fn parts_in_any_order_read_as_the_whole() {
    let w = whole();
    let one = KdumpFile::parse(Source::Bytes(w.build())).unwrap();
    let set = SplitDump::new(vec![part(&w, 200, 300), part(&w, 0, 77), part(&w, 77, 200)]).unwrap();
    assert!(set.missing().is_empty());
    assert!(!set.meta().incomplete);
    assert_eq!(set.meta().split_range, None);
    let starts: Vec<u64> = set.parts().iter().map(|p| p.start).collect();
    assert_eq!(starts, vec![0, 77, 200]);
    for pfn in 0..320 {
        assert_eq!(set.page_state(pfn), one.page_state(pfn), "pfn {pfn}");
        assert_eq!(read(&set, pfn).ok(), read(&one, pfn).ok(), "pfn {pfn}");
    }
    assert_eq!(set.codec_counts(), one.codec_counts());
}

#[test]
fn a_missing_part_is_named_and_its_pages_are_lost() {
    let w = whole();
    let set = SplitDump::new(vec![part(&w, 0, 100), part(&w, 180, 300)]).unwrap();
    assert_eq!(set.missing(), &[(100, 180)]);
    assert!(set.meta().incomplete);
    assert_eq!(set.page_state(150), PageState::Lost);
    assert!(matches!(read(&set, 150), Err(DumpError::Lost { .. })));
    assert_eq!(set.page_state(153), PageState::Excluded);
    assert_eq!(set.page_state(255), PageState::NotRam);
    assert_eq!(read(&set, 99).unwrap(), content(99));
    let tail = SplitDump::new(vec![part(&w, 0, 100)]).unwrap();
    assert_eq!(tail.missing(), &[(100, 300)]);
}

/// A part written with `-F`: the same kdump file, flattened.
fn flat_part(w: &Writer, start: u64, end: u64) -> (PathBuf, Box<dyn DumpFormat>) {
    let mut w = w.clone();
    w.split = Some((start, end));
    let bytes = kdive_testdata::flat::flatten(&[(0, &w.build())], true);
    let flat = kdive_dump::flat::FlatFile::index(bytes).expect("indexes");
    let k = KdumpFile::parse_flattened(flat).expect("flattened part parses");
    (PathBuf::from(format!("flat-{start}-{end}")), Box::new(k))
}

#[test]
fn flattened_and_plain_parts_make_one_set() {
    let w = whole();
    let one = KdumpFile::parse(Source::Bytes(w.build())).unwrap();
    let set = SplitDump::new(vec![part(&w, 0, 120), flat_part(&w, 120, 300)]).unwrap();
    assert!(set.missing().is_empty());
    for pfn in [0, 3, 119, 120, 123, 255, 299] {
        assert_eq!(set.page_state(pfn), one.page_state(pfn), "pfn {pfn}");
        assert_eq!(read(&set, pfn).ok(), read(&one, pfn).ok(), "pfn {pfn}");
    }
}

#[test]
fn empty_parts_are_fine() {
    let w = whole();
    let set = SplitDump::new(vec![
        part(&w, 300, 300),
        part(&w, 0, 300),
        part(&w, 300, 300),
    ])
    .unwrap();
    assert!(set.missing().is_empty());
    assert_eq!(read(&set, 42).unwrap(), content(42));
}

#[test]
fn bad_sets_are_errors() {
    let w = whole();
    let whole_file: Box<dyn DumpFormat> =
        Box::new(KdumpFile::parse(Source::Bytes(w.build())).unwrap());
    let err = |files| SplitDump::new(files).err().map(|e| e.to_string());
    assert!(err(vec![part(&w, 0, 100), ("whole".into(), whole_file)])
        .is_some_and(|e| e.contains("whole dump")));
    assert!(err(vec![part(&w, 0, 150), part(&w, 100, 300)]).is_some_and(|e| e.contains("overlap")));
    let mut other = whole();
    other.timestamp = (1, 2);
    let e = err(vec![part(&w, 0, 100), part(&other, 100, 300)]).unwrap_or_default();
    assert!(
        e.contains("timestamp differs") && e.contains("(1, 2)"),
        "{e}"
    );
    let mut level = whole();
    level.dump_level = 1;
    let e = err(vec![part(&w, 0, 100), part(&level, 100, 300)]).unwrap_or_default();
    assert!(e.contains("dump_level differs"), "{e}");
    assert!(err(vec![]).is_some());
}
