//! The commands and flags of crash's wider set (`mach`, `timer`, `sig`, `ps -l`, `irq -s`...)
//! against crash 9.0.2's own outputs of them on every fixture (`reference/crash-more/`), with
//! the fixture's vmlinux and module files as crash had them. Needs the vmlinux files
//! (`tools/fetch-vmlinux`); skipped without them unless `KDIVE_REQUIRE_VMLINUX=1`.

use std::path::{Path, PathBuf};

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures, Fixture};

/// The reference files compared, by name without their number (`078-ps-l.txt` -> `ps-l`).
const COMPARED: &[&str] = &[
    "ps-l",
    "ps-m",
    "ps-S",
    "ps-s",
    "ps-a-1",
    "ps-c-1",
    "ps-r",
    "ps-g-1",
    "ps-y-normal",
    "task-R-pid-comm-prio",
    "irq-s",
    "irq-a",
    "irq-b",
    "runq-t",
    "runq-m",
    "runq-g",
    "mach",
    "mach-c-head",
    "mach-m",
    "timer",
    "timer-r",
    "sig-1",
    "sig-fdhog",
    "foreach-sig-head",
    "swap",
    "ipcs",
    "waitq-log_wait",
    "fuser-root",
    "fuser-mnt-tmpfs",
    "bpf",
    "net-s-fdhog",
    "net-a",
    "net-n",
    "foreach-net",
    "dev-d",
    "mod-t",
    "files-d-dentry",
    "set-c-1-bt",
    "vm-m-1-head",
    "vm-p-sleep-head",
    "sys-c-head",
    "sys-t",
    "log-a",
];

/// References that are compared by a test of their own (crash is wrong on some fixtures),
/// by fixture prefix.
const COMPARED_APART: &[(&str, &str)] = &[
    ("c-hung-task-6.12", "timer"),
    ("c-hung-task-6.12", "timer-r"),
    ("f-healthy-6.12-qemu", "timer"),
    ("f-healthy-6.12-qemu", "timer-r"),
    // `bt` shows the module init frame crash leaves out (`bt_fixtures.rs` compares it)
    ("b-null-module-6.1", "set-c-1-bt"),
];

/// Lines where kdive is right and crash 9.0.2 is not: (fixture prefix, reference, crash's
/// line, kdive's line). Each is explained where kdive computes it.
const CRASH_WRONG: &[(&str, &str, &str, &str)] = &[
    // crash guesses HZ from the I/O scheduler's defaults and falls back to 1000 on these 6.12
    // kernels; they tick at 250 Hz (`tick_nsec` is 4 ms; `hz_agrees_with_jiffies` below)
    (
        "c-hung-task-6.12",
        "mach",
        "                    HZ: 1000",
        "                    HZ: 250",
    ),
    (
        "f-healthy-6.12-qemu",
        "mach",
        "                    HZ: 1000",
        "                    HZ: 250",
    ),
];

/// The fixtures whose vmlinux is present, each with the files crash was given.
fn with_vmlinux(test: &str) -> Vec<(Fixture, Vec<PathBuf>)> {
    if corpus_or_skip(test).is_none() {
        return Vec::new();
    }
    let found: Vec<_> = fixtures()
        .into_iter()
        .filter(|f| f.dir.join("reference/crash-more").is_dir())
        .filter_map(|f| {
            let mut files = vec![f.reference_dump(), f.vmlinux()?];
            let mut kos: Vec<PathBuf> = std::fs::read_dir(&f.dir)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "ko"))
                .collect();
            kos.sort();
            files.extend(kos);
            Some((f, files))
        })
        .collect();
    if found.is_empty() {
        assert!(
            std::env::var_os("KDIVE_REQUIRE_VMLINUX").is_none_or(|v| v != "1"),
            "{test}: no fixture vmlinux under {}",
            kdive_testdata::kernels_dir().display()
        );
        eprintln!("{test}: skipped, no fixture vmlinux (run tools/fetch-vmlinux)");
    }
    found
}

/// One reference file: its commands, what crash printed (all commands' output together, as
/// kdive's answers are compared), and whether crash answered (`SUMMARY.txt` says `ok` or
/// `empty`).
struct Reference {
    commands: Vec<String>,
    output: String,
    answered: bool,
}

fn reference(dir: &Path, name: &str) -> Option<Reference> {
    let more = dir.join("reference/crash-more");
    let file = std::fs::read_dir(&more).ok()?.find_map(|e| {
        let n = e.ok()?.file_name().to_string_lossy().into_owned();
        (n.len() > 4 && n[4..] == format!("{name}.txt")).then_some(n)
    })?;
    let text = std::fs::read_to_string(more.join(&file)).ok()?;
    let summary = std::fs::read_to_string(more.join("SUMMARY.txt")).unwrap_or_default();
    let answered = summary
        .lines()
        .find(|l| l.trim_start().starts_with(&file))
        .is_none_or(|l| l.ends_with("  ok") || l.ends_with("  empty"));
    let mut commands = Vec::new();
    let mut output = String::new();
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("crash> ") {
            Some(c) => commands.push(c.trim_end().to_string()),
            None if !commands.is_empty() => output.push_str(line),
            None => {}
        }
    }
    Some(Reference {
        commands,
        output,
        answered,
    })
}

/// Lines without trailing blanks, trailing empty lines left out, `.ko` paths as base names.
fn normalized(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            l.trim_end()
                .split(' ')
                .map(|w| match w.rsplit_once('/') {
                    Some((_, base)) if w.ends_with(".ko") => base,
                    _ => w,
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// kdive's text for one command line, with crash's `| head -N` applied.
fn answer(s: &Session, line: &str) -> String {
    let (cmd, head) = match line.split_once(" | head") {
        Some((c, n)) => (c, n.trim().trim_start_matches("-n").trim_start_matches('-')),
        None => (line, ""),
    };
    let text = run(s, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}")).text();
    match head {
        "" => text,
        n => {
            let n: usize = n.trim().parse().unwrap_or(10);
            text.split_inclusive('\n').take(n).collect()
        }
    }
}

#[test]
fn crash_more_references() {
    let mut compared = 0;
    for (fx, files) in with_vmlinux("crash_more_references") {
        let s = Session::open_with(&files, &Default::default())
            .unwrap_or_else(|e| panic!("{}: {e}", fx.name));
        for name in COMPARED {
            let Some(r) = reference(&fx.dir, name) else {
                continue;
            };
            if COMPARED_APART.contains(&(fx.name.as_str(), name)) || !r.answered {
                continue;
            }
            let have: String = r.commands.iter().map(|c| answer(&s, c)).collect();
            run(&s, "set -p").unwrap();
            let mut want = normalized(&r.output);
            for (fx_name, file, crash, kdive) in CRASH_WRONG {
                if fx.name == *fx_name && name == file {
                    let at = want.iter().position(|l| l == crash);
                    let at = at.unwrap_or_else(|| panic!("{fx_name}: {file}: no line {crash:?}"));
                    want[at] = kdive.to_string();
                }
            }
            assert_eq!(
                normalized(&have),
                want,
                "{}: {name}: kdive's text is not crash's",
                fx.name
            );
            compared += 1;
        }
    }
    eprintln!("crash_more_references: {compared} outputs equal to crash's");
}

/// `mach`'s HZ is the kernel's tick rate: `jiffies` counted from `INITIAL_JIFFIES` (five
/// minutes before the 32-bit wrap) at HZ ticks a second is the time since boot that CPU 0's
/// runqueue clock shows, to within a second.
#[test]
fn hz_agrees_with_jiffies() {
    for (fx, files) in with_vmlinux("hz_agrees_with_jiffies") {
        let s = Session::open_with(&files[..1], &Default::default()).unwrap();
        let hz = run(&s, "mach").unwrap().json()["hz"].as_u64().unwrap();
        let jiffies: u64 = answer(&s, "rd -d jiffies")
            .split_whitespace()
            .nth(1)
            .and_then(|w| w.parse().ok())
            .unwrap();
        let initial = u64::from((-300i64 * hz as i64) as u32);
        let jiffy_secs = jiffies.wrapping_sub(initial) / hz;
        let clock_ns = run(&s, "runq -t").unwrap().json()["cpus"][0]["clock_ns"]
            .as_u64()
            .unwrap();
        let clock_secs = clock_ns / 1_000_000_000;
        assert!(
            jiffy_secs.abs_diff(clock_secs) <= 1,
            "{}: HZ {hz}: jiffies say {jiffy_secs} s since boot, the runqueue clock {clock_secs} s",
            fx.name
        );
    }
}

/// Kernels since 6.9 have three timer wheels per CPU (`BASE_LOCAL`, `BASE_GLOBAL`,
/// `BASE_DEF`); crash 9.0.2 shows the first two as `BASE_STD` and `BASE_DEF` and leaves the
/// deferrable one out. With kdive's third wheel left out and the first two named as crash
/// names them, the timers are crash's. The third holds real timers: the deferrable works.
#[test]
fn timer_wheels_of_6_12() {
    for (fx, files) in with_vmlinux("timer_wheels_of_6_12") {
        if !COMPARED_APART.contains(&(fx.name.as_str(), "timer")) {
            continue;
        }
        let s = Session::open_with(&files, &Default::default()).unwrap();
        let r = reference(&fx.dir, "timer").unwrap();
        let text = answer(&s, "timer");
        let mut as_crash = Vec::new();
        let mut deferrable = 0;
        let mut in_def = false;
        for l in normalized(&text) {
            if l.starts_with("TIMER_BASES[") {
                in_def = l.contains("[BASE_DEF]");
            } else if l.is_empty() {
                // the blank line between CPUs
                in_def = false;
            } else if in_def && l.ends_with('>') {
                deferrable += 1;
            }
            if in_def {
                continue;
            }
            as_crash.push(
                l.replace("[BASE_LOCAL]", "[BASE_STD]")
                    .replace("[BASE_GLOBAL]", "[BASE_DEF]"),
            );
        }
        assert_eq!(as_crash, normalized(&r.output), "{}", fx.name);
        assert!(
            deferrable > 5,
            "{}: {deferrable} deferrable timers",
            fx.name
        );
        assert!(text.contains("<delayed_work_timer_fn>"));
    }
}

/// On the same kernels crash counts "now" at HZ 1000 where the kernel ticks at 250, so its
/// CURRENT and every TTE of `timer -r` are off by the difference; the timers themselves
/// (expiry, hrtimer, function) are crash's, and kdive's TTE is the expiry less its CURRENT.
#[test]
fn hrtimers_of_6_12() {
    for (fx, files) in with_vmlinux("hrtimers_of_6_12") {
        if !COMPARED_APART.contains(&(fx.name.as_str(), "timer-r")) {
            continue;
        }
        let s = Session::open_with(&files, &Default::default()).unwrap();
        let r = reference(&fx.dir, "timer-r").unwrap();
        let text = answer(&s, "timer -r");
        // (softexpires, expires, hrtimer, function) of every timer line, and the TTEs
        let rows = |t: &str| -> Vec<Vec<String>> {
            t.lines()
                .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .filter(|w| w.len() == 6 && w[5].starts_with('<'))
                .collect()
        };
        let timers = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
            rows.iter()
                .map(|w| vec![w[0].clone(), w[1].clone(), w[3].clone(), w[5].clone()])
                .collect()
        };
        let (mine, crash) = (rows(&text), rows(&r.output));
        assert!(crash.len() > 5, "{}", fx.name);
        assert_eq!(timers(&mine), timers(&crash), "{}", fx.name);
        let json = run(&s, "timer -r").unwrap().json();
        for cpu in json["cpus"].as_array().unwrap() {
            for clock in cpu["clocks"].as_array().unwrap() {
                let now = clock["now_ns"].as_i64().unwrap();
                for t in clock["timers"].as_array().unwrap() {
                    assert_eq!(
                        t["tte_ns"].as_i64().unwrap(),
                        t["expires_ns"].as_i64().unwrap() - now
                    );
                }
            }
        }
    }
}

/// `dev -p`: crash reads the PCI Express type bits of every device, so calls the conventional
/// PCI devices of these QEMU i440FX machines (host bridge 8086:1237, PIIX3 8086:7000/7010/7113,
/// legacy virtio 1af4:1001: none has a PCI Express capability) ENDPOINT; kdive leaves their
/// type empty. Without that word every line is crash's.
#[test]
fn pci_devices() {
    for (fx, files) in with_vmlinux("pci_devices") {
        let Some(r) = reference(&fx.dir, "dev-p") else {
            continue;
        };
        let s = Session::open_with(&files, &Default::default()).unwrap();
        let want: Vec<String> = normalized(&r.output)
            .into_iter()
            .map(|l| l.trim_end_matches("  ENDPOINT").to_string())
            .collect();
        assert_eq!(normalized(&answer(&s, "dev -p")), want, "{}", fx.name);
        let json = run(&s, "dev -p").unwrap().json();
        let devices = json["root_buses"][0]["devices"].as_array().unwrap();
        let listed = normalized(&r.output)
            .iter()
            .filter(|l| l.ends_with("  ENDPOINT"))
            .count();
        assert!(listed >= 4, "{}", fx.name);
        assert_eq!(devices.len(), listed, "{}", fx.name);
        for d in devices {
            let id = d["pci_id"].as_str().unwrap();
            assert!(
                [
                    "8086:1237",
                    "8086:7000",
                    "8086:7010",
                    "8086:7113",
                    "1af4:1001"
                ]
                .contains(&id),
                "{}: {id}",
                fx.name
            );
            assert!(d["pcie_type"].is_null(), "{}: {id}", fx.name);
        }
    }
}

/// `vm -P`, `vm -R` and `--json` of `vm -p` against crash's `vm -p` of the `sleep` task
/// (`095-vm-p-sleep-head.txt`): its first VMA and that VMA's page; `vm -f` against the
/// kernel's `VM_*` values (`include/linux/mm.h`).
#[test]
fn vm_pages_single_vma_and_references() {
    for (fx, files) in with_vmlinux("vm_pages_single_vma_and_references") {
        let Some((_, path)) = fx.crash_more(&[95]).into_iter().next() else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        // "crash> vm -p PID | head -40", the task line, the VM header and line, the VMA
        // header, the first VMA, "VIRTUAL  PHYSICAL", its one page
        let pid = lines[0].split_whitespace().nth(3).unwrap();
        let (task, vma_line, page_line) = (lines[1], lines[5], lines[7]);
        assert!(lines[6].starts_with("VIRTUAL"), "{}", fx.name);
        let vma = vma_line.split_whitespace().next().unwrap();
        let phys = page_line.split_whitespace().nth(1).unwrap();
        let s = Session::open_with(&files, &Default::default()).unwrap();

        let single = answer(&s, &format!("vm -P {vma} {pid}"));
        let want = [task, lines[4], vma_line, lines[6], page_line];
        assert_eq!(normalized(&single), want, "{}: vm -P", fx.name);
        assert_eq!(
            normalized(&answer(&s, &format!("vm -P 1234 {pid}"))),
            [task, "(not found)"],
            "{}",
            fx.name
        );

        // the physical address of that page finds the VMA and the page only
        let by_phys = normalized(&answer(&s, &format!("vm -R {phys} {pid}")));
        let want = [
            task, lines[2], lines[3], lines[4], vma_line, lines[6], page_line,
        ];
        assert_eq!(by_phys, want, "{}: vm -R", fx.name);

        let json = run(&s, &format!("vm -p {pid}")).unwrap().json();
        let first = &json["tasks"][0]["vmas"][0];
        assert_eq!(first["vma"], format!("0x{vma}"), "{}", fx.name);
        assert_eq!(first["pages"][0]["state"]["kind"], "mapped");
        assert_eq!(first["pages"][0]["state"]["physical"], format!("0x{phys}"));

        // VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC|VM_GROWSDOWN|VM_ACCOUNT: a stack
        assert_eq!(
            answer(&s, "vm -f 100173"),
            "100173: (READ|WRITE|MAYREAD|MAYWRITE|MAYEXEC|GROWSDOWN|ACCOUNT)\n",
            "{}",
            fx.name
        );
        // -v: each VMA's vm_area_struct (vm_start in an anonymous union on 6.12), the first
        // one's vm_start the first VMA's start
        let v = answer(&s, &format!("vm -v {pid}"));
        assert!(
            v.starts_with(&format!("{task}\nstruct vm_area_struct {{\n")),
            "{v}"
        );
        let start = v
            .lines()
            .find(|l| l.trim_start().starts_with("vm_start = "));
        let want = u64::from_str_radix(vma_line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(
            start.map(str::trim),
            Some(format!("vm_start = {want},").as_str())
        );
    }
}

/// `foreach ... ps` is one `ps` table of the chosen tasks (crash prints the header once);
/// `foreach ... task` each chosen task's `task_struct`, as `ps` and `task` of those tasks.
#[test]
fn foreach_ps_and_task() {
    for (fx, files) in with_vmlinux("foreach_ps_and_task").into_iter().take(2) {
        let s = Session::open_with(&files, &Default::default()).unwrap();
        let all = answer(&s, "foreach sleep ps");
        assert_eq!(all, answer(&s, "ps sleep"), "{}", fx.name);
        assert!(all.lines().count() > 2, "{}: {all}", fx.name);
        assert_eq!(
            answer(&s, "foreach 1 task -R comm"),
            answer(&s, "task -R comm 1"),
            "{}",
            fx.name
        );
        assert!(run(&s, "foreach nosuchcomm ps").is_err());
    }
}

/// `files -c`: a regular file's `i_mapping` is its inode's own `i_data` (`inode_init_always`),
/// and the page cache holds no page past its size (truncation drops them).
#[test]
fn files_c_page_cache_of_open_files() {
    for (fx, files) in with_vmlinux("files_c_page_cache_of_open_files") {
        let s = Session::open_with(&files, &Default::default()).unwrap();
        let prog = s.kernel().unwrap();
        let inode_ty = prog.type_("struct inode").unwrap();
        let i_data = kdive_program::object::offset_of(prog, inode_ty, "i_data").unwrap();
        let json = run(&s, "files -c 1").unwrap().json();
        let mut regular = 0;
        for f in json["tasks"][0]["files"].as_array().unwrap() {
            let hex =
                |v: &serde_json::Value| u64::from_str_radix(&v.as_str().unwrap()[2..], 16).unwrap();
            if f["type"] != "REG" {
                continue;
            }
            let inode = hex(&f["inode"]);
            let cache = &f["page_cache"];
            assert_eq!(hex(&cache["i_mapping"]), inode + i_data, "{}", fx.name);
            let size = prog
                .object("struct inode", inode)
                .and_then(|i| i.member("i_size")?.read_u64())
                .unwrap();
            assert!(
                cache["nrpages"].as_u64().unwrap() <= size.div_ceil(4096),
                "{}",
                fx.name
            );
            regular += 1;
        }
        assert!(regular > 0, "{}: init has no regular file open", fx.name);
        let text = answer(&s, "files -c 1");
        assert!(
            text.contains("\n FD      INODE          I_MAPPING     NRPAGES TYPE PATH\n"),
            "{text}"
        );
    }
}

/// `files -R REF` against crash's `files PID` of the `fdhog` task
/// (`reference/crash/17-files-fdhog-PID.txt`): crash's `open_file_reference` keeps the rows
/// whose descriptor (a decimal number up to `max_fds`), file, dentry or inode address (a
/// hexadecimal one), TYPE, or path component is the reference, after the task line and its
/// `ROOT:` line; a reference nothing refers to lists no task.
#[test]
fn files_r_keeps_the_rows_that_refer() {
    for (fx, files) in with_vmlinux("files_r_keeps_the_rows_that_refer") {
        let dir = fx.dir.join("reference/crash");
        let Some(path) = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("17-files-fdhog-")
            })
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        // "crash> files PID", the task line, ROOT, the header, one row per descriptor
        let pid = lines[0].split_whitespace().nth(2).unwrap();
        let rows: Vec<&str> = lines[4..]
            .iter()
            .copied()
            .filter(|l| !l.is_empty())
            .collect();
        let s = Session::open_with(&files, &Default::default()).unwrap();
        let expect = |keep: &dyn Fn(&[&str]) -> bool| -> Vec<String> {
            let mut want: Vec<String> = lines[1..4].iter().map(|l| l.to_string()).collect();
            want.extend(
                rows.iter()
                    .filter(|r| keep(&r.split_whitespace().collect::<Vec<_>>()))
                    .map(|r| r.to_string()),
            );
            want
        };
        let check = |reference: &str, keep: &dyn Fn(&[&str]) -> bool| {
            let got = normalized(&answer(&s, &format!("files -R {reference} {pid}")));
            let want = expect(keep);
            assert!(want.len() > 3, "{}: nothing refers to {reference}", fx.name);
            assert_eq!(got, want, "{}: files -R {reference}", fx.name);
        };
        // a pipe's row has no path
        let path = |w: &[&str]| w.get(5).copied().unwrap_or("").to_string();
        check("fdhog-01", &|w| path(w).contains("fdhog-01"));
        check("CHR", &|w| w[4] == "CHR");
        // the inode of descriptor 1 (the console), and the fd 7 or a path with a 7 in it
        let inode = rows[1].split_whitespace().nth(3).unwrap();
        check(inode, &|w| w[3] == inode);
        check("7", &|w| w[0] == "7" || path(w).contains('7'));
        assert_eq!(answer(&s, &format!("files -R nosuchfile {pid}")), "");
        let json = run(&s, &format!("files -R {inode} {pid}")).unwrap().json();
        assert_eq!(json["reference"], inode, "{}", fx.name);
        assert_eq!(json["tasks"][0]["files"][0]["inode"], format!("0x{inode}"));
    }
}

/// `net -s -R REF` against crash's `net -s PID` of the `fdhog` task (`070-net-s-fdhog.txt`):
/// crash's `sym_socket_dump` keeps a socket whose descriptor, `struct socket` or `sock` is the
/// reference, under the task line and the header; `-R` needs `-s` or `-S`.
#[test]
fn net_r_keeps_the_sockets_that_refer() {
    for (fx, files) in with_vmlinux("net_r_keeps_the_sockets_that_refer") {
        let Some((_, path)) = fx.crash_more(&[70]).into_iter().next() else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        // "crash> net -s PID", the task line, the header, one row per socket
        let pid = lines[0].split_whitespace().nth(3).unwrap();
        let rows: Vec<&str> = lines[3..]
            .iter()
            .copied()
            .filter(|l| !l.is_empty())
            .collect();
        assert!(!rows.is_empty(), "{}", fx.name);
        let s = Session::open_with(&files, &Default::default()).unwrap();
        for row in &rows {
            let words: Vec<&str> = row.split_whitespace().collect();
            let want = [lines[1], lines[2], row];
            // the descriptor (decimal), its struct socket and its sock
            for reference in &words[..3] {
                let got = normalized(&answer(&s, &format!("net -s -R {reference} {pid}")));
                assert_eq!(got, want, "{}: net -s -R {reference}", fx.name);
            }
        }
        assert_eq!(answer(&s, &format!("net -s -R nosuch {pid}")), "");
        assert!(run(&s, &format!("net -R 1 {pid}")).is_err());
        let sock = rows[0].split_whitespace().nth(2).unwrap();
        let json = run(&s, &format!("net -s -R {sock} {pid}")).unwrap().json();
        assert_eq!(json["options"]["reference"], sock, "{}", fx.name);
        assert_eq!(json["tasks"][0]["sockets"][0]["sock"], format!("0x{sock}"));
    }
}

/// `sig -R`: only the named signals' handler rows, each as crash prints it in its `sig 1`
/// (`reference/crash-more/*-sig-1.txt`), whatever way the signal is named.
#[test]
fn sig_r_keeps_the_named_signals() {
    for (fx, files) in with_vmlinux("sig_r_keeps_the_named_signals") {
        let Some(r) = reference(&fx.dir, "sig-1") else {
            continue;
        };
        let s = Session::open_with(&files, &Default::default()).unwrap();
        let rows = |text: &str| -> Vec<String> {
            normalized(text)
                .into_iter()
                .filter(|l| l.trim_start().starts_with('[') && l.contains(']'))
                .collect()
        };
        let want: Vec<String> = rows(&r.output)
            .into_iter()
            .filter(|l| ["[2]", "[9]", "[15]"].contains(&l.split_whitespace().next().unwrap()))
            .collect();
        assert_eq!(want.len(), 3, "{}", fx.name);
        let got = answer(&s, "sig -R int,SIGKILL,15 1");
        assert_eq!(rows(&got), want, "{}", fx.name);
        assert!(run(&s, "sig -R SIGNOPE 1").is_err(), "{}", fx.name);
    }
}
