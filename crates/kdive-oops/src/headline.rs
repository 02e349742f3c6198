//! The first line of each kind of report, and what it says.

use crate::kind::Kind;

/// What a headline line announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    pub kind: Kind,
    /// The words a title keeps beside the kind (`use-after-free`, `divide error`...).
    pub detail: Option<String>,
    /// A function the headline itself names (`BUG: KASAN: ... in FUNC`, `stack is corrupted in: FUNC`).
    pub function: Option<String>,
}

fn h(kind: Kind, detail: Option<&str>) -> Option<Headline> {
    Some(Headline {
        kind,
        detail: detail.map(str::to_string),
        function: None,
    })
}

/// The word after ` in ` in `... in FUNC+0x1/0x2`, without its offset.
fn function_after_in(t: &str) -> Option<String> {
    let (_, rest) = t.rsplit_once(" in ")?;
    let f = rest.split_whitespace().next()?;
    let f = f.split('+').next()?.trim_end_matches(':');
    (!f.is_empty() && !f.contains('/') && !f.contains(':')).then(|| f.to_string())
}

/// Words without numbers, addresses or punctuation-only tokens, up to `:`.
pub fn plain_words(s: &str) -> String {
    s.split_whitespace()
        .filter(|w| !w.starts_with('[') && !w.chars().any(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches([':', '!', ',', '.', ';'])
        .to_string()
}

/// Classifies `t` (a trimmed, cleaned line) if it starts a report.
pub fn parse(t: &str) -> Option<Headline> {
    // newer kernels put `Oops: ` before the exception's name
    let t = match t.strip_prefix("Oops: ") {
        Some(r) if !r.starts_with(|c: char| c.is_ascii_digit()) => r,
        _ => t,
    };
    let t = t
        .strip_prefix("watchdog: ")
        .or_else(|| t.strip_prefix("NMI watchdog: "))
        .or_else(|| t.strip_prefix("rcu: "))
        .unwrap_or(t);
    if t.contains("NULL pointer dereference")
        && (t.starts_with("BUG: ") || t.starts_with("Unable to handle kernel"))
    {
        return h(Kind::NullPointerDereference, None);
    }
    if t.starts_with("BUG: unable to handle") || t.starts_with("Unable to handle kernel paging") {
        return h(Kind::BadMemoryAccess, None);
    }
    if t.starts_with("Unable to handle kernel ") {
        return h(Kind::BadMemoryAccess, None);
    }
    if t.starts_with("general protection fault") {
        return h(Kind::GeneralProtectionFault, None);
    }
    if t.starts_with("kernel BUG at ") {
        return h(Kind::KernelBug, None);
    }
    if t.starts_with("invalid opcode: ") {
        return h(Kind::Oops, Some("invalid opcode"));
    }
    if t.starts_with("divide error: ") || t.starts_with("divide_error: ") {
        return h(Kind::Oops, Some("divide error"));
    }
    if t.starts_with("Internal error: Oops - BUG") || t.starts_with("Internal error: Oops - BRK") {
        return h(Kind::KernelBug, None);
    }
    if t.starts_with("Internal error: ") {
        return h(Kind::Oops, Some("Internal error"));
    }
    if t.starts_with("PANIC: double fault") || t.starts_with("double fault: ") {
        return h(Kind::StackOverflow, Some("double fault"));
    }
    if t.starts_with("BUG: ") && t.contains("stack guard page was hit") {
        return h(Kind::StackOverflow, Some("stack guard page was hit"));
    }
    if t.starts_with("Insufficient stack space to handle exception")
        || t.contains("kernel stack overflow")
    {
        return h(Kind::StackOverflow, Some("kernel stack overflow"));
    }
    if t.starts_with("WARNING: CPU: ")
        || t.starts_with("WARNING: at ")
        || t.starts_with("WARNING: ") && t.contains(" at ") && t.contains(" PID: ")
    {
        let function = t
            .rsplit_once(' ')
            .map(|(_, f)| f.split('+').next().unwrap_or(f).to_string())
            .filter(|f| !f.contains('/') && !f.contains(':') && !f.is_empty());
        return Some(Headline {
            kind: Kind::Warning,
            detail: None,
            function,
        });
    }
    if let Some(rest) = t
        .strip_prefix("WARNING: ")
        .or_else(|| t.strip_prefix("INFO: "))
    {
        let lockdep = [
            ("possible circular locking dependency", "possible deadlock"),
            ("possible recursive locking", "possible deadlock"),
            ("possible irq lock inversion", "possible deadlock"),
            ("SOFTIRQ-safe -> SOFTIRQ-unsafe", "possible deadlock"),
            ("HARDIRQ-safe -> HARDIRQ-unsafe", "possible deadlock"),
            ("SOFTIRQ-READ-safe", "possible deadlock"),
            ("HARDIRQ-READ-safe", "possible deadlock"),
            ("inconsistent lock state", "inconsistent lock state"),
            ("suspicious RCU usage", "WARNING: suspicious RCU usage"),
            ("bad unlock balance", "WARNING: bad unlock balance"),
            ("held lock freed", "WARNING: held lock freed"),
            (
                "lock held when returning to user space",
                "WARNING: lock held when returning to user space",
            ),
            (
                "nested lock was not taken",
                "WARNING: nested lock was not taken",
            ),
            (
                "trying to register non-static key",
                "INFO: trying to register non-static key",
            ),
            ("possible memory allocation deadlock", "possible deadlock"),
            ("lockdep bug", "WARNING: locking bug"),
        ];
        if let Some((_, d)) = lockdep.iter().find(|(k, _)| rest.starts_with(k)) {
            return h(Kind::Lockdep, Some(d));
        }
    }
    if t.starts_with("[ INFO: possible circular locking")
        || t.starts_with("[ INFO: possible recursive locking")
    {
        return h(Kind::Lockdep, Some("possible deadlock"));
    }
    if t.starts_with("[ INFO: inconsistent lock state") {
        return h(Kind::Lockdep, Some("inconsistent lock state"));
    }
    if t.starts_with("[ INFO: suspicious RCU usage") {
        return h(Kind::Lockdep, Some("WARNING: suspicious RCU usage"));
    }
    if t.starts_with("BUG: soft lockup") {
        return h(Kind::SoftLockup, None);
    }
    if t.contains("Watchdog detected hard LOCKUP")
        || t.starts_with("Kernel panic - not syncing: Hard LOCKUP")
    {
        return h(Kind::HardLockup, None);
    }
    if t.starts_with("INFO: task ") && t.contains(" blocked for more than ") {
        return h(Kind::HungTask, None);
    }
    if (t.starts_with("INFO: rcu") || t.starts_with("INFO: rcu_")) && t.contains("stall") {
        return h(Kind::RcuStall, None);
    }
    if t.contains(" invoked oom-killer: ") {
        return h(Kind::OutOfMemory, None);
    }
    if t.starts_with("sysrq: Trigger a crash") || t.starts_with("SysRq : Trigger a crash") {
        return h(Kind::SysrqCrash, None);
    }
    if let Some(rest) = t.strip_prefix("BUG: KASAN: ") {
        let bug = rest.split_whitespace().next().unwrap_or("");
        let bug = if bug == "double-free" && rest.contains("double-free or invalid-free") {
            "invalid-free"
        } else {
            bug
        };
        return Some(Headline {
            kind: Kind::Kasan,
            detail: Some(bug.to_string()),
            function: function_after_in(rest),
        });
    }
    if let Some(rest) = t.strip_prefix("BUG: KFENCE: ") {
        let what = rest.split(" in ").next().unwrap_or(rest).trim();
        return Some(Headline {
            kind: Kind::Kfence,
            detail: Some(what.to_string()),
            function: function_after_in(rest),
        });
    }
    if let Some(rest) = t.strip_prefix("BUG: KMSAN: ") {
        return Some(Headline {
            kind: Kind::Kmsan,
            detail: rest.split_whitespace().next().map(str::to_string),
            function: function_after_in(rest),
        });
    }
    if let Some(rest) = t.strip_prefix("BUG: KCSAN: ") {
        // `data-race in f1 / f2`: both functions are the title
        return Some(Headline {
            kind: Kind::Kcsan,
            detail: Some(rest.trim().to_string()),
            function: None,
        });
    }
    if let Some(rest) = t.strip_prefix("UBSAN: ") {
        let what = rest.split(" in ").next().unwrap_or(rest).trim();
        let what = if what.eq_ignore_ascii_case("undefined behaviour") {
            "undefined-behaviour"
        } else {
            what
        };
        return h(Kind::Ubsan, Some(what));
    }
    if t.starts_with("BUG: scheduling while atomic") {
        return h(Kind::SchedulingWhileAtomic, Some("scheduling while atomic"));
    }
    if t.starts_with("BUG: sleeping function called from invalid context") {
        return h(
            Kind::SchedulingWhileAtomic,
            Some("sleeping function called from invalid context"),
        );
    }
    if t.starts_with("BUG: Bad page state")
        || t.starts_with("BUG: Bad page map")
        || t.starts_with("BUG: Bad rss-counter")
    {
        let what = t[5..].split(" in ").next().unwrap_or(&t[5..]);
        return h(Kind::MemoryCorruption, Some(&plain_words(what)));
    }
    if t.starts_with("BUG: memory leak") {
        return h(Kind::Bug, Some("memory leak"));
    }
    if t.starts_with("BUG ")
        && (t.contains("Poison overwritten")
            || t.contains("Redzone overwritten")
            || t.contains("Object already free")
            || t.contains("Freepointer corrupt")
            || t.contains("Padding overwritten"))
    {
        let what = t.rsplit_once("): ").map_or("slab corruption", |(_, w)| w);
        return h(Kind::MemoryCorruption, Some(&plain_words(what)));
    }
    if t.starts_with("list_del corruption")
        || t.starts_with("list_add corruption")
        || t.starts_with("list_add double add")
    {
        return h(Kind::ListCorruption, None);
    }
    if let Some(rest) = t.strip_prefix("BUG: ") {
        let words = plain_words(rest.split(" at ").next().unwrap_or(rest));
        let words = words
            .split(": ")
            .next()
            .unwrap_or(&words)
            .trim_end_matches(':')
            .trim()
            .to_string();
        return h(Kind::Bug, Some(&words));
    }
    if t.starts_with("Kernel panic - not syncing: ") {
        return Some(panic_message(t));
    }
    if t.starts_with("mce: [Hardware Error]: CPU") && t.contains("Machine Check")
        || t.starts_with("[Hardware Error]: ") && t.contains("Machine Check Exception")
    {
        return h(Kind::MachineCheck, None);
    }
    None
}

/// Classifies a `Kernel panic - not syncing: MESSAGE` line that starts a report on its own.
pub fn panic_message(t: &str) -> Headline {
    let m = t.split_once("not syncing: ").map_or(t, |(_, m)| m);
    let l = m.to_ascii_lowercase();
    let kind = if l.contains("sysrq triggered crash") {
        Kind::SysrqCrash
    } else if l.starts_with("softlockup") || l.contains("soft lockup") {
        // "softlockup: hung tasks" is the soft-lockup watchdog's message, not a hung task
        Kind::SoftLockup
    } else if l.starts_with("hung_task") || l.contains("hung task") {
        Kind::HungTask
    } else if l.contains("hard lockup") || l.contains("hardlockup") {
        Kind::HardLockup
    } else if l.contains("out of memory") || l.contains("deadlocked on memory") {
        Kind::OutOfMemory
    } else if l.contains("rcu stall") {
        Kind::RcuStall
    } else if l.contains("attempted to kill init") || l.contains("attempted to kill the idle task")
    {
        Kind::KillInit
    } else if l.contains("machine check") || l.starts_with("mce") {
        Kind::MachineCheck
    } else if l.contains("stack is corrupted")
        || l.contains("corrupted stack end")
        || l.contains("stack-protector")
    {
        Kind::StackOverflow
    } else if l.contains("panic_on_warn") {
        Kind::Warning
    } else {
        Kind::Panic
    };
    let (detail, function) = match kind {
        Kind::StackOverflow if l.contains("stack-protector") => (
            Some("stack is corrupted".to_string()),
            function_after_in(&m.replace(" in: ", " in ")),
        ),
        Kind::StackOverflow => (Some("corrupted stack end".to_string()), None),
        Kind::KillInit => (Some("Attempted to kill init!".to_string()), None),
        _ => (None, None),
    };
    Headline {
        kind,
        detail,
        function,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let k = |t: &str| parse(t).map(|h| h.kind);
        assert_eq!(
            k("BUG: kernel NULL pointer dereference, address: 0000000000000000"),
            Some(Kind::NullPointerDereference)
        );
        assert_eq!(
            k("Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN"),
            Some(Kind::GeneralProtectionFault)
        );
        assert_eq!(k("Oops: 0002 [#1] PREEMPT SMP NOPTI"), None);
        assert_eq!(
            k("watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [spin:412]"),
            Some(Kind::SoftLockup)
        );
        let p = parse("Kernel panic - not syncing: softlockup: hung tasks").unwrap();
        assert_eq!(p.kind, Kind::SoftLockup);
        let kasan = parse("BUG: KASAN: slab-use-after-free in tcp_v4_rcv+0x1/0x2").unwrap();
        assert_eq!(kasan.detail.as_deref(), Some("slab-use-after-free"));
        assert_eq!(kasan.function.as_deref(), Some("tcp_v4_rcv"));
        let w = parse("WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo_fn+0x1/0x10").unwrap();
        assert_eq!(w.function.as_deref(), Some("foo_fn"));
        let b =
            parse("BUG: using smp_processor_id() in preemptible [00000000] code: syz/1").unwrap();
        assert_eq!(
            b.detail.as_deref(),
            Some("using smp_processor_id() in preemptible code")
        );
        let sp = parse("Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: foo_bar+0x1/0x2").unwrap();
        assert_eq!(
            (sp.kind, sp.function.as_deref()),
            (Kind::StackOverflow, Some("foo_bar"))
        );
    }
}
