//! `mod`, `sym`, `runq`, `mount`, `files` and `vm` on every fixture against crash's outputs (`09-mod.txt`, `NN-sym-*.txt`,
//! `10-runq.txt`, `11-mount.txt`; mounts also against drgn).

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};
use serde_json::Value;

mod common;

/// crash's output lines after its `crash> ...` echo.
fn body(reference: &str) -> Vec<String> {
    reference.lines().skip(1).map(str::to_string).collect()
}

/// crash's reference outputs of a fixture whose file name contains `infix` (`-files-`): the
/// command and the whole output, in file order.
fn crash_refs(fx: &kdive_testdata::Fixture, infix: &str) -> Vec<(String, String)> {
    let dir = fx.dir.join("reference/crash");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(infix))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let reference = std::fs::read_to_string(dir.join(&n)).unwrap();
            let cmd = reference
                .lines()
                .next()
                .unwrap()
                .trim_start_matches("crash> ")
                .to_string();
            (cmd, reference)
        })
        .collect()
}

/// The object-file column reduced to the file's name (crash's paths name its own machine).
fn object_names(line: &str) -> String {
    match line.rfind('/') {
        Some(i) if line.contains(".ko") => {
            let start = line[..i].rfind("  ").map_or(0, |s| s + 2);
            format!("{}{}", &line[..start], line[i + 1..].trim_end())
        }
        _ => line.trim_end().to_string(),
    }
}

#[test]
fn mod_matches_crash() {
    if corpus_or_skip("mod_matches_crash").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let Some(want) = fx.crash_ref("mod") else {
            continue;
        };
        let s = Session::open(&fx.reference_dump()).unwrap();
        // crash was given the fixture's module files: so is kdive
        for e in std::fs::read_dir(&fx.dir).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "ko") {
                s.attach_module_debug(&e.path()).unwrap();
            }
        }
        let got: Vec<String> = run(&s, "mod")
            .unwrap()
            .text()
            .lines()
            .map(object_names)
            .collect();
        let want: Vec<String> = body(&want).iter().map(|l| object_names(l)).collect();
        assert_eq!(got, want, "{}", fx.name);
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} fixtures have a mod reference");
}

#[test]
fn sym_matches_crash() {
    if corpus_or_skip("sym_matches_crash").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let vmlinux = fx.vmlinux();
        if let Some(v) = &vmlinux {
            s.attach_vmlinux(v).unwrap();
        }
        for (cmd, reference) in crash_refs(&fx, "-sym-") {
            let got = run(&s, &cmd).unwrap().text();
            if cmd.starts_with("sym -m") {
                // a module's listing: every line, in crash's order. crash capitalises the
                // letter of a global symbol (`(D) __this_module`); kdive shows the letter the
                // kernel keeps in the module's typetab, so letters compare without case
                let want: Vec<String> = body(&reference)
                    .iter()
                    .map(|l| l.trim_end().to_ascii_lowercase())
                    .collect();
                let ours: Vec<String> = got.lines().map(str::to_ascii_lowercase).collect();
                assert_eq!(ours, want, "{}: {cmd}", fx.name);
                checked += want.len();
                continue;
            }
            for (g, w) in got.lines().zip(body(&reference)) {
                if vmlinux.is_some() {
                    assert_eq!(g, w.trim_end(), "{}: {cmd}", fx.name);
                } else {
                    // without DWARF: no source line, the rest the same
                    assert!(w.starts_with(g), "{}: {cmd}: {g:?} vs {w:?}", fx.name);
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} sym lines compared");
}

#[test]
fn runq_matches_crash() {
    if corpus_or_skip("runq_matches_crash").is_none() {
        return;
    }
    let checked = common::each_crash_reference("runq", "runq", |_, _, _| {});
    assert!(
        checked >= 3,
        "only {checked} fixtures have a runq reference"
    );
}

#[test]
fn mount_matches_crash_and_drgn() {
    if corpus_or_skip("mount_matches_crash_and_drgn").is_none() {
        return;
    }
    let checked = common::each_crash_reference("mount", "mount", |fx, _, got| {
        // drgn's for_each_mount over the initial namespace: the same mounts, in the same order
        let drgn = fx.drgn();
        let ours: Vec<(String, String, String)> = got.json()["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let f = |k: &str| m[k].as_str().unwrap().to_string();
                (f("devname"), f("fstype"), f("dirname"))
            })
            .collect();
        let theirs: Vec<(String, String, String)> = drgn["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let f = |k: &str| m[k].as_str().unwrap().to_string();
                (f("devname"), f("fstype"), f("mountpoint"))
            })
            .collect();
        assert_eq!(ours, theirs, "{}", fx.name);
    });
    assert!(
        checked >= 3,
        "only {checked} fixtures have a mount reference"
    );
}

#[test]
fn files_match_crash_and_drgn() {
    if corpus_or_skip("files_match_crash_and_drgn").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let drgn = fx.drgn();
        for (cmd, reference) in crash_refs(&fx, "-files-") {
            let got = run(&s, &cmd).unwrap();
            // kdive adds the pseudo filesystem of pipes and sockets after crash's text
            let text = got
                .text()
                .replace(" [pipefs]", " ")
                .replace(" [sockfs]", "");
            let want: Vec<String> = body(&reference)
                .iter()
                .map(|l| l.trim_end().to_string())
                .collect();
            let ours: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
            assert_eq!(ours, want, "{}: {cmd}", fx.name);
            // every path drgn gives is on the same fd's line
            let pid: i64 = cmd.rsplit(' ').next().unwrap().parse().unwrap();
            let task = drgn["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["pid"].as_i64() == Some(pid));
            let full = got.text();
            for f in task
                .and_then(|t| t["files"].as_array())
                .into_iter()
                .flatten()
            {
                let (Some(fd), Some(path)) = (f["fd"].as_u64(), f["path"].as_str()) else {
                    continue;
                };
                let hit = full.lines().any(|l| {
                    l.split_whitespace().next() == Some(&fd.to_string()) && l.contains(path)
                });
                assert!(hit, "{}: {cmd}: fd {fd} {path}", fx.name);
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "only {checked} drgn file paths compared");
}

#[test]
fn vm_matches_crash_and_drgn() {
    if corpus_or_skip("vm_matches_crash_and_drgn").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let drgn = fx.drgn();
        for (cmd, reference) in crash_refs(&fx, "-vm-") {
            let got = run(&s, &cmd).unwrap();
            assert_eq!(
                got.text().lines().collect::<Vec<_>>(),
                body(&reference),
                "{}: {cmd}",
                fx.name
            );
            // drgn's VMAs: the same ranges, flags and files
            let pid: i64 = cmd.rsplit(' ').next().unwrap().parse().unwrap();
            let task = drgn["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["pid"].as_i64() == Some(pid));
            let ours = got.json();
            let ours = ours["tasks"][0]["vmas"].as_array().unwrap();
            for (i, v) in task
                .and_then(|t| t["vmas"].as_array())
                .into_iter()
                .flatten()
                .enumerate()
            {
                let o = &ours[i];
                let hex = |x: &Value| {
                    u64::from_str_radix(x.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
                };
                assert_eq!(
                    (
                        Some(hex(&o["start"])),
                        Some(hex(&o["end"])),
                        Some(hex(&o["flags"]))
                    ),
                    (
                        Some(hex(&v["start"])),
                        Some(hex(&v["end"])),
                        Some(hex(&v["flags"]))
                    ),
                    "{}: {cmd}",
                    fx.name
                );
                assert_eq!(o["file"].as_str(), v["file"].as_str(), "{}: {cmd}", fx.name);
                checked += 1;
            }
        }
    }
    assert!(checked >= 50, "only {checked} drgn VMAs compared");
}

/// The user tasks drgn lists, by PID.
fn drgn_user_tasks(drgn: &Value) -> std::collections::BTreeMap<i64, &Value> {
    drgn["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kthread"] == Value::Bool(false))
        .map(|t| (t["pid"].as_i64().unwrap(), t))
        .collect()
}

#[test]
fn foreach_user_files_and_vm_equal_drgn_for_every_user_task() {
    if corpus_or_skip("foreach_user_files_and_vm_equal_drgn_for_every_user_task").is_none() {
        return;
    }
    let mut tasks = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let drgn = fx.drgn();
        let want = drgn_user_tasks(&drgn);
        let files = run(&s, "foreach user files").unwrap().json();
        let vm = run(&s, "foreach user vm").unwrap().json();
        for (report, key) in [(&files, "files"), (&vm, "vmas")] {
            let got = report["tasks"].as_array().unwrap();
            let pids: Vec<i64> = got.iter().map(|t| t["pid"].as_i64().unwrap()).collect();
            assert_eq!(
                pids,
                want.keys().copied().collect::<Vec<_>>(),
                "{}: foreach user {key}",
                fx.name
            );
            for t in got {
                let d = want[&t["pid"].as_i64().unwrap()];
                let project = |rows: &Value, fields: &[&str]| -> Vec<Vec<String>> {
                    rows.as_array()
                        .into_iter()
                        .flatten()
                        // drgn also lists a descriptor reserved but not installed yet (no
                        // file), which crash and kdive leave out
                        .filter(|r| !r["file"].is_null() || key == "vmas")
                        .map(|r| fields.iter().map(|f| r[*f].to_string()).collect())
                        .collect()
                };
                let fields: &[&str] = if key == "files" {
                    &["fd", "file", "path"]
                } else {
                    &["start", "end", "flags", "file"]
                };
                assert_eq!(
                    project(&t[key], fields),
                    project(&d[key], fields),
                    "{}: pid {} {key}",
                    fx.name,
                    t["pid"]
                );
                tasks += 1;
            }
        }
    }
    assert!(tasks >= 60, "only {tasks} task listings compared");
}

/// `mount -n 1`: PID 1 lives in the initial mount namespace on every fixture, so its mounts are
/// `mount`'s (crash's reference) and the JSON names the task.
#[test]
fn mount_n_of_pid_1_is_the_initial_namespace() {
    if corpus_or_skip("mount_n_of_pid_1_is_the_initial_namespace").is_none() {
        return;
    }
    let checked = common::each_crash_reference("mount", "mount -n 1", |fx, s, got| {
        let init = fx.drgn()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["pid"] == 1)
            .unwrap()["task"]
            .clone();
        assert_eq!(got.json()["task"], init, "{}", fx.name);
        assert!(run(s, "mount -n 99999").is_err(), "{}", fx.name);
    });
    assert!(
        checked >= 3,
        "only {checked} fixtures have a mount reference"
    );
}

/// `runq -d`: every task queued on a CPU's runqueue (`runq`'s current, RT and CFS tasks) has
/// `on_rq` set, so it is listed under that CPU; and every task listed is runnable by drgn's
/// state (the kernel sets `on_rq` on enqueue and clears it when a task sleeps).
#[test]
fn runq_d_lists_the_queued_tasks() {
    if corpus_or_skip("runq_d_lists_the_queued_tasks").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let d = run(&s, "runq -d").unwrap().json();
        let q = run(&s, "runq").unwrap().json();
        let drgn = fx.drgn();
        let listed = |cpu: &Value| -> Vec<Value> {
            d["cpus"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["cpu"] == *cpu)
                .unwrap_or_else(|| panic!("{}: runq -d has no CPU {cpu}", fx.name))["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["task"].clone())
                .collect()
        };
        for c in q["cpus"].as_array().unwrap() {
            let on = listed(&c["cpu"]);
            let queued = std::iter::once(&c["current"])
                .chain(c["rt"].as_array().unwrap())
                .chain(c["cfs"].as_array().unwrap());
            for t in queued {
                assert!(
                    on.contains(&t["task"]),
                    "{}: CPU {}: {} is queued but not listed",
                    fx.name,
                    c["cpu"],
                    t["task"]
                );
            }
        }
        for c in d["cpus"].as_array().unwrap() {
            for t in c["tasks"].as_array().unwrap() {
                let Some(dt) = drgn["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["task"] == t["task"])
                else {
                    continue;
                };
                assert_eq!(dt["state"], "R", "{}: {t}", fx.name);
                assert_eq!(dt["cpu"], c["cpu"], "{}: {t}", fx.name);
            }
        }
    }
}

/// `files -p INODE`: the pages of each open regular file of PID 1 whose page cache holds
/// pages: NRPAGES is `files -c`'s `i_mapping->nrpages`, one page row per page, each mapped by
/// that `i_mapping`, at increasing indices; and the text is made from the JSON.
#[test]
fn files_p_lists_an_inodes_page_cache() {
    if corpus_or_skip("files_p_lists_an_inodes_page_cache").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let files = run(&s, "files -c 1").unwrap().json();
        for f in files["tasks"][0]["files"].as_array().unwrap() {
            let cache = &f["page_cache"];
            let Some(nrpages) = cache["nrpages"].as_u64() else {
                continue;
            };
            let inode = f["inode"].as_str().unwrap();
            let r = run(&s, &format!("files -p {inode}")).unwrap();
            let j = r.json();
            assert_eq!(j["nrpages"].as_u64(), Some(nrpages), "{}", fx.name);
            assert_eq!(j["i_mapping"], cache["i_mapping"], "{}", fx.name);
            let pages = j["pages"].as_array().unwrap();
            assert_eq!(pages.len() as u64, nrpages, "{}: {inode}", fx.name);
            let mut last = None;
            for p in pages {
                assert_eq!(p["mapping"], cache["i_mapping"], "{}", fx.name);
                let index = p["index"].as_u64().unwrap();
                assert!(last < Some(index), "{}: {inode}", fx.name);
                last = Some(index);
            }
            let text = r.text();
            let head = format!("{:0>16}  {nrpages:>7}", inode.trim_start_matches("0x"));
            assert_eq!(text.lines().nth(1), Some(head.as_str()), "{}", fx.name);
            let back: kdive_commands::files::InodePages = serde_json::from_value(j).unwrap();
            let back: Box<dyn kdive_commands::Report> = Box::new(back);
            assert_eq!(back.text(), text, "{}", fx.name);
            checked += usize::from(nrpages > 0);
        }
    }
    assert!(checked >= 3, "only {checked} inodes with pages");
}

/// `set -v`: the dump's file, and the context `set` moved to.
#[test]
fn set_v_shows_the_session() {
    if corpus_or_skip("set_v_shows_the_session").is_none() {
        return;
    }
    let fx = fixtures().into_iter().next().unwrap();
    let dump = fx.reference_dump();
    let s = Session::open(&dump).unwrap();
    let v = run(&s, "set -v").unwrap();
    assert_eq!(v.json()["dumpfile"][0], dump.display().to_string());
    assert!(v.json()["context"].is_null());
    assert!(v
        .text()
        .contains(&format!("      dumpfile: {}\n", dump.display())));
    run(&s, "set 1").unwrap();
    let init = fx.drgn()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == 1)
        .unwrap()["task"]
        .clone();
    assert_eq!(run(&s, "set -v").unwrap().json()["context"], init);
}

/// `log -s`: none of the fixtures' kernels (6.1, 6.12) has `struct printk_safe_seq_buf` (gone
/// since 5.15), and `log -s` says so rather than printing nothing.
#[test]
fn log_s_says_the_kernel_has_no_safe_buffers() {
    if corpus_or_skip("log_s_says_the_kernel_has_no_safe_buffers").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        assert!(s
            .kernel()
            .unwrap()
            .type_("struct printk_safe_seq_buf")
            .is_err());
        let r = run(&s, "log -s").unwrap();
        assert!(r.json()["buffers"].is_null(), "{}", fx.name);
        assert!(r.text().contains("no printk safe buffers"), "{}", fx.name);
    }
}

/// `mount -f`: the open files under each mount are drgn's open files of every task that have a
/// path, each under the mount whose directory is the longest prefix of its path (the
/// filesystem it lives on), and each once; mounts keep crash's order and columns.
#[test]
fn mount_f_lists_every_open_file_under_its_filesystem() {
    if corpus_or_skip("mount_f_lists_every_open_file_under_its_filesystem").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let r = run(&s, "mount -f").unwrap();
        let j = r.json();
        let mounts = j["mounts"].as_array().unwrap();
        let mut ours: Vec<(String, String)> = Vec::new();
        for m in mounts {
            let dir = m["dirname"].as_str().unwrap().to_string();
            for f in m["open_files"].as_array().unwrap() {
                ours.push((dir.clone(), f["path"].as_str().unwrap().to_string()));
            }
        }
        // the same superblock mounted twice lists its files twice; drgn's view is per path
        ours.sort();
        ours.dedup();
        let dirs: Vec<&str> = mounts
            .iter()
            .map(|m| m["dirname"].as_str().unwrap())
            .collect();
        let under = |path: &str| -> String {
            dirs.iter()
                .filter(|d| **d == "/" || path == **d || path.starts_with(&format!("{d}/")))
                .max_by_key(|d| d.len())
                .unwrap()
                .to_string()
        };
        let mut theirs: Vec<(String, String)> = fx.drgn()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["files"].as_array().cloned().unwrap_or_default())
            .filter_map(|f| f["path"].as_str().map(str::to_string))
            .filter(|p| p.starts_with('/'))
            .map(|p| (under(&p), p))
            .collect();
        theirs.sort();
        theirs.dedup();
        assert!(!theirs.is_empty(), "{}", fx.name);
        assert_eq!(ours, theirs, "{}", fx.name);
        let text = r.text();
        assert!(text.contains("   OPEN FILES   \n     DENTRY            INODE        TYPE  PATH\n"));
        assert_eq!(
            text.matches("     MOUNT           SUPERBLK").count(),
            mounts.len(),
            "{}: a header per mount",
            fx.name
        );
    }
}

/// `mount -i`: a dirty-inode list for every mount, each inode of that mount's superblock. (drgn
/// walking every `backing_dev_info`'s writeback lists finds no dirty inode in these dumps:
/// their filesystems are in memory, without writeback.)
#[test]
fn mount_i_lists_each_superblocks_dirty_inodes() {
    if corpus_or_skip("mount_i_lists_each_superblocks_dirty_inodes").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let r = run(&s, "mount -i").unwrap();
        let j = r.json();
        assert_eq!(j["problems"], serde_json::json!([]), "{}", fx.name);
        let prog = s.kernel().unwrap();
        let mut empty = 0;
        for m in j["mounts"].as_array().unwrap() {
            let dirty = m["dirty_inodes"].as_array().unwrap();
            empty += usize::from(dirty.is_empty());
            for i in dirty {
                let addr = u64::from_str_radix(&i.as_str().unwrap()[2..], 16).unwrap();
                let sb = prog
                    .object("struct inode", addr)
                    .unwrap()
                    .member("i_sb")
                    .unwrap()
                    .read_u64()
                    .unwrap();
                assert_eq!(format!("{sb:#x}"), m["superblock"], "{}", fx.name);
            }
        }
        assert_eq!(
            r.text()
                .matches("DIRTY INODES\nNo dirty inodes found\n")
                .count(),
            empty,
            "{}",
            fx.name
        );
    }
}
