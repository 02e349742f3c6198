//! `bt`, `bt -a`, `foreach bt` and `set` on every dump of the corpus, against drgn's stacks
//! (`drgn.json`) and crash's outputs (`02-bt.txt`, `03-bt-a.txt`, `NN-foreach-bt.txt`).

use std::collections::HashMap;
use std::path::Path;

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};
use serde_json::Value;

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

fn text(s: &Session, cmd: &str) -> String {
    run(s, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}")).text()
}

fn json(s: &Session, cmd: &str) -> Value {
    run(s, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}")).json()
}

fn hex(v: &Value) -> u64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not a hex string: {v}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// drgn's frames of a task (inline duplicates dropped) up to the first user-mode one:
/// (pc, function, offset).
fn drgn_frames(task: &Value) -> Option<Vec<(u64, String, Option<u64>)>> {
    let frames = task["stack"].as_array()?;
    let mut out: Vec<(u64, String, Option<u64>)> = Vec::new();
    for f in frames
        .iter()
        .filter(|f| f["inline"].as_bool() != Some(true))
    {
        let pc = hex(&f["pc"]);
        out.push((
            pc,
            f["function"].as_str().unwrap_or("").to_string(),
            f.get("offset").filter(|o| o.is_string()).map(hex),
        ));
        if pc < 0xffff_0000_0000_0000 {
            break;
        }
    }
    Some(out)
}

/// Our frames of a task: (pc, function, offset, module).
type Ours = (u64, Option<String>, Option<u64>, Option<String>);

fn our_frames(task: &Value) -> Vec<Ours> {
    task["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                hex(&f["pc"]),
                f["function"].as_str().map(String::from),
                f["offset"].as_str().map(|_| hex(&f["offset"])),
                f["module"].as_str().map(String::from),
            )
        })
        .collect()
}

fn is_module_text(pc: u64) -> bool {
    (0xffff_ffff_c000_0000..0xffff_ffff_ff00_0000).contains(&pc)
}

/// One frame agrees with drgn's: the same pc, and the same function (or a label kallsyms has
/// inside drgn's function, like `entry_SYSCALL_64_after_hwframe` in `entry_SYSCALL_64`);
/// module frames name their module.
fn frame_agrees(ours: &Ours, want: &(u64, String, Option<u64>)) -> Result<(), String> {
    let (pc, name, off, module) = ours;
    if *pc != want.0 {
        return Err(format!("pc {pc:#x} != drgn's {:#x}", want.0));
    }
    if is_module_text(*pc) && module.is_none() {
        return Err(format!(
            "{pc:#x} ({name:?}) is module code but names no module"
        ));
    }
    let user = *pc < 0xffff_0000_0000_0000;
    if user || want.1.starts_with("0x") {
        // user pc, or a pc drgn could not name (module init code, which we name)
        return if user || name.is_some() {
            Ok(())
        } else {
            Err(format!("{pc:#x} has no name"))
        };
    }
    match (name, off, want.2) {
        (Some(n), _, _) if *n == want.1 => Ok(()),
        (Some(_), Some(o), Some(w)) if *o < w => Ok(()),
        _ => Err(format!(
            "{pc:#x}: {name:?}+{off:?} vs drgn's {}+{:?}",
            want.1, want.2
        )),
    }
}

/// Every task's stack agrees with drgn's: sleeping tasks frame for frame; the crashed task
/// (which drgn starts at its saved registers, and we at the innermost frame left on the stack
/// like crash) has drgn's frames after the first as the end of ours.
#[test]
fn foreach_bt_agrees_with_drgn() {
    if corpus_or_skip("foreach_bt_agrees_with_drgn").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let drgn = fx.drgn();
        let crashed = drgn["crashed_thread"]["tid"].as_i64();
        let Some(tasks) = drgn["tasks"].as_array() else {
            continue;
        };
        for dump in fx.dumps() {
            if fx.is_damaged(&dump) {
                continue;
            }
            let s = open(&dump);
            let ours: HashMap<i64, Value> = json(&s, "foreach bt")["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["pid"].as_i64().unwrap(), t.clone()))
                .collect();
            let mut bad = Vec::new();
            for t in tasks {
                let pid = t["pid"].as_i64().unwrap();
                let Some(want) = drgn_frames(t) else { continue };
                let Some(task) = ours.get(&pid) else {
                    bad.push(format!("pid {pid}: missing"));
                    continue;
                };
                let have = our_frames(task);
                let (have_cmp, want_cmp) = if Some(pid) == crashed {
                    let want = &want[1..];
                    let Some(at) = have.len().checked_sub(want.len()) else {
                        bad.push(format!(
                            "pid {pid}: {} frames, drgn {}",
                            have.len(),
                            want.len()
                        ));
                        continue;
                    };
                    (&have[at..], want)
                } else {
                    if have.len() != want.len() {
                        bad.push(format!(
                            "pid {pid}: {} frames, drgn {}",
                            have.len(),
                            want.len()
                        ));
                        continue;
                    }
                    (&have[..], &want[..])
                };
                for (h, w) in have_cmp.iter().zip(want_cmp) {
                    if let Err(e) = frame_agrees(h, w) {
                        bad.push(format!("pid {pid}: {e}"));
                    }
                }
                checked += 1;
            }
            assert!(bad.is_empty(), "{}: {bad:#?}", dump.display());
        }
    }
    assert!(checked > 0);
}

/// A crash output without its `crash> cmd` line, frame numbers dropped (crash cannot name
/// a module's init code, which we do: `null_pointer_init` on b-null, so later numbers shift).
fn norm(t: &str) -> Vec<String> {
    t.lines()
        .filter(|l| !l.starts_with("crash> "))
        .map(|l| {
            let l = l.trim_end();
            match l.trim_start().strip_prefix('#') {
                Some(rest) => rest
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .to_string(),
                None => l.to_string(),
            }
        })
        .collect()
}

/// Frames crash leaves out: a module's init function, absent from the core symbol table
/// crash reads (the kernel's oops and drgn name it).
fn crash_cannot_name(l: &str) -> bool {
    l.contains(" null_pointer_init at ")
}

/// `bt` (the panic task, or CPU 0's task without a panic), `bt -a` and `foreach bt` print what
/// crash prints, line for line: frames, stack addresses, exception frames and their registers.
#[test]
fn bt_text_matches_crash() {
    if corpus_or_skip("bt_text_matches_crash").is_none() {
        return;
    }
    let mut compared = 0;
    for fx in fixtures() {
        for dump in fx.dumps() {
            if fx.is_damaged(&dump) {
                continue;
            }
            let s = open(&dump);
            for cmd in ["bt", "bt -a", "foreach bt"] {
                let Some(want) = fx.crash_ref(&cmd.replace(' ', "-")) else {
                    continue;
                };
                let have: Vec<String> = norm(&text(&s, cmd))
                    .into_iter()
                    .filter(|l| !crash_cannot_name(l))
                    .collect();
                let want = norm(&want);
                let first_diff = have.iter().zip(&want).position(|(a, b)| a != b);
                assert!(
                    have == want,
                    "{} `{cmd}`: first difference at line {first_diff:?}:\n  ours:  {:?}\n  crash: {:?}",
                    dump.display(),
                    first_diff.and_then(|i| have.get(i)),
                    first_diff.and_then(|i| want.get(i)),
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 0);
}

/// The NULL-pointer oops: the panic task's exception frame in JSON, and the module frames.
#[test]
fn oops_exception_frame_json() {
    let Some(fx) = corpus_or_skip("oops_exception_frame_json")
        .and_then(|_| kdive_testdata::fixture("b-null-module-6.1"))
    else {
        return;
    };
    let s = open(&fx.reference_dump());
    let j = json(&s, "bt");
    let t = &j["tasks"][0];
    assert_eq!(t["pid"], 564);
    assert_eq!(t["start"], "innermost-frame");
    assert_eq!(t["end"], "user-mode");
    let frames = t["frames"].as_array().unwrap();
    let exc: Vec<&Value> = frames
        .iter()
        .filter(|f| !f["exception"].is_null())
        .collect();
    assert_eq!(
        exc.len(),
        2,
        "the kernel exception frame and the user-mode registers"
    );
    let k = &exc[0];
    assert_eq!(k["function"], "fixture_poke.constprop.0");
    assert_eq!(k["module"], "null_pointer");
    assert_eq!(k["found"], "regs");
    assert_eq!(k["level"], Value::Null);
    assert_eq!(k["exception"]["registers"]["rax"], "0xdeadbeef");
    assert_eq!(k["exception"]["registers"]["rip"], "0xffffffffc04a3021");
    assert_eq!(k["exception"]["user"], false);
    assert!(exc[1]["exception"]["user"].as_bool().unwrap());
    for f in frames {
        for key in ["pc", "sp"] {
            assert!(f[key].as_str().unwrap().starts_with("0x"), "{f}");
        }
        let found = f["found"].as_str().unwrap();
        assert!(
            ["orc", "fp", "scan", "regs", "cfi"].contains(&found),
            "{found}"
        );
    }
    // the seed frame (machine_kexec, found on the stack) is trusted once its walk reached
    // the saved registers; __crash_kexec has no ORC (STACK_FRAME_NON_STANDARD): its caller
    // was found through its call site
    assert_eq!(frames[0]["function"], "machine_kexec");
    assert_eq!(
        (frames[0]["found"].as_str(), frames[0]["reliable"].as_bool()),
        (Some("scan"), Some(true))
    );
    assert_eq!(frames[2]["function"], "crash_kexec");
    assert_eq!(frames[2]["found"], "scan");
}

/// `set` changes the context `bt` shows; `set -p` goes back to the panic task.
#[test]
fn set_context() {
    let Some(fx) =
        corpus_or_skip("set_context").and_then(|_| kdive_testdata::fixture("c-hung-task-6.12"))
    else {
        return;
    };
    let s = open(&fx.reference_dump());
    assert!(text(&s, "bt").starts_with("PID: 34 "));
    let set = text(&s, "set 663");
    assert!(
        set.contains("PID: 663") && set.contains("STATE: TASK_UNINTERRUPTIBLE"),
        "{set}"
    );
    let bt = text(&s, "bt");
    assert!(bt.starts_with("PID: 663 "), "{bt}");
    assert!(
        bt.contains("fixture_hung_fn at ") && bt.contains(" [hung]"),
        "{bt}"
    );
    let task = json(&s, "bt")["tasks"][0]["task"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text(&s, &format!("set {}", task.trim_start_matches("0x"))).contains("PID: 663"));
    assert!(text(&s, "set -p").contains("(PANIC)"));
    assert!(text(&s, "bt").starts_with("PID: 34 "));
    assert!(text(&s, "set -c 0").contains("PID: 0"));
    assert!(run(&s, "bt 99999").is_err());
    assert!(run(&s, "bt -q").is_err());
    // -l is accepted, and says what it lacks
    assert!(text(&s, "bt -l 663").contains("DWARF"));
    // -s / -sx: offsets
    assert!(text(&s, "bt -s 663").contains("__schedule+1248 at "));
    assert!(text(&s, "bt -sx 663").contains("__schedule+0x4e0 at "));
    // -t / -T: text addresses on the stack
    let t = text(&s, "bt -t 663");
    assert!(
        t.contains("START: __schedule at ") && t.contains("] kthread at "),
        "{t}"
    );
    assert!(text(&s, "bt -T 663").lines().count() >= t.lines().count());
    // -f: frame contents
    assert!(text(&s, "bt -f 663")
        .lines()
        .any(|l| l.starts_with("    ffff") && l.contains(": ")));
    // foreach with selectors
    let un = json(&s, "foreach UN bt");
    let pids: Vec<i64> = un["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(pids, [663, 736]);
    // mount is no per-task command
    assert!(run(&s, "foreach mount").is_err());
}

/// The damaged dump (slab pages wrongly filtered): every task found still gets a stack or a
/// reason, and nothing panics.
#[test]
fn damaged_dump_ends_cleanly() {
    let Some(fx) = corpus_or_skip("damaged_dump_ends_cleanly")
        .and_then(|_| kdive_testdata::fixture("c-hung-task-6.12"))
    else {
        return;
    };
    for dump in fx.dumps().into_iter().filter(|d| fx.is_damaged(d)) {
        let s = open(&dump);
        let j = json(&s, "foreach bt");
        let tasks = j["tasks"].as_array().unwrap();
        assert!(!tasks.is_empty());
        for t in tasks {
            let frames = t["frames"].as_array().unwrap();
            assert!(
                !frames.is_empty() || !t["complete"].as_bool().unwrap(),
                "{t}"
            );
        }
        let out = text(&s, "foreach bt");
        assert!(out.contains("PID: 34 ") && out.contains("machine_kexec at "));
        let _ = text(&s, "bt -a");
    }
}
