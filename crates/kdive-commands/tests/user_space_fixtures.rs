//! `-u`: `p -u` and `dis -u` read a process's memory in the current context, checked against
//! crash's `rd -u 0x401000 8` of the `fdhog` process (`reference/crash-more/101-rd-u-fdhog.txt`:
//! only the dumps that kept user pages have it).

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};

/// The `set PID` and crash's bytes at 0x401000, of the fixtures whose dump kept them.
fn user_bytes() -> Vec<(String, std::path::PathBuf, String, Vec<u8>)> {
    let mut out = Vec::new();
    for fx in fixtures() {
        let Some((_, path)) = fx.crash_more(&[101]).pop() else {
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap();
        let set = text
            .lines()
            .next()
            .unwrap()
            .strip_prefix("crash> ")
            .unwrap();
        let mut bytes = Vec::new();
        for l in text.lines().filter(|l| l.trim_start().starts_with("401")) {
            let words = l.split(':').nth(1).unwrap().split_whitespace().take(2);
            for w in words {
                let v = u64::from_str_radix(w, 16).unwrap();
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        if !bytes.is_empty() {
            out.push((fx.name.clone(), fx.reference_dump(), set.to_string(), bytes));
        }
    }
    out
}

#[test]
fn p_u_reads_the_process() {
    if corpus_or_skip("p_u_reads_the_process").is_none() {
        return;
    }
    let all = user_bytes();
    assert!(!all.is_empty(), "no fixture kept fdhog's text page");
    for (name, dump, set, bytes) in all {
        let s = Session::open(&dump).unwrap();
        run(&s, &set).unwrap();
        let want = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        let got = run(&s, "p -u -x *(unsigned long *)0x401000").unwrap();
        assert_eq!(got.text(), format!("$1 = {want:#x}\n"), "{name}");
        assert_eq!(got.json()["values"][0]["value"], want, "{name}");
        let want = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
        let got = run(&s, "p -u ((unsigned int *)0x401000)[5]")
            .unwrap()
            .json();
        assert_eq!(got["values"][0]["value"], want, "{name}");
        // without -u the address is the kernel's, where nothing is mapped
        assert!(run(&s, "p *(unsigned long *)0x401000").is_err(), "{name}");
    }
}

#[test]
fn struct_u_reads_the_process() {
    if corpus_or_skip("struct_u_reads_the_process").is_none() {
        return;
    }
    let all = user_bytes();
    assert!(!all.is_empty(), "no fixture kept fdhog's text page");
    for (name, dump, set, bytes) in all {
        let s = Session::open(&dump).unwrap();
        run(&s, &set).unwrap();
        let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
        let got = run(&s, "struct -u list_head 0x401000").unwrap();
        assert_eq!(
            got.text(),
            format!(
                "struct list_head {{\n  next = {:#x},\n  prev = {:#x}\n}}\n",
                word(0),
                word(1)
            ),
            "{name}"
        );
        assert_eq!(got.json()["memory"], "user", "{name}");
        // -r -u: the same words as crash's rd -u
        let raw = run(&s, "struct -r -u list_head 0x401000").unwrap().json();
        assert_eq!(
            raw["blocks"][0]["values"],
            serde_json::json!([format!("{:#x}", word(0)), format!("{:#x}", word(1))]),
            "{name}"
        );
        // without -u the address is the kernel's, where nothing is mapped
        assert!(run(&s, "struct list_head 0x401000").is_err(), "{name}");
    }
}

#[test]
fn dis_u_decodes_the_process() {
    if corpus_or_skip("dis_u_decodes_the_process").is_none() {
        return;
    }
    let all = user_bytes();
    assert!(!all.is_empty(), "no fixture kept fdhog's text page");
    for (name, dump, set, bytes) in all {
        let s = Session::open(&dump).unwrap();
        run(&s, &set).unwrap();
        let got = run(&s, "dis -u 0x401000 4").unwrap();
        let j = got.json();
        let insns = j["instructions"].as_array().unwrap();
        assert_eq!(insns.len(), 4, "{name}");
        // the instructions' bytes are crash's bytes, in order
        let hex: String = insns.iter().map(|i| i["bytes"].as_str().unwrap()).collect();
        let decoded: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(decoded[..], bytes[..decoded.len()], "{name}");
        // 48 83 ec 08 is REX.W 83 /5 ib: subtract 8 from rsp; no kernel symbol names it
        assert_eq!(bytes[..4], [0x48, 0x83, 0xec, 0x08]);
        let first = got.text().lines().next().unwrap().to_string();
        assert_eq!(first, "0x401000:\tsub    $0x8,%rsp", "{name}");
        // one instruction by default, as for any address without a symbol
        let one = run(&s, "dis -u 401000").unwrap().json();
        assert_eq!(one["instructions"].as_array().unwrap().len(), 1, "{name}");
    }
}

/// Where the dump left the process's page out, or the context has no process, `-u` says so.
#[test]
fn u_without_the_page_or_a_process() {
    if corpus_or_skip("u_without_the_page_or_a_process").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        // kthreadd, a kernel thread, has no mm
        run(&s, "set 2").unwrap();
        for cmd in ["p -u *(unsigned long *)0x401000", "dis -u 0x401000"] {
            let e = run(&s, cmd).err().unwrap();
            assert_eq!(e.kind(), "usage", "{}: {cmd}: {e}", fx.name);
            assert!(e.to_string().contains("has no user address space"), "{e}");
        }
    }
}
