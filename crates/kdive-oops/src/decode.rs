//! Decoders of what a report prints in code: taint flags, the page-fault error code, and the
//! `Code:` bytes.

use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter, Instruction};

/// The taint letters, by position in the kernel's `taint_flags` table.
const TAINTS: &[(char, &str)] = &[
    ('P', "proprietary module was loaded"),
    ('F', "module was force loaded"),
    ('S', "kernel running on an out of specification system"),
    ('R', "module was force unloaded"),
    ('M', "processor reported a Machine Check Exception"),
    ('B', "bad page referenced or unexpected page flags"),
    ('U', "taint requested by userspace"),
    ('D', "kernel died recently (an OOPS or BUG)"),
    ('A', "ACPI table overridden by user"),
    ('W', "kernel issued a warning"),
    ('C', "staging driver was loaded"),
    ('I', "workaround for a platform firmware bug applied"),
    ('O', "externally-built (out-of-tree) module was loaded"),
    ('E', "unsigned module was loaded"),
    ('L', "soft lockup occurred"),
    ('K', "kernel has been live patched"),
    ('X', "auxiliary taint (distribution-defined)"),
    ('T', "kernel built with the struct randomization plugin"),
    ('N', "in-kernel test has been run"),
    ('J', "userspace used a mutating debug operation in fwctl"),
];

/// What each taint letter in `flags` (`G     B  W  OE`, or `[O]=OOT_MODULE, [E]=...`) means.
pub fn taint(flags: &str) -> Vec<String> {
    let letters: Vec<char> = if flags.contains("]=") {
        flags
            .split('[')
            .filter_map(|p| p.chars().next().filter(|_| p.contains("]=")))
            .collect()
    } else {
        flags
            .chars()
            .filter(|c| c.is_ascii_uppercase() && *c != 'G')
            .collect()
    };
    letters
        .into_iter()
        .filter_map(|c| {
            TAINTS
                .iter()
                .find(|(l, _)| *l == c)
                .map(|(l, what)| format!("{l}: {what}"))
        })
        .collect()
}

/// The x86 page-fault error code, bit by bit.
pub fn page_fault_error(code: u64) -> String {
    let mut parts = vec![
        if code & 1 != 0 {
            "protection violation"
        } else {
            "not-present page"
        },
        if code & 2 != 0 { "write" } else { "read" },
        if code & 4 != 0 {
            "user mode"
        } else {
            "kernel mode"
        },
    ];
    if code & 8 != 0 {
        parts.push("reserved bit set in a page-table entry");
    }
    if code & 16 != 0 {
        parts.push("instruction fetch");
    }
    if code & 32 != 0 {
        parts.push("protection-key violation");
    }
    if code & 64 != 0 {
        parts.push("shadow-stack access");
    }
    if code & (1 << 15) != 0 {
        parts.push("SGX violation");
    }
    format!("{code:#x}: {}", parts.join(", "))
}

/// One disassembled instruction of a `Code:` line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeLine {
    /// Offset from the faulting instruction (negative before it).
    pub offset: i64,
    pub bytes: String,
    pub text: String,
    pub trapping: bool,
}

/// The bytes of a `Code:` line and the index of the marked (`<c6>`) byte; `(c6)` marks the
/// instruction pointer of a user-mode `Code:` line the same way.
fn code_bytes(code: &str) -> Option<(Vec<u8>, usize)> {
    let mut bytes = Vec::new();
    let mut mark = None;
    for w in code.split_whitespace() {
        let (marked, hexpart) = match (w.strip_prefix('<'), w.strip_prefix('(')) {
            (Some(x), _) => (true, x.trim_end_matches('>')),
            (_, Some(x)) => (true, x.trim_end_matches(')')),
            _ => (false, w),
        };
        // `Code: Unable to access opcode bytes at ...`
        if hexpart.len() != 2 {
            return None;
        }
        let b = u8::from_str_radix(hexpart, 16).ok()?;
        if marked && mark.is_none() {
            mark = Some(bytes.len());
        }
        bytes.push(b);
        if bytes.len() > 256 {
            return None;
        }
    }
    Some((bytes, mark?))
}

fn decode_from(bytes: &[u8], start: usize, mark: usize) -> Option<Vec<CodeLine>> {
    let mut d = Decoder::with_ip(64, &bytes[start..], start as u64, DecoderOptions::NONE);
    let mut f = GasFormatter::new();
    f.options_mut().set_uppercase_hex(false);
    let mut out = Vec::new();
    let mut ins = Instruction::default();
    let mut aligned = start == mark;
    while d.can_decode() {
        d.decode_out(&mut ins);
        let at = ins.ip() as usize;
        if at == mark {
            aligned = true;
        }
        if at > mark && !aligned {
            return None;
        }
        let end = (at + ins.len()).min(bytes.len());
        let mut text = String::new();
        if ins.is_invalid() {
            text.push_str("(bad)");
        } else {
            f.format(&ins, &mut text);
        }
        out.push(CodeLine {
            offset: at as i64 - mark as i64,
            bytes: bytes[at..end]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
            text,
            trapping: at == mark,
        });
    }
    aligned.then_some(out)
}

/// The `Code:` bytes disassembled (x86_64): the first start before the marked byte whose
/// instructions land on it, so the faulting instruction decodes as the CPU saw it.
pub fn disassemble(code: &str) -> Option<Vec<CodeLine>> {
    let (bytes, mark) = code_bytes(code)?;
    (0..=mark).find_map(|start| {
        let lines = decode_from(&bytes, start, mark)?;
        // a start that decodes invalid instructions before the mark is a misalignment
        let bad_before = lines.iter().any(|l| l.offset < 0 && l.text == "(bad)");
        (!bad_before).then_some(lines)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taints_and_error_codes() {
        assert_eq!(taint("G           OE").len(), 2);
        assert!(taint("[O]=OOT_MODULE, [E]=UNSIGNED_MODULE")[0].starts_with("O: "));
        assert_eq!(
            page_fault_error(2),
            "0x2: not-present page, write, kernel mode"
        );
        assert_eq!(
            page_fault_error(0x11),
            "0x11: protection violation, read, kernel mode, instruction fetch"
        );
    }

    #[test]
    fn code_line() {
        // `movl $0x2a, 0x0` after a prologue
        let code = "55 48 89 e5 <c7> 04 25 00 00 00 00 2a 00 00 00 5d c3";
        let lines = disassemble(code).unwrap();
        let trap = lines.iter().find(|l| l.trapping).unwrap();
        assert_eq!(trap.offset, 0);
        assert!(trap.text.starts_with("movl"), "{}", trap.text);
        // the user-mode Code: line of the b-null-module-6.1 fixture: the syscall, then the
        // instruction it returns to (`cmp $-0xfff,%rax`) is marked
        let user = "08 89 e8 5b 5d c3 66 2e 0f 1f 84 00 00 00 00 00 90 48 89 f8 48 89 f7 48 89 d6 48 89 ca 4d 89 c2 4d 89 c8 4c 8b 4c 24 08 0f 05 <48> 3d 01 f0 ff ff 73 01 c3";
        let lines = disassemble(user).unwrap();
        let at = lines.iter().position(|l| l.trapping).unwrap();
        assert_eq!(lines[at - 1].text, "syscall");
        assert!(lines[at].text.starts_with("cmp"), "{}", lines[at].text);
        assert_eq!(
            disassemble("Unable to access opcode bytes at 0x47b6d3."),
            None
        );
    }
}
