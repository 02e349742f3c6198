//! `kmem -i` and `kmem -s` on every fixture against crash's outputs (`07-kmem-i.txt`,
//! `08-kmem-s.txt`), and against drgn's slab caches and VM counters (`drgn.json`); the address
//! commands on words and numbers that name nothing.

use kdive_commands::{run, Session};
use kdive_linux::kmem::vm_stat;
use kdive_testdata::{corpus_or_skip, fixtures};

/// crash's output lines after its `crash> ...` echo.
fn body(reference: &str) -> Vec<String> {
    reference
        .lines()
        .skip(1)
        .map(|l| l.trim_end().to_string())
        .collect()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim_end().to_string()).collect()
}

#[test]
fn kmem_i_matches_crash() {
    if corpus_or_skip("kmem_i_matches_crash").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let Some(want) = fx.crash_ref("kmem-i") else {
            continue;
        };
        let s = Session::open(&fx.reference_dump()).unwrap();
        let got = run(&s, "kmem -i").unwrap();
        assert_eq!(lines(&got.text()), body(&want), "{}", fx.name);
        // the counters behind it are drgn's too
        let drgn = fx.drgn();
        let (j, m) = (got.json(), &drgn["meminfo"]);
        assert_eq!(j["total"], m["totalram_pages"], "{}", fx.name);
        assert_eq!(j["free"], m["free_pages"], "{}", fx.name);
        let node = &m["vm_node_stat"];
        let slab = node["NR_SLAB_RECLAIMABLE_B"].as_u64().unwrap()
            + node["NR_SLAB_UNRECLAIMABLE_B"].as_u64().unwrap();
        assert_eq!(j["slab"].as_u64(), Some(slab), "{}", fx.name);
        assert_eq!(j["incomplete"], false, "{}", fx.name);
        // every global VM counter drgn read, by its enumerator's name
        let prog = s.kernel().unwrap();
        for table in ["vm_zone_stat", "vm_node_stat", "vm_numa_event"] {
            for (name, v) in m[table].as_object().unwrap() {
                let ours = vm_stat(prog, name).unwrap();
                assert_eq!(ours, v.as_i64(), "{}: {table} {name}", fx.name);
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 3,
        "only {checked} fixtures have a kmem -i reference"
    );
}

#[test]
fn kmem_s_matches_crash_and_drgn() {
    if corpus_or_skip("kmem_s_matches_crash_and_drgn").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let Some(want) = fx.crash_ref("kmem-s") else {
            continue;
        };
        let s = Session::open(&fx.reference_dump()).unwrap();
        let got = run(&s, "kmem -s").unwrap();
        assert_eq!(lines(&got.text()), body(&want), "{}", fx.name);
        // drgn's slab caches: the same caches in the same order, with the same object counts
        let drgn = fx.drgn();
        let j = got.json();
        let ours: Vec<(String, u64, u64)> = j["caches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["object_size"].as_u64().unwrap(),
                    c["counts"]["total"].as_u64().unwrap(),
                )
            })
            .collect();
        let theirs: Vec<(String, u64, u64)> = drgn["slab_caches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["object_size"].as_u64().unwrap(),
                    c["num_objs"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "{}", fx.name);
        assert_eq!(j["incomplete"], false, "{}", fx.name);
        checked += 1;
    }
    assert!(
        checked >= 3,
        "only {checked} fixtures have a kmem -s reference"
    );
}

#[test]
fn kmem_s_by_name_and_usage() {
    if corpus_or_skip("kmem_s_by_name_and_usage").is_none() {
        return;
    }
    let Some(fx) = fixtures()
        .into_iter()
        .find(|f| f.crash_ref("kmem-s").is_some())
    else {
        return;
    };
    let want = body(&fx.crash_ref("kmem-s").unwrap());
    let s = Session::open(&fx.reference_dump()).unwrap();
    // `kmem -s NAME`: the header and that cache's line, as in the full listing
    let line = want.iter().find(|l| l.ends_with("  kmem_cache")).unwrap();
    let got = run(&s, "kmem -s kmem_cache").unwrap().text();
    assert_eq!(lines(&got), vec![want[0].clone(), line.clone()]);
    let got = run(&s, "kmem -s no_such_cache").unwrap().text();
    assert!(
        got.contains("invalid slab cache name: no_such_cache"),
        "{got}"
    );
    for bad in ["kmem", "kmem -p -f", "kmem -i -s", "kmem -i foo"] {
        assert!(run(&s, bad).is_err(), "{bad}");
    }
}

/// An old makedumpfile's dump lacks many slab pages: the command still ends, every cache
/// listed, and what could not be counted is said.
#[test]
fn kmem_on_damaged_dump_is_honest() {
    if corpus_or_skip("kmem_on_damaged_dump_is_honest").is_none() {
        return;
    }
    let Some(fx) = fixtures()
        .into_iter()
        .find(|f| f.dir.join("vmcore-old-makedumpfile-d31").exists())
    else {
        return;
    };
    let s = Session::open(&fx.dir.join("vmcore-old-makedumpfile-d31")).unwrap();
    let want = body(&fx.crash_ref("kmem-s").unwrap());
    let got = run(&s, "kmem -s").unwrap();
    let text = got.text();
    let j = got.json();
    let caches = j["caches"].as_array().unwrap();
    // the same caches as crash lists from the complete dump
    let names: Vec<&str> = caches.iter().map(|c| c["name"].as_str().unwrap()).collect();
    let want_names: Vec<&str> = want[1..]
        .iter()
        .map(|l| l.rsplit("  ").next().unwrap())
        .collect();
    assert_eq!(names, want_names);
    // the same moment as the complete dump crash read: caches counted in full agree with crash,
    // those counted short say so, in the text and the JSON
    let ours = lines(&text);
    let mut short = 0;
    for (k, c) in caches.iter().enumerate() {
        if c["problems"].as_array().unwrap().is_empty() {
            assert_eq!(ours[k + 1], want[k + 1]);
        } else {
            short += 1;
        }
    }
    assert!(
        short > 0,
        "no cache lacks slab pages: the dump is not the damaged one"
    );
    for c in caches {
        let problems = c["problems"].as_array().unwrap();
        if c["counts"].is_null() || c["incomplete"] == true {
            assert!(!problems.is_empty(), "{c}");
            let name = c["name"].as_str().unwrap();
            assert!(text.contains(&format!("kmem: {name}: ")), "{name}");
            assert_eq!(j["incomplete"], true);
        }
    }
    // kmem -i does not need slab pages
    let i = run(&s, "kmem -i").unwrap().text();
    assert!(i.contains("TOTAL MEM"), "{i}");
}

/// Addresses that are not addresses, or that nothing holds: a usage error for words that are
/// not numbers, crash's own answers for numbers that name nothing, a fault for a tree whose
/// root is not mapped; never a panic.
#[test]
fn malformed_and_wild_addresses() {
    if corpus_or_skip("malformed_and_wild_addresses").is_none() {
        return;
    }
    let fx = fixtures()
        .into_iter()
        .find(|f| f.name == "b-null-module-6.1")
        .unwrap();
    let s = Session::open(&fx.reference_dump()).unwrap();
    let kind = |cmd: &str| match run(&s, cmd) {
        Ok(r) => panic!("{cmd}: no error: {}", r.text()),
        Err(e) => e.kind(),
    };
    for cmd in [
        "kmem zz",
        "kmem 0x",
        "kmem -p zz",
        "kmem -g zz",
        "vtop zz",
        "vtop",
        "vtop -u -k 0x10",
        "ptov zz",
        "ptov 0x10:zz",
        "pte zz",
        "btop zz",
        "ptob zz",
        "tree no_such_symbol",
        "tree -t no_such_kind init_task",
    ] {
        assert_eq!(kind(cmd), "usage", "{cmd}");
    }
    // crash: "ambiguous address: %lx  (requires -u or -k)"
    let e = run(&s, "vtop 0xdead000000000000")
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        "vtop: ambiguous address: dead000000000000  (requires -u or -k)"
    );
    // crash's dump_mem_map: "%llx: %s address not found in mem map"
    let t = run(&s, "kmem ffffffffffffffff").unwrap().text();
    assert_eq!(
        t.trim_end(),
        "ffffffffffffffff: kernel virtual address not found in mem map"
    );
    // crash's kvtop: an address below the kernel's with -k
    let t = run(&s, "vtop -k 0x10").unwrap().text();
    assert!(
        t.contains("10        (not a kernel virtual address)"),
        "{t}"
    );
    // a tree root in unmapped memory: a fault naming the address read
    for cmd in ["tree 0x10", "tree -t radix 0x10", "tree -t xarray -N 0x10"] {
        let e = run(&s, cmd).err().unwrap();
        assert_eq!(e.kind(), "fault", "{cmd}");
        assert!(e.fault_address().is_some_and(|a| a < 0x100), "{cmd}");
    }
    // the top of the address space: answers or errors, without wrapping around
    for cmd in [
        "kmem -p ffffffffffffffff",
        "ptov 0xffffffffffffffff",
        "ptob 0xffffffffffffffff",
        "tree -t maple 0xffffffffffffffff",
        "kmem -s 0xfffffffffffffff8",
    ] {
        let _ = run(&s, cmd);
    }
}

/// `kmem ADDR` of a page inside a free block names the block as crash's `kmem -f` lists it:
/// the zone line and the free list (`FREE_AREA_STRUCT`) of crash's reference, and which page
/// of the block the address is in.
#[test]
fn kmem_address_in_a_free_block() {
    if corpus_or_skip("kmem_address_in_a_free_block").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let path = fx.dir.join("reference/crash-more/028-kmem-f.txt");
        let Ok(reference) = std::fs::read_to_string(&path) else {
            continue;
        };
        // crash's areas with blocks: (zone line, area line up to BLOCKS, order)
        let mut areas = Vec::new();
        let mut zone = String::new();
        let ref_lines: Vec<&str> = reference.lines().collect();
        for (i, l) in ref_lines.iter().enumerate() {
            if i > 0 && ref_lines[i - 1].starts_with("ZONE  NAME") {
                zone = l.to_string();
            }
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() == 5 && w[1].ends_with('k') && w[3] != "0" {
                let order: u32 = w[0].parse().unwrap();
                let head = u64::from_str_radix(w[2], 16).unwrap();
                areas.push((
                    zone.clone(),
                    l[..l.find(w[2]).unwrap() + 16].to_string(),
                    order,
                    head,
                ));
            }
        }
        assert!(!areas.is_empty(), "{}", fx.name);
        let s = Session::open(&fx.reference_dump()).unwrap();
        let free = run(&s, "kmem -F").unwrap().json();
        for (zone, area, order, head) in areas.iter().filter(|a| a.2 >= 1).take(3) {
            let list = free["zones"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|z| z["lists"].as_array().unwrap())
                .find(|l| l["list_head"] == format!("{head:#x}"))
                .unwrap_or_else(|| panic!("{}: no list {head:x}", fx.name));
            let first = list["block_pages"][0].as_str().unwrap();
            let page = run(&s, &format!("kmem -p {first}")).unwrap().json();
            let phys = page["pages"][0]["physical"].as_str().unwrap();
            let phys = u64::from_str_radix(&phys[2..], 16).unwrap();
            let addr = phys + 4096 + 0x123;
            let text = run(&s, &format!("kmem {addr:x}")).unwrap().text();
            assert!(text.contains(&format!("{zone}\n")), "{}: {text}", fx.name);
            assert!(text.contains(&format!("{area}  \n")), "{}: {text}", fx.name);
            assert!(
                text.contains(&format!(
                    // crash's dump_free_pages: "is in" for a physical address inside a page
                    "{}  ({addr:x} is in 2nd of {} pages)",
                    &first[2..],
                    1u32 << order
                )),
                "{}: {text}",
                fx.name
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} free blocks checked");
}

/// A `p` value as an integer (a pointer's is a hex string).
fn value(s: &Session, expr: &str) -> u64 {
    let j = run(s, &format!("p {expr}")).unwrap().json();
    let v = &j["values"][0]["value"];
    v.as_u64()
        .or_else(|| u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok())
        .unwrap_or_else(|| panic!("p {expr}: {j}"))
}

/// The kernel's `PageBuddy`: a page type whose top byte is `PGTY_buddy` (6.12), or before
/// the page types were an enum, `page_type & (PAGE_TYPE_BASE | PG_buddy) == PAGE_TYPE_BASE`
/// with `PAGE_TYPE_BASE` 0xf0000000 and `PG_buddy` 0x80 (include/linux/page-flags.h, 6.1).
fn page_is_buddy(s: &Session, page: &str) -> bool {
    let page_type = value(s, &format!("((struct page *){page})->page_type"));
    match run(s, "p PGTY_buddy") {
        Ok(r) => page_type >> 24 == r.json()["values"][0]["value"].as_u64().unwrap(),
        Err(_) => page_type & 0xf000_0080 == 0xf000_0000,
    }
}

/// `kmem -f ADDR` on the pages of free blocks `kmem -F` lists: the block's free list and
/// order, and the head page is one the kernel marks free (`PageBuddy`, with `buddy_order` =
/// `page->private` the order); allocated memory is on no free list.
#[test]
fn kmem_f_address_names_its_free_block() {
    if corpus_or_skip("kmem_f_address_names_its_free_block").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let free = run(&s, "kmem -F").unwrap().json();
        let lists: Vec<&serde_json::Value> = free["zones"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|z| z["lists"].as_array().unwrap())
            .filter(|l| l["order"].as_u64().unwrap() >= 1 && l["blocks"].as_u64() > Some(0))
            .take(2)
            .collect();
        assert!(
            !lists.is_empty(),
            "{}: no free block of order 1 or more",
            fx.name
        );
        for list in lists {
            let order = list["order"].as_u64().unwrap();
            let head = list["block_pages"][0].as_str().unwrap();
            assert!(page_is_buddy(&s, head), "{}: {head}", fx.name);
            let private = value(&s, &format!("((struct page *){head})->private"));
            assert_eq!(private, order, "{}: {head}", fx.name);
            // the block's last page, named by its struct page
            let head_addr = u64::from_str_radix(&head[2..], 16).unwrap();
            let page_size = value(&s, "sizeof(struct page)");
            let last = head_addr + ((1 << order) - 1) * page_size;
            let got = run(&s, &format!("kmem -f {last:x}")).unwrap();
            let b = &got.json()["lookups"][0]["block"];
            assert_eq!(b["order"], order, "{}", fx.name);
            assert_eq!(b["list_head"], list["list_head"], "{}", fx.name);
            assert_eq!(b["first_page"], head, "{}", fx.name);
            assert_eq!(b["nth"], 1u64 << order, "{}", fx.name);
            let n = 1u32 << order;
            // crash's ordinal suffix goes by the last digit
            let suffix = match n % 10 {
                2 => "nd",
                4 | 6 | 8 => "th",
                _ => unreachable!(),
            };
            let want = format!("{}  ({last:x} is {n}{suffix} of {n} pages)", &head[2..]);
            assert!(got.text().contains(&want), "{}: {}", fx.name, got.text());
            checked += 1;
        }
        // a task_struct is allocated memory
        let init = value(&s, "&init_task");
        let j = run(&s, &format!("kmem -f {init:x}")).unwrap().json();
        assert!(j["lookups"][0]["block"].is_null(), "{}: {j}", fx.name);
        assert_eq!(j["lookups"][0]["problems"].as_array().unwrap().len(), 0);
    }
    assert!(checked >= 6, "only {checked} free blocks checked");
}

/// `kmem -v ADDR`: the area holding a vmalloc address is the one whose `vm_struct` the
/// kernel gave that range (`vm_struct.addr`, `vm_struct.size`); an address is found again
/// by its physical address (-P); one outside every area is in none.
#[test]
fn kmem_v_address_names_its_area() {
    if corpus_or_skip("kmem_v_address_names_its_area").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let all = run(&s, "kmem -v").unwrap().json();
        let area = all["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["size"].as_u64() > Some(4096))
            .unwrap();
        let start = u64::from_str_radix(&area["start"].as_str().unwrap()[2..], 16).unwrap();
        let vm = area["vm_struct"].as_str().unwrap();
        assert_eq!(
            value(&s, &format!("((struct vm_struct *){vm})->addr")),
            start
        );
        let size = value(&s, &format!("((struct vm_struct *){vm})->size"));
        assert_eq!(area["size"].as_u64(), Some(size), "{}", fx.name);
        let inside = start + 0x10;
        let got = run(&s, &format!("kmem -v {inside:x}")).unwrap();
        let found = &got.json()["lookups"][0];
        assert_eq!(found["physical"], false);
        assert_eq!(
            found["areas"].as_array().unwrap(),
            &vec![area.clone()],
            "{}",
            fx.name
        );
        let text = got.text();
        assert_eq!(text.lines().count(), 2, "{}: {text}", fx.name);
        assert!(text.starts_with("   VMAP_AREA         VM_STRUCT"), "{text}");
        // the same page by its physical address
        let phys = run(&s, &format!("vtop {inside:x}")).unwrap().json();
        let paddr = phys["entries"][0]["physical"].as_str().map(String::from);
        if let Some(p) = paddr {
            let j = run(&s, &format!("kmem -v -P {}", &p[2..])).unwrap().json();
            let areas = j["lookups"][0]["areas"].as_array().unwrap();
            assert!(areas.contains(area), "{}: {j}", fx.name);
        }
        // the direct map is no vmalloc area
        let init = value(&s, "&init_task");
        let j = run(&s, &format!("kmem -v {init:x}")).unwrap().json();
        assert_eq!(j["lookups"][0]["areas"].as_array().unwrap().len(), 0);
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} fixtures checked");
}

/// `kmem -r` on kernels without `slab_root_caches` (5.9 and later: every fixture) says why
/// there is nothing to list, as crash refuses it there ("-r option not supported or applicable
/// on this architecture or kernel"); `-I` is refused without `-s`.
#[test]
fn kmem_r_says_why_a_kernel_without_root_caches_has_none() {
    if corpus_or_skip("kmem_r_says_why_a_kernel_without_root_caches_has_none").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let prog = s.kernel().unwrap();
        assert!(prog.symbols().address_of("slab_root_caches").is_none());
        let e = run(&s, "kmem -r").err().unwrap();
        assert_eq!(e.kind(), "unavailable", "{}", fx.name);
        assert!(
            e.to_string().contains("slab_root_caches"),
            "{}: {e}",
            fx.name
        );
        assert_eq!(run(&s, "kmem -I dentry").err().unwrap().kind(), "usage");
    }
}
