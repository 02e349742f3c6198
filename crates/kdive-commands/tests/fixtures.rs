//! `sys`, `ps` and `log` on every real dump of the corpus, against crash's and drgn's
//! reference outputs and makedumpfile's `--dump-dmesg` of the same memory.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};
use serde_json::Value;

fn text(s: &Session, cmd: &str) -> String {
    run(s, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}")).text()
}

fn json(s: &Session, cmd: &str) -> Value {
    run(s, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}")).json()
}

/// `KEY: value` lines of a `sys` output.
fn parse_sys(t: &str) -> BTreeMap<String, String> {
    t.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Rows of a crash-style `ps`: pid, ppid, cpu, task, st, %mem, vsz, rss, comm; and the `>` mark.
fn parse_ps(t: &str) -> Vec<(bool, Vec<String>)> {
    t.lines()
        .filter(|l| l.len() > 9 && l[1..9].trim().parse::<i64>().is_ok())
        .map(|l| {
            (
                l.starts_with('>'),
                l[1..].split_whitespace().map(str::to_string).collect(),
            )
        })
        .collect()
}

/// makedumpfile 1.7.8 puts the caller id after the timestamp; 1.7.2 does not. A record's
/// continuation lines are indented to the width of that prefix, so their indent is dropped.
fn norm_dmesg(l: &str) -> String {
    let l = l.trim_end();
    if !l.trim_start().starts_with('[') {
        return l.trim_start().to_string();
    }
    if let Some(close) = l.find("] [") {
        let rest = &l[close + 3..];
        if let Some(end) = rest.find("] ") {
            let id = rest[..end].trim();
            if id.len() > 1
                && (id.starts_with('T') || id.starts_with('C'))
                && id[1..].chars().all(|c| c.is_ascii_digit())
            {
                return format!("{}] {}", &l[..close], &rest[end + 2..]);
            }
        }
    }
    l.to_string()
}

fn open(dump: &Path) -> Session {
    let s = Session::open(dump).unwrap_or_else(|e| panic!("{}: {e}", dump.display()));
    assert!(
        s.minimal_reason().is_none(),
        "{}: {:?}",
        dump.display(),
        s.minimal_reason()
    );
    s
}

#[test]
fn sys_matches_crash() {
    if corpus_or_skip("sys_matches_crash").is_none() {
        return;
    }
    for fx in fixtures() {
        let crash = parse_sys(&fx.crash_ref("sys").expect("crash sys reference"));
        let drgn = fx.drgn();
        for dump in fx.dumps() {
            let s = open(&dump);
            let ours = parse_sys(&text(&s, "sys"));
            let what = format!("{} {}", fx.name, dump.display());
            for key in [
                "RELEASE",
                "NODENAME",
                "VERSION",
                "LOAD AVERAGE",
                "DATE",
                "MEMORY",
                "PANIC",
            ] {
                assert_eq!(ours.get(key), crash.get(key), "{what}: sys {key}");
            }
            assert_eq!(
                ours["CPUS"].split_whitespace().next(),
                crash["CPUS"].split_whitespace().next(),
                "{what}: CPUS"
            );
            assert!(
                ours["MACHINE"].starts_with("x86_64  ("),
                "{what}: MACHINE {}",
                ours["MACHINE"]
            );
            // crash 9.0.2 assumes HZ=1000 on 6.12 and gets UPTIME wrong there; drgn's boottime is right
            let up = drgn["load_uptime"]["uptime_seconds"].as_u64().unwrap();
            assert_eq!(
                ours["UPTIME"],
                kdive_commands::format::duration(up),
                "{what}: UPTIME"
            );
            // the kernel's count, read without walking the tasks: crash's on the intact dump
            let count = kdive_linux::task::task_count(s.kernel().expect("kernel"));
            assert_eq!(
                count.ok().map(|n| n.to_string()).as_deref(),
                crash["TASKS"].split_whitespace().next(),
                "{what}: task_count"
            );
            if fx.is_damaged(&dump) {
                // the kernel's own count (crash's on the intact dump), and how many are unreadable
                assert!(
                    ours["TASKS"].contains("could not be read"),
                    "{what}: TASKS {}",
                    ours["TASKS"]
                );
                assert_eq!(
                    ours["TASKS"].split_whitespace().next(),
                    Some(crash["TASKS"].as_str()),
                    "{what}: TASKS"
                );
            } else {
                assert_eq!(ours["TASKS"], crash["TASKS"], "{what}: TASKS");
            }
        }
    }
}

#[test]
fn ps_matches_drgn_and_crash() {
    if corpus_or_skip("ps_matches_drgn_and_crash").is_none() {
        return;
    }
    for fx in fixtures() {
        let drgn = fx.drgn();
        let want: HashMap<i64, &Value> = drgn["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["pid"].as_i64().unwrap(), t))
            .collect();
        let crash_rows = parse_ps(&fx.crash_ref("ps").unwrap());
        for dump in fx.dumps() {
            let what = format!("{} {}", fx.name, dump.display());
            let s = open(&dump);
            let out = text(&s, "ps");
            let rows = parse_ps(&out);
            if fx.is_damaged(&dump) {
                // what is listed is real; what is not is said to be missing
                for (_, r) in &rows {
                    let pid: i64 = r[0].parse().unwrap();
                    if pid > 0 {
                        let t = want
                            .get(&pid)
                            .unwrap_or_else(|| panic!("{what}: invented pid {pid}"));
                        assert_eq!(
                            r[3],
                            t["task"].as_str().unwrap()[2..],
                            "{what}: pid {pid} task"
                        );
                    }
                }
                assert!(
                    out.contains("missing from the dump"),
                    "{what}: ps does not say tasks are missing"
                );
                let j = json(&s, "ps");
                assert!(j["missing"].as_u64().unwrap() > 0, "{what}");
                continue;
            }
            // every task drgn sees, with the same parent, CPU, address and state; nothing more but the idle tasks
            let ours: HashMap<i64, &Vec<String>> = rows
                .iter()
                .map(|(_, r)| (r[0].parse().unwrap(), r))
                .filter(|(p, _)| *p > 0)
                .collect();
            assert_eq!(ours.len(), want.len(), "{what}: task count");
            for (pid, t) in &want {
                let r = ours
                    .get(pid)
                    .unwrap_or_else(|| panic!("{what}: pid {pid} missing"));
                let comm = r[8..].join(" ");
                let comm = comm.trim_start_matches('[').trim_end_matches(']');
                assert_eq!(comm, t["comm"].as_str().unwrap(), "{what}: pid {pid} comm");
                assert_eq!(r[1], t["ppid"].to_string(), "{what}: pid {pid} ppid");
                assert_eq!(r[2], t["cpu"].to_string(), "{what}: pid {pid} cpu");
                assert_eq!(
                    r[3],
                    t["task"].as_str().unwrap()[2..],
                    "{what}: pid {pid} task"
                );
                let rss_kib = t["rss_pages"].as_u64().unwrap() * 4;
                assert_eq!(r[7], rss_kib.to_string(), "{what}: pid {pid} rss");
            }
            // crash's rows, whole: state, %MEM, VSZ, RSS, the idle tasks and the active marks
            assert_eq!(rows.len(), crash_rows.len(), "{what}: rows");
            for ((a_ours, ours), (a_crash, crash)) in rows.iter().zip(&crash_rows) {
                assert_eq!((a_ours, ours), (a_crash, crash), "{what}: ps row");
            }
        }
    }
}

#[test]
fn log_reproduces_dmesg() {
    if corpus_or_skip("log_reproduces_dmesg").is_none() {
        return;
    }
    for fx in fixtures() {
        let dmesg = fx.dir.join("vmcore-dmesg.txt");
        for dump in fx.dumps() {
            let what = format!("{} {}", fx.name, dump.display());
            let s = open(&dump);
            let out = text(&s, "log");
            let ours: std::collections::HashSet<String> = out.lines().map(norm_dmesg).collect();
            if dmesg.exists() {
                let want: Vec<String> = std::fs::read_to_string(&dmesg)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(norm_dmesg)
                    .collect();
                let missing: Vec<&String> = want.iter().filter(|l| !ours.contains(*l)).collect();
                assert!(
                    missing.is_empty(),
                    "{what}: {} of {} dmesg lines missing, first: {:?}",
                    missing.len(),
                    want.len(),
                    missing.first()
                );
            } else {
                let drgn = fx.drgn();
                for rec in drgn["printk"].as_array().unwrap() {
                    let first = rec["text"].as_str().unwrap().lines().next().unwrap_or("");
                    assert!(
                        out.contains(first),
                        "{what}: printk record missing: {first}"
                    );
                }
            }
        }
    }
}

#[test]
fn encodings_of_one_memory_answer_alike() {
    if corpus_or_skip("encodings_of_one_memory_answer_alike").is_none() {
        return;
    }
    let fx = kdive_testdata::fixture("formats-6.1").expect("formats-6.1");
    let mut seen: Option<(String, String)> = None;
    for dump in fx.dumps() {
        let s = open(&dump);
        let mut out = String::new();
        for cmd in ["sys", "ps", "log"] {
            out += &text(&s, cmd);
        }
        // the DUMPFILE line names the file; everything else must be byte-identical
        let out: String = out
            .lines()
            .filter(|l| !l.trim_start().starts_with("DUMPFILE:"))
            .map(|l| format!("{l}\n"))
            .collect();
        match &seen {
            None => seen = Some((dump.display().to_string(), out)),
            Some((first, want)) => assert!(*want == out, "{} and {} differ", first, dump.display()),
        }
    }
}
