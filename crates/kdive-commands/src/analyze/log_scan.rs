//! What the kernel log says about a crash: the lines triage keys on, parsed from their text.
//!
//! Everything here is pure text handling over log records, so it is tested on its own.

/// A `RIP: 0010:func+0x1c/0xffb [module]` line of an oops (kernel mode only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RipLine {
    pub function: String,
    pub offset: Option<u64>,
    pub module: Option<String>,
}

/// A task the log names: `comm`, `pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTask {
    pub comm: String,
    pub pid: i32,
}

/// The crash-relevant facts of a log, each with the line it came from.
#[derive(Debug, Default, Clone)]
pub struct LogFacts {
    /// `Kernel panic - not syncing: ...` (the last one).
    pub panic: Option<String>,
    /// The first oops headline: `BUG: ...`, `general protection fault...`, `kernel BUG at ...`,
    /// `Oops: ...`, `Unable to handle ...`, `invalid opcode: ...`.
    pub oops: Option<String>,
    /// The `Oops: ...` line itself (error code, count), when there is one.
    pub oops_code: Option<String>,
    /// The first kernel-mode `RIP:` line after the first oops headline (or anywhere).
    pub rip: Option<(RipLine, String)>,
    /// The `CPU: N PID: P Comm: C` line after the first oops or panic.
    pub comm: Option<(NamedTask, String)>,
    /// `INFO: task NAME:PID blocked for more than N seconds.`
    pub blocked: Vec<(NamedTask, String)>,
    /// `watchdog: BUG: soft lockup - CPU#N stuck for Ns! [comm:pid]`
    pub soft_lockup: Option<(NamedTask, String)>,
    /// `Watchdog detected hard LOCKUP on cpu N`
    pub hard_lockup: Option<String>,
    /// `... invoked oom-killer: ...` (the allocating task's comm)
    pub oom_invoker: Option<(String, String)>,
    /// `Out of memory: Killed process N (comm)` (or the panic line of `panic_on_oom`)
    pub oom: Option<String>,
    /// `rcu: INFO: rcu_... detected stalls`
    pub rcu_stall: Option<String>,
    /// `sysrq: Trigger a crash`
    pub sysrq: Option<String>,
    /// `WARNING: CPU: N PID: P at file:line func+off` (the first)
    pub warning: Option<String>,
    /// `Modules linked in: ...`
    pub modules_linked: Option<String>,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// Parses `func+0x1c/0xffb [module]` (what follows `RIP: 0010:`).
pub fn parse_location(s: &str) -> Option<RipLine> {
    let s = s.trim();
    let (sym, module) = match s.split_once(" [") {
        Some((sym, m)) => (sym, Some(m.trim_end_matches(']').to_string())),
        None => (s, None),
    };
    let (function, offset) = match sym.split_once('+') {
        Some((f, off)) => (f, off.split('/').next().and_then(hex)),
        None => (sym, None),
    };
    // a user-mode RIP is a bare address
    if function.is_empty() || function.starts_with("0x") {
        return None;
    }
    Some(RipLine {
        function: function.to_string(),
        offset,
        module,
    })
}

/// `name:pid` (the name may itself hold colons).
fn task_at(s: &str) -> Option<NamedTask> {
    let (comm, pid) = s.rsplit_once(':')?;
    Some(NamedTask {
        comm: comm.to_string(),
        pid: pid.trim().parse().ok()?,
    })
}

fn after<'a>(l: &'a str, key: &str) -> Option<&'a str> {
    l.find(key).map(|i| &l[i + key.len()..])
}

/// Scans log lines (oldest first) for the facts triage needs.
pub fn scan<'a>(lines: impl Iterator<Item = &'a str>) -> LogFacts {
    let mut f = LogFacts::default();
    let mut rip_after_report = false;
    for raw in lines {
        let l = raw.trim_end();
        let t = l.trim_start();
        if l.contains("Kernel panic - not syncing: ") {
            f.panic = Some(t.to_string());
            continue;
        }
        let headline = t.starts_with("BUG: ")
            || t.starts_with("kernel BUG at ")
            || t.starts_with("general protection fault")
            || t.starts_with("Unable to handle ")
            || t.starts_with("invalid opcode: ")
            || t.starts_with("Oops: ");
        if t.starts_with("Oops: ") && f.oops_code.is_none() {
            f.oops_code = Some(t.to_string());
        }
        if headline && !t.starts_with("BUG: soft lockup") && f.oops.is_none() {
            f.oops = Some(t.to_string());
            continue;
        }
        if let Some(rest) = after(t, "RIP: 0010:") {
            // the first kernel RIP after the oops (or lockup) report; an earlier one (a
            // WARNING's) stands only until then
            let after_report = f.oops.is_some() || f.soft_lockup.is_some();
            if f.rip.is_none() || (after_report && !rip_after_report) {
                if let Some(r) = parse_location(rest) {
                    f.rip = Some((r, t.to_string()));
                    rip_after_report = after_report;
                }
            }
            continue;
        }
        if let (Some(rest), None) = (after(t, " PID: "), &f.comm) {
            if t.starts_with("CPU: ")
                && (f.oops.is_some() || f.panic.is_some() || f.soft_lockup.is_some())
            {
                if let Some(c) = after(rest, "Comm: ") {
                    let comm = c.split_whitespace().next().unwrap_or_default().to_string();
                    let pid = rest.split_whitespace().next().and_then(|p| p.parse().ok());
                    if let Some(pid) = pid {
                        f.comm = Some((NamedTask { comm, pid }, t.to_string()));
                    }
                }
            }
            continue;
        }
        if let Some(rest) = after(t, "INFO: task ") {
            if let Some(name) = rest
                .split(" blocked for more than")
                .next()
                .filter(|_| rest.contains(" blocked for more than"))
            {
                if let Some(task) = task_at(name) {
                    f.blocked.push((task, t.to_string()));
                }
            }
            continue;
        }
        if t.contains("soft lockup - CPU#") && f.soft_lockup.is_none() {
            let task = t
                .rsplit_once('[')
                .and_then(|(_, x)| task_at(x.trim_end_matches(']')));
            if let Some(task) = task {
                f.soft_lockup = Some((task, t.to_string()));
            }
            continue;
        }
        if t.contains("hard LOCKUP") && f.hard_lockup.is_none() {
            f.hard_lockup = Some(t.to_string());
            continue;
        }
        if let Some((comm, _)) = t.split_once(" invoked oom-killer") {
            if f.oom_invoker.is_none() {
                f.oom_invoker = Some((comm.trim().to_string(), t.to_string()));
            }
            continue;
        }
        if t.starts_with("Out of memory") && f.oom.is_none() {
            f.oom = Some(t.to_string());
            continue;
        }
        if t.contains("detected stalls") && t.contains("rcu") && f.rcu_stall.is_none() {
            f.rcu_stall = Some(t.to_string());
            continue;
        }
        if t.starts_with("sysrq: Trigger a crash") {
            f.sysrq = Some(t.to_string());
            continue;
        }
        if t.starts_with("WARNING: CPU: ") && f.warning.is_none() {
            f.warning = Some(t.to_string());
            continue;
        }
        if t.starts_with("Modules linked in:") && f.modules_linked.is_none() {
            f.modules_linked = Some(t.to_string());
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oops_in_a_module() {
        let log = [
            "BUG: kernel NULL pointer dereference, address: 0000000000000000",
            "#PF: supervisor write access in kernel mode",
            "Oops: 0002 [#1] PREEMPT SMP NOPTI",
            "CPU: 1 PID: 564 Comm: insmod Kdump: loaded Tainted: G           OE      6.1.0-56-cloud-amd64 #1",
            "RIP: 0010:fixture_poke.constprop.0+0x1c/0xffb [null_pointer]",
            "RIP: 0033:0x47fbe9",
            "Modules linked in: null_pointer(OE+) pvpanic_mmio",
        ];
        let f = scan(log.iter().copied());
        assert!(f.oops.as_deref().unwrap().contains("NULL pointer"));
        assert_eq!(
            f.oops_code.as_deref(),
            Some("Oops: 0002 [#1] PREEMPT SMP NOPTI")
        );
        let rip = f.rip.unwrap().0;
        assert_eq!(rip.function, "fixture_poke.constprop.0");
        assert_eq!(rip.offset, Some(0x1c));
        assert_eq!(rip.module.as_deref(), Some("null_pointer"));
        assert_eq!(
            f.comm.unwrap().0,
            NamedTask {
                comm: "insmod".into(),
                pid: 564
            }
        );
        assert!(f.panic.is_none());
    }

    #[test]
    fn hung_tasks_lockups_oom() {
        let log = [
            "INFO: task fixture_hung:663 blocked for more than 5 seconds.",
            "INFO: task cat:736 blocked for more than 5 seconds.",
            "watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [fixture_spin:412]",
            "oomhog invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0",
            "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled",
        ];
        let f = scan(log.iter().copied());
        let b: Vec<_> = f
            .blocked
            .iter()
            .map(|(t, _)| (t.comm.as_str(), t.pid))
            .collect();
        assert_eq!(b, [("fixture_hung", 663), ("cat", 736)]);
        assert_eq!(
            f.soft_lockup.unwrap().0,
            NamedTask {
                comm: "fixture_spin".into(),
                pid: 412
            }
        );
        assert!(f.oops.is_none(), "a soft lockup is not an oops");
        assert_eq!(f.oom_invoker.unwrap().0, "oomhog");
        assert!(f.panic.unwrap().contains("Out of memory"));
    }

    #[test]
    fn the_oops_rip_wins_over_an_earlier_warning() {
        let log = [
            "WARNING: CPU: 0 PID: 1 at kernel/foo.c:1 warn_fn+0x1/0x10",
            "RIP: 0010:warn_fn+0x1/0x10",
            "BUG: kernel NULL pointer dereference, address: 0000000000000000",
            "RIP: 0010:real_fn+0x2/0x20 [mod]",
            "RIP: 0010:later_fn+0x3/0x30",
        ];
        let f = scan(log.iter().copied());
        assert_eq!(f.rip.unwrap().0.function, "real_fn");
    }

    #[test]
    fn locations() {
        assert_eq!(parse_location("0x47b7a0"), None);
        let r = parse_location("panic+0x118/0x2f4").unwrap();
        assert_eq!(
            (r.function.as_str(), r.offset, r.module),
            ("panic", Some(0x118), None)
        );
    }
}
