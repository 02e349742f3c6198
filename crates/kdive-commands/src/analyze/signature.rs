//! Crash signatures: the same bug gives the same signature on every machine and boot.
//!
//! Only stable facts go in: the kind of failure and the culprit functions (with their modules),
//! without offsets, addresses, task ids or compiler-made suffixes (`.constprop.0`, `.isra.0`,
//! `.cold`...), which change between builds. Without a culprit, the panic message with its
//! numbers removed stands in.

use super::{Culprit, Kind};

/// A function name without the suffixes compilers add to clones (`.constprop.0`, `.cold`...).
pub fn base_function(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// The message with digits and hex numbers dropped.
fn without_numbers(m: &str) -> String {
    m.split_whitespace()
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// 64-bit FNV-1a.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// (`kd1-` + 16 hex digits, the text hashed).
pub fn of(kind: Kind, culprits: &[Culprit], message: Option<&str>) -> (String, String) {
    let mut parts: Vec<String> = culprits
        .iter()
        .filter(|_| !matches!(kind, Kind::SysrqCrash | Kind::OutOfMemory))
        .map(|c| match &c.module {
            Some(m) => format!("{} [{m}]", base_function(&c.function)),
            None => base_function(&c.function).to_string(),
        })
        .collect();
    parts.sort();
    parts.dedup();
    let mut text = kind.slug().to_string();
    if !parts.is_empty() {
        text += &format!(" {}", parts.join(", "));
    } else if let (Some(m), Kind::Panic | Kind::HardLockup | Kind::RcuStall) = (message, kind) {
        text += &format!(" {}", without_numbers(m));
    }
    (format!("kd1-{:016x}", fnv1a(&text)), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(f: &str, m: Option<&str>) -> Culprit {
        Culprit {
            function: f.into(),
            offset: Some(0x1c),
            module: m.map(String::from),
            source: None,
            task: None,
        }
    }

    #[test]
    fn stable_and_distinct() {
        let a = of(
            Kind::NullPointerDereference,
            &[c("fixture_poke.constprop.0", Some("null_pointer"))],
            None,
        );
        let b = of(
            Kind::NullPointerDereference,
            &[c("fixture_poke.constprop.3", Some("null_pointer"))],
            None,
        );
        assert_eq!(a, b);
        assert_eq!(a.1, "null-pointer-dereference fixture_poke [null_pointer]");
        assert!(a.0.starts_with("kd1-") && a.0.len() == 20);
        let g = of(
            Kind::GeneralProtectionFault,
            &[c("fixture_poke", Some("null_pointer"))],
            None,
        );
        assert_ne!(a.0, g.0);
        // culprit order does not matter
        let h1 = of(Kind::HungTask, &[c("x", None), c("y", Some("m"))], None);
        let h2 = of(Kind::HungTask, &[c("y", Some("m")), c("x", None)], None);
        assert_eq!(h1, h2);
        let p1 = of(
            Kind::Panic,
            &[],
            Some("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"),
        );
        let p2 = of(
            Kind::Panic,
            &[],
            Some("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(8,1)"),
        );
        assert_eq!(p1, p2);
    }
}
