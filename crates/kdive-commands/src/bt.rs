//! `bt`: tasks' kernel stacks, as crash prints them.
//!
//! Flags: `-a` (the active task of every CPU), `-t`/`-T` (every text address on the stack,
//! from the starting sp / from the stack's base), `-f` (each frame's stack words), `-s`
//! (symbol offsets), `-x` (offsets in hex), `-l` (accepted: source lines need DWARF).

use std::collections::BTreeMap;

use kdive_linux::stack::{Backtrace, BacktraceContext, StartKind};
use kdive_linux::task::TaskInfo;
use kdive_program::unwind::scan::stack_words;
use kdive_program::unwind::x86_64::{reg, reg_name};
use kdive_program::unwind::{FoundBy, Frame, RegSet, StackKind, TraceEnd};
use kdive_program::Program;
use serde::Serialize;

use crate::args::Flags;
use crate::format::task_header;
use crate::table;
use crate::tasks::{find_task, tasks_named};
use crate::{CommandError, Report, Session};

/// Bytes of one frame's contents shown by `-f` at most.
const MAX_FRAME_BYTES: u64 = 0x400;

/// Display choices of one `bt`.
#[derive(Debug, Clone, Copy, Default)]
struct Opts {
    full: bool,
    text: Option<TextScan>,
    offsets: bool,
    hex: bool,
    lines: bool,
}

/// `-t` (from the starting sp) or `-T` (from the stack's base).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextScan {
    FromSp,
    FromBase,
}

/// A register block of an exception or interrupt frame (or the CPU registers a walk began with).
#[derive(Debug, Clone, Serialize)]
pub struct BtRegs {
    /// Address of the `pt_regs` (none for registers from a CPU note).
    #[serde(serialize_with = "crate::hex_opt")]
    pub addr: Option<u64>,
    /// The interrupted context was user mode.
    pub user: bool,
    /// Only the hardware-saved part was trusted.
    pub partial: bool,
    /// Register name → `"0x…"`.
    pub registers: BTreeMap<&'static str, String>,
    #[serde(skip)]
    set: RegSet,
}

/// One frame.
#[derive(Debug, Clone, Serialize)]
pub struct BtFrame {
    /// crash's frame number (`#N`), none for a frame shown only as a register block.
    pub level: Option<usize>,
    #[serde(serialize_with = "crate::hex")]
    pub pc: u64,
    #[serde(serialize_with = "crate::hex")]
    pub sp: u64,
    /// Where the return address `pc` was read from (crash's `[SP]`).
    #[serde(serialize_with = "crate::hex_opt")]
    pub slot: Option<u64>,
    pub function: Option<String>,
    #[serde(serialize_with = "crate::hex_opt")]
    pub offset: Option<u64>,
    pub module: Option<String>,
    /// `"orc"`, `"cfi"`, `"fp"`, `"scan"` or `"regs"`.
    pub found: &'static str,
    pub reliable: bool,
    /// The stack `sp` is on (`"task"`, `"irq"`, `"nmi"`, ...).
    pub stack: Option<&'static str>,
    /// The registers this frame came from (exception and interrupt frames, CPU registers).
    pub exception: Option<BtRegs>,
    /// Stack words of the frame (`-f`): (address, value).
    /// `-l` with a vmlinux: the source location, innermost inlined function first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<BtSource>,
    #[serde(skip)]
    contents: Vec<(u64, u64)>,
    #[serde(skip)]
    stack_kind: Option<StackKind>,
}

/// One level of a frame's source location: an inlined function's, or the frame function's own.
#[derive(Debug, Clone, Serialize)]
pub struct BtSource {
    pub file: Option<String>,
    pub line: Option<u32>,
    /// The function as DWARF names it.
    pub function: Option<String>,
    /// Code inlined into the next level (whose location is then the call site).
    pub inlined: bool,
    /// Where the dump's saved registers of this CPU point (kdump saved them in this function
    /// before the call the frame's own line shows).
    pub saved_regs: bool,
}

/// One task's stack.
#[derive(Debug, Clone, Serialize)]
pub struct BtTask {
    pub pid: i32,
    #[serde(serialize_with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    /// Running on a CPU at the time of the dump.
    pub active: bool,
    /// What the walk started from: `"sleeping"`, `"cpu-registers"`, `"innermost-frame"`, `"nothing"`.
    pub start: String,
    pub frames: Vec<BtFrame>,
    /// `"end-of-stack"`, `"user-mode"`, or why the walk stopped.
    pub end: String,
    pub complete: bool,
    /// What could not be read or was guessed.
    pub notes: Vec<String>,
    /// `-t`/`-T`: text addresses on the stack: (slot, value, symbol).
    #[serde(skip)]
    text_words: Vec<(u64, u64, String)>,
}

/// What `bt` reports.
#[derive(Debug, Serialize)]
pub struct Bt {
    pub tasks: Vec<BtTask>,
    /// Remarks about the command as a whole.
    pub notes: Vec<String>,
    #[serde(skip)]
    opts: Opts,
}

/// Runs `bt [-a|-t|-T|-f|-s|-x|-l] [PID|TASK ...]`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Ok(Box::new(collect(s, args)?))
}

/// The result of `bt` with these arguments, for other commands (`analyze`).
pub fn collect(s: &Session, args: &[String]) -> Result<Bt, CommandError> {
    let f = Flags::parse(&table::BT, args)?;
    let tasks = s.tasks()?;
    let prog = s.kernel()?;
    let ctx = BacktraceContext::new(prog, &tasks.list.active);
    let chosen: Vec<&TaskInfo> = if f.has('a') {
        ctx.active
            .values()
            .filter_map(|&t| find_task(&tasks.infos, t))
            .collect()
    } else {
        tasks_named(s, "bt", &f.positional)?
    };
    Ok(backtraces(prog, &ctx, &chosen, opts(&f)))
}

/// `bt [flags]` of chosen tasks (`foreach ... bt`).
pub(crate) fn for_tasks(
    s: &Session,
    chosen: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report>, CommandError> {
    if f.has('a') {
        return Err(CommandError::Usage(
            "foreach: bt -a chooses tasks itself; give foreach the `active` selector".into(),
        ));
    }
    let tasks = s.tasks()?;
    let prog = s.kernel()?;
    let ctx = BacktraceContext::new(prog, &tasks.list.active);
    Ok(Box::new(backtraces(prog, &ctx, chosen, opts(f))))
}

fn opts(f: &Flags) -> Opts {
    Opts {
        full: f.has('f'),
        text: if f.has('T') {
            Some(TextScan::FromBase)
        } else if f.has('t') {
            Some(TextScan::FromSp)
        } else {
            None
        },
        offsets: f.has('s'),
        hex: f.has('x'),
        lines: f.has('l'),
    }
}

fn backtraces(prog: &Program, ctx: &BacktraceContext, tasks: &[&TaskInfo], opts: Opts) -> Bt {
    let mut notes = ctx.problems.clone();
    let mut out = Vec::with_capacity(tasks.len());
    let mut syms = Symbolizer::new(prog);
    for t in tasks {
        let b = ctx.backtrace(prog, t.addr);
        out.push(task_report(prog, &mut syms, t, &b, opts));
    }
    if opts.lines && prog.debug().is_none() {
        // a module's debug file gives its own frames lines, never the kernel's
        notes.push(if prog.module_debug().is_empty() {
            "-l: source files and lines need DWARF debug info (a vmlinux), which the dump alone does not carry"
        } else {
            "-l: the kernel's own frames have no source lines: they need the vmlinux's DWARF, which the dump alone does not carry"
        }.into());
    }
    Bt {
        tasks: out,
        notes,
        opts,
    }
}

/// Symbol lookups, cached per address.
struct Symbolizer<'p> {
    prog: &'p Program,
    cache: BTreeMap<u64, Option<(String, u64, Option<String>)>>,
}

impl<'p> Symbolizer<'p> {
    fn new(prog: &'p Program) -> Self {
        Symbolizer {
            prog,
            cache: BTreeMap::new(),
        }
    }

    /// (function, offset, module) of `pc`.
    fn lookup(&mut self, pc: u64) -> Option<(String, u64, Option<String>)> {
        let prog = self.prog;
        self.cache
            .entry(pc)
            .or_insert_with(|| {
                prog.symbols().by_addr(pc).map(|(s, off)| {
                    (
                        s.name.to_string(),
                        off,
                        s.module.as_deref().map(String::from),
                    )
                })
            })
            .clone()
    }
}

fn regs_report(set: &RegSet, addr: Option<u64>, user: bool, partial: bool) -> BtRegs {
    BtRegs {
        addr,
        user,
        partial,
        registers: set
            .iter()
            .filter_map(|(r, v)| Some((reg_name(r)?, format!("{v:#x}"))))
            .collect(),
        set: *set,
    }
}

fn task_report(
    prog: &Program,
    syms: &mut Symbolizer<'_>,
    t: &TaskInfo,
    b: &Backtrace,
    opts: Opts,
) -> BtTask {
    let frames = &b.trace.frames;
    let mut notes = b.notes.clone();
    // the CPU's saved registers, unless they are an exception frame's own (an oops passes its
    // registers to kdump)
    let mut saved_pc = match &b.start {
        StartKind::Innermost { saved_pc, .. } => *saved_pc,
        _ => None,
    }
    .filter(|&p| !frames.iter().any(|f| f.exact && f.pc == p));
    let mut out = Vec::with_capacity(frames.len());
    let mut level = 0;
    for (i, f) in frames.iter().enumerate() {
        let prev_stack = i.checked_sub(1).map(|p| frames[p].stack);
        let switched = prev_stack.is_some_and(|p| p != f.stack);
        let user = f.exception.as_ref().is_some_and(|e| e.user);
        let block = match &f.exception {
            Some(e) => Some(regs_report(&e.regs, Some(e.addr), e.user, e.partial)),
            None if i == 0 && f.ra_slot.is_none() => Some(regs_report(&f.regs, None, false, false)),
            None => None,
        };
        // crash numbers a frame from registers only when the walk changed stacks to reach it
        let numbered = !user && (block.is_none() || switched);
        let sym = syms.lookup(f.pc);
        let mut frame = BtFrame {
            level: numbered.then(|| {
                level += 1;
                level - 1
            }),
            pc: f.pc,
            sp: f.sp,
            slot: f.ra_slot,
            function: sym.as_ref().map(|s| s.0.clone()),
            offset: sym.as_ref().map(|s| s.1),
            module: sym.and_then(|s| s.2),
            found: f.found.name(),
            reliable: f.reliable,
            stack: f.stack.map(StackKind::name),
            exception: block,
            source: Vec::new(),
            contents: Vec::new(),
            stack_kind: f.stack,
        };
        // -l: numbered frames, and the interrupted kernel code of an exception frame
        let kernel_regs = frame.exception.as_ref().is_some_and(|e| !e.user);
        if opts.lines && (numbered || kernel_regs) {
            frame.source = source_of(prog, f.pc, f.exact, false, &mut notes);
            if let Some(saved) = saved_pc.filter(|&p| same_function(syms, p, f.pc)) {
                frame
                    .source
                    .extend(source_of(prog, saved, true, true, &mut notes));
                saved_pc = None;
            }
        }
        if opts.full && numbered {
            frame.contents = frame_contents(prog, b, f, frames.get(i + 1));
        }
        out.push(frame);
    }
    let (end, complete) = match &b.trace.end {
        TraceEnd::EndOfStack => ("end-of-stack".to_string(), true),
        TraceEnd::UserMode => ("user-mode".to_string(), true),
        TraceEnd::Error(why) => (why.to_string(), false),
    };
    let text_words = match opts.text {
        Some(scan) => text_words(prog, syms, b, scan),
        None => Vec::new(),
    };
    BtTask {
        pid: t.pid,
        task: t.addr,
        cpu: b.active_cpu.unwrap_or(t.cpu),
        comm: t.comm.clone(),
        active: b.active_cpu.is_some(),
        start: match &b.start {
            StartKind::Sleeping => "sleeping".into(),
            StartKind::CpuRegs(_) => "cpu-registers".into(),
            StartKind::Innermost { .. } => "innermost-frame".into(),
            StartKind::Nothing => "nothing".into(),
        },
        frames: out,
        end,
        complete,
        notes,
        text_words,
    }
}

/// True when `a` and `b` lie in the same function.
fn same_function(syms: &mut Symbolizer<'_>, a: u64, b: u64) -> bool {
    let start = |syms: &mut Symbolizer<'_>, pc: u64| syms.lookup(pc).map(|(_, off, _)| pc - off);
    start(syms, a).is_some_and(|s| Some(s) == start(syms, b))
}

/// `-l`: where `pc` is in the source, from the attached vmlinux (a return address, not `exact`,
/// is looked up one byte back, inside the call). Problems go to `notes`, once each.
fn source_of(
    prog: &Program,
    pc: u64,
    exact: bool,
    saved_regs: bool,
    notes: &mut Vec<String>,
) -> Vec<BtSource> {
    if prog.debug().is_none() && prog.module_debug().is_empty() {
        return Vec::new();
    }
    let at = if exact { pc } else { pc.wrapping_sub(1) };
    let note = match prog.source(at) {
        Ok(Some(frames)) => {
            return frames
                .into_iter()
                .map(|s| BtSource {
                    file: s.file,
                    line: s.line,
                    function: s.function,
                    inlined: s.inlined,
                    saved_regs,
                })
                .collect()
        }
        Ok(None) => match prog.symbols().by_addr(pc) {
            Some((s, _)) if s.module.is_some() => {
                "-l: no source lines for module code (module debug files are not used yet)"
                    .to_string()
            }
            _ => return Vec::new(),
        },
        Err(e) => format!("-l: {e}"),
    };
    if !notes.contains(&note) {
        notes.push(note);
    }
    Vec::new()
}

/// `-f`: the words from just above the frame's return-address slot (or its sp) up to the next
/// frame's slot.
fn frame_contents(
    prog: &Program,
    b: &Backtrace,
    f: &Frame,
    next: Option<&Frame>,
) -> Vec<(u64, u64)> {
    let from = f.ra_slot.map_or(f.sp, |s| s + 8);
    let Some(range) = b.stacks.range_of(from) else {
        return Vec::new();
    };
    let to = next
        .and_then(|n| n.ra_slot.or(Some(n.sp)))
        .filter(|&t| t > from && range.contains(t, 0))
        .unwrap_or(range.end)
        .min(from + MAX_FRAME_BYTES);
    stack_words(prog.mem(), from, to, MAX_FRAME_BYTES)
}

/// `-t`/`-T`: every word on the task's stack that is a text address.
fn text_words(
    prog: &Program,
    syms: &mut Symbolizer<'_>,
    b: &Backtrace,
    scan: TextScan,
) -> Vec<(u64, u64, String)> {
    let Some(task_stack) = b.stacks.ranges().iter().find(|r| r.kind == StackKind::Task) else {
        return Vec::new();
    };
    let start = match (scan, b.trace.frames.first()) {
        (TextScan::FromSp, Some(f)) if task_stack.contains(f.sp, 0) => f.sp,
        _ => task_stack.start,
    };
    let rows = prog.unwind_tables().rows(prog);
    let is_text = |v: u64| kdive_program::unwind::RowSource::is_text(&rows, v);
    stack_words(
        prog.mem(),
        start,
        task_stack.end,
        task_stack.end - task_stack.start,
    )
    .into_iter()
    .filter(|&(_, v)| is_text(v))
    .filter_map(|(slot, v)| {
        let (name, _, module) = syms.lookup(v)?;
        let m = module.map(|m| format!(" [{m}]")).unwrap_or_default();
        Some((slot, v, format!("{name}{m}")))
    })
    .collect()
}

impl Bt {
    fn function_text(&self, f: &BtFrame) -> String {
        match (&f.function, f.offset) {
            (Some(name), Some(off)) if self.opts.offsets => {
                if self.opts.hex {
                    format!("{name}+{off:#x}")
                } else {
                    format!("{name}+{off}")
                }
            }
            (Some(name), _) => name.clone(),
            (None, _) => format!("{:x}", f.pc),
        }
    }

    fn frame_line(&self, f: &BtFrame, at: u64) -> String {
        let mark = if !f.reliable && f.found == FoundBy::Scan.name() {
            "? "
        } else {
            ""
        };
        let module = f
            .module
            .as_ref()
            .map(|m| format!(" [{m}]"))
            .unwrap_or_default();
        format!(
            "{:>3} [{at:016x}] {mark}{} at {:016x}{module}\n",
            format!("#{}", f.level.unwrap_or(0)),
            self.function_text(f),
            f.pc
        )
    }

    fn task_text(&self, t: &BtTask) -> String {
        let mut out = task_header(t.pid, t.task, t.cpu, &t.comm) + "\n";
        if self.opts.text.is_some() {
            return out + &text_listing(t);
        }
        if t.frames.is_empty() {
            out += &format!("bt: cannot unwind this task: {}\n", t.end);
            for n in &t.notes {
                out += &format!("bt: {n}\n");
            }
            return out;
        }
        let mut scanned = false;
        for (i, f) in t.frames.iter().enumerate() {
            if f.found == FoundBy::Scan.name() && !f.reliable && !scanned {
                scanned = true;
                out += &format!(
                    "    bt: the walk stopped ({}); the frames below are text addresses found on the stack\n",
                    t.end
                );
            }
            let prev = i.checked_sub(1).map(|p| &t.frames[p]);
            let marker = prev
                .filter(|p| p.stack_kind != f.stack_kind)
                .and_then(|p| p.stack_kind)
                .and_then(StackKind::crash_marker);
            match &f.exception {
                Some(regs) => {
                    out += &regs_block(regs, f);
                    if f.level.is_none() {
                        out += &source_text(f);
                    }
                    if let (Some(m), false) = (&marker, regs.user) {
                        out += &format!("{m}\n");
                    }
                    if f.level.is_some() {
                        out += &self.frame_line(f, f.sp);
                        out += &source_text(f);
                    }
                }
                None => {
                    if let Some(m) = &marker {
                        out += &format!("{m}\n");
                    }
                    out += &self.frame_line(f, f.slot.unwrap_or(f.sp));
                    out += &source_text(f);
                }
            }
            for line in f.contents.chunks(2) {
                out += &format!("    {:016x}: ", line[0].0);
                for (_, v) in line {
                    out += &format!("{v:016x} ");
                }
                out += "\n";
            }
        }
        if !t.complete && !scanned {
            out += &format!("    bt: the walk stopped: {}\n", t.end);
        }
        for n in &t.notes {
            out += &format!("    bt: {n}\n");
        }
        out
    }
}

/// `-l` lines under a frame, as crash prints them (`    file: line`); an inlined function's
/// location is followed by its name.
fn source_text(f: &BtFrame) -> String {
    let mut out = String::new();
    for s in &f.source {
        let (Some(file), Some(line)) = (&s.file, s.line) else {
            continue;
        };
        out += &format!("    {file}: {line}");
        match (s.inlined, &s.function) {
            (true, Some(func)) => out += &format!("  (inlined {func})"),
            (true, None) => out += "  (inlined)",
            _ => {}
        }
        if s.saved_regs {
            out += "  (registers saved here)";
        }
        out += "\n";
    }
    out
}

/// `-t`/`-T` listing: the starting frame, then every text address on the stack.
fn text_listing(t: &BtTask) -> String {
    let mut out = String::new();
    if let Some(f) = t.frames.first() {
        let name = f.function.clone().unwrap_or_else(|| format!("{:x}", f.pc));
        out += &format!("              START: {name} at {:016x}\n", f.pc);
    }
    for (slot, v, name) in &t.text_words {
        out += &format!("  [{slot:016x}] {name} at {v:016x}\n");
    }
    out
}

/// crash's register block: `[exception RIP: fn+off]` (kernel mode), then the registers.
fn regs_block(r: &BtRegs, f: &BtFrame) -> String {
    let g = |reg: u16| match r.set.get(reg) {
        Some(v) => format!("{v:016x}"),
        None => "-".repeat(16),
    };
    let mut out = String::new();
    if !r.user {
        let rip = match (&f.function, f.offset) {
            (Some(n), Some(o)) => format!("{n}+{o}"),
            _ => "unknown or invalid address".into(),
        };
        out += &format!("    [exception RIP: {rip}]\n");
    }
    let flags = r
        .set
        .get(reg::RFLAGS)
        .map_or("-".repeat(8), |v| format!("{v:08x}"));
    out += &format!(
        "    RIP: {}  RSP: {}  RFLAGS: {flags}\n",
        g(reg::RIP),
        g(reg::RSP)
    );
    let rows: [[(&str, u16); 3]; 5] = [
        [("RAX", reg::RAX), ("RBX", reg::RBX), ("RCX", reg::RCX)],
        [("RDX", reg::RDX), ("RSI", reg::RSI), ("RDI", reg::RDI)],
        [("RBP", reg::RBP), ("R8", reg::R8), ("R9", reg::R9)],
        [("R10", reg::R10), ("R11", reg::R11), ("R12", reg::R12)],
        [("R13", reg::R13), ("R14", reg::R14), ("R15", reg::R15)],
    ];
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|&(n, rg)| format!("{n:>3}: {}", g(rg)))
            .collect();
        out += &format!("    {}\n", cells.join("  "));
    }
    let seg = |rg: u16| r.set.get(rg).map_or("----".into(), |v| format!("{v:04x}"));
    let orig = r
        .set
        .get(reg::ORIG_RAX)
        .map(|v| format!("ORIG_RAX: {v:016x}  "))
        .unwrap_or_default();
    out += &format!("    {orig}CS: {}  SS: {}\n", seg(reg::CS), seg(reg::SS));
    out
}

impl Report for Bt {
    fn text(&self) -> String {
        let blocks: Vec<String> = self.tasks.iter().map(|t| self.task_text(t)).collect();
        let mut out = blocks.join("\n");
        for n in &self.notes {
            out += &format!("bt: {n}\n");
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
