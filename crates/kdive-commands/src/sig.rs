//! `sig`: a task's signal handlers, blocked and pending signals and queued `sigqueue`s, as
//! crash prints them; `-g` a whole thread group, `-l` the signal names, `-s` a set's names.

use std::io::{self, Write};

use kdive_linux::signal::{signal_alias, signal_name, task_signals, NSIG};
use kdive_linux::task::TaskInfo;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::{center, task_header};
use crate::table;
use crate::tasks::tasks_named;
use crate::{CommandError, Report, Session, TextOptions};

/// What `sig` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Sig {
    pub tasks: Vec<SigTask>,
    pub options: SigOptions,
}

/// How `sig` prints.
#[derive(Debug, Serialize, Deserialize)]
pub struct SigOptions {
    /// Run by `foreach`: tasks separated by blank lines, none after the last.
    pub foreach: bool,
    /// `-g`: each thread of the group under the group's handlers.
    pub thread_group: bool,
    /// `-R`: only these signals' handlers and queued entries (null: every signal).
    #[serde(default)]
    pub signals: Option<Vec<u32>>,
}

/// One task, or with `-g` one thread group.
#[derive(Debug, Serialize, Deserialize)]
pub struct SigTask {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    #[serde(with = "crate::hex")]
    pub signal_struct: u64,
    pub nr_threads: Option<i64>,
    /// The handlers of signals 1 to 64.
    pub actions: Vec<SigActionRow>,
    /// The task's own state; with `-g`, one per thread, the leader first.
    pub threads: Vec<SigThread>,
    /// Pending for the whole thread group.
    pub shared_pending: Option<SigPending>,
    pub problems: Vec<String>,
}

/// One signal's handler.
#[derive(Debug, Serialize, Deserialize)]
pub struct SigActionRow {
    pub signal: u32,
    /// Where its `struct k_sigaction` is.
    #[serde(with = "crate::hex")]
    pub sigaction: u64,
    /// `SIG_DFL`, `SIG_IGN`, `SIG_ERR` or the handler's address in hex.
    pub handler: String,
    #[serde(with = "crate::hex")]
    pub mask: u64,
    #[serde(with = "crate::hex")]
    pub flags: u64,
    /// The `SA_*` names of the flags set.
    pub flag_names: Vec<String>,
}

/// One thread's signal state.
#[derive(Debug, Serialize, Deserialize)]
pub struct SigThread {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    pub sigpending: bool,
    #[serde(with = "crate::hex")]
    pub blocked: u64,
    pub private_pending: SigPending,
}

/// A pending set and its queue.
#[derive(Debug, Serialize, Deserialize)]
pub struct SigPending {
    #[serde(with = "crate::hex")]
    pub signal: u64,
    pub queue: Vec<SigQueued>,
}

/// One queued signal.
#[derive(Debug, Serialize, Deserialize)]
pub struct SigQueued {
    pub signal: i32,
    /// Where its `siginfo` is.
    #[serde(with = "crate::hex")]
    pub siginfo: u64,
}

/// `sig -l` and `sig -s SET`: signal names.
#[derive(Debug, Serialize, Deserialize)]
pub struct SigNames {
    /// `-l`: every signal with its names; `-s`: the signals in the set.
    pub signals: Vec<SigName>,
    /// `-s`: the set given (null for `-l`).
    #[serde(with = "crate::hex_opt")]
    pub set: Option<u64>,
}

/// A signal's number and names.
#[derive(Debug, Serialize, Deserialize)]
pub struct SigName {
    pub signal: u32,
    pub name: String,
    pub alias: Option<String>,
}

/// `sa_flags` bits in the order crash names them.
const SA_FLAGS: [(u64, &str); 8] = [
    (0x1, "SA_NOCLDSTOP"),
    (0x0400_0000, "SA_RESTORER"),
    (0x2, "SA_NOCLDWAIT"),
    (0x4, "SA_SIGINFO"),
    (0x0800_0000, "SA_ONSTACK"),
    (0x1000_0000, "SA_RESTART"),
    (0x4000_0000, "SA_NODEFER"),
    (0x8000_0000, "SA_RESETHAND"),
];

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "sig",
        source: e,
    }
}

/// Runs `sig`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::SIG, args)?;
    if f.has('l') {
        return Ok(Box::new(SigNames {
            signals: (1..=NSIG).filter_map(name_of).collect(),
            set: None,
        }));
    }
    if let Some(set) = f.value('s') {
        let v = u64::from_str_radix(set.trim_start_matches("0x"), 16)
            .map_err(|_| CommandError::Usage(format!("sig: invalid signal set: {set}")))?;
        return Ok(Box::new(SigNames {
            signals: (1..=NSIG)
                .filter(|n| v >> (n - 1) & 1 == 1)
                .filter_map(name_of)
                .collect(),
            set: Some(v),
        }));
    }
    let tasks = tasks_named(s, "sig", &f.positional)?;
    let only = f.value('R').map(signal_list).transpose()?;
    signals_of(s, &crate::tasks::as_refs(&tasks), f.has('g'), false, only)
}

/// The signals of `-R`: numbers (1 to 64) or names with or without `SIG` (`SIGINT`, `int`,
/// `SIGRTMIN+3`), comma-separated.
fn signal_list(list: &str) -> Result<Vec<u32>, CommandError> {
    list.split(',')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let upper = w.to_ascii_uppercase();
            let name = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            w.parse::<usize>()
                .ok()
                .filter(|n| (1..=NSIG).contains(n))
                .or_else(|| {
                    (1..=NSIG).find(|&n| {
                        signal_name(n).as_deref() == Some(name.as_str())
                            || signal_alias(n) == Some(name.as_str())
                    })
                })
                .map(|n| n as u32)
                .ok_or_else(|| CommandError::Usage(format!("sig: -R: no signal {w}")))
        })
        .collect()
}

/// Runs `sig` for the tasks `foreach` chose.
pub fn for_tasks(
    s: &Session,
    tasks: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report>, CommandError> {
    if f.has('l') || f.has('s') {
        return Err(CommandError::Usage(
            "foreach: sig: -l and -s options are not applicable".into(),
        ));
    }
    let only = f.value('R').map(signal_list).transpose()?;
    signals_of(s, tasks, f.has('g'), true, only)
}

fn name_of(n: usize) -> Option<SigName> {
    Some(SigName {
        signal: n as u32,
        name: signal_name(n)?,
        alias: signal_alias(n).map(str::to_string),
    })
}

fn signals_of(
    s: &Session,
    chosen: &[&TaskInfo],
    group: bool,
    foreach: bool,
    only: Option<Vec<u32>>,
) -> Result<Box<dyn Report>, CommandError> {
    let wanted = |n: u32| only.as_ref().is_none_or(|l| l.contains(&n));
    let prog = s.kernel()?;
    let all = &s.tasks()?.infos;
    let mut out = Vec::new();
    let mut groups_shown = Vec::new();
    for t in chosen {
        let members: Vec<&TaskInfo> = if group {
            // a thread stands for its group, each group once
            let Some(leader) = all.iter().find(|l| l.pid == t.tgid && l.tgid == t.tgid) else {
                continue;
            };
            if groups_shown.contains(&leader.addr) {
                continue;
            }
            groups_shown.push(leader.addr);
            let mut m = vec![leader];
            let mut rest: Vec<&TaskInfo> = all
                .iter()
                .filter(|o| o.tgid == leader.tgid && o.addr != leader.addr)
                .collect();
            rest.sort_by_key(|o| (o.pid, o.cpu));
            m.extend(rest);
            m
        } else {
            vec![*t]
        };
        let first = members[0];
        let sig = task_signals(prog, first.addr, s.walk_limit).map_err(program_error)?;
        let mut problems = sig.problems.clone();
        let mut threads = vec![thread(first, &sig, &wanted)];
        for m in &members[1..] {
            match task_signals(prog, m.addr, s.walk_limit) {
                Ok(ms) => {
                    problems.extend(ms.problems.iter().cloned());
                    threads.push(thread(m, &ms, &wanted));
                }
                Err(e) => problems.push(format!("task {:#x}: {e}", m.addr)),
            }
        }
        out.push(SigTask {
            pid: first.pid,
            task: first.addr,
            cpu: first.cpu,
            comm: first.comm.clone(),
            signal_struct: sig.signal_struct,
            nr_threads: sig.nr_threads,
            actions: sig
                .actions
                .iter()
                .enumerate()
                .filter(|(i, _)| wanted(*i as u32 + 1))
                .map(|(i, a)| SigActionRow {
                    signal: i as u32 + 1,
                    sigaction: a.addr,
                    handler: match a.handler as i64 {
                        -1 => "SIG_ERR".into(),
                        0 => "SIG_DFL".into(),
                        1 => "SIG_IGN".into(),
                        h => format!("{:x}", h as u64),
                    },
                    mask: a.mask,
                    flags: a.flags,
                    flag_names: SA_FLAGS
                        .iter()
                        .filter(|(bit, _)| a.flags & bit != 0)
                        .map(|(_, n)| n.to_string())
                        .collect(),
                })
                .collect(),
            threads,
            shared_pending: sig.shared.as_ref().map(|p| pending(p, &wanted)),
            problems,
        });
    }
    Ok(Box::new(Sig {
        tasks: out,
        options: SigOptions {
            foreach,
            thread_group: group,
            signals: only.clone(),
        },
    }))
}

fn pending(p: &kdive_linux::signal::Pending, wanted: &dyn Fn(u32) -> bool) -> SigPending {
    SigPending {
        signal: p.signal,
        queue: p
            .queue
            .iter()
            .filter(|(signal, _)| wanted(*signal as u32))
            .map(|&(signal, siginfo)| SigQueued { signal, siginfo })
            .collect(),
    }
}

fn thread(
    t: &TaskInfo,
    s: &kdive_linux::signal::TaskSignals,
    wanted: &dyn Fn(u32) -> bool,
) -> SigThread {
    SigThread {
        pid: t.pid,
        task: t.addr,
        cpu: t.cpu,
        comm: t.comm.clone(),
        sigpending: s.sigpending,
        blocked: s.blocked,
        private_pending: pending(&s.private, wanted),
    }
}

fn write_queue(w: &mut dyn Write, indent: &str, q: &[SigQueued]) -> io::Result<()> {
    if q.is_empty() {
        return writeln!(w, "{indent}  SIGQUEUE: (empty)");
    }
    writeln!(
        w,
        "{indent}  SIGQUEUE:  SIG  {}",
        center("SIGINFO", 16, false)
    )?;
    for e in q {
        writeln!(w, "             {:3}  {:x}", e.signal, e.siginfo)?;
    }
    Ok(())
}

impl SigTask {
    /// The group's handlers (`SIGNAL_STRUCT` and the table), indented under `-g`'s header.
    fn write_handlers(&self, w: &mut dyn Write, indent: &str) -> io::Result<()> {
        write!(w, "{indent}SIGNAL_STRUCT: {:x}  ", self.signal_struct)?;
        if self.signal_struct == 0 {
            return writeln!(w);
        }
        match self.nr_threads {
            Some(n) => writeln!(w, "NR_THREADS: {n}")?,
            None => writeln!(w)?,
        }
        writeln!(
            w,
            "{indent} SIG {} {:>10} {} {:<16}",
            center("SIGACTION", 16, false),
            "HANDLER",
            center("MASK", 16, false),
            "FLAGS"
        )?;
        for a in &self.actions {
            let tag = format!("[{}]", a.signal);
            write!(
                w,
                "{indent}{tag:>4} {:<10x} {:>10} {:016x} {:x} ",
                a.sigaction, a.handler, a.mask, a.flags
            )?;
            if !a.flag_names.is_empty() {
                write!(w, "({})", a.flag_names.join("|"))?;
            }
            writeln!(w)?;
        }
        Ok(())
    }

    fn write_shared(&self, w: &mut dyn Write) -> io::Result<()> {
        if let Some(p) = &self.shared_pending {
            writeln!(w, "SHARED_PENDING")?;
            writeln!(w, "    SIGNAL: {:016x}", p.signal)?;
            write_queue(w, "", &p.queue)?;
        }
        Ok(())
    }
}

impl SigThread {
    fn write(&self, w: &mut dyn Write, indent: &str) -> io::Result<()> {
        writeln!(
            w,
            "{indent}SIGPENDING: {}",
            if self.sigpending { "yes" } else { "no" }
        )?;
        writeln!(w, "{indent}   BLOCKED: {:016x}", self.blocked)?;
        writeln!(w, "{indent}PRIVATE_PENDING")?;
        writeln!(
            w,
            "{indent}    SIGNAL: {:016x}",
            self.private_pending.signal
        )?;
        write_queue(w, indent, &self.private_pending.queue)
    }
}

impl Report for Sig {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 && self.options.foreach {
                writeln!(w)?;
            }
            writeln!(w, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            if self.options.thread_group {
                t.write_handlers(w, "")?;
                t.write_shared(w)?;
                for th in &t.threads {
                    writeln!(w)?;
                    writeln!(w, "  {}", task_header(th.pid, th.task, th.cpu, &th.comm))?;
                    th.write(w, "  ")?;
                }
            } else {
                t.write_handlers(w, "")?;
                if let Some(th) = t.threads.first() {
                    th.write(w, "")?;
                }
                t.write_shared(w)?;
            }
            for p in &t.problems {
                writeln!(w, "sig: {p}")?;
            }
            if !self.options.foreach {
                writeln!(w)?;
            }
        }
        Ok(())
    }
}

impl Report for SigNames {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        if self.set.is_none() {
            for s in &self.signals {
                let pad = if s.signal < 10 { " " } else { "" };
                write!(w, "{pad}[{}] {}", s.signal, s.name)?;
                if let Some(a) = &s.alias {
                    write!(w, "/{a}")?;
                }
                writeln!(w)?;
            }
            return Ok(());
        }
        if self.signals.is_empty() {
            return writeln!(w, "(none)");
        }
        // names on lines of at most 80 columns
        let mut len = 0;
        for (i, s) in self.signals.iter().enumerate() {
            let word = if i == 0 {
                s.name.clone()
            } else {
                format!(" {}", s.name)
            };
            if len + word.len() > 80 {
                writeln!(w)?;
                write!(w, "{}", word.trim_start())?;
                len = word.len() - 1;
            } else {
                write!(w, "{word}")?;
                len += word.len();
            }
        }
        writeln!(w)
    }
}
