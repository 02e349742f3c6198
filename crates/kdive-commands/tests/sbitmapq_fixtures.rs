//! `sbitmapq` on every fixture's disks: the tag bitmap of each hardware queue, checked against
//! the kernel's own arithmetic (`blk_mq_init_bitmaps`: the normal tags' depth is `nr_tags` less
//! the reserved ones; `sbitmap_init_node`: `map_nr` is the depth over the bits per word,
//! rounded up) and against `struct sbitmap_queue` at the same address.

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};
use serde_json::Value;

/// A member's value in `struct` text (`  depth = 256,`).
fn member(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name} = ")))
        .and_then(|v| v.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("{name} not in {text}"))
}

#[test]
fn sbitmapq_shows_each_disks_tag_bitmap() {
    if corpus_or_skip("sbitmapq_shows_each_disks_tag_bitmap").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let prog = s.kernel().unwrap();
        let cpus = kdive_linux::percpu::possible_cpus(prog).unwrap().len();
        let (disks, _) = kdive_linux::block::disks(prog, 64).unwrap();
        for d in disks {
            let q = prog.object("struct request_queue", d.queue).unwrap();
            if q.member("mq_ops").unwrap().read_u64().unwrap() == 0 {
                continue;
            }
            for tags in kdive_linux::block::queue_tags(prog, &q).unwrap() {
                if tags == 0 {
                    continue;
                }
                let t = prog.object("struct blk_mq_tags", tags).unwrap();
                let nr = t.member("nr_tags").unwrap().read_u64().unwrap();
                let reserved = t.member("nr_reserved_tags").unwrap().read_u64().unwrap();
                let sbq = kdive_linux::sbitmap::member_queue(prog, &t, "bitmap_tags").unwrap();
                let cmd = format!("sbitmapq {sbq:x}");
                let r = run(&s, &cmd).unwrap();
                let j = r.json();
                let what = format!("{}: {} {cmd}", fx.name, d.name);
                let depth = j["depth"].as_u64().unwrap();
                assert_eq!(depth, nr - reserved, "{what}: depth");
                let per_word = j["bits_per_word"].as_u64().unwrap();
                assert_eq!(
                    j["map_nr"].as_u64().unwrap(),
                    depth.div_ceil(per_word),
                    "{what}"
                );
                // the same numbers as the structure holds
                let st = run(&s, &format!("struct sbitmap_queue {sbq:x}"))
                    .unwrap()
                    .text();
                assert_eq!(depth, member(&st, "depth"), "{what}");
                assert_eq!(per_word, 1 << member(&st, "shift"), "{what}");
                assert_eq!(j["wake_batch"].as_u64(), Some(member(&st, "wake_batch")));
                assert_eq!(
                    j["min_shallow_depth"].as_u64(),
                    Some(member(&st, "min_shallow_depth"))
                );
                // one hint per possible CPU, each a tag number
                let hints = j["alloc_hint"].as_array().unwrap();
                assert_eq!(hints.len(), cpus, "{what}");
                assert!(hints.iter().all(|h| h.as_u64().unwrap() < depth), "{what}");
                assert_eq!(j["ws"].as_array().unwrap().len(), 8, "{what}");
                // the busy count is the bits listed and the bits in the dump
                let bits = j["set_bits"].as_array().unwrap();
                assert_eq!(j["busy"].as_u64(), Some(bits.len() as u64), "{what}");
                let bitmap = j["bitmap"].as_array().unwrap();
                assert_eq!(bitmap.len() as u64, depth.div_ceil(8), "{what}");
                let ones: u32 = bitmap
                    .iter()
                    .map(|b| b.as_u64().unwrap().count_ones())
                    .sum();
                assert_eq!(u64::from(ones), bits.len() as u64, "{what}");
                let text = r.text();
                assert!(
                    text.starts_with(&format!("depth = {depth}\nbusy = ")),
                    "{text}"
                );
                assert!(text.contains("\nws = {\n\t{ "), "{text}");
                assert_eq!(
                    text.lines().filter(|l| l.starts_with("0000")).count() as u64,
                    depth.div_ceil(128),
                    "{what}: one bitmap line per 16 bytes"
                );
                // -s/-a: as many entries as bits in use, at ARRAY + 8 * index with -p
                let rqs = t.member("static_rqs").unwrap().read_u64().unwrap();
                let e = run(&s, &format!("sbitmapq -s request -a {rqs:x} -p {sbq:x}")).unwrap();
                let entries = e.json()["entries"].as_array().unwrap().clone();
                assert_eq!(entries.len(), bits.len(), "{what}");
                for (entry, bit) in entries.iter().zip(bits) {
                    let want = rqs + 8 * bit.as_u64().unwrap();
                    assert_eq!(entry["address"], Value::from(format!("{want:#x}")));
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "tag bitmaps checked: {checked}");
}

#[test]
fn sbitmapq_refuses_what_crash_refuses() {
    let Some(fx) = fixtures().into_iter().next() else {
        return;
    };
    if corpus_or_skip("sbitmapq_refuses_what_crash_refuses").is_none() {
        return;
    }
    let s = Session::open(&fx.reference_dump()).unwrap();
    for (cmd, why) in [
        ("sbitmapq", "command argument is required"),
        ("sbitmapq -s request 1000", "-s option requires -a option"),
        (
            "sbitmapq -a 1000 1000",
            "-a option is used with -s option only",
        ),
        ("sbitmapq -x -d 1000", "mutually exclusive"),
    ] {
        let e = run(&s, cmd)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(why), "{cmd}: {e}");
    }
}
