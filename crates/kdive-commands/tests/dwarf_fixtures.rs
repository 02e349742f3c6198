//! `bt -l` with the fixture kernels' vmlinux (DWARF) against drgn's source locations, and the
//! refusal of a vmlinux of another build. Needs the vmlinux files (`tools/fetch-vmlinux`);
//! skipped without them unless `KDIVE_REQUIRE_VMLINUX=1`.

use std::collections::HashSet;

use kdive_commands::{run, Session};
use kdive_testdata::with_vmlinux;
use serde_json::Value;

/// drgn's source location as a (path, line) we can compare: relative paths as given, absolute
/// ones from the kernel tree's root on.
fn drgn_source(s: &str) -> Option<(String, u32)> {
    let (path, line) = s.rsplit_once(':')?;
    Some((path.to_string(), line.parse().ok()?))
}

/// The pcs of `bt` frames (JSON) in module code, which has no source without module debug files.
fn module_pcs(tasks: &Value) -> HashSet<String> {
    let mut out = HashSet::new();
    for t in tasks.as_array().into_iter().flatten() {
        for f in t["frames"].as_array().into_iter().flatten() {
            if f["module"].is_string() {
                out.insert(f["pc"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    out
}

fn same_file(ours: &str, drgn: &str) -> bool {
    ours == drgn || ours.ends_with(&format!("/{drgn}"))
}

#[test]
fn bt_l_agrees_with_drgn_on_every_task() {
    for (fx, vmlinux) in with_vmlinux("bt_l_agrees_with_drgn_on_every_task") {
        let dump = fx.reference_dump();
        let s = Session::open(&dump).unwrap();
        s.attach_vmlinux(&vmlinux)
            .unwrap_or_else(|e| panic!("{}: {e}", fx.name));
        let bt = run(&s, "foreach bt -l").unwrap().json();
        let in_modules = module_pcs(&bt["tasks"]);
        let drgn = fx.drgn();
        let (mut checked, mut missing) = (0, Vec::new());
        for task in drgn["tasks"].as_array().unwrap() {
            let Some(stack) = task["stack"].as_array() else {
                continue;
            };
            let pid = task["pid"].as_i64().unwrap();
            let Some(ours) = bt["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["pid"].as_i64() == Some(pid) && t["task"] == task["task"])
            else {
                continue;
            };
            let mut have: HashSet<(String, u32)> = HashSet::new();
            for f in ours["frames"].as_array().unwrap() {
                for src in f["source"].as_array().into_iter().flatten() {
                    if let (Some(file), Some(line)) = (src["file"].as_str(), src["line"].as_u64()) {
                        have.insert((file.to_string(), line as u32));
                    }
                }
            }
            for f in stack {
                let Some((path, line)) = f["source"].as_str().and_then(drgn_source) else {
                    continue;
                };
                if in_modules.contains(f["pc"].as_str().unwrap_or_default()) {
                    continue;
                }
                checked += 1;
                if !have.iter().any(|(p, l)| *l == line && same_file(p, &path)) {
                    missing.push(format!("pid {pid} {}: {path}:{line}", f["function"]));
                }
            }
        }
        assert!(
            checked > 100,
            "{}: only {checked} source locations compared",
            fx.name
        );
        assert!(
            missing.is_empty(),
            "{}: {} of {checked} drgn source locations not in bt -l:\n{}",
            fx.name,
            missing.len(),
            missing.join("\n")
        );
        eprintln!(
            "{}: {checked} source locations, {} differ",
            fx.name,
            missing.len()
        );
    }
}

#[test]
fn panic_task_lines_match_drgn_exactly() {
    for (fx, vmlinux) in with_vmlinux("panic_task_lines_match_drgn_exactly") {
        let dump = fx.reference_dump();
        let s = Session::open(&dump).unwrap();
        s.attach_vmlinux(&vmlinux).unwrap();
        let out = run(&s, "bt -l").unwrap().text();
        let in_modules = module_pcs(&run(&s, "bt").unwrap().json()["tasks"]);
        let drgn = fx.drgn();
        // a dump taken without a panic (QEMU) has no panic task
        let Some(tid) = drgn["crashed_thread"]["tid"].as_i64() else {
            continue;
        };
        let task = drgn["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["pid"].as_i64() == Some(tid))
            .unwrap();
        for f in task["stack"].as_array().unwrap() {
            let Some((path, line)) = f["source"].as_str().and_then(drgn_source) else {
                continue;
            };
            if in_modules.contains(f["pc"].as_str().unwrap_or_default()) {
                continue;
            }
            assert!(
                out.contains(&format!("{path}: {line}")),
                "{}: {path}: {line} not in\n{out}",
                fx.name
            );
        }
    }
}

#[test]
fn vmlinux_of_another_build_is_refused() {
    let all = with_vmlinux("vmlinux_of_another_build_is_refused");
    let Some((a, _)) = all.first() else { return };
    let Some((_, other)) = all.iter().find(|(f, _)| f.release() != a.release()) else {
        eprintln!("vmlinux_of_another_build_is_refused: skipped, one kernel only");
        return;
    };
    let s = Session::open(&a.reference_dump()).unwrap();
    let e = s.attach_vmlinux(other).unwrap_err().to_string();
    assert!(e.contains("build-id"), "{e}");
    // nothing was attached: -l still says DWARF is missing
    let bt = run(&s, "bt -l").unwrap().text();
    assert!(bt.contains("need DWARF"), "{bt}");
}

#[test]
fn module_lines_from_ko_next_to_the_dump() {
    let mut checked = 0;
    for (fx, vmlinux) in with_vmlinux("module_lines_from_ko_next_to_the_dump") {
        let dump = fx.reference_dump();
        let s = Session::open(&dump).unwrap();
        s.attach_vmlinux(&vmlinux).unwrap();
        // the reference dump may live in the cache: look next to the fixture's own files
        let kos: Vec<_> = std::fs::read_dir(&fx.dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "ko"))
            .collect();
        let mut attached = Vec::new();
        for ko in &kos {
            match s.attach_module_debug(ko) {
                Ok(name) => attached.push(name),
                // a module built for the fixture but not loaded when the dump was taken
                Err(e) => assert!(e.to_string().contains("not loaded"), "{}: {e}", fx.name),
            }
        }
        let bt = run(&s, "foreach bt -l").unwrap().json();
        let drgn = fx.drgn();
        for task in drgn["tasks"].as_array().unwrap() {
            let Some(stack) = task["stack"].as_array() else {
                continue;
            };
            let ours = bt["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["task"] == task["task"]);
            let Some(ours) = ours else { continue };
            for f in stack {
                let Some((path, line)) = f["source"].as_str().and_then(drgn_source) else {
                    continue;
                };
                let Some(frame) = ours["frames"].as_array().unwrap().iter().find(|o| {
                    o["pc"] == f["pc"]
                        && o["module"]
                            .as_str()
                            .is_some_and(|m| attached.iter().any(|a| a == m))
                }) else {
                    continue;
                };
                // module paths depend on how the module was built: compare the file name
                let base = path.rsplit('/').next().unwrap();
                let found = frame["source"].as_array().into_iter().flatten().any(|src| {
                    src["line"].as_u64() == Some(u64::from(line))
                        && src["file"]
                            .as_str()
                            .is_some_and(|p| p.ends_with(&format!("/{base}")))
                });
                assert!(found, "{}: {path}:{line} not in {frame}", fx.name);
                checked += 1;
            }
        }
    }
    // the null-pointer fixtures oops inside their module: drgn names the module's lines
    let oops_in_module =
        kdive_testdata::fixture("b2-null-module-6.1").is_some_and(|f| f.vmlinux().is_some());
    assert!(
        checked > 0 || !oops_in_module,
        "no module source line compared"
    );
    eprintln!(
        "module_lines_from_ko_next_to_the_dump: {checked} module source lines agree with drgn"
    );
}

#[test]
fn module_file_of_a_module_not_loaded_is_refused() {
    let all = with_vmlinux("module_file_of_a_module_not_loaded_is_refused");
    let Some((hung, _)) = all.iter().find(|(f, _)| f.dir.join("hung.ko").exists()) else {
        return;
    };
    let Some((other, _)) = all
        .iter()
        .find(|(f, _)| f.dir.join("null-pointer.ko").exists())
    else {
        return;
    };
    let s = Session::open(&hung.reference_dump()).unwrap();
    let e = s
        .attach_module_debug(&other.dir.join("null-pointer.ko"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not loaded"), "{e}");
    // (hung.ko beside the dump is attached when the dump is opened; null-pointer.ko never is)
    assert!(s
        .kernel()
        .unwrap()
        .module_debug()
        .iter()
        .all(|d| d.name() != "null_pointer"));
}
