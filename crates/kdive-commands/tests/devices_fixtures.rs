//! `net`, `dev` and `irq` on every fixture against crash's outputs (`12-net.txt`, `13-dev.txt`,
//! `14-irq.txt`), line for line, trailing blanks included; and on a dump with many pages missing,
//! an honest end.

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};

/// crash's output lines after its `crash> ...` echo.
fn body(reference: &str) -> Vec<String> {
    reference.lines().skip(1).map(str::to_string).collect()
}

mod common;

/// Runs `cmd` on every fixture's reference dump and compares with crash's output; returns how
/// many fixtures were compared.
fn compare(cmd: &str) -> usize {
    common::each_crash_reference(cmd, cmd, |_, _, _| {})
}

#[test]
fn net_matches_crash() {
    if corpus_or_skip("net_matches_crash").is_none() {
        return;
    }
    assert!(compare("net") >= 5);
}

#[test]
fn dev_matches_crash() {
    if corpus_or_skip("dev_matches_crash").is_none() {
        return;
    }
    assert!(compare("dev") >= 5);
}

#[test]
fn irq_matches_crash() {
    if corpus_or_skip("irq_matches_crash").is_none() {
        return;
    }
    assert!(compare("irq") >= 5);
}

/// `irq -u`: crash's `irq` without the IRQ numbers that have no descriptor (`(unused)` in the
/// IRQ_DESC column; a descriptor without actions stays).
#[test]
fn irq_u_leaves_out_unused_numbers() {
    if corpus_or_skip("irq_u_leaves_out_unused_numbers").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let Some(want) = fx.crash_ref("irq") else {
            continue;
        };
        let want: Vec<String> = body(&want)
            .into_iter()
            .filter(|l| {
                l.get(6..)
                    .is_none_or(|c| !c.trim_start().starts_with("(unused)"))
            })
            .collect();
        assert!(want.len() > 2, "{}", fx.name);
        let s = Session::open(&fx.reference_dump()).unwrap();
        let got = run(&s, "irq -u").unwrap().text();
        assert_eq!(got.lines().collect::<Vec<_>>(), want, "{}", fx.name);
        checked += 1;
    }
    assert!(checked >= 5);
}

/// Values read from the references, checked through the JSON results as well.
#[test]
fn json_carries_the_values() {
    if corpus_or_skip("json_carries_the_values").is_none() {
        return;
    }
    let fx = fixtures()
        .into_iter()
        .find(|f| f.name == "a-sysrq-6.1")
        .expect("fixture a-sysrq-6.1");
    let s = Session::open(&fx.reference_dump()).unwrap();
    let net = run(&s, "net").unwrap().json();
    assert_eq!(net["devices"][0]["net_device"], "0xffff8e118187a000");
    assert_eq!(net["devices"][0]["name"], "lo");
    assert_eq!(net["devices"][0]["ipv4"][0], "127.0.0.1");
    assert_eq!(net["devices"][0]["ipv6"][0], "::1");
    assert_eq!(net["complete"], true);

    let dev = run(&s, "dev").unwrap().json();
    let chr = dev["chrdevs"].as_array().unwrap();
    assert_eq!(chr.len(), 22);
    assert_eq!(chr[0]["major"], 1);
    assert_eq!(chr[0]["name"], "mem");
    assert_eq!(chr[0]["object"], "0xffff8e11812fb880");
    assert_eq!(chr[0]["operations_symbol"], "memory_fops");
    assert_eq!(chr[9]["name"], "input");
    assert!(chr[9]["object"].is_null());
    let blk = dev["blkdevs"].as_array().unwrap();
    assert_eq!(blk[1]["major"], 254);
    assert_eq!(blk[1]["object"], "0xffff8e118224c000");
    assert_eq!(blk[1]["operations_symbol"], "virtblk_fops");

    let irq = run(&s, "irq").unwrap().json();
    let irqs = irq["irqs"].as_array().unwrap();
    assert_eq!(irqs.len(), 440);
    assert_eq!(irqs[0]["irq_desc"], "0xffff8e1181159200");
    assert_eq!(irqs[0]["actions"][0]["irqaction"], "0xffff8e1181155a00");
    assert_eq!(irqs[0]["actions"][0]["name"], "timer");
    assert_eq!(irqs[24]["actions"][0]["name"], "virtio0-config");
    assert!(irqs[16]["irq_desc"].is_null());
}

#[test]
fn unsupported_forms_are_usage_errors() {
    if corpus_or_skip("unsupported_forms_are_usage_errors").is_none() {
        return;
    }
    let fx = fixtures().into_iter().next().unwrap();
    let s = Session::open(&fx.reference_dump()).unwrap();
    for cmd in ["net -R 1", "dev x", "irq 5", "net x"] {
        let e = run(&s, cmd)
            .err()
            .unwrap_or_else(|| panic!("{cmd}: accepted"));
        assert_eq!(e.kind(), "usage", "{cmd}: {e}");
    }
}

/// A dump with many pages missing (`makedumpfile -d 31` of an older kind): every command ends,
/// what it could not read is named and the answer is labelled incomplete; every row it does
/// give is one of crash's rows for the same machine (from the fixture's complete dump).
#[test]
fn damaged_dump_ends_honestly() {
    let Some(corpus) = corpus_or_skip("damaged_dump_ends_honestly") else {
        return;
    };
    let fx = fixtures()
        .into_iter()
        .find(|f| f.name == "c-hung-task-6.12")
        .expect("fixture c-hung-task-6.12");
    let path = corpus.join("c-hung-task-6.12/vmcore-old-makedumpfile-d31");
    let s = Session::open(&path).unwrap();
    for cmd in ["net", "dev", "irq"] {
        let r = run(&s, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let text = r.text();
        let json = r.json();
        let want = fx.crash_ref(cmd).unwrap();
        let want = body(&want);
        for line in text.lines() {
            if line.starts_with(&format!("{cmd}: ")) || line.contains("(unknown)") {
                continue;
            }
            assert!(
                want.iter().any(|w| w == line),
                "{cmd}: {line:?} is not crash's"
            );
        }
        if cmd == "net" {
            // its pages are all there
            assert_eq!(json["complete"], true, "{text}");
            continue;
        }
        assert_eq!(json["complete"], false, "{cmd}: {text}");
        assert!(
            text.contains("page excluded from the dump"),
            "{cmd}: {text}"
        );
        assert!(text.ends_with("incomplete\n"), "{cmd}: {text}");
    }
    let dev = run(&s, "dev").unwrap().text();
    assert!(dev.contains("   1      mem            ffff89a381369900  memory_fops\n"));
    assert!(dev.contains("   4      tty               (unknown)     \n"));
    let irq = run(&s, "irq").unwrap().text();
    assert!(irq.contains("\n  0      (unknown)         (unknown)      \n"));
    assert!(irq.contains("irq: sparse_irqs: "));
}

/// Every dump of every fixture (each container and codec): a complete answer equals crash's;
/// an incomplete one says so.
#[test]
fn every_dump_answers_the_same_or_says_why_not() {
    if corpus_or_skip("every_dump_answers_the_same_or_says_why_not").is_none() {
        return;
    }
    let mut compared = 0;
    for fx in fixtures() {
        for dump in fx.dumps() {
            let Ok(s) = Session::open(&dump) else {
                continue;
            };
            if s.kernel().is_err() {
                continue;
            }
            for cmd in ["net", "dev", "irq"] {
                let Some(want) = fx.crash_ref(cmd) else {
                    continue;
                };
                let r = run(&s, cmd).unwrap_or_else(|e| panic!("{}: {cmd}: {e}", dump.display()));
                let text = r.text();
                if r.json()["complete"] == true {
                    let got: Vec<&str> = text.lines().collect();
                    assert_eq!(got, body(&want), "{}: {cmd}", dump.display());
                    compared += 1;
                } else {
                    assert!(text.contains("incomplete"), "{}: {cmd}", dump.display());
                }
            }
        }
    }
    assert!(compared >= 30, "only {compared} complete answers compared");
}
