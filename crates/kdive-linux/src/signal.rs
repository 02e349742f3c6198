//! Signals: a task's handlers (`sighand->action[]`), what it blocks, and what is pending for
//! it and for its thread group, with the queued `struct sigqueue`s.

use kdive_program::object::offset_of;
use kdive_program::{Object, Program, Result};

use crate::list::list_entries;

/// Most signals (`_NSIG`).
pub const NSIG: usize = 64;
/// `TIF_SIGPENDING`: the thread-info flag bit that says a signal is pending (x86).
const TIF_SIGPENDING: u64 = 2;

/// One signal's disposition (`struct k_sigaction`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SigAction {
    /// Where its `struct k_sigaction` is.
    pub addr: u64,
    /// `SIG_DFL` 0, `SIG_IGN` 1, `SIG_ERR` -1, or the user handler's address.
    pub handler: u64,
    pub mask: u64,
    pub flags: u64,
}

/// Signals pending: the set, and the `struct sigqueue`s queued (their signal, and where each
/// one's `siginfo` is).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Pending {
    pub signal: u64,
    pub queue: Vec<(i32, u64)>,
}

/// What a task's signals look like.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskSignals {
    /// Its `struct signal_struct` (shared by the thread group), 0 without one.
    pub signal_struct: u64,
    /// Threads in the group (`nr_threads`, `count` on old kernels).
    pub nr_threads: Option<i64>,
    /// The handlers of signals 1 to 64.
    pub actions: Vec<SigAction>,
    /// The thread's "signal pending" flag.
    pub sigpending: bool,
    pub blocked: u64,
    /// Pending for this thread.
    pub private: Pending,
    /// Pending for the whole thread group.
    pub shared: Option<Pending>,
    /// What could not be read.
    pub problems: Vec<String>,
}

/// The first word of a `sigset_t` (64 signals on 64-bit).
fn sigset(o: &Object<'_>) -> Result<u64> {
    o.member("sig")?.index(0)?.read_u64()
}

/// The pending set and queue of a `struct sigpending`.
fn pending(
    prog: &Program,
    p: &Object<'_>,
    limit: usize,
    problems: &mut Vec<String>,
) -> Result<Pending> {
    let signal = sigset(&p.member("signal")?)?;
    let head = p.member("list")?.address().unwrap_or(0);
    let (entries, err) = list_entries(prog, head, "struct sigqueue", "list", limit)?;
    if let Some(e) = err {
        problems.push(format!("signal queue at {head:#x}: {e}"));
    }
    let info_off = offset_of(prog, prog.type_("struct sigqueue")?, "info")?;
    let mut queue = Vec::with_capacity(entries.len());
    for q in entries {
        let signo = prog
            .object("struct sigqueue", q)?
            .member("info.si_signo")
            .and_then(|s| s.read_i64());
        match signo {
            Ok(s) => queue.push((s as i32, q.wrapping_add(info_off))),
            Err(e) => problems.push(format!("sigqueue {q:#x}: {e}")),
        }
    }
    Ok(Pending { signal, queue })
}

/// Reads the signal state of the task at `task`.
pub fn task_signals(prog: &Program, task: u64, limit: usize) -> Result<TaskSignals> {
    let t = prog.object("struct task_struct", task)?;
    let mut problems = Vec::new();
    let signal_struct = t.member("signal")?.read_u64()?;
    let sig = (signal_struct != 0)
        .then(|| prog.object("struct signal_struct", signal_struct))
        .transpose()?;
    let nr_threads = sig.and_then(|s| {
        s.member("nr_threads")
            .or_else(|_| s.member("count"))
            .and_then(|n| crate::read_counter(&n))
            .ok()
    });
    let mut actions = Vec::with_capacity(NSIG);
    let sighand = t.member("sighand")?.read_u64()?;
    if sighand != 0 {
        let action = prog
            .object("struct sighand_struct", sighand)?
            .member("action")?;
        for i in 0..(action.array_len()? as usize).min(NSIG) {
            let k = action.index(i as u64)?;
            let sa = k.member("sa")?;
            actions.push(SigAction {
                addr: k.address().unwrap_or(0),
                handler: sa.member("sa_handler")?.read_u64()?,
                mask: sigset(&sa.member("sa_mask")?)?,
                flags: sa.member("sa_flags")?.read_u64()?,
            });
        }
    }
    // the thread_info is in the task (x86 since 4.9), or at the base of its stack before
    let flags = t
        .member("thread_info.flags")
        .and_then(|f| f.read_u64())
        .or_else(|_| {
            let ti = t.member("stack")?.read_u64()?;
            prog.object("struct thread_info", ti)?
                .member("flags")?
                .read_u64()
        });
    let flags = match flags {
        Ok(f) => f,
        Err(e) => {
            problems.push(format!("thread_info flags: {e}"));
            0
        }
    };
    let private = pending(prog, &t.member("pending")?, limit, &mut problems)?;
    let shared = match sig {
        Some(s) => Some(pending(
            prog,
            &s.member("shared_pending")?,
            limit,
            &mut problems,
        )?),
        None => None,
    };
    Ok(TaskSignals {
        signal_struct,
        nr_threads,
        actions,
        sigpending: flags >> TIF_SIGPENDING & 1 == 1,
        blocked: sigset(&t.member("blocked")?)?,
        private,
        shared,
        problems,
    })
}

/// The name of signal `n` (1-64) as crash and the kernel's headers name them: `SIGHUP`...,
/// `SIGRTMIN`, `SIGRTMIN+1`..., `SIGRTMAX-1`, `SIGRTMAX`.
pub fn signal_name(n: usize) -> Option<String> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    // crash splits the real-time range in the middle: 33..=48 from SIGRTMIN, 49..=63 from SIGRTMAX
    const RTMIN: usize = 32;
    const MAX_BELOW: usize = (NSIG - RTMIN - 1) / 2;
    let min_above = NSIG - RTMIN - 1 - MAX_BELOW;
    match n {
        1..=31 => Some(NAMES[n - 1].to_string()),
        RTMIN => Some("SIGRTMIN".into()),
        NSIG => Some("SIGRTMAX".into()),
        _ if n > RTMIN && n <= RTMIN + min_above => Some(format!("SIGRTMIN+{}", n - RTMIN)),
        _ if n > RTMIN && n < NSIG => Some(format!("SIGRTMAX-{}", NSIG - n)),
        _ => None,
    }
}

/// The other names of a few signals (`SIGIOT` for `SIGABRT`...).
pub fn signal_alias(n: usize) -> Option<&'static str> {
    match n {
        6 => Some("SIGIOT"),
        17 => Some("SIGCLD"),
        29 => Some("SIGPOLL"),
        31 => Some("SIGUNUSED"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(signal_name(1).as_deref(), Some("SIGHUP"));
        assert_eq!(signal_name(31).as_deref(), Some("SIGSYS"));
        assert_eq!(signal_name(32).as_deref(), Some("SIGRTMIN"));
        assert_eq!(signal_name(33).as_deref(), Some("SIGRTMIN+1"));
        assert_eq!(signal_name(48).as_deref(), Some("SIGRTMIN+16"));
        assert_eq!(signal_name(49).as_deref(), Some("SIGRTMAX-15"));
        assert_eq!(signal_name(63).as_deref(), Some("SIGRTMAX-1"));
        assert_eq!(signal_name(64).as_deref(), Some("SIGRTMAX"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(65), None);
    }
}
