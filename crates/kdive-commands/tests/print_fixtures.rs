//! `p`, `whatis`, `ptype` and `eval` against crash 9.0.2 on every fixture (`reference/
//! crash-more/005`–`020`), run in order in one session as crash ran them, so that the `$N`
//! value-history numbers are compared too. With the vmlinux every answer is crash's (but one,
//! see [`WHOLE_EXPRESSION`]); from the dump alone, the answers its BTF allows are crash's and
//! the others name the missing type. Needs the vmlinux files (`tools/fetch-vmlinux`); skipped
//! without them unless `KDIVE_REQUIRE_VMLINUX=1`.

use kdive_commands::{run, Session};
use kdive_testdata::{fixtures_with_vmlinux, Fixture};

/// The reference files compared.
const FILES: std::ops::RangeInclusive<u32> = 5..=20;

/// `eval (1 << 12) * 3`: crash evaluates only the first parenthesised word and drops `* 3`
/// (it prints 4096); kdive evaluates the whole C expression.
const WHOLE_EXPRESSION: u32 = 19;

/// Answered from the dump's BTF alone: per-CPU variables (BTF's DATASEC), functions (BTF's
/// FUNC prototypes), types, and numbers.
const FROM_BTF: &[u32] = &[11, 13, 14, 17, 18, 19, 20];

/// (file number, command, crash's output) of each reference file in `FILES`.
fn references(fx: &Fixture) -> Vec<(u32, String, String)> {
    let mut out = Vec::new();
    let files: Vec<u32> = FILES.collect();
    for (n, path) in fx.crash_more(&files) {
        let text = std::fs::read_to_string(&path).unwrap();
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let cmd = first.strip_prefix("crash> ").unwrap().to_string();
        out.push((n, cmd, rest.to_string()));
    }
    out
}

fn lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
    while v.last().is_some_and(String::is_empty) {
        v.pop();
    }
    v
}

#[test]
fn print_matches_crash_with_the_vmlinux() {
    let mut compared = 0;
    for (fx, vmlinux) in fixtures_with_vmlinux("print_matches_crash_with_the_vmlinux") {
        let s = Session::open(&fx.reference_dump()).unwrap();
        s.attach_vmlinux(&vmlinux).unwrap();
        for (n, cmd, crash) in references(&fx) {
            let what = format!("{}: {n:03} {cmd}", fx.name);
            let r = run(&s, &cmd).unwrap_or_else(|e| panic!("{what}: {e}"));
            let have = lines(&r.text());
            let want = lines(&crash);
            if n == WHOLE_EXPRESSION {
                assert_eq!(cmd, "eval (1 << 12) * 3");
                // crash's layout, with the value of the whole expression
                let v: u64 = (1 << 12) * 3;
                assert_eq!(want[0], "hexadecimal: 1000  (4KB)", "{what}");
                assert_eq!(have[0], format!("hexadecimal: {v:x}  ({}KB)", v >> 10));
                assert_eq!(have[1], format!("    decimal: {v}"));
                assert_eq!(have[2], format!("      octal: {v:o}"));
                assert_eq!(have[3], format!("     binary: {v:064b}"));
                assert_eq!(have.len(), want.len(), "{what}");
            } else {
                assert_eq!(have, want, "{what}");
            }
            compared += 1;
        }
    }
    if compared > 0 {
        assert!(compared >= 16 * 5, "only {compared} references compared");
    }
}

#[test]
fn print_from_the_dump_alone_as_far_as_btf_types() {
    let mut compared = 0;
    for (fx, _) in fixtures_with_vmlinux("print_from_the_dump_alone_as_far_as_btf_types") {
        let s = Session::open(&fx.reference_dump()).unwrap();
        for (n, cmd, crash) in references(&fx) {
            let what = format!("{}: {n:03} {cmd}", fx.name);
            let result = run(&s, &cmd);
            if n == WHOLE_EXPRESSION {
                assert!(result.is_ok(), "{what}");
            } else if FROM_BTF.contains(&n) {
                let r = result.unwrap_or_else(|e| panic!("{what}: {e}"));
                // without the other commands' values before it, the history number differs
                let strip = |v: Vec<String>| -> Vec<String> {
                    v.into_iter()
                        .map(|l| match l.split_once(" = $") {
                            Some((label, rest)) => {
                                format!("{label} = $N{}", &rest[rest.find(' ').unwrap()..])
                            }
                            None if l.starts_with('$') => {
                                format!("$N{}", &l[l.find(' ').unwrap()..])
                            }
                            None => l,
                        })
                        .collect()
                };
                assert_eq!(strip(lines(&r.text())), strip(lines(&crash)), "{what}");
            } else if let Err(e) = result {
                // the variables BTF does not type: gdb's words for a symbol without debug
                // info, which say how to read them anyway
                let e = e.to_string();
                assert!(
                    e.contains("' has unknown type; cast it to its declared type"),
                    "{what}: {e}"
                );
            }
            compared += 1;
        }
    }
    if compared > 0 {
        assert!(compared >= 16 * 5, "only {compared} references compared");
    }
}

#[test]
fn print_results_in_json() {
    let Some((fx, vmlinux)) = fixtures_with_vmlinux("print_results_in_json")
        .into_iter()
        .find(|(f, _)| f.name.starts_with("a-"))
    else {
        return;
    };
    let s = Session::open(&fx.reference_dump()).unwrap();
    s.attach_vmlinux(&vmlinux).unwrap();
    let json = |cmd: &str| serde_json::to_value(&*run(&s, cmd).unwrap()).unwrap();
    let comm = json("p init_task.comm");
    assert_eq!(comm["values"][0]["value"], "swapper/0");
    assert_eq!(comm["values"][0]["type"], "char [16]");
    let tasks = json("p init_task.tasks");
    // crash-more/015: next = 0xffff8e11811f8890
    assert_eq!(tasks["values"][0]["value"]["next"], "0xffff8e11811f8890");
    let rq = json("p runqueues");
    assert_eq!(rq["kind"], "per_cpu");
    // crash-more/013: [1]: ffff8e119a331980
    assert_eq!(rq["addresses"][1]["address"], "0xffff8e119a331980");
    let rq1 = json("p runqueues:1");
    assert_eq!(rq1["values"][0]["label"], "per_cpu(runqueues, 1)");
    assert_eq!(rq1["values"][0]["address"], "0xffff8e119a331980");
    assert_eq!(rq1["values"][0]["value"]["cpu"], 1);
    let e = json("eval -b 0x55");
    assert_eq!(e["bits_set"], serde_json::json!([6, 4, 2, 0]));
}

/// A cast to a function pointer type prints as gdb prints one, `(RET (*)(PARAMS)) 0x…
/// <symbol>`: the address of `schedule` comes back named, and a `file_operations`
/// member cast to its own declared type prints as the member does.
#[test]
fn function_pointer_casts() {
    for (fx, vmlinux) in fixtures_with_vmlinux("function_pointer_casts") {
        let s = Session::open(&fx.reference_dump()).unwrap();
        s.attach_vmlinux(&vmlinux).unwrap();
        let prog = s.kernel().unwrap();
        let schedule = prog.symbols().address_of("schedule").unwrap();
        let text = run(&s, &format!("p (void (*)(void)){schedule:#x}"))
            .unwrap()
            .text();
        assert!(
            text.ends_with(&format!(" = (void (*)(void)) {schedule:#x} <schedule>\n")),
            "{}: {text}",
            fx.name
        );
        // the member's declared type, spelt out in a cast, gives the member's value again
        let member = run(&s, "p ext4_file_operations.read_iter").unwrap().json();
        let ty = member["values"][0]["type"].as_str().unwrap().to_string();
        assert!(ty.contains("(*)("), "{}: {ty}", fx.name);
        let cast = run(&s, &format!("p ({ty})ext4_file_operations.read_iter"))
            .unwrap()
            .json();
        let read_iter = prog.symbols().address_of("ext4_file_read_iter").unwrap();
        assert_eq!(cast["values"][0]["type"], ty.as_str(), "{}", fx.name);
        assert_eq!(
            cast["values"][0]["value"],
            format!("{read_iter:#x}"),
            "{}",
            fx.name
        );
        assert!(cast["values"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with(" <ext4_file_read_iter>"));
        // a whole struct of function pointers: each member named by its symbol
        let ops = run(&s, "p *(struct file_operations *)&ext4_file_operations")
            .unwrap()
            .text();
        assert!(
            ops.contains(&format!(
                "  read_iter = {read_iter:#x} <ext4_file_read_iter>,\n"
            )),
            "{}: {ops}",
            fx.name
        );
    }
}

/// A symbol no debug information types, in gdb's words (gdb's testsuite, nodebug.exp): from
/// the dump alone BTF does not type `jiffies`, so it has an unknown type until it is cast,
/// `whatis` and `ptype` call it `<data variable, no debug info>`, and its address is a
/// pointer to that. Its value read through a cast is the one the vmlinux's type gives.
#[test]
fn symbols_without_debug_info() {
    for (fx, vmlinux) in fixtures_with_vmlinux("symbols_without_debug_info") {
        let s = Session::open(&fx.reference_dump()).unwrap();
        if s.kernel().unwrap().global("jiffies").is_ok() {
            continue;
        }
        let err = run(&s, "p jiffies").err().unwrap().to_string();
        assert_eq!(
            err, "p: 'jiffies' has unknown type; cast it to its declared type",
            "{}",
            fx.name
        );
        for cmd in ["whatis jiffies", "ptype jiffies"] {
            assert_eq!(
                run(&s, cmd).unwrap().text(),
                "type = <data variable, no debug info>\n",
                "{}: {cmd}",
                fx.name
            );
        }
        // its address is known: a void pointer (where gdb writes `(<data variable, no debug
        // info> *)`), which casts to the type the reader knows
        let addr = s.kernel().unwrap().symbols().address_of("jiffies").unwrap();
        let text = run(&s, "p &jiffies").unwrap().text();
        assert!(
            text.ends_with(&format!(" = (void *) {addr:#x} <jiffies>\n")),
            "{}: {text}",
            fx.name
        );
        for cmd in ["p jiffies + 1", "p sizeof(jiffies)", "p *jiffies"] {
            let e = run(&s, cmd).err().unwrap().to_string();
            assert!(e.ends_with("'jiffies' has unknown type; cast it to its declared type"));
        }
        // a cast reads it as that type: the value the vmlinux's `volatile unsigned long` gives
        let cast = run(&s, "p (unsigned long)jiffies").unwrap().json();
        let with_vmlinux = Session::open(&fx.reference_dump()).unwrap();
        with_vmlinux.attach_vmlinux(&vmlinux).unwrap();
        let typed = run(&with_vmlinux, "p jiffies").unwrap().json();
        let ty = typed["values"][0]["type"].as_str().unwrap();
        assert!(ty.ends_with("unsigned long"), "{}: {ty}", fx.name);
        assert_eq!(
            cast["values"][0]["value"], typed["values"][0]["value"],
            "{}",
            fx.name
        );
    }
}
