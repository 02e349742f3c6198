//! Kernel reports found in a log: where each starts and ends, and the facts each holds.

use serde::{Deserialize, Serialize};

use crate::frame::{self, Frame};
use crate::headline::{self, Headline};
use crate::kind::Kind;
use crate::lines;

/// Lines kept per report (a report longer than this keeps its first lines).
const MAX_REPORT_LINES: usize = 4000;
/// Frames kept per stack.
const MAX_FRAMES: usize = 256;
/// Stacks kept per report.
const MAX_STACKS: usize = 256;

/// Which stack a trace was printed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    Task,
    Irq,
    Softirq,
    Nmi,
    /// Allocation, free and other auxiliary stacks of KASAN/KFENCE/lockdep reports.
    Aux,
}

/// One printed stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stack {
    pub context: Context,
    /// Printed after the panic line (the panicking task's own stack).
    pub after_panic: bool,
    pub frames: Vec<Frame>,
}

/// A task the report names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskName {
    pub comm: String,
    pub pid: i32,
}

/// A task of a hung-task report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Blocked {
    pub task: TaskName,
    pub seconds: Option<u64>,
    /// The index in `stacks` of its stack.
    pub stack: Option<usize>,
}

/// What the OOM killer printed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OomFacts {
    pub invoker: Option<String>,
    /// The task with the largest resident set in the killer's task list: name, pid, pages.
    pub largest: Option<(String, i32, u64)>,
    /// `Killed process N (comm)`.
    pub killed: Option<TaskName>,
    /// `constraint=CONSTRAINT_NONE`, `CONSTRAINT_MEMCG`...
    pub constraint: Option<String>,
}

/// One kernel report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub kind: Kind,
    /// The line that started it.
    pub headline: String,
    /// Words the title keeps beside the kind.
    pub detail: Option<String>,
    /// A function the headline names.
    pub headline_function: Option<String>,
    /// `file:line` of `kernel BUG at` / `WARNING: ... at`.
    pub location: Option<String>,
    /// `Kernel panic - not syncing: ...`
    pub panic: Option<String>,
    /// The kernel-mode instruction pointer (`RIP: 0010:`, `IP:`, `pc : `).
    pub ip: Option<Frame>,
    pub stacks: Vec<Stack>,
    pub task: Option<TaskName>,
    pub cpu: Option<u32>,
    /// The kernel release of the `CPU: ... Comm: ...` line.
    pub release: Option<String>,
    /// The taint flags (`G           OE`) of that line, or `Tainted: [O]=...`.
    pub taint: Option<String>,
    pub fault_address: Option<u64>,
    /// The page-fault error code (`#PF: error_code(0x0002)`, or `Oops: 0002`).
    pub error_code: Option<u64>,
    /// The `#PF:` lines.
    pub pf_lines: Vec<String>,
    /// KASAN's `probably for non-canonical address` and `null-ptr-deref in range` hints.
    pub address_hint: Option<String>,
    /// Where lockdep saw the lock taken that closes the cycle (`is trying to acquire lock: ...
    /// at: FUNC`), or taken in the wrong context (`takes: ... at: FUNC`).
    pub lock_site: Option<Frame>,
    /// `Read`/`Write` of a KASAN report.
    pub access: Option<String>,
    /// The panic said `Fatal exception in interrupt`, or the report printed `<IRQ>`.
    pub in_interrupt: bool,
    /// The `Code:` line's bytes.
    pub code: Option<String>,
    pub blocked: Vec<Blocked>,
    /// Soft/hard lockup: CPU and seconds stuck.
    pub lockup_cpu: Option<u32>,
    pub lockup_seconds: Option<u64>,
    pub oom: Option<OomFacts>,
    /// Line number (1-based) in the input where it started.
    pub line: usize,
    /// The report's lines, prefixes removed.
    pub lines: Vec<String>,
}

impl Report {
    fn new(h: Headline, t: &str, line: usize) -> Report {
        Report {
            kind: h.kind,
            headline: t.to_string(),
            detail: h.detail,
            headline_function: h.function,
            location: None,
            panic: None,
            ip: None,
            stacks: Vec::new(),
            task: None,
            cpu: None,
            release: None,
            taint: None,
            fault_address: None,
            error_code: None,
            pf_lines: Vec::new(),
            address_hint: None,
            lock_site: None,
            access: None,
            in_interrupt: false,
            code: None,
            blocked: Vec::new(),
            lockup_cpu: None,
            lockup_seconds: None,
            oom: None,
            line,
            lines: Vec::new(),
        }
    }
}

fn hex(s: &str) -> Option<u64> {
    let s = s.trim().trim_start_matches("0x");
    let end = s.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(s.len());
    u64::from_str_radix(&s[..end], 16).ok()
}

fn after<'a>(l: &'a str, key: &str) -> Option<&'a str> {
    l.find(key).map(|i| &l[i + key.len()..])
}

/// A line that may precede a headline and changes what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precursor {
    ListCorruption,
    Refcount,
    Odebug,
}

fn precursor(t: &str) -> Option<Precursor> {
    if t.starts_with("list_del corruption")
        || t.starts_with("list_add corruption")
        || t.starts_with("list_add double add")
    {
        Some(Precursor::ListCorruption)
    } else if t.starts_with("refcount_t: ") {
        Some(Precursor::Refcount)
    } else if t.starts_with("ODEBUG: ") {
        Some(Precursor::Odebug)
    } else {
        None
    }
}

/// Headlines looked for inside a line when it does not start with one.
const EMBEDDED: &[&str] = &[
    "general protection fault",
    "BUG: KASAN: ",
    "BUG: unable to handle",
    "BUG: kernel NULL pointer",
    "kernel BUG at ",
    "WARNING: CPU: ",
    "BUG: soft lockup",
    "INFO: task ",
];

/// Whether a new headline continues the open report instead of starting one.
fn continues(cur: &Report, h: &Headline, t: &str, ended: bool) -> bool {
    let fault = |k: Kind| {
        matches!(
            k,
            Kind::NullPointerDereference
                | Kind::BadMemoryAccess
                | Kind::GeneralProtectionFault
                | Kind::KernelBug
                | Kind::Oops
                | Kind::StackOverflow
        )
    };
    let exception_line = t.starts_with("Internal error: ")
        || t.starts_with("invalid opcode: ")
        || (t.starts_with("Oops: ") && h.kind == Kind::Oops);
    if ended {
        return false;
    }
    match cur.kind {
        Kind::HungTask => h.kind == Kind::HungTask,
        // old kernels crashed sysrq with a NULL write
        Kind::SysrqCrash => fault(h.kind),
        Kind::ListCorruption => {
            cur.stacks.is_empty() && matches!(h.kind, Kind::KernelBug | Kind::Warning | Kind::Oops)
        }
        k if fault(k) => exception_line || (k == Kind::StackOverflow && fault(h.kind)),
        _ => false,
    }
}

struct Parser {
    /// The previous line asked for a lock site (`is trying to acquire lock:`, `takes:`).
    want_lock_site: bool,
    reports: Vec<Report>,
    cur: Option<Report>,
    /// The open report printed `---[ end trace`.
    ended: bool,
    in_stack: bool,
    context: Context,
    after_panic: bool,
    pending: Option<(usize, Precursor, String)>,
    oom_columns: Option<usize>,
}

impl Parser {
    fn finish(&mut self) {
        if let Some(r) = self.cur.take() {
            // an OOM kill the system survived is not a crash report
            if !(r.kind == Kind::OutOfMemory && r.panic.is_none()) {
                self.reports.push(r);
            }
        }
        self.ended = false;
        self.in_stack = false;
        self.context = Context::Task;
        self.after_panic = false;
        self.oom_columns = None;
    }

    fn start(&mut self, h: Headline, t: &str, n: usize) {
        self.finish();
        let mut r = Report::new(h, t, n);
        if let Some((at, p, line)) = self.pending.take() {
            if n.saturating_sub(at) <= 4 {
                apply_precursor(&mut r, p);
                r.lines.push(line);
            }
        }
        self.cur = Some(r);
    }

    fn push_frame(&mut self, f: Frame) {
        let Some(r) = self.cur.as_mut() else { return };
        if !self.in_stack || r.stacks.is_empty() {
            if r.stacks.len() >= MAX_STACKS {
                return;
            }
            r.stacks.push(Stack {
                context: self.context,
                after_panic: self.after_panic,
                frames: Vec::new(),
            });
            self.in_stack = true;
        }
        if let Some(s) = r.stacks.last_mut() {
            if s.frames.len() < MAX_FRAMES {
                s.frames.push(f);
            }
        }
    }

    fn new_stack(&mut self, context: Context) {
        self.context = context;
        self.in_stack = false;
        if let Some(r) = self.cur.as_mut() {
            if matches!(context, Context::Irq | Context::Softirq) {
                r.in_interrupt = true;
            }
        }
    }

    fn line(&mut self, raw: &str, n: usize) {
        let l = lines::clean(raw);
        let t = l.trim();
        if t.is_empty() {
            return;
        }
        if let Some(p) = precursor(t) {
            // `list_del corruption` is a report of its own on kernels that only warn
            if self.cur.is_none()
                || self.ended
                || self.cur.as_ref().is_some_and(|c| c.panic.is_some())
            {
                self.pending = Some((n, p, t.to_string()));
                if p != Precursor::ListCorruption {
                    return;
                }
            }
        }
        if let Some(m) = t.find("Kernel panic - not syncing: ").map(|i| &t[i..]) {
            self.panic_line(m, n);
            return;
        }
        // a headline that console output ran into (`...user memory accessgeneral protection fault`)
        let embedded = EMBEDDED
            .iter()
            .find_map(|k| t.find(k).filter(|&i| i > 0).map(|i| &t[i..]));
        let (t, parsed) = match headline::parse(t) {
            Some(h) => (t, Some(h)),
            None => match embedded {
                Some(e) => (e, headline::parse(e)),
                None => (t, None),
            },
        };
        if let Some(h) = parsed {
            let joins = self
                .cur
                .as_ref()
                .is_some_and(|c| continues(c, &h, t, self.ended));
            if joins {
                self.join(h, t);
            } else {
                self.start(h, t, n);
                self.headline_facts(t);
            }
            self.note_line(t);
            return;
        }
        if self.cur.is_none() {
            return;
        }
        self.note_line(t);
        self.facts(l, t);
    }

    fn note_line(&mut self, t: &str) {
        if let Some(r) = self.cur.as_mut() {
            if r.lines.len() < MAX_REPORT_LINES {
                r.lines.push(t.to_string());
            }
        }
    }

    /// A second headline of the same report (`Oops:` after `BUG: unable to handle`, another
    /// blocked task).
    fn join(&mut self, h: Headline, t: &str) {
        let Some(r) = self.cur.as_mut() else { return };
        if r.kind == Kind::ListCorruption || r.kind == Kind::SysrqCrash {
            if r.headline_function.is_none() {
                r.headline_function = h.function;
            }
        } else if h.kind == Kind::KernelBug && r.kind == Kind::Oops {
            r.kind = Kind::KernelBug;
        }
        self.in_stack = false;
        self.context = Context::Task;
        self.headline_facts(t);
    }

    fn panic_line(&mut self, m: &str, n: usize) {
        let recent = self
            .cur
            .as_ref()
            .is_some_and(|c| c.panic.is_none() && n.saturating_sub(c.line) < MAX_REPORT_LINES);
        if !recent {
            let h = headline::panic_message(m);
            self.start(h, m, n);
        }
        let Some(r) = self.cur.as_mut() else { return };
        r.panic = Some(m.to_string());
        let low = m.to_ascii_lowercase();
        if low.contains("fatal exception in interrupt") {
            r.in_interrupt = true;
        }
        if recent {
            let h = headline::panic_message(m);
            // a panic that says more than the report it ends (`softlockup: hung tasks` after
            // a soft-lockup report is still a soft lockup)
            if r.kind == Kind::Bug && h.kind != Kind::Panic {
                r.kind = h.kind;
            }
        }
        self.after_panic = true;
        self.in_stack = false;
        self.context = Context::Task;
        if r.lines.len() < MAX_REPORT_LINES {
            r.lines.push(m.to_string());
        }
    }

    /// Facts the headline line itself holds.
    fn headline_facts(&mut self, t: &str) {
        let Some(r) = self.cur.as_mut() else { return };
        if let Some(a) = after(t, "address: ")
            .or_else(|| after(t, "virtual address "))
            .or_else(|| after(t, "for address: "))
            .or_else(|| after(t, "request at "))
            .or_else(|| after(t, "dereference at "))
        {
            r.fault_address = r.fault_address.or_else(|| hex(a));
        }
        if let Some(a) = after(t, "non-canonical address ") {
            r.address_hint = Some(format!(
                "non-canonical address {}",
                a.split(':').next().unwrap_or(a)
            ));
        }
        if let Some(loc) = after(t, "kernel BUG at ") {
            r.location = Some(loc.trim_end_matches('!').to_string());
        }
        if t.starts_with("WARNING: ") {
            if let Some(rest) = after(t, " at ") {
                if let Some(loc) = rest.split_whitespace().next().filter(|l| l.contains(':')) {
                    r.location = Some(loc.to_string());
                }
            }
        }
        if let Some(rest) = t.strip_prefix("Oops: ") {
            if matches!(r.kind, Kind::NullPointerDereference | Kind::BadMemoryAccess) {
                r.error_code = r.error_code.or_else(|| hex(rest));
            }
        }
        if let Some(rest) = after(t, "INFO: task ") {
            if let Some((name, tail)) = rest.split_once(" blocked for more than ") {
                if let Some((comm, pid)) = name.rsplit_once(':') {
                    if let Ok(pid) = pid.trim().parse() {
                        r.blocked.push(Blocked {
                            task: TaskName {
                                comm: comm.to_string(),
                                pid,
                            },
                            seconds: tail.split_whitespace().next().and_then(|s| s.parse().ok()),
                            stack: None,
                        });
                    }
                }
            }
        }
        if let Some(rest) = after(t, "soft lockup - CPU#") {
            let (cpu, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            r.lockup_cpu = cpu.parse().ok();
            r.lockup_seconds = after(rest, "stuck for ")
                .and_then(|s| s.split('s').next())
                .and_then(|s| s.parse().ok());
            if let Some((_, task)) = rest.rsplit_once('[') {
                if let Some((comm, pid)) = task.trim_end_matches(']').rsplit_once(':') {
                    if let Ok(pid) = pid.parse() {
                        r.task = Some(TaskName {
                            comm: comm.to_string(),
                            pid,
                        });
                    }
                }
            }
        }
        if let Some(rest) = after(t, "hard LOCKUP on cpu ") {
            r.lockup_cpu = rest.split_whitespace().next().and_then(|c| c.parse().ok());
        }
        if let Some((comm, _)) = t.split_once(" invoked oom-killer: ") {
            r.oom = Some(OomFacts {
                invoker: Some(comm.trim().to_string()),
                ..OomFacts::default()
            });
        }
    }

    /// Facts of the other lines of a report.
    fn facts(&mut self, l: &str, t: &str) {
        if t.starts_with("---[ end trace") {
            self.ended = true;
            self.in_stack = false;
            return;
        }
        if t.starts_with("---[ end Kernel panic") {
            self.finish();
            return;
        }
        match t {
            "Call Trace:" | "Call trace:" | "Backtrace:" | "<TASK>" | "</IRQ>" | "</NMI>"
            | "</SOFTIRQ>" | "</TASK>" => {
                if t == "Call Trace:"
                    || t == "Call trace:"
                    || t == "Backtrace:"
                    || t.starts_with("</")
                {
                    self.new_stack(Context::Task);
                }
                return;
            }
            "<IRQ>" => return self.new_stack(Context::Irq),
            "<SOFTIRQ>" => return self.new_stack(Context::Softirq),
            "<NMI>" => return self.new_stack(Context::Nmi),
            _ => {}
        }
        // older kernels print the marker and the first frame on one line: `<IRQ>  [<ffff...>] f`
        let (l, t) = match [
            ("<IRQ>", Context::Irq),
            ("<NMI>", Context::Nmi),
            ("<EOI>", Context::Task),
            ("<EOE>", Context::Task),
        ]
        .iter()
        .find(|(m, _)| t.starts_with(m))
        {
            Some((m, c)) => {
                self.new_stack(*c);
                let rest = &t[m.len()..];
                (rest, rest.trim())
            }
            None => (l, t),
        };
        if t.is_empty() {
            return;
        }
        if t.starts_with("Allocated by task")
            || t.starts_with("Freed by task")
            || t.starts_with("allocated by task")
            || t.starts_with("freed by task")
            || t.starts_with("Last potentially related work creation")
            || t.starts_with("Second to last potentially related")
            || t.starts_with("Last call_rcu")
            || t.starts_with("Second to last call_rcu")
            || t.starts_with("Uninit was created")
            || t.starts_with("Uninit was stored")
            || t.starts_with("Local variable")
            || t.starts_with("Memory state around")
            || t.starts_with("The buggy address")
            || t.starts_with("-> #")
            || t.starts_with("other info that might help")
            || t.starts_with("the existing dependency chain")
            || t.starts_with("which lock already depends")
            || t.starts_with("but task is already holding")
            || t.starts_with("Previous read")
            || t.starts_with("Previous write")
            || t.starts_with("page last")
            || t.starts_with("Leftover inexact backtrace")
        {
            self.new_stack(Context::Aux);
            return;
        }
        if t.starts_with("stack backtrace:") || t.starts_with("NMI backtrace for cpu") {
            self.new_stack(Context::Task);
            return;
        }
        let Some(r) = self.cur.as_mut() else { return };
        if r.kind == Kind::Lockdep {
            if self.want_lock_site && r.lock_site.is_none() {
                r.lock_site = after(t, "at: ").and_then(frame::parse);
            }
            self.want_lock_site = t.ends_with("is trying to acquire lock:")
                || t.ends_with("takes:")
                || t.ends_with("is trying to release lock")
                || t.contains("is trying to release lock (");
            if t.contains("is trying to release lock (") {
                r.lock_site = r
                    .lock_site
                    .take()
                    .or_else(|| after(t, "at: ").and_then(frame::parse));
            }
        }
        if t.starts_with("Read of size") || t.starts_with("Write of size") {
            r.access = t.split_whitespace().next().map(str::to_string);
            return;
        }
        if t.starts_with("read to ")
            || t.starts_with("write to ")
            || t.starts_with("read-write to ")
        {
            // KCSAN's access headers start a stack each
            self.in_stack = false;
            return;
        }
        if let Some(rest) = t.strip_prefix("#PF: ") {
            r.pf_lines.push(t.to_string());
            if let Some(code) = after(rest, "error_code(") {
                r.error_code = hex(code);
            }
            return;
        }
        if t.starts_with("KASAN: ") && t.contains(" in range ") {
            r.address_hint = Some(t.trim_start_matches("KASAN: ").to_string());
            return;
        }
        if t.starts_with("CPU: ") && t.contains("PID: ") {
            if r.task.is_none()
                || (r.kind != Kind::SoftLockup && !self.after_panic && r.cpu.is_none())
            {
                if let Some(rest) = after(t, "PID: ") {
                    let pid = rest.split_whitespace().next().and_then(|p| p.parse().ok());
                    let comm = after(rest, "Comm: ").and_then(|c| c.split_whitespace().next());
                    if let (Some(pid), Some(comm)) = (pid, comm) {
                        if r.task.is_none() || !self.after_panic {
                            r.task = Some(TaskName {
                                comm: comm.to_string(),
                                pid,
                            });
                        }
                    }
                }
            }
            if r.cpu.is_none() {
                r.cpu = t[5..]
                    .split_whitespace()
                    .next()
                    .and_then(|c| c.parse().ok());
            }
            if r.release.is_none() {
                r.release = release_of(t);
            }
            if r.taint.is_none() {
                r.taint = after(t, "Tainted: ")
                    .map(|x| {
                        x.split("  ")
                            .filter(|w| !w.trim().is_empty())
                            .take_while(|w| !w.trim().starts_with(|c: char| c.is_ascii_digit()))
                            .map(str::trim)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .filter(|x| !x.is_empty());
            }
            return;
        }
        if t.starts_with("Tainted: [") {
            r.taint = Some(t["Tainted: ".len()..].to_string());
            return;
        }
        if let Some(rest) = t.strip_prefix("Code: ") {
            if r.code.is_none() && !self.after_panic {
                r.code = Some(rest.to_string());
            }
            self.in_stack = false;
            return;
        }
        let ip = after(t, "RIP: 0010:")
            .or_else(|| t.strip_prefix("IP: "))
            .or_else(|| t.strip_prefix("pc : "))
            .or_else(|| t.strip_prefix("PC is at "));
        if let Some(ip) = ip {
            if r.ip.is_none() && !self.after_panic {
                r.ip = frame::parse(ip);
            }
            self.in_stack = false;
            return;
        }
        if t.starts_with("RIP: ") || t.starts_with("RSP: ") || t.starts_with("Modules linked in") {
            self.in_stack = false;
            return;
        }
        if t.starts_with("task:") && t.contains(" state:") && !r.blocked.is_empty() {
            self.new_stack(Context::Task);
            return;
        }
        if let Some(o) = r.oom.as_mut() {
            if let Some(c) = after(t, "constraint=") {
                o.constraint = c.split(',').next().map(str::to_string);
            }
            if t.starts_with("[  pid  ]") || t.starts_with("[ pid ]") {
                let cols: Vec<&str> = t
                    .split_once(']')
                    .map_or("", |(_, r)| r)
                    .split_whitespace()
                    .collect();
                self.oom_columns = cols.iter().position(|c| *c == "rss");
                return;
            }
            if let (Some(col), Some(row)) = (self.oom_columns, t.strip_prefix('[')) {
                if let Some((pid, rest)) = row.split_once(']') {
                    let cells: Vec<&str> = rest.split_whitespace().collect();
                    let rss = cells.get(col).and_then(|v| v.parse::<u64>().ok());
                    if let (Ok(pid), Some(rss), Some(name)) =
                        (pid.trim().parse::<i32>(), rss, cells.last())
                    {
                        if o.largest.as_ref().is_none_or(|(_, _, best)| rss > *best) {
                            o.largest = Some((name.to_string(), pid, rss));
                        }
                    }
                    return;
                }
            }
            if let Some(rest) = after(t, "Killed process ").or_else(|| after(t, "Kill process ")) {
                let pid = rest.split_whitespace().next().and_then(|p| p.parse().ok());
                let comm = rest
                    .split_once('(')
                    .and_then(|(_, c)| c.split_once(')'))
                    .map(|(c, _)| c);
                if let (Some(pid), Some(comm)) = (pid, comm) {
                    o.killed = Some(TaskName {
                        comm: comm.to_string(),
                        pid,
                    });
                }
                return;
            }
        }
        // a frame: inside a trace, or any indented frame-shaped line (KASAN and KFENCE print
        // stacks without a `Call Trace:` header)
        let indented = l.starts_with(' ') || l.starts_with('\t');
        if self.in_stack || indented || r.stacks.is_empty() && self.context == Context::Aux {
            if let Some(f) = frame::parse(t) {
                let stack_before = r.stacks.len();
                self.push_frame(f);
                let Some(r) = self.cur.as_mut() else { return };
                if r.stacks.len() > stack_before {
                    let idx = r.stacks.len() - 1;
                    if let Some(b) = r.blocked.iter_mut().rev().find(|b| b.stack.is_none()) {
                        if self.context == Context::Task && !self.after_panic {
                            b.stack = Some(idx);
                        }
                    }
                }
            }
        }
    }
}

fn apply_precursor(r: &mut Report, p: Precursor) {
    match (p, r.kind) {
        (Precursor::ListCorruption, Kind::KernelBug | Kind::Warning | Kind::Oops) => {
            r.kind = Kind::ListCorruption;
        }
        (Precursor::Refcount, Kind::Warning) => r.detail = Some("refcount bug".into()),
        (Precursor::Odebug, Kind::Warning) => r.detail = Some("ODEBUG bug".into()),
        _ => {}
    }
}

/// The kernel release in a `CPU: ... Comm: x Tainted: G  OE  6.1.0-56-cloud-amd64 #1` line.
fn release_of(t: &str) -> Option<String> {
    let rest = after(t, "Comm: ")?;
    rest.split_whitespace()
        .skip(1)
        .take_while(|w| !w.starts_with('#'))
        .filter(|w| {
            let mut parts = w.split('.');
            parts
                .next()
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
                && parts
                    .next()
                    .is_some_and(|p| p.starts_with(|c: char| c.is_ascii_digit()))
        })
        .last()
        .map(str::to_string)
}

/// Every report in `text`, first first.
pub fn parse(text: &str) -> Vec<Report> {
    let mut p = Parser {
        reports: Vec::new(),
        cur: None,
        ended: false,
        in_stack: false,
        context: Context::Task,
        after_panic: false,
        pending: None,
        oom_columns: None,
        want_lock_site: false,
    };
    for (i, raw) in text.lines().enumerate() {
        p.line(raw, i + 1);
    }
    p.finish();
    for r in &mut p.reports {
        finalize(r);
    }
    p.reports
}

/// What only the whole report shows.
fn finalize(r: &mut Report) {
    let in_frames = |name: &str| {
        r.stacks
            .iter()
            .flat_map(|s| &s.frames)
            .any(|f| crate::machinery::base_name(&f.function) == name)
            || r.ip.as_ref().is_some_and(|f| f.function == name)
    };
    if matches!(
        r.kind,
        Kind::NullPointerDereference | Kind::BadMemoryAccess | Kind::Oops | Kind::Panic
    ) && in_frames("sysrq_handle_crash")
    {
        r.kind = Kind::SysrqCrash;
    }
    let loc = r.location.clone().unwrap_or_default();
    if matches!(r.kind, Kind::KernelBug | Kind::Warning) && loc.starts_with("lib/list_debug.c") {
        r.kind = Kind::ListCorruption;
    }
    if r.kind == Kind::Warning && loc.starts_with("lib/refcount.c") && r.detail.is_none() {
        r.detail = Some("refcount bug".into());
    }
    if r.kind == Kind::Warning && loc.starts_with("lib/debugobjects.c") && r.detail.is_none() {
        r.detail = Some("ODEBUG bug".into());
    }
    if r.kind == Kind::Warning && loc.starts_with("kernel/locking/lockdep.c") {
        r.kind = Kind::Lockdep;
        r.detail = Some("WARNING: locking bug".into());
    }
    if r.kind == Kind::BadMemoryAccess && r.fault_address.is_some_and(|a| a < 4096) {
        r.kind = Kind::NullPointerDereference;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_lockup_panic_is_not_a_hung_task() {
        // the 6.12 soft-lockup watchdog's panic says "hung tasks"
        let log = "\
[   60.1] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [spin:412]
[   60.1] CPU: 1 UID: 0 PID: 412 Comm: spin Tainted: G           OEL     6.12.1 #1
[   60.1] RIP: 0010:spin_fn+0x12/0x30 [spinmod]
[   60.1] Call Trace:
[   60.1]  <IRQ>
[   60.1]  watchdog_timer_fn+0x1e1/0x250
[   60.1]  __hrtimer_run_queues+0x112/0x2a0
[   60.1]  </IRQ>
[   60.1]  <TASK>
[   60.1]  spin_fn+0x12/0x30 [spinmod]
[   60.1]  kthread+0xd2/0x100
[   60.1]  </TASK>
[   60.2] Kernel panic - not syncing: softlockup: hung tasks
";
        let r = parse(log);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].kind, Kind::SoftLockup);
        assert_eq!((r[0].lockup_cpu, r[0].lockup_seconds), (Some(1), Some(26)));
        let v = crate::verdict(&r[0]);
        assert_eq!(v.title, "BUG: soft lockup in spin_fn");
        assert!(r[0].in_interrupt);
    }

    #[test]
    fn oom_panic_blames_the_largest_consumer() {
        let log = "\
oomhog invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
CPU: 0 PID: 700 Comm: oomhog Not tainted 6.1.0-56-cloud-amd64 #1 Debian 6.1.1
Call Trace:
 <TASK>
 dump_stack_lvl+0x44/0x5c
 dump_header+0x4a/0x211
 out_of_memory.cold+0x5/0x4e
 __alloc_pages_slowpath.constprop.0+0xc2c/0xe00
 </TASK>
Tasks state (memory values in pages):
[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
[    300]     0   300     5000      800    65536        0             0 systemd-journal
[    700]  1000   700   900000   450000  3700000        0             0 oomhog
[    710]  1000   710    20000     2000   100000        0             0 bash
Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled
";
        let r = parse(log);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].kind, Kind::OutOfMemory);
        let v = crate::verdict(&r[0]);
        assert_eq!(v.title, "out of memory: largest consumer oomhog");
        assert_eq!(v.culprits[0].task.as_ref().map(|t| t.pid), Some(700));
        assert_eq!(v.signature_text, "out-of-memory kernel 6.1 consumer oomhog");
        // an OOM kill the system survives is no crash report
        let survived = log.replace(
            "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled",
            "",
        );
        assert!(parse(&survived).is_empty());
    }

    #[test]
    fn several_reports_first_first() {
        let log = "\
WARNING: CPU: 0 PID: 1 at drivers/foo.c:10 foo_probe+0x1/0x10
RIP: 0010:foo_probe+0x1/0x10
---[ end trace 0000000000000000 ]---
BUG: kernel NULL pointer dereference, address: 0000000000000008
#PF: error_code(0x0000) - not-present page
Oops: 0000 [#1] PREEMPT SMP NOPTI
RIP: 0010:bar_read+0x2/0x20 [bar]
Kernel panic - not syncing: Fatal exception in interrupt
";
        let r = parse(log);
        let titles: Vec<String> = r.iter().map(|r| crate::verdict(r).title).collect();
        assert_eq!(
            titles,
            [
                "WARNING in foo_probe",
                "BUG: unable to handle kernel NULL pointer dereference in bar_read"
            ]
        );
        assert!(r[1].in_interrupt && r[1].panic.is_some() && r[0].panic.is_none());
        assert_eq!((r[1].fault_address, r[1].error_code), (Some(8), Some(0)));
    }
}
