//! DWARF source lines and ELF debug-file basics over a file built in code.

use std::path::PathBuf;
use std::sync::Arc;

use kdive_debuginfo::dwarf::SourceLines;
use kdive_debuginfo::elf_file::ElfFile;
use kdive_testdata::dwarf::{dwarf_elf, BUILD_ID, INLINED, LINES, TEXT, TEXT_LEN};

fn file(version: u16) -> ElfFile {
    ElfFile::from_backing(PathBuf::from("synthetic"), Arc::new(dwarf_elf(version))).unwrap()
}

#[test]
fn build_id_symbols_and_kind() {
    let f = file(4);
    assert_eq!(f.build_id().as_deref(), Some(&BUILD_ID[..]));
    assert!(f.has_dwarf());
    assert!(f.is_relocatable());
    let syms = f.symbol_addresses(&["_stext", "_etext", "nonexistent"]);
    assert_eq!(syms[0], Some(0));
    assert_eq!(syms[1], Some(TEXT_LEN));
    assert_eq!(syms[2], None);
}

#[test]
fn lines_and_inlined_calls_dwarf4_and_5() {
    let (start, call, after, body) = LINES;
    for version in [4, 5] {
        let lines = SourceLines::new(&file(version)).unwrap();
        let f = lines.frames(TEXT + 4).unwrap();
        assert_eq!(f.len(), 1, "v{version}: {f:?}");
        assert_eq!(f[0].function.as_deref(), Some("outer"));
        assert_eq!(f[0].line, Some(start));
        assert!(f[0].file.as_deref().unwrap().ends_with("kernel/demo.c"));
        assert!(!f[0].inlined);

        // inside the inlined call: inner's body, then the call site in outer
        let f = lines.frames(INLINED.0 + 2).unwrap();
        assert_eq!(f.len(), 2, "v{version}: {f:?}");
        assert_eq!(
            (f[0].function.as_deref(), f[0].line, f[0].inlined),
            (Some("inner"), Some(body), true)
        );
        assert_eq!(
            (f[1].function.as_deref(), f[1].line, f[1].inlined),
            (Some("outer"), Some(call), false)
        );

        let f = lines.frames(INLINED.1).unwrap();
        assert_eq!((f.len(), f[0].line), (1, Some(after)));
        // outside every unit
        assert!(lines.frames(TEXT + TEXT_LEN + 0x100).unwrap().is_empty());
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for bytes in [Vec::new(), b"\x7fELF".to_vec(), vec![0xff; 4096]] {
        assert!(ElfFile::from_backing(PathBuf::from("junk"), Arc::new(bytes)).is_err());
    }
    // a file whose DWARF was cut: opening or looking up fails cleanly
    let mut bytes = dwarf_elf(5);
    let n = bytes.len();
    for cut in [n / 2, n - 200, n - 40] {
        bytes.truncate(cut);
        if let Ok(f) = ElfFile::from_backing(PathBuf::from("cut"), Arc::new(bytes.clone())) {
            if let Ok(lines) = SourceLines::new(&f) {
                let _ = lines.frames(TEXT + 4);
            }
        }
    }
}
