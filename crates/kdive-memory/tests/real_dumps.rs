//! KernelMemory over the real dumps of the fixture corpus.

use std::path::Path;
use std::sync::Arc;

use kdive_dump::Dump;
use kdive_memory::{KernelMemory, ReadVirt};

/// `struct new_utsname` fields are `char[65]`; `struct uts_namespace` starts with `name` since 5.11.
const UTS_LEN: u64 = 65;
const UTS_SYSNAME: u64 = 0;
const UTS_RELEASE: u64 = 2 * UTS_LEN;

fn open(path: &Path) -> KernelMemory {
    let dump = Dump::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    KernelMemory::new(Arc::new(dump)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// sysname and release of `init_uts_ns`, read at `base`.
fn utsname(m: &KernelMemory, base: u64) -> (String, String) {
    let sysname = m
        .read_cstr(base + UTS_SYSNAME, UTS_LEN as usize)
        .unwrap_or_else(|e| panic!("sysname: {e}"));
    let release = m
        .read_cstr(base + UTS_RELEASE, UTS_LEN as usize)
        .unwrap_or_else(|e| panic!("release: {e}"));
    (sysname, release)
}

/// Reads `init_uts_ns` through the kernel image and through the direct map, and checks the
/// image fast path against the page-table walk.
fn check_dump(path: &Path, release: &str) {
    let m = open(path);
    let ctx = path.display();
    let info = m
        .dump()
        .vmcoreinfo()
        .unwrap_or_else(|| panic!("{ctx}: no VMCOREINFO"));
    assert_eq!(info.osrelease(), Some(release), "{ctx}");
    assert_eq!(m.paging_levels(), 4, "{ctx}");
    assert_eq!(m.kaslr_offset(), info.kernel_offset().unwrap_or(0), "{ctx}");

    let uts = info
        .symbol("init_uts_ns")
        .unwrap_or_else(|| panic!("{ctx}: no SYMBOL(init_uts_ns)"));
    assert_eq!(
        utsname(&m, uts),
        ("Linux".to_string(), release.to_string()),
        "{ctx}: via the kernel image"
    );

    for sym in ["init_uts_ns", "init_top_pgt", "swapper_pg_dir", "_stext"] {
        let Some(v) = info.symbol(sym) else { continue };
        let walked = m
            .mapping(v)
            .unwrap_or_else(|e| panic!("{ctx}: walk of {sym}: {e}"));
        assert_eq!(
            m.translate(v).unwrap(),
            walked.paddr,
            "{ctx}: {sym} fast path vs walk"
        );
    }

    let base = m
        .direct_map_base()
        .unwrap_or_else(|| panic!("{ctx}: direct map base not found"));
    assert_eq!(base % (1 << 30), 0, "{ctx}: {base:#x}");
    let uts_phys = m.translate(uts).unwrap();
    assert_eq!(m.translate(base + uts_phys).unwrap(), uts_phys, "{ctx}");
    assert_eq!(
        utsname(&m, base + uts_phys),
        ("Linux".to_string(), release.to_string()),
        "{ctx}: via the direct map"
    );
    let mut phys = [0u8; 5];
    m.read_phys(uts_phys, &mut phys).unwrap();
    assert_eq!(&phys, b"Linux", "{ctx}");

    // the walk of init_uts_ns ends at a leaf with the same physical address
    let w = m.walk(uts).unwrap();
    assert_eq!(w.mapping.map(|p| p.paddr), Some(uts_phys), "{ctx}");
    assert_eq!(w.steps.first().map(|s| s.level), Some("PML4"), "{ctx}");
}

#[test]
fn sysrq_61_utsname() {
    if kdive_testdata::corpus_or_skip("sysrq_61_utsname").is_none() {
        return;
    }
    let f = kdive_testdata::fixture("a-sysrq-6.1").expect("fixture a-sysrq-6.1");
    check_dump(&f.dir.join("vmcore"), "6.1.0-56-cloud-amd64");
}

#[test]
fn hung_task_612_utsname() {
    if kdive_testdata::corpus_or_skip("hung_task_612_utsname").is_none() {
        return;
    }
    let f = kdive_testdata::fixture("c-hung-task-6.12").expect("fixture c-hung-task-6.12");
    let path = f.dir.join("vmcore");
    check_dump(&path, "6.12.117+deb12-cloud-amd64");
    let m = open(&path);
    // 6.12 VMCOREINFO carries these; both are in the kernel half and translate
    let vmemmap = m.vmemmap_base().expect("SYMBOL(vmemmap)");
    let vmalloc = m.vmalloc_start().expect("NUMBER(VMALLOC_START)");
    assert!(
        vmemmap > vmalloc && vmalloc > m.direct_map_base().unwrap(),
        "{vmemmap:#x} {vmalloc:#x}"
    );
    // the struct page of init_uts_ns's frame is mapped in vmemmap
    let pfn = m
        .translate(
            m.dump()
                .vmcoreinfo()
                .unwrap()
                .symbol("init_uts_ns")
                .unwrap(),
        )
        .unwrap()
        >> 12;
    let page = vmemmap + pfn * m.dump().vmcoreinfo().unwrap().size("page").unwrap();
    m.read_u64(page)
        .unwrap_or_else(|e| panic!("struct page at {page:#x}: {e}"));
}

fn hex(v: &serde_json::Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

/// Checks addresses drgn reported for this crash: each task's `comm` lies in its `task_struct`
/// (direct map / slab), each caller's return address sits just below its stack pointer
/// (vmalloc'd stacks), and module regions are mapped (module space).
fn check_against_drgn(m: &KernelMemory, drgn: &serde_json::Value, ctx: &str) {
    const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;
    if let Some(err) = drgn["tasks"]["error"].as_str() {
        // drgn could not list tasks in this (deliberately damaged) dump: we must fail the same way
        let addr = err
            .split("Excluded page: ")
            .nth(1)
            .and_then(|a| u64::from_str_radix(a.trim().strip_prefix("0x")?, 16).ok());
        let addr = addr.unwrap_or_else(|| panic!("{ctx}: unexpected drgn error {err:?}"));
        let e = m.read_u64(addr).expect_err("drgn found this page excluded");
        assert!(e.is_missing_data_page(), "{ctx}: {e}");
        return;
    }
    let tasks = drgn["tasks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut returns = 0;
    let mut task_buf = vec![0u8; 16 << 10];
    for t in tasks {
        let (Some(task), Some(comm)) = (hex(&t["task"]), t["comm"].as_str()) else {
            continue;
        };
        // task_struct is ~10K; what follows it may be filtered out, so read up to the first gap
        let mut len = 0;
        while len < task_buf.len() {
            let n = (0x1000 - (task + len as u64) % 0x1000) as usize;
            let n = n.min(task_buf.len() - len);
            match m.read_virt(task + len as u64, &mut task_buf[len..len + n]) {
                Ok(()) => len += n,
                Err(e) if len > 0 && e.is_missing_data_page() => break,
                Err(e) => panic!("{ctx}: task {task:#x}: {e}"),
            }
        }
        let want = [comm.as_bytes(), b"\0"].concat();
        assert!(
            task_buf[..len].windows(want.len()).any(|w| w == want),
            "{ctx}: comm {comm:?} not in task {task:#x}"
        );
        let frames = t["stack"].as_array().map(Vec::as_slice).unwrap_or_default();
        for pair in frames.windows(2) {
            let (Some(sp0), Some(sp1), Some(pc1)) = (
                hex(&pair[0]["sp"]),
                hex(&pair[1]["sp"]),
                hex(&pair[1]["pc"]),
            ) else {
                continue;
            };
            if sp1 == sp0 || sp0 < KERNEL_HALF || pc1 < KERNEL_HALF {
                continue; // an inlined frame, or a user-mode one
            }
            let got = m
                .read_u64(sp1 - 8)
                .unwrap_or_else(|e| panic!("{ctx}: stack of task {task:#x}: {e}"));
            assert_eq!(
                got,
                pc1,
                "{ctx}: return address at {:#x} (task {task:#x})",
                sp1 - 8
            );
            returns += 1;
        }
    }
    let modules = drgn["modules"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for region in modules.iter().flat_map(|md| {
        md["regions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }) {
        let Some(base) = hex(&region[0]) else {
            continue;
        };
        m.read_u64(base)
            .unwrap_or_else(|e| panic!("{ctx}: module region {base:#x}: {e}"));
    }
    assert!(
        tasks.len() > 10 && returns > 50,
        "{ctx}: only {} tasks, {returns} return addresses",
        tasks.len()
    );
}

/// Every dump file of every fixture (all containers and compressions): utsname, direct map, and
/// the addresses drgn reported for the same crash.
#[test]
fn every_dump_translates_like_drgn() {
    if kdive_testdata::corpus_or_skip("every_dump_translates_like_drgn").is_none() {
        return;
    }
    let mut checked = 0;
    for f in kdive_testdata::fixtures() {
        for path in f.dumps() {
            let dump = Dump::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let release = dump
                .vmcoreinfo()
                .and_then(|i| i.osrelease())
                .unwrap_or_else(|| panic!("{}: no OSRELEASE", path.display()))
                .to_string();
            drop(dump);
            check_dump(&path, &release);
            // dumps other than the reference one may have their own drgn output
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let own = f.dir.join(format!("reference/extra-{name}/drgn.json"));
            let drgn = match std::fs::read(&own) {
                Ok(b) => {
                    serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{}: {e}", own.display()))
                }
                Err(_) => f.drgn(),
            };
            check_against_drgn(&open(&path), &drgn, &path.display().to_string());
            eprintln!("checked {}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} dumps found");
}
