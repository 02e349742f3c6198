//! Taint: the kernel's `taint_flags[]` table (a letter for each taint, set or not), applied to
//! the kernel's `tainted_mask` and to each module's `taints`.

use kdive_program::{Program, ProgramError, Result};

/// One entry of `taint_flags[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TaintFlag {
    /// The letter shown when the taint is set, and when it is not (`' '`, `'-'` or `'G'`).
    pub set: char,
    pub unset: char,
    /// A module can carry this taint.
    pub module: bool,
}

/// Most taints looked at (`TAINT_FLAGS_COUNT` is about 20).
const MAX_TAINTS: u64 = 64;

/// The kernel's `taint_flags[]`, as long as its entries look like taint letters (the symbol's
/// size is known only with a vmlinux; without one the next symbol bounds it).
pub fn taint_flags(prog: &Program) -> Result<Vec<TaintFlag>> {
    let sym = prog
        .symbols()
        .by_name("taint_flags")
        .ok_or_else(|| ProgramError::NoSymbol("taint_flags".into()))?;
    let ty = prog.type_("struct taint_flag")?;
    let size = prog.types().size_of(ty)?.max(1);
    let n = sym.size.map_or(MAX_TAINTS, |s| s / size).min(MAX_TAINTS);
    let mut out = Vec::new();
    for i in 0..n {
        let o = prog.object("struct taint_flag", sym.addr + i * size)?;
        // `c_true`/`c_false` since 4.15, `true`/`false` before
        let letter = |a: &str, b: &str| -> Result<u8> {
            Ok(o.member(a).or_else(|_| o.member(b))?.read_u64()? as u8)
        };
        let (set, unset) = (letter("c_true", "true")?, letter("c_false", "false")?);
        if !set.is_ascii_uppercase()
            || !(unset == b' ' || unset == b'-' || unset.is_ascii_uppercase())
        {
            break;
        }
        out.push(TaintFlag {
            set: set as char,
            unset: unset as char,
            module: o.member("module")?.read_u64()? != 0,
        });
    }
    Ok(out)
}

/// The kernel's taint string as crash's `sys -t` writes it: each taint's letter when set, and
/// when not set its other letter unless that is a space, `-` or `G`.
pub fn kernel_taint_letters(flags: &[TaintFlag], mask: u64) -> String {
    flags
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            if mask >> i & 1 == 1 {
                Some(f.set)
            } else {
                (![' ', '-', 'G'].contains(&f.unset)).then_some(f.unset)
            }
        })
        .collect()
}

/// A module's taint letters: those of its set taints that modules can carry.
pub fn module_taint_letters(flags: &[TaintFlag], taints: u64) -> String {
    flags
        .iter()
        .enumerate()
        .filter(|(i, f)| f.module && taints >> i & 1 == 1)
        .map(|(_, f)| f.set)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(set: char, unset: char, module: bool) -> TaintFlag {
        TaintFlag { set, unset, module }
    }

    #[test]
    fn letters() {
        // the start of the 6.x table: P/G, F, S, R, M, B, U, D, A, W, C, I, O, E
        let mut flags = vec![f('P', 'G', true), f('F', ' ', true)];
        flags.extend("SRMBUDAWCI".chars().map(|c| f(c, ' ', false)));
        flags.extend([f('O', ' ', true), f('E', ' ', true)]);
        // crash's `sys -t` of b-null-module-6.1: TAINTED_MASK 3000, `OE`
        assert_eq!(kernel_taint_letters(&flags, 0x3000), "OE");
        assert_eq!(kernel_taint_letters(&flags, 0), "");
        assert_eq!(kernel_taint_letters(&flags, 1), "P");
        assert_eq!(module_taint_letters(&flags, 0x3000), "OE");
        assert_eq!(
            module_taint_letters(&flags, 0x200),
            "",
            "W is no module taint"
        );
    }
}
