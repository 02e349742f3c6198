//! Titles and signatures: what a report is called, and the hash that groups the same bug.
//!
//! The normalisation (documented in `docs/signatures.md`):
//! - functions lose offsets, lengths, addresses and compiler clone suffixes (`.constprop.0`,
//!   `.isra.0`, `.cold`, `.llvm.N`) and `__pfx_`; a module stays (`func [module]`);
//! - the culprit is the first frame that is not machinery (`machinery.rs`);
//! - a sysrq crash and an OOM panic group by cause and kernel (`major.minor`), not by the stack
//!   of whatever task triggered them; an OOM adds its largest consumer's name;
//! - without a culprit, the message stands in with every word holding a digit removed;
//! - titles follow syzbot's (`general protection fault in FUNC`, `KASAN: use-after-free Read in
//!   FUNC`, `INFO: task hung in FUNC`...), built from the same parts.

use crate::headline::plain_words;
use crate::kind::Kind;
use crate::machinery::base_name;

/// The parts a title and a signature are made of.
#[derive(Debug, Clone, Default)]
pub struct Identity<'a> {
    pub kind: Option<Kind>,
    pub detail: Option<&'a str>,
    /// KASAN's `Read`/`Write`.
    pub access: Option<&'a str>,
    /// Culprit functions (any form) and modules, most likely first.
    pub functions: Vec<(&'a str, Option<&'a str>)>,
    /// A task to blame instead of code (OOM).
    pub consumer: Option<&'a str>,
    /// The panic (or headline) message.
    pub message: Option<&'a str>,
    /// The kernel release.
    pub release: Option<&'a str>,
}

/// `6.1` of `6.1.0-56-cloud-amd64`.
fn kernel_series(release: &str) -> String {
    release.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The message that follows `not syncing: `, without numbers.
fn message_words(m: &str) -> String {
    let m = m.split_once("not syncing: ").map_or(m, |(_, m)| m);
    plain_words(m)
}

/// The syzbot-style title.
pub fn title(id: &Identity) -> String {
    let kind = id.kind.unwrap_or(Kind::NoPanic);
    let detail = id.detail.unwrap_or("");
    let head = match kind {
        Kind::NullPointerDereference => {
            "BUG: unable to handle kernel NULL pointer dereference".into()
        }
        Kind::BadMemoryAccess => "BUG: unable to handle kernel paging request".into(),
        Kind::GeneralProtectionFault => "general protection fault".into(),
        Kind::KernelBug => "kernel BUG".into(),
        Kind::Oops if !detail.is_empty() => detail.to_string(),
        Kind::Oops => "kernel oops".into(),
        Kind::StackOverflow => match detail {
            "double fault" => "PANIC: double fault".into(),
            "stack guard page was hit" => "BUG: stack guard page was hit".into(),
            "stack is corrupted" | "corrupted stack end" => format!("kernel panic: {detail}"),
            _ => "kernel stack overflow".into(),
        },
        Kind::HungTask => "INFO: task hung".into(),
        Kind::SoftLockup => "BUG: soft lockup".into(),
        Kind::HardLockup => "watchdog: hard LOCKUP".into(),
        Kind::RcuStall => "INFO: rcu detected stall".into(),
        Kind::Warning if !detail.is_empty() => format!("WARNING: {detail}"),
        Kind::Warning => "WARNING".into(),
        Kind::Kasan => match id.access {
            Some(a) => format!("KASAN: {detail} {a}"),
            None => format!("KASAN: {detail}"),
        },
        Kind::Kfence => format!("KFENCE: {detail}"),
        Kind::Kmsan => format!("KMSAN: {detail}"),
        Kind::Kcsan => return format!("KCSAN: {detail}"),
        Kind::Ubsan => format!("UBSAN: {detail}"),
        Kind::ListCorruption => "BUG: corrupted list".into(),
        Kind::MemoryCorruption | Kind::SchedulingWhileAtomic => format!("BUG: {detail}"),
        Kind::Lockdep => detail.to_string(),
        Kind::Bug if detail == "memory leak" => "memory leak".into(),
        Kind::Bug => format!("BUG: {detail}"),
        Kind::OutOfMemory => {
            return match id.consumer {
                Some(c) => format!("out of memory: largest consumer {c}"),
                None => "out of memory".into(),
            }
        }
        Kind::SysrqCrash => return "kernel panic: sysrq triggered crash".into(),
        Kind::KillInit => return "kernel panic: Attempted to kill init!".into(),
        Kind::MachineCheck | Kind::Panic => {
            return format!(
                "kernel panic: {}",
                id.message.map(message_words).unwrap_or_default()
            )
        }
        Kind::NoPanic => return "no panic".into(),
    };
    match id.functions.first() {
        Some((f, _)) => format!("{head} in {}", base_name(f)),
        None => head,
    }
}

/// 64-bit FNV-1a.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// (`kd2-` + 16 hex digits, the text hashed).
pub fn signature(id: &Identity) -> (String, String) {
    let kind = id.kind.unwrap_or(Kind::NoPanic);
    let mut text = kind.slug().to_string();
    if let Some(d) = id.detail.filter(|d| !d.is_empty()) {
        text += &format!(" ({d}");
        if let Some(a) = id.access.filter(|_| kind == Kind::Kasan) {
            text += &format!(" {a}");
        }
        text += ")";
    }
    if kind.groups_by_kernel() {
        if let Some(r) = id.release {
            text += &format!(" kernel {}", kernel_series(r));
        }
        if let Some(c) = id.consumer.filter(|_| kind == Kind::OutOfMemory) {
            text += &format!(" consumer {c}");
        }
    } else {
        let mut parts: Vec<String> = id
            .functions
            .iter()
            .map(|(f, m)| match m {
                Some(m) => format!("{} [{m}]", base_name(f)),
                None => base_name(f).to_string(),
            })
            .collect();
        parts.sort();
        parts.dedup();
        if !parts.is_empty() {
            text += &format!(" {}", parts.join(", "));
        } else if kind != Kind::Kcsan {
            if let Some(m) = id.message {
                text += &format!(" {}", message_words(m));
            }
        }
    }
    (format!("kd2-{:016x}", fnv1a(&text)), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_signatures() {
        let a = Identity {
            kind: Some(Kind::NullPointerDereference),
            functions: vec![("fixture_poke.constprop.0", Some("null_pointer"))],
            ..Identity::default()
        };
        let b = Identity {
            functions: vec![("fixture_poke.constprop.3", Some("null_pointer"))],
            ..a.clone()
        };
        assert_eq!(signature(&a), signature(&b));
        assert_eq!(
            title(&a),
            "BUG: unable to handle kernel NULL pointer dereference in fixture_poke"
        );
        let g = Identity {
            kind: Some(Kind::GeneralProtectionFault),
            ..a.clone()
        };
        assert_ne!(signature(&a).0, signature(&g).0);
        let h1 = Identity {
            kind: Some(Kind::HungTask),
            functions: vec![("x", None), ("y", Some("m"))],
            ..Identity::default()
        };
        let h2 = Identity {
            functions: vec![("y", Some("m")), ("x", None)],
            ..h1.clone()
        };
        assert_eq!(signature(&h1), signature(&h2));
        let p = |m| Identity {
            kind: Some(Kind::Panic),
            message: Some(m),
            ..Identity::default()
        };
        assert_eq!(
            signature(&p(
                "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"
            )),
            signature(&p(
                "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(8,1)"
            ))
        );
        let s = |rel, f| Identity {
            kind: Some(Kind::SysrqCrash),
            release: Some(rel),
            functions: vec![(f, None)],
            ..Identity::default()
        };
        assert_eq!(
            signature(&s("6.1.0-56-cloud-amd64", "a")),
            signature(&s("6.1.0-57-amd64", "b"))
        );
        assert_ne!(
            signature(&s("6.1.0-56-cloud-amd64", "a")),
            signature(&s("6.12.1", "a"))
        );
        let k = Identity {
            kind: Some(Kind::Kasan),
            detail: Some("use-after-free"),
            access: Some("Read"),
            functions: vec![("tcp_v4_rcv", None)],
            ..Identity::default()
        };
        assert_eq!(title(&k), "KASAN: use-after-free Read in tcp_v4_rcv");
    }
}
