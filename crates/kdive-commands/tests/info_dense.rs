//! `info` on a dense kdump file counts its pages from the bitmaps and one pass over the page
//! descriptors: what it costs does not depend on asking every RAM pfn.

use kdive_commands::info::collect;
use kdive_commands::Report;
use kdive_dump::kdump::{KdumpFile, Source};
use kdive_dump::{Codec, Dump, PageStats};
use kdive_testdata::kdump::{Page, Writer};

const BS: usize = 4096;

#[test]
fn info_reads_each_page_descriptor_once() {
    // 800 MiB of RAM, every page dumped: the shared zero page first (so the reader tells zero
    // pages: makedumpfile writes it before any data), a zlib page every 1,000 pfns, one excluded
    // page, then a hole of the memory map
    let ram = 204_800u64;
    let mut w = Writer::new(BS as u32, ram + 5000);
    for pfn in 0..ram {
        let page = if pfn % 1000 == 999 {
            Page::Data(Codec::Zlib, vec![pfn as u8; BS])
        } else {
            Page::Zero
        };
        w.pages.insert(pfn, page);
    }
    let w = w.page(500, Page::Excluded);
    let dump = Dump::from_format(
        vec![],
        Box::new(KdumpFile::parse(Source::Bytes(w.build())).unwrap()),
    );
    let descs = ram - 1;
    let zlib = ram / 1000;
    let opened = dump.descriptors_read();
    assert!(opened <= 64, "the open read {opened} descriptors");

    let info = collect(&dump, None);
    let text = (&info as &dyn Report).text();
    assert_eq!(
        info.pages,
        PageStats {
            ram,
            present: zlib,
            zero: descs - zlib,
            excluded: 1,
            lost: 0,
            first_lost: None,
        }
    );
    assert_eq!(
        info.compression.into_iter().collect::<Vec<_>>(),
        [
            ("none".to_string(), descs - zlib),
            ("zlib".to_string(), zlib)
        ]
    );
    assert!(
        text.contains(&format!(
            "{ram} RAM: {zlib} present, {} zero, 1 excluded, 0 lost",
            descs - zlib
        )),
        "{text}"
    );
    // one pass over the table for the page states, the codecs and the zero pages together
    let counted = dump.descriptors_read() - opened;
    assert_eq!(counted, descs, "info read {counted} descriptors of {descs}");
}
