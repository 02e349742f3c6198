//! Machines by name: the ELF `e_machine` numbers a dump may carry, as people call them.

use std::fmt;

use crate::Arch;

/// `e_machine` of i386.
pub const EM_386: u16 = 3;
/// `e_machine` of 32-bit ARM.
pub const EM_ARM: u16 = 40;

/// The usual name of ELF machine `m`, when it is one a Linux dump comes from.
pub fn name(m: u16) -> Option<&'static str> {
    Some(match m {
        2 => "SPARC",
        EM_386 => "i386",
        8 => "MIPS",
        15 => "PA-RISC",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "s390",
        EM_ARM => "ARM",
        42 => "SuperH",
        43 => "SPARC64",
        50 => "IA-64",
        62 => "x86_64",
        183 => "aarch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => return None,
    })
}

/// Whether machine `m` is a 32-bit one: its `long` and its register notes are 32-bit.
pub fn word32(m: u16) -> bool {
    matches!(m, 2 | EM_386 | 8 | 15 | 20 | EM_ARM | 42)
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Arch::X86_64 => f.write_str("x86_64"),
            Arch::Aarch64 => f.write_str("aarch64"),
            Arch::Other(0) => f.write_str("an unknown machine"),
            Arch::Other(m) => match name(m) {
                Some(n) => f.write_str(n),
                None => write!(f, "ELF machine {m}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_are_named() {
        assert_eq!(Arch::Other(EM_ARM).to_string(), "ARM");
        assert_eq!(Arch::Other(EM_386).to_string(), "i386");
        assert_eq!(Arch::X86_64.to_string(), "x86_64");
        assert_eq!(Arch::Other(4711).to_string(), "ELF machine 4711");
        assert!(word32(EM_ARM) && !word32(62));
    }
}
