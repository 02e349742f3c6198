//! The corruption suite: damaged copies of every fixture dump (truncated, bit-flipped, pages
//! made unreadable or lost, page tables and lists corrupted) go through the library as a user's
//! session would (`Session::open`, then `sys` and `log`). For each: no panic, bounded time and
//! memory, an error that names the place, and every answer that is still readable still given.
//! Copies are written to a scratch directory (tmpfs), never to the repository.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kdive_commands::Session;
use kdive_dump::{Dump, PageState};
use kdive_testdata::bytes::put_u64;
use kdive_testdata::elf::ElfLayout;
use kdive_testdata::kdump::layout::{
    patch_page, KdumpLayout, DESC_SIZE, MAIN64, STATUS_INCOMPLETE, SUB64,
};
use kdive_testdata::temp::Scratch;
use kdive_testdata::Fixture;

/// Per damaged dump: open, count page states, run the commands.
const TIME_LIMIT: Duration = Duration::from_secs(30);
/// Peak resident memory of one test process.
const RSS_LIMIT_KB: u64 = 2 << 20;

/// What a session on a (damaged) dump gave.
struct Probe {
    open: Result<Session, String>,
    /// Page-state counts over `0..max_pfn`: present, excluded, not RAM, lost.
    states: [u64; 4],
    /// Per command: its text, or its error.
    out: Vec<Result<String, String>>,
}

impl Probe {
    fn run(path: &Path, cmds: &[&str]) -> Probe {
        let start = Instant::now();
        let open = Session::open(path).map_err(|e| e.to_string());
        let states = open.as_ref().map_or([0; 4], |s| page_states(s.dump()));
        let out = match &open {
            Ok(s) => cmds
                .iter()
                .map(|c| {
                    kdive_commands::run(s, c)
                        .map(|r| r.text())
                        .map_err(|e| e.to_string())
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let took = start.elapsed();
        assert!(took < TIME_LIMIT, "{}: took {took:?}", path.display());
        Probe { open, states, out }
    }

    fn sys(&self) -> Option<&str> {
        self.out.first()?.as_deref().ok()
    }

    /// Every line of every answer and error, for error-text checks.
    fn all_text(&self) -> String {
        let mut t = self.open.as_ref().err().cloned().unwrap_or_default();
        for o in &self.out {
            t += match o {
                Ok(s) | Err(s) => s,
            };
            t += "\n";
        }
        t
    }
}

fn page_states(d: &Dump) -> [u64; 4] {
    let mut n = [0u64; 4];
    for pfn in 0..d.meta().max_pfn.min(1 << 24) {
        let i = match d.format().page_state(pfn) {
            PageState::Present => 0,
            PageState::Excluded => 1,
            PageState::NotRam => 2,
            PageState::Lost => 3,
        };
        n[i] += 1;
    }
    n
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn check_memory() {
    let kb = peak_rss_kb();
    assert!(kb < RSS_LIMIT_KB, "peak RSS {kb} KiB");
}

/// Every fixture dump of a kind, by magic: `(fixture/file name, path)`.
fn dumps(kind: &[u8]) -> Vec<(String, PathBuf)> {
    let Some(_) = kdive_testdata::corpus_or_skip("corruption") else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for f in kdive_testdata::fixtures() {
        for p in f.dumps() {
            let mut magic = [0u8; 12];
            if std::fs::File::open(&p)
                .and_then(|mut h| std::io::Read::read_exact(&mut h, &mut magic))
                .is_ok()
                && magic.starts_with(kind)
            {
                let file = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                v.push((format!("{}/{file}", f.name), p));
            }
        }
    }
    v
}

fn fixture_dump(fixture: &str, file: &str) -> Option<PathBuf> {
    kdive_testdata::corpus_or_skip("corruption")?;
    let f: Fixture = kdive_testdata::fixture(fixture)?;
    Some(f.materialize(file))
}

/// The error of a damaged dump that did not open must say which part is bad.
fn assert_names_place(what: &str, err: &str, places: &[&str]) {
    assert!(
        places.iter().any(|p| err.contains(p)),
        "{what}: error does not name the place ({places:?}): {err}"
    );
}

/// A truncated copy opens with its header intact: pages past the cut are lost, no dumped page
/// became anything else, the dump says it is incomplete, and the commands still answer or fail
/// with an error, quickly.
fn check_truncated(name: &str, full: &Probe, cut: &Probe, at: usize) {
    let what = format!("{name} cut at {at:#x}");
    let Ok(s) = &cut.open else { return };
    assert!(s.dump().meta().incomplete, "{what}: not marked incomplete");
    let [present, excluded, not_ram, lost] = cut.states;
    assert_eq!(
        present + lost,
        full.states[0] + full.states[3],
        "{what}: dumped pages changed state: {:?} -> {:?}",
        full.states,
        cut.states
    );
    assert_eq!(
        (excluded, not_ram),
        (full.states[1], full.states[2]),
        "{what}"
    );
    assert!(lost > 0, "{what}: no page lost");
    for o in &cut.out {
        if let Err(e) = o {
            assert!(!e.is_empty(), "{what}: empty error");
        }
    }
}

/// Cuts every dump of a kind at the given points (`(label, offset)` from its bytes).
fn truncate_all(kind: &[u8], points: impl Fn(&[u8]) -> Vec<(&'static str, usize)>) {
    let scratch = Scratch::new("trunc");
    for (name, path) in dumps(kind) {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let full = Probe::run(&path, &["sys", "log"]);
        for (label, at) in points(&bytes) {
            let at = at.min(bytes.len() - 1);
            let copy = scratch.write("cut", &bytes[..at]);
            let cut = Probe::run(&copy, &["sys", "log"]);
            eprintln!(
                "{name} cut in {label} at {at:#x}: open {}, states {:?}, sys {}, log {}",
                cut.open
                    .as_ref()
                    .map_or_else(|e| e.clone(), |_| "ok".into()),
                cut.states,
                cut.out.first().map_or("-".into(), |o| o
                    .as_ref()
                    .map_or_else(|e| e.clone(), |_| "ok".into())),
                cut.out.get(1).map_or("-".into(), |o| o
                    .as_ref()
                    .map_or_else(|e| e.clone(), |_| "ok".into())),
            );
            match &cut.open {
                Err(e) => assert_names_place(
                    &format!("{name} cut in {label}"),
                    e,
                    &[
                        "header",
                        "bitmap",
                        "program headers",
                        "ELF identification",
                        "flattened",
                    ],
                ),
                Ok(_) => check_truncated(&name, &full, &cut, at),
            }
            std::fs::remove_file(&copy).ok();
        }
    }
    check_memory();
}

#[test]
fn truncated_kdump_files() {
    truncate_all(b"KDUMP   ", |b| {
        let Some(l) = KdumpLayout::parse(b) else {
            return Vec::new();
        };
        let data = l.data_start();
        let span = b.len() - data;
        vec![
            ("main header", 300),
            ("sub-header", l.sub_header + 40),
            ("1st bitmap", l.bitmaps + 100),
            ("2nd bitmap", l.dumped_bitmap + 100),
            ("descriptors", l.desc_base + l.desc_count * DESC_SIZE / 2),
            ("page data 10%", data + span / 10),
            ("page data 60%", data + span * 6 / 10),
            ("page data 97%", data + span * 97 / 100),
        ]
    });
}

#[test]
fn truncated_flattened_files() {
    truncate_all(b"makedumpfile", |b| {
        let n = b.len();
        vec![
            ("flattened header", 2000),
            ("first record", 4096 + 16 + 100),
            ("middle", n / 2),
            ("near the end", n * 97 / 100),
        ]
    });
}

#[test]
fn truncated_elf_files() {
    truncate_all(b"\x7fELF", |b| {
        let Some(l) = ElfLayout::parse(b) else {
            return Vec::new();
        };
        let span = b.len() - l.data_start;
        vec![
            ("ELF header", 40),
            ("program headers", l.phoff + 56 * l.phnum / 2),
            ("notes", l.notes.0 + l.notes.1 / 2),
            ("page data 10%", l.data_start + span / 10),
            ("page data 60%", l.data_start + span * 6 / 10),
            ("page data 97%", l.data_start + span * 97 / 100),
        ]
    });
}

/// Flips bits of one field: `(label, offset, width, masks)`.
type Flip = (&'static str, usize, usize, &'static [u64]);
const U32_MASKS: &[u64] = &[1, 1 << 13, 1 << 31];
const U64_MASKS: &[u64] = &[1, 1 << 40, 1 << 63];

fn flip_fields(name: &str, path: &Path, fields: &[Flip], places: &[&str]) {
    let scratch = Scratch::new("flip");
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut opened = 0;
    for &(label, at, width, masks) in fields {
        for &mask in masks {
            let mut copy = bytes.clone();
            for (i, b) in mask.to_le_bytes()[..width].iter().enumerate() {
                copy[at + i] ^= b;
            }
            let p = scratch.write("flip", &copy);
            drop(copy);
            let probe = Probe::run(&p, &["sys", "log"]);
            match &probe.open {
                Err(e) => {
                    eprintln!("{name}: {label} ^ {mask:#x}: {e}");
                    assert_names_place(&format!("{name}: {label} ^ {mask:#x}"), e, places)
                }
                Ok(_) => opened += 1,
            }
            std::fs::remove_file(&p).ok();
        }
    }
    eprintln!("{name}: {opened} of the bit-flipped copies opened");
    check_memory();
}

#[test]
fn bit_flips_in_kdump_headers() {
    let Some(path) = fixture_dump("formats-6.1", "vmcore.kdump-zlib-d31") else {
        return;
    };
    let bytes = std::fs::read(&path).expect("read dump");
    let l = KdumpLayout::parse(&bytes).expect("kdump layout");
    let sub = l.sub_header;
    let fields: Vec<Flip> = vec![
        ("signature", 0, 1, &[1]),
        ("header_version", 8, 4, U32_MASKS),
        ("status", MAIN64.status, 4, U32_MASKS),
        ("block_size", MAIN64.block_size, 4, U32_MASKS),
        ("sub_hdr_size", MAIN64.sub_hdr_size, 4, U32_MASKS),
        ("bitmap_blocks", MAIN64.bitmap_blocks, 4, U32_MASKS),
        ("max_mapnr", MAIN64.max_mapnr, 4, U32_MASKS),
        ("nr_cpus", MAIN64.nr_cpus, 4, U32_MASKS),
        (
            "offset_vmcoreinfo",
            sub + SUB64.offset_vmcoreinfo,
            8,
            U64_MASKS,
        ),
        ("size_vmcoreinfo", sub + SUB64.size_vmcoreinfo, 8, U64_MASKS),
        ("offset_note", sub + SUB64.offset_note, 8, U64_MASKS),
        ("size_note", sub + SUB64.size_note, 8, U64_MASKS),
        ("max_mapnr_64", sub + SUB64.max_mapnr_64, 8, U64_MASKS),
        ("first descriptor offset", l.desc_base, 8, U64_MASKS),
        ("first descriptor size", l.desc_base + 8, 4, U32_MASKS),
        ("first descriptor flags", l.desc_base + 12, 4, U32_MASKS),
    ];
    let places = [
        "kdump",
        "header",
        "bitmap",
        "sub-header",
        "VMCOREINFO",
        "notes",
        "signature",
        "not a crash dump",
    ];
    flip_fields("kdump-zlib-d31", &path, &fields, &places);
}

#[test]
fn bit_flips_in_elf_headers() {
    let Some(path) = fixture_dump("formats-6.1", "vmcore.elf-d31.zst") else {
        return;
    };
    let bytes = std::fs::read(&path).expect("read dump");
    let l = ElfLayout::parse(&bytes).expect("ELF layout");
    let note = l.headers(&bytes, 4).next().expect("PT_NOTE");
    let load = l.headers(&bytes, 1).next().expect("PT_LOAD");
    drop(bytes);
    let fields: Vec<Flip> = vec![
        ("EI_CLASS", 4, 1, &[1, 3]),
        ("EI_DATA", 5, 1, &[1, 3]),
        ("e_type", 16, 2, &[1]),
        ("e_phoff", 32, 8, U64_MASKS),
        ("e_phentsize", 54, 2, &[1, 0x8000]),
        ("e_phnum", 56, 2, &[1, 0x8000]),
        ("PT_NOTE p_offset", note + 8, 8, U64_MASKS),
        ("PT_NOTE p_filesz", note + 32, 8, U64_MASKS),
        ("PT_LOAD p_offset", load + 8, 8, U64_MASKS),
        ("PT_LOAD p_paddr", load + 24, 8, U64_MASKS),
        ("PT_LOAD p_filesz", load + 32, 8, U64_MASKS),
        ("PT_LOAD p_memsz", load + 40, 8, U64_MASKS),
    ];
    let places = ["ELF", "program header", "not a crash dump", "segment"];
    flip_fields("elf-d31", &path, &fields, &places);
}

#[test]
fn bit_flips_in_flattened_records() {
    let Some(path) = fixture_dump("formats-6.1", "vmcore.flat-zlib-d31") else {
        return;
    };
    let bytes = std::fs::read(&path).expect("read dump");
    let second =
        4096 + 16 + u64::from_be_bytes(bytes[4104..4112].try_into().expect("8 bytes")) as usize;
    drop(bytes);
    let fields: Vec<Flip> = vec![
        ("signature", 0, 1, &[1]),
        ("type", 16, 8, &[1 << 56]),
        ("first record offset", 4096, 8, &[1 << 56, 1 << 7]),
        ("first record size", 4104, 8, &[1 << 56, 1 << 7, 1]),
        ("second record offset", second, 8, &[1 << 56, 1 << 7]),
        ("second record size", second + 8, 8, &[1 << 56, 1 << 7]),
    ];
    let places = ["flattened", "kdump", "header", "bitmap", "not a crash dump"];
    flip_fields("flat-zlib-d31", &path, &fields, &places);
}

/// A kdump file being operated on: its bytes, layout, and the kernel of the intact file (for
/// translating the virtual addresses of what gets damaged).
struct Patient {
    bytes: Vec<u8>,
    layout: KdumpLayout,
    intact: Session,
}

impl Patient {
    fn open(path: &Path) -> Patient {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let layout = KdumpLayout::parse(&bytes).expect("kdump layout");
        let intact = Session::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Patient {
            bytes,
            layout,
            intact,
        }
    }
    fn prog(&self) -> &kdive_program::Program {
        self.intact.kernel().expect("kernel of the intact dump")
    }
    fn sym(&self, name: &str) -> u64 {
        self.prog()
            .symbol_address(name)
            .unwrap_or_else(|e| panic!("{e}"))
    }
    fn paddr(&self, va: u64) -> u64 {
        let mem = self.prog().kernel_memory().expect("kernel memory");
        mem.translate(va).unwrap_or_else(|e| panic!("{e}"))
    }
    fn read_u64(&self, va: u64) -> u64 {
        self.prog().read_u64(va).unwrap_or_else(|e| panic!("{e}"))
    }
    /// A copy with `data` written at kernel virtual address `va`.
    fn with_va(&self, va: u64, data: &[u8]) -> Vec<u8> {
        let mut b = self.bytes.clone();
        patch_page(&mut b, &self.layout, self.paddr(va), data).unwrap_or_else(|e| panic!("{e}"));
        b
    }
    fn tasks(&self) -> usize {
        self.intact.tasks().map_or(0, |t| t.infos.len())
    }
}

fn text(p: &Probe, i: usize) -> &str {
    match &p.out[i] {
        Ok(s) | Err(s) => s,
    }
}

fn line<'a>(sys: &'a str, key: &str) -> &'a str {
    sys.lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or("")
}

#[test]
fn raw_kdump_with_damaged_pages_page_tables_and_task_list() {
    let Some(path) = fixture_dump("formats-6.1", "vmcore.kdump-raw-d31.zst") else {
        return;
    };
    let p = Patient::open(&path);
    let scratch = Scratch::new("raw");
    let cmds = [
        "sys",
        "ps",
        "log",
        "analyze",
        "runq",
        "mount",
        "files 1",
        "vm 1",
        "kmem -i",
        "kmem -s",
        "net",
        "dev",
        "irq",
        "task 1",
        "struct task_struct.pid,comm init_task",
        "list task_struct.tasks -h init_task",
    ];

    // A descriptor pointing past the end of the file: that page is lost, the rest answers.
    let uts = p.sym("init_uts_ns");
    let pa = p.paddr(uts);
    let mut b = p.bytes.clone();
    let d = p
        .layout
        .descriptor(&b, pa / 4096)
        .expect("init_uts_ns page dumped");
    let past = b.len() as u64 + (1 << 20);
    put_u64(&mut b, d, past);
    let probe = Probe::run(&scratch.write("desc-past-end", &b), &cmds);
    let s = probe.open.as_ref().expect("opens");
    assert_eq!(s.dump().format().page_state(pa / 4096), PageState::Lost);
    let sys = probe.sys().expect("sys answers");
    assert!(line(sys, "RELEASE").contains("(unknown)"), "{sys}");
    assert!(line(sys, "TASKS").contains(&p.tasks().to_string()), "{sys}");
    assert!(probe.out[2].is_ok(), "log still answers");
    let err = s
        .kernel()
        .expect("kernel")
        .read_u64(uts)
        .expect_err("lost page")
        .to_string();
    assert!(
        err.contains("lost") && err.contains(&format!("{pa:#x}")),
        "{err}"
    );

    // The PML4 entry of the direct map pointing outside RAM: tasks in the direct map are
    // unreadable, and the errors say which table could not be read.
    let mem = p.prog().kernel_memory().expect("kernel memory");
    let base = mem.direct_map_base().expect("direct map");
    let entry = mem.root() + ((base >> 39) & 511) * 8;
    let mut b = p.bytes.clone();
    patch_page(
        &mut b,
        &p.layout,
        entry,
        &(0x7f_ffff_f000u64 | 0x63).to_le_bytes(),
    )
    .expect("patch");
    let probe = Probe::run(&scratch.write("pml4-outside-ram", &b), &cmds);
    let all = probe.all_text();
    assert!(all.contains("PDPT") && all.contains("not RAM"), "{all}");
    assert!(probe.sys().is_some(), "sys answers: {all}");

    // The task list made to loop (the 10th task's `next` back to the 5th): the walk stops with a
    // loop, walks back from the head, and still finds every task.
    let tty = p.prog().type_("struct task_struct").expect("task_struct");
    let off = kdive_program::object::offset_of(p.prog(), tty, "tasks").expect("tasks member");
    let head = p.sym("init_task") + off;
    let mut nodes = vec![head];
    for _ in 0..10 {
        nodes.push(p.read_u64(*nodes.last().expect("node")));
    }
    let b = p.with_va(nodes[10], &nodes[5].to_le_bytes());
    let probe = Probe::run(&scratch.write("task-loop", &b), &cmds);
    let ps = text(&probe, 1);
    assert!(ps.contains("loops back"), "{ps}");
    let rows = ps.lines().filter(|l| l.contains(" ffff")).count();
    assert_eq!(rows, p.tasks(), "{ps}");
    assert!(
        line(probe.sys().expect("sys"), "TASKS").contains("see ps"),
        "sys flags the damage"
    );
    check_memory();
}

#[test]
fn module_list_made_to_loop() {
    let Some(path) = fixture_dump("b-null-module-6.1", "vmcore") else {
        return;
    };
    let p = Patient::open(&path);
    let head = p.sym("modules");
    let first = p.read_u64(head);
    assert_ne!(first, head, "the fixture has a module loaded");
    let scratch = Scratch::new("mod");
    let b = p.with_va(first, &first.to_le_bytes());
    let copy = scratch.write("module-loop", &b);
    let probe = Probe::run(&copy, &["sys", "ps", "log", "bt", "mod", "analyze", "runq"]);
    let s = probe.open.as_ref().expect("opens");
    // mod lists what it read and says the list loops
    let m = probe.out[4].as_ref().expect("mod answers");
    assert!(m.contains("loops back"), "{m}");
    assert!(probe.out[5]
        .as_ref()
        .expect("analyze answers")
        .contains("VERDICT"));
    let prog = s.kernel().expect("kernel");
    let (mods, err) =
        kdive_linux::list::list_entries(prog, head, "struct module", "list", 1000).expect("walk");
    assert_eq!(mods.len(), 1);
    assert!(err
        .expect("a loop error")
        .to_string()
        .contains("loops back"));
    assert!(probe.sys().is_some());
}

#[test]
fn pages_that_do_not_decompress() {
    for file in [
        "vmcore.kdump-zlib-d31",
        "vmcore.kdump-lzo-d31.zst",
        "vmcore.kdump-snappy-d31.zst",
        "vmcore.kdump-zstd-d31",
    ] {
        let Some(path) = fixture_dump("formats-6.1", file) else {
            return;
        };
        let p = Patient::open(&path);
        let pa = p.paddr(p.sym("init_uts_ns"));
        let (off, size, flags) = p.layout.page(&p.bytes, pa / 4096).expect("page dumped");
        assert_ne!(flags, 0, "{file}: page is compressed");
        let mut b = p.bytes.clone();
        b[off..off + size]
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = (i as u8).wrapping_mul(31) ^ 0xa5);
        let scratch = Scratch::new("codec");
        let probe = Probe::run(&scratch.write("garbage-page", &b), &["sys", "log"]);
        let s = probe.open.as_ref().expect("opens");
        let sys = probe.sys().expect("sys answers");
        assert!(line(sys, "RELEASE").contains("(unknown)"), "{file}: {sys}");
        assert!(
            line(sys, "DATE").contains("20"),
            "{file}: other fields still answer: {sys}"
        );
        let err = s
            .kernel()
            .expect("kernel")
            .read_u64(p.sym("init_uts_ns"))
            .expect_err("bad page")
            .to_string();
        assert!(
            err.contains("does not decompress") && err.contains(&format!("{pa:#x}")),
            "{file}: {err}"
        );
    }
}

/// `vmcore-incomplete` as makedumpfile leaves it when the disk fills: the status flag set, the
/// descriptors of the pages it could not write zeroed, the file ending after the last page written.
#[test]
fn incomplete_dumps_report_the_pages_lost() {
    let Some(path) = fixture_dump("formats-6.1", "vmcore.kdump-zlib-d31") else {
        return;
    };
    let full = Probe::run(&path, &["sys", "log"]);
    let mut b = std::fs::read(&path).expect("read");
    let l = KdumpLayout::parse(&b).expect("layout");
    let scratch = Scratch::new("incomplete");
    for keep in [l.desc_count * 9 / 10, l.desc_count / 2] {
        let mut c = b.clone();
        let end = (0..keep).map(|i| {
            let (off, size, _) = l.nth_page(&c, i);
            off + size
        });
        let end = end.max().expect("pages");
        for i in keep..l.desc_count {
            let d = l.desc_base + i * DESC_SIZE;
            c[d..d + DESC_SIZE].fill(0);
        }
        c[MAIN64.status] |= STATUS_INCOMPLETE as u8;
        c.truncate(end);
        let probe = Probe::run(&scratch.write("vmcore-incomplete", &c), &["sys", "log"]);
        let s = probe.open.as_ref().expect("opens");
        assert!(s.dump().meta().incomplete);
        let [present, _, _, lost] = probe.states;
        assert_eq!(lost as usize, l.desc_count - keep);
        assert_eq!(present + lost, full.states[0]);
        eprintln!(
            "incomplete dump keeping {keep} of {} pages: {:.1}% lost",
            l.desc_count,
            100.0 * lost as f64 / (present + lost) as f64
        );
        if keep > l.desc_count * 8 / 10 {
            assert!(
                probe.out.iter().all(Result::is_ok),
                "sys and log answer: {}",
                probe.all_text()
            );
        }
    }
    b.clear();
}

#[test]
fn walk_limit_bounds_the_task_walk() {
    let Some(path) = fixture_dump("formats-6.1", "vmcore.kdump-zlib-d31") else {
        return;
    };
    let mut s = Session::open(&path).expect("opens");
    s.walk_limit = 10;
    let ps = kdive_commands::run(&s, "ps")
        .map(|r| r.text())
        .unwrap_or_else(|e| e.to_string());
    assert!(ps.contains("more than 10 entries"), "{ps}");
}

#[test]
fn synthetic_task_list_loop_and_wild_pointers() {
    let k = kdive_testdata::kernel::kernel();
    let rel = |va: u64| ((va - kdive_testdata::kernel::KBASE) as usize - k.data.start) as u16;
    // init's `tasks.next` pointing at itself.
    let node = rel(k.tasks[1] + k.tasks_offset).to_le_bytes();
    let out = kdive_robustness::synth::run_commands_patched(
        &[0x80, node[0], node[1], node[0], node[1]],
        &["ps", "sys"],
    );
    assert!(out[0].contains("loops back"), "{}", out[0]);
    assert!(
        out[0].contains("kthreadd"),
        "the backward walk finds the rest: {}",
        out[0]
    );
    // Every pointer of init_task's list node aimed at the printk ring: nothing panics.
    let ring = rel(k.symbols["prb"]).to_le_bytes();
    let out = kdive_robustness::synth::run_commands_patched(
        &[0x80, node[0], node[1], ring[0], ring[1]],
        &["ps", "sys", "log"],
    );
    assert_eq!(out.len(), 3);
}
