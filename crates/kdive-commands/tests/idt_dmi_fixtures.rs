//! `irq -d` (the x86_64 IDT) and `sys -i` (DMI strings) on every fixture, checked against what
//! the kernel defines: the exception vectors' entry points (`arch/x86/include/asm/idtentry.h`)
//! and the log's `DMI:` line, which `dmi_format_ids()` builds from the same strings.

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};

#[test]
fn idt_gates_hold_the_exception_entry_points() {
    if corpus_or_skip("idt_gates_hold_the_exception_entry_points").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let prog = s.kernel().unwrap();
        let r = run(&s, "irq -d").unwrap();
        let j = r.json();
        let vectors = j["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), 256, "{}", fx.name);
        // X86_TRAP_DE, X86_TRAP_NMI, X86_TRAP_BP, X86_TRAP_PF: their idtentry stubs
        for (v, name) in [
            (0, "asm_exc_divide_error"),
            (2, "asm_exc_nmi"),
            (3, "asm_exc_int3"),
            (14, "asm_exc_page_fault"),
        ] {
            assert_eq!(vectors[v]["symbol"], name, "{}: vector {v}", fx.name);
            let at = prog.symbols().address_of(name).unwrap();
            assert_eq!(
                vectors[v]["handler"],
                format!("{at:#x}").as_str(),
                "{}: vector {v}",
                fx.name
            );
        }
        let text = r.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 256);
        assert_eq!(lines[0], "  [0] asm_exc_divide_error");
        assert_eq!(lines[14], " [14] asm_exc_page_fault");
        assert!(lines[255].starts_with("[255] "), "{}", lines[255]);
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
}

#[test]
fn dmi_strings_are_the_logs() {
    if corpus_or_skip("dmi_strings_are_the_logs").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let r = run(&s, "sys -i").unwrap();
        let j = r.json();
        let field = |name: &str| -> Option<String> {
            j["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["field"] == name)
                .and_then(|f| f["value"].as_str().map(str::to_string))
        };
        // dmi_format_ids(): "VENDOR PRODUCT[/BOARD], BIOS VERSION DATE"
        let mut want = format!(
            "DMI: {} {}",
            field("DMI_SYS_VENDOR").unwrap(),
            field("DMI_PRODUCT_NAME").unwrap()
        );
        if let Some(board) = field("DMI_BOARD_NAME") {
            want += &format!("/{board}");
        }
        want += &format!(
            ", BIOS {} {}",
            field("DMI_BIOS_VERSION").unwrap(),
            field("DMI_BIOS_DATE").unwrap()
        );
        let log = run(&s, "log").unwrap().text();
        assert!(log.contains(&want), "{}: {want}", fx.name);
        // crash's layout: names right-aligned on the longest enumerator, fields without a
        // string left out
        let text = r.text();
        let width = j["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().len())
            .max()
            .unwrap();
        let vendor = format!(
            "  {:>width$}: {}",
            "DMI_SYS_VENDOR",
            field("DMI_SYS_VENDOR").unwrap()
        );
        assert!(text.lines().any(|l| l == vendor), "{text}");
        assert!(!text.contains("DMI_NONE"), "{text}");
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
}

/// `irq -d` is x86_64's: refused by name on an aarch64 dump.
#[test]
fn idt_is_refused_on_aarch64() {
    let Some(corpus) = kdive_testdata::fixtures::corpus_arm64() else {
        eprintln!("idt_is_refused_on_aarch64: skipped, no aarch64 corpus");
        return;
    };
    for e in std::fs::read_dir(&corpus).unwrap().flatten() {
        let dump = e.path().join("vmcore.kdump-zlib");
        if !dump.is_file() {
            continue;
        }
        let s = Session::open(&dump).unwrap();
        let err = run(&s, "irq -d").err().unwrap().to_string();
        assert!(err.contains("aarch64"), "{err}");
    }
}
