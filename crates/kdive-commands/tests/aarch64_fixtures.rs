//! The aarch64 fixture dumps: `dis` against libopcodes, the disassembler crash's gdb uses
//! (kernel text read from each dump is disassembled by kdive's decoder and by binutils'
//! `aarch64-linux-gnu-objdump`, same library and syntax, and the lines compared), and user
//! memory through a process's own (`TTBR0`) page tables. Needs the aarch64 corpus, and for
//! `dis` the cross objdump (Debian's `binutils-aarch64-linux-gnu`); skipped without them, and
//! says so.

use std::path::PathBuf;
use std::process::Command;

use kdive_commands::{run, Session};
use kdive_program::disasm;

const OBJDUMP: &str = "aarch64-linux-gnu-objdump";

/// The aarch64 fixture dumps (kdump-compressed).
fn arm64_dumps() -> Vec<PathBuf> {
    let Some(corpus) = kdive_testdata::fixtures::corpus_arm64() else {
        eprintln!("aarch64_fixtures: skipped, no aarch64 corpus (set KDIVE_CORPUS_ARM64)");
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("vmcore.kdump-zlib"))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// The dumps, when the cross objdump is there to compare `dis` with.
fn dumps() -> Vec<PathBuf> {
    if Command::new(OBJDUMP).arg("--version").output().is_err() {
        eprintln!("aarch64_fixtures: dis skipped, no {OBJDUMP} (binutils-aarch64-linux-gnu)");
        return Vec::new();
    }
    arm64_dumps()
}

/// objdump's lines for `code` at `addr`: `(address, "word\ttext")`.
fn objdump(code: &[u8], addr: u64) -> Vec<(u64, String)> {
    let file = kdive_testdata::temp::TempFile::new("aarch64-text.bin", code);
    let out = Command::new(OBJDUMP)
        .args(["-D", "-z", "-b", "binary", "-m", "aarch64"])
        .arg(format!("--adjust-vma={addr:#x}"))
        .arg(file.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (a, rest) = l.split_once(":\t")?;
            let a = u64::from_str_radix(a.trim(), 16).ok()?;
            let (word, text) = rest.split_once(" \t")?;
            Some((a, format!("{word}\t{text}")))
        })
        .collect()
}

#[test]
fn decoder_writes_what_libopcodes_writes() {
    for dump in dumps() {
        let s = Session::open(&dump).unwrap();
        let prog = s.kernel().unwrap();
        // 1 MiB of text from the kernel's start: entry code, exception vectors, scheduler,
        // memory management
        let start = prog.symbols().address_of("_text").unwrap();
        let (code, err) = disasm::read_code(prog.mem(), start, start + 0x10_0000);
        assert!(err.is_none(), "{}: {err:?}", dump.display());
        let dec = disasm::decoder("aarch64").unwrap();
        let ours: Vec<(u64, String)> = code
            .chunks(4)
            .enumerate()
            .map(|(n, w)| {
                let a = start + 4 * n as u64;
                let i = dec.decode(a, w).unwrap();
                let word = u32::from_le_bytes(w.try_into().unwrap());
                let text = i.text_with(dec.separator()) + i.comment.as_deref().unwrap_or("");
                (a, format!("{word:08x}\t{text}"))
            })
            .collect();
        let reference = objdump(&code, start);
        assert_eq!(ours.len(), reference.len(), "{}", dump.display());
        let differ: Vec<_> = ours
            .iter()
            .zip(&reference)
            .filter(|(a, b)| a != b)
            .collect();
        for (a, b) in differ
            .iter()
            .take(if std::env::var_os("KDIVE_DIS_ALL").is_some() {
                usize::MAX
            } else {
                20
            })
        {
            eprintln!("{:x}\n  kdive:    {}\n  objdump:  {}", a.0, a.1, b.1);
        }
        // every instruction of the kernel's own code agrees; what differs is rare system
        // instructions and words that are data in the text section (literal pools, jump tables)
        let share = 1.0 - differ.len() as f64 / ours.len() as f64;
        eprintln!(
            "{}: {}/{} instructions as libopcodes writes them",
            dump.display(),
            ours.len() - differ.len(),
            ours.len()
        );
        assert!(share >= 0.999, "{}: only {share:.4} agree", dump.display());
    }
}

#[test]
fn dis_names_branch_targets_on_aarch64() {
    for dump in dumps() {
        let s = Session::open(&dump).unwrap();
        let prog = s.kernel().unwrap();
        let at = prog.symbols().address_of("schedule").unwrap();
        let text = run(&s, "dis schedule 4").unwrap().text();
        let (code, _) = disasm::read_code(prog.mem(), at, at + 16);
        let reference = objdump(&code, at);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        for (n, (line, (a, r))) in lines.iter().zip(&reference).enumerate() {
            let (_, want) = r.split_once('\t').unwrap();
            let head = match n {
                0 => format!("0x{a:x} <schedule>:\t"),
                n => format!("0x{a:x} <schedule+{}>:\t", 4 * n),
            };
            assert!(line.starts_with(&head), "{line:?} vs {head:?}");
            let ours = &line[head.len()..];
            // objdump has no symbols: kdive adds ` <name+off>` after a branch target
            let ours_bare = ours.split(" <").next().unwrap();
            assert_eq!(ours_bare, want.split("  //").next().unwrap().trim_end());
            if r.contains("\tbl\t") {
                assert!(ours.contains(" <"), "call target named: {ours}");
            }
        }
    }
}

/// The process that wrote to `/proc/sysrq-trigger`, as the guest's console names it
/// (`FIXTURE-TRIGGER pid=639 comm=sh action=sysrq-c`): its user memory is read through its
/// own page tables.
#[test]
fn user_memory_through_the_process_tables() {
    for dump in arm64_dumps() {
        let console = std::fs::read_to_string(dump.with_file_name("console.log")).unwrap();
        let line = console
            .lines()
            .find(|l| l.contains("FIXTURE-TRIGGER pid="))
            .expect("the trigger line");
        let pid: u64 = line
            .split("pid=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap();
        let s = Session::open(&dump).unwrap();
        run(&s, &format!("set {pid}")).unwrap();
        // its first mapping is the executable: an ELF header for aarch64 (EM_AARCH64 = 183)
        let vm = run(&s, "vm").unwrap().text();
        let start = vm
            .lines()
            .find(|l| l.ends_with("/bin/busybox"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap();
        let rd = run(&s, &format!("rd -u -8 {start} 20")).unwrap().json();
        let bytes: Vec<u64> = rd["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| match v.as_str() {
                Some(h) => u64::from_str_radix(h.trim_start_matches("0x"), 16).unwrap(),
                None => v.as_u64().unwrap(),
            })
            .collect();
        assert_eq!(&bytes[..4], &[0x7f, b'E' as u64, b'L' as u64, b'F' as u64]);
        assert_eq!(bytes[18], 183, "e_machine");
        // its arguments, from its stack: the command the console shows it ran
        let ps = run(&s, &format!("ps -a {pid}")).unwrap().text();
        assert!(
            ps.contains("ARG: sh -c echo \"FIXTURE-TRIGGER pid=$$ comm=sh action=sysrq-c\""),
            "{ps}"
        );
        // the walk of TTBR0's tables, down to the page
        let vtop = run(&s, &format!("vtop -u {start}")).unwrap().text();
        assert!(
            vtop.contains("  PTE: ") && vtop.contains("(VALID|USER"),
            "{vtop}"
        );
    }
}
