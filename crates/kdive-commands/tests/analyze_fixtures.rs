//! `analyze` on every fixture, against what drgn's reference says happened: the panic message,
//! the crashed thread, the faulting frame of an oops, the tasks in D state of a hung-task panic;
//! and signatures: equal for the two dumps of the same bug, distinct otherwise.

use std::collections::HashMap;

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};

#[test]
fn analyze_agrees_with_the_references() {
    if corpus_or_skip("analyze_agrees_with_the_references").is_none() {
        return;
    }
    let mut sigs: HashMap<String, String> = HashMap::new();
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        // the module files beside the dump, as the CLI attaches them
        for e in std::fs::read_dir(&fx.dir).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "ko") {
                let _ = s.attach_module_debug(&e.path());
            }
        }
        let a = run(&s, "analyze").unwrap().json();
        let drgn = fx.drgn();
        let kind = a["kind"].as_str().unwrap();
        let message = drgn["panic_message"].as_str();
        let crashed = drgn["crashed_thread"]["tid"].as_i64();
        match message {
            None => {
                assert_eq!(kind, "no-panic", "{}", fx.name);
                assert!(a["panic_task"].is_null(), "{}", fx.name);
            }
            Some(m) => {
                assert_eq!(a["message"].as_str(), Some(m), "{}", fx.name);
                assert_eq!(a["panic_task"]["pid"].as_i64(), crashed, "{}", fx.name);
                let want = if m.contains("NULL pointer dereference") {
                    "null-pointer-dereference"
                } else if m.contains("hung_task") {
                    "hung-task"
                } else if m.contains("sysrq") {
                    "sysrq-crash"
                } else {
                    kind
                };
                assert_eq!(kind, want, "{}: {m}", fx.name);
            }
        }
        let tasks = drgn["tasks"].as_array().unwrap();
        if kind == "null-pointer-dereference" {
            // drgn's first frame of the crashed thread is the faulting one
            let t = tasks.iter().find(|t| t["pid"].as_i64() == crashed).unwrap();
            let top = &t["stack"][0];
            let c = &a["culprits"][0];
            assert_eq!(c["function"], top["function"], "{}", fx.name);
            assert_eq!(c["task"]["pid"].as_i64(), crashed);
            let line = top["source"].as_str().unwrap().rsplit(':').next().unwrap();
            assert!(
                c["source"]
                    .as_str()
                    .is_some_and(|s| s.ends_with(&format!(": {line}"))),
                "{}: {c}",
                fx.name
            );
        }
        if kind == "sysrq-crash" {
            // the caller of panic(), as drgn's stack of the crashed thread has it
            let t = tasks.iter().find(|t| t["pid"].as_i64() == crashed).unwrap();
            let frames: Vec<&str> = t["stack"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["inline"].as_bool() != Some(true))
                .filter_map(|f| f["function"].as_str())
                .collect();
            let at = frames.iter().position(|&f| f == "panic").unwrap();
            assert_eq!(
                a["culprits"][0]["function"].as_str(),
                Some(frames[at + 1]),
                "{}",
                fx.name
            );
        }
        if kind == "hung-task" {
            let blocked: Vec<i64> = tasks
                .iter()
                .filter(|t| t["state"] == "D")
                .map(|t| t["pid"].as_i64().unwrap())
                .collect();
            assert!(!blocked.is_empty());
            let named: Vec<i64> = a["culprits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["task"]["pid"].as_i64().unwrap())
                .collect();
            for &b in &blocked {
                assert!(
                    named.contains(&b),
                    "{}: D-state task {b} not among {named:?}",
                    fx.name
                );
            }
            // the fixture's module logged where its mutex is ("fixture_mutex at X held"): every
            // D-state task waits on that lock, whose owner (insmod) has exited
            let log = std::fs::read_to_string(fx.dir.join("vmcore-dmesg.txt")).unwrap();
            let logged = log
                .lines()
                .find_map(|l| l.split("fixture_mutex at ").nth(1))
                .and_then(|r| r.split_whitespace().next())
                .map(|h| format!("0x{h}"));
            if let Some(lock) = logged {
                let locks = a["locks"].as_array().unwrap();
                for &b in &blocked {
                    let w = locks
                        .iter()
                        .find(|w| w["task"]["pid"].as_i64() == Some(b))
                        .unwrap_or_else(|| panic!("{}: no lock for {b}: {locks:?}", fx.name));
                    assert_eq!(w["lock"].as_str(), Some(lock.as_str()), "{}", fx.name);
                    assert_eq!(w["kind"], "mutex");
                    assert!(w["owner"].is_string() && w["owner_task"].is_null(), "{w}");
                }
                assert!(a["deadlocks"].as_array().unwrap().is_empty());
            }
        }
        let sig = a["signature"].as_str().unwrap().to_string();
        assert!(sig.starts_with("kd2-") && sig.len() == 20, "{sig}");
        sigs.insert(fx.name.clone(), sig);
    }
    if let (Some(b), Some(b2)) = (
        sigs.get("b-null-module-6.1"),
        sigs.get("b2-null-module-6.1"),
    ) {
        assert_eq!(b, b2, "the same bug on two boots");
    }
    let mut distinct: Vec<_> = sigs
        .iter()
        .filter(|(k, _)| !k.starts_with("b2") && !k.starts_with("formats"))
        .map(|(_, v)| v)
        .collect();
    let n = distinct.len();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        n,
        "different bugs, different signatures: {sigs:?}"
    );
}

/// `oops` on each fixture's `vmcore-dmesg.txt` (the log makedumpfile saved beside the dump)
/// gives the title and signature `analyze` gives the dump, and the same kind.
#[test]
fn oops_on_the_log_agrees_with_analyze_on_the_dump() {
    if corpus_or_skip("oops_on_the_log_agrees_with_analyze_on_the_dump").is_none() {
        return;
    }
    let mut compared = 0;
    for fx in fixtures() {
        let log = fx.dir.join("vmcore-dmesg.txt");
        if !log.exists() {
            continue;
        }
        let s = Session::open(&fx.reference_dump()).unwrap();
        let a = run(&s, "analyze").unwrap().json();
        let o = kdive_commands::oops::read(log.to_str().unwrap()).unwrap();
        let Some(main) = o.main() else {
            assert_eq!(a["kind"], "no-panic", "{}: the log has no report", fx.name);
            continue;
        };
        assert_eq!(
            a["kind"],
            serde_json::to_value(main.finding.kind).unwrap(),
            "{}",
            fx.name
        );
        assert_eq!(
            a["title"].as_str(),
            Some(main.finding.title.as_str()),
            "{}",
            fx.name
        );
        assert_eq!(
            a["signature"].as_str(),
            Some(main.finding.signature.as_str()),
            "{}: {} vs {}",
            fx.name,
            a["signature_text"],
            main.finding.signature_text
        );
        compared += 1;
    }
    assert!(
        compared >= 3,
        "only {compared} fixtures have a log with a report"
    );
}
