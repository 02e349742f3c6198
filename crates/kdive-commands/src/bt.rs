//! `bt`: tasks' kernel stacks, as crash prints them.
//!
//! Flags: `-a` (the active task of every CPU), `-t`/`-T` (every text address on the stack,
//! from the starting sp / from the stack's base), `-f` (each frame's stack words), `-s`
//! (symbol offsets), `-x` (offsets in hex), `-l` (accepted: source lines need DWARF).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::rd::parse_hex;
use kdive_linux::stack::{Backtrace, BacktraceContext, StartKind};
use kdive_linux::task::TaskInfo;
use kdive_program::unwind::scan::stack_words;
use kdive_program::unwind::x86_64::reg_name;
use kdive_program::unwind::Arch;
use kdive_program::unwind::{ExceptionStack, FoundBy, Frame, RegSet, StackKind, TraceEnd};
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::bt_scan::{
    exception_frames, raw_words, write_found, write_raw, FoundFrame, Overflow, RawWord,
    SearchedStack, STACK_END_MAGIC,
};
use crate::format::{task_header, AddressNames};
use crate::rd::Symbolic;
use crate::table;
use crate::tasks::{as_refs, tasks_named};
use crate::{CommandError, Hex, Report, Session, TextOptions};

/// Bytes of one frame's contents shown by `-f` at most.
const MAX_FRAME_BYTES: u64 = 0x400;

/// How `bt` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BtOptions {
    /// `-f`: each frame's stack words.
    pub full: bool,
    /// `-t` / `-T`: every text address on the stack instead of the frames.
    pub text_scan: Option<TextScan>,
    /// `-s`: `function+offset`.
    pub offsets: bool,
    /// `-x`: offsets in hex.
    pub hex: bool,
    /// `-l`: source files and lines.
    pub lines: bool,
    /// `-F` (`slab-caches`) and `-FF` (`slab-objects`): `-f`'s words named as crash names
    /// them (`symbol+offset`, `[cache]`, `[address:cache]`).
    #[serde(default)]
    pub symbolic: Symbolic,
    /// `-r`: the raw stack, named, instead of the frames.
    #[serde(default)]
    pub raw: bool,
    /// `-e`: the exception frames found anywhere on the stack, instead of the frames.
    #[serde(default)]
    pub exception_search: bool,
    /// `-n idle`: idle tasks (PID 0) shown by their header alone.
    #[serde(default)]
    pub skip_idle: bool,
}

/// Where `-t`/`-T` start: at the starting sp, or at the stack's base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextScan {
    FromSp,
    FromBase,
}

/// How a frame was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Found {
    /// From registers: the CPU's, a saved task frame's, or an exception frame's.
    Regs,
    /// A return address located by an ORC row.
    Orc,
    /// A return address located by a DWARF CFI row.
    Cfi,
    /// By following the frame pointer.
    Fp,
    /// A text address found by scanning the stack: a guess unless `reliable`.
    Scan,
}

impl From<FoundBy> for Found {
    fn from(f: FoundBy) -> Self {
        match f {
            FoundBy::Regs => Found::Regs,
            FoundBy::Orc => Found::Orc,
            FoundBy::Cfi => Found::Cfi,
            FoundBy::Fp => Found::Fp,
            FoundBy::Scan => Found::Scan,
        }
    }
}

/// Which stack a frame's sp is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stack {
    Task,
    Irq,
    Softirq,
    Entry,
    DoubleFault,
    Nmi,
    Debug,
    Mce,
    Vc,
    Vc2,
}

impl From<StackKind> for Stack {
    fn from(k: StackKind) -> Self {
        match k {
            StackKind::Task => Stack::Task,
            StackKind::Irq => Stack::Irq,
            StackKind::SoftIrq => Stack::Softirq,
            StackKind::Entry => Stack::Entry,
            StackKind::Exception(e) => match e {
                ExceptionStack::DoubleFault => Stack::DoubleFault,
                ExceptionStack::Nmi => Stack::Nmi,
                ExceptionStack::Debug => Stack::Debug,
                ExceptionStack::MachineCheck => Stack::Mce,
                ExceptionStack::Vc => Stack::Vc,
                ExceptionStack::Vc2 => Stack::Vc2,
            },
        }
    }
}

/// A register block of an exception or interrupt frame (or the CPU registers a walk began with).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BtRegs {
    /// Address of the `pt_regs` (none for registers from a CPU note).
    #[serde(with = "crate::hex_opt")]
    pub addr: Option<u64>,
    /// The interrupted context was user mode.
    pub user: bool,
    /// Only the hardware-saved part was trusted.
    pub partial: bool,
    /// Register name (`rip`, `rax`...) → `"0x…"`.
    pub registers: BTreeMap<String, Hex>,
}

impl BtRegs {
    /// The value of the register named `name`, if the block has it.
    fn get(&self, name: &str) -> Option<u64> {
        self.registers.get(name).map(|h| h.0)
    }
}

/// One word of a frame's contents (`-f`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackWord {
    #[serde(with = "crate::hex")]
    pub address: u64,
    #[serde(with = "crate::hex")]
    pub value: u64,
    /// `-F`/`-FF`: what crash shows instead of the value.
    #[serde(default)]
    pub label: Option<String>,
}

/// A text address on the stack (`-t`/`-T`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextWord {
    /// Where on the stack.
    #[serde(with = "crate::hex")]
    pub slot: u64,
    #[serde(with = "crate::hex")]
    pub value: u64,
    pub function: String,
    pub module: Option<String>,
}

/// One frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BtFrame {
    /// crash's frame number (`#N`), none for a frame shown only as a register block.
    pub level: Option<usize>,
    #[serde(with = "crate::hex")]
    pub pc: u64,
    #[serde(with = "crate::hex")]
    pub sp: u64,
    /// Where the return address `pc` was read from (crash's `[SP]`).
    #[serde(with = "crate::hex_opt")]
    pub slot: Option<u64>,
    pub function: Option<String>,
    #[serde(with = "crate::hex_opt")]
    pub offset: Option<u64>,
    pub module: Option<String>,
    pub found: Found,
    pub reliable: bool,
    /// The stack `sp` is on.
    pub stack: Option<Stack>,
    /// The walk reached this frame from another stack: crash's line for the stack it left
    /// (`--- <IRQ stack> ---`, `--- <NMI exception stack> ---`...).
    #[serde(default)]
    pub transition: Option<String>,
    /// The registers this frame came from (exception and interrupt frames, CPU registers).
    pub exception: Option<BtRegs>,
    /// `-l` with a vmlinux: the source location, innermost inlined function first.
    pub source: Vec<BtSource>,
    /// `-f`: the frame's stack words.
    pub words: Vec<StackWord>,
}

/// One level of a frame's source location: an inlined function's, or the frame function's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// What a walk started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WalkStart {
    /// A sleeping task's saved frame.
    Sleeping,
    /// The registers the dump saved for the task's CPU.
    CpuRegisters,
    /// The innermost frame found on the stack of a running task.
    InnermostFrame,
    /// The pc and sp given with `-I`/`-S`.
    Chosen,
    Nothing,
}

/// One task's stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BtTask {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    /// Running on a CPU at the time of the dump.
    pub active: bool,
    pub start: WalkStart,
    pub frames: Vec<BtFrame>,
    /// `"end-of-stack"`, `"user-mode"`, or why the walk stopped.
    pub end: String,
    pub complete: bool,
    /// What could not be read or was guessed.
    pub notes: Vec<String>,
    /// `-t`/`-T`: the text addresses on the stack.
    pub text_words: Vec<TextWord>,
    /// `-r`: every word of the task's stack.
    #[serde(default)]
    pub raw: Vec<RawWord>,
    /// `-e`: the exception frames found on the task's stack.
    #[serde(default)]
    pub found_frames: Vec<FoundFrame>,
    /// `-n idle`: an idle task, whose stack was not walked.
    #[serde(default)]
    pub left_out: bool,
}

/// What `bt` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bt {
    /// The architecture (`"x86_64"`, `"aarch64"`): how register blocks are laid out.
    #[serde(default = "default_arch")]
    pub arch: String,
    pub tasks: Vec<BtTask>,
    /// Remarks about the command as a whole.
    pub notes: Vec<String>,
    pub options: BtOptions,
    /// `-E`: every CPU's interrupt and exception stacks searched for exception frames.
    #[serde(default)]
    pub searched: Option<Vec<SearchedStack>>,
    /// `-v`: the tasks whose stack end was overwritten (empty: no overflow).
    #[serde(default)]
    pub overflows: Option<Vec<Overflow>>,
}

/// Runs `bt [-a|-t|-T|-f|-F|-s|-x|-l|-r|-e|-E|-v|-g] [-c CPUS] [-R REF] [-I IP] [-S SP]
/// [PID|TASK ...]`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Ok(Box::new(collect(s, args)?))
}

/// Whether crash's "old" backtrace method (`-o`, `-O`) means anything for this kernel. crash
/// allows it on x86_64 only for kernels built with frame pointers, and there kdive's unwinder
/// follows them already (or the vmlinux's CFI, which agrees): the backtraces are `bt`'s. A
/// kernel that carries ORC tables was built to unwind by them, without frame pointers, so the
/// method has no chain to follow and is refused, saying so. aarch64 kernels always keep frame
/// records, which both of crash's arm64 methods and kdive's walk follow.
fn old_method_applies(prog: &kdive_program::Program) -> Result<(), CommandError> {
    let aarch64 = prog.dump().map(|d| d.meta().arch) == Some(kdive_dump::Arch::Aarch64);
    if !aarch64 && prog.unwind_tables().kernel_table(prog).is_ok() {
        return Err(CommandError::Unavailable(
            "bt -o/-O: crash's old x86_64 method follows frame pointers, and this kernel was \
             built without them: it carries ORC tables, which `bt` follows"
                .into(),
        ));
    }
    Ok(())
}

/// The result of `bt` with these arguments, for other commands (`analyze`).
pub fn collect(s: &Session, args: &[String]) -> Result<Bt, CommandError> {
    let f = Flags::parse(&table::BT, args)?;
    check_skip(&f)?;
    let prog = s.kernel()?;
    if f.has('o') || f.has('O') {
        old_method_applies(prog)?;
    }
    let options = opts(&f);
    if f.has('v') {
        let tasks = s.tasks()?;
        let ctx = s.backtrace_context(prog, &tasks.list.active);
        return Ok(empty(
            prog,
            options,
            Some(overflows(prog, &ctx, &tasks.infos)),
            None,
        ));
    }
    // The running tasks come from the runqueues: `bt`, `bt -a`, `bt -c` read only the tasks
    // they show, whatever the number of tasks; PIDs, addresses and `-g` list them all.
    let ctx = s.backtrace_context(prog, &s.cpu_tasks()?.active);
    if f.has('E') {
        return Ok(empty(
            prog,
            options,
            None,
            Some(search_cpu_stacks(prog, &ctx)),
        ));
    }
    if f.has('p') && (f.has('a') || f.has('c') || !f.positional.is_empty()) {
        return Err(CommandError::Usage(
            "bt: -p shows the panic task alone: no -a, -c or task with it".into(),
        ));
    }
    let mut chosen: Vec<Cow<'_, TaskInfo>> = if f.has('p') {
        vec![panic_task(s, prog, &ctx)?]
    } else if f.has('a') {
        ctx.active
            .values()
            .filter_map(|&t| s.task(t).ok())
            .collect()
    } else if let Some(list) = f.value('c') {
        let cpus = parse_cpus(list)?;
        cpus.iter()
            .map(|c| {
                ctx.active
                    .get(c)
                    .and_then(|&t| s.task(t).ok())
                    .ok_or_else(|| CommandError::Usage(format!("bt: invalid cpu: {c}")))
            })
            .collect::<Result<_, _>>()?
    } else {
        tasks_named(s, "bt", &f.positional)?
    };
    if f.has('g') {
        // every thread of the chosen tasks' thread groups, in task-list order
        let groups: Vec<i32> = chosen.iter().map(|t| t.tgid).collect();
        chosen = s
            .tasks()?
            .infos
            .iter()
            .filter(|t| groups.contains(&t.tgid))
            .map(Cow::Borrowed)
            .collect();
    }
    let chosen = as_refs(&chosen);
    let start = match (f.value('I'), f.value('S')) {
        (None, None) => None,
        (ip, sp) => {
            let num = |v: &str| {
                parse_hex(v).ok_or_else(|| CommandError::Usage(format!("bt: invalid address: {v}")))
            };
            Some((ip.map(num).transpose()?, sp.map(num).transpose()?))
        }
    };
    let mut bt = backtraces(prog, &ctx, &chosen, options, start);
    if let Some(r) = f.value('R') {
        let value = parse_hex(r).or_else(|| prog.symbols().address_of(r));
        bt.tasks.retain(|t| references(prog, t, r, value));
    }
    Ok(bt)
}

/// `-p`: the task that panicked, running on the CPU `panic_cpu` names.
fn panic_task<'s>(
    s: &'s Session,
    prog: &Program,
    ctx: &BacktraceContext,
) -> Result<Cow<'s, TaskInfo>, CommandError> {
    if s.is_live() {
        return Err(CommandError::Usage(
            "bt: -p option not supported on a live system".into(),
        ));
    }
    let cpu = kdive_linux::system::panic_cpu(prog)
        .map_err(|source| CommandError::Program { cmd: "bt", source })?
        .ok_or_else(|| {
            CommandError::Unavailable("bt: no panic task found (panic_cpu is not set)".into())
        })?;
    let task = ctx.active.get(&cpu).copied().ok_or_else(|| {
        CommandError::Unavailable(format!(
            "bt: no panic task found: no task runs on CPU {cpu}"
        ))
    })?;
    s.task(task)
}

/// A `bt` that shows no task: `-v` and `-E`.
fn empty(
    prog: &Program,
    options: BtOptions,
    overflows: Option<Vec<Overflow>>,
    searched: Option<Vec<SearchedStack>>,
) -> Bt {
    Bt {
        arch: prog
            .unwind_arch()
            .map_or_else(|_| default_arch(), |a| a.name().into()),
        tasks: Vec::new(),
        notes: Vec::new(),
        options,
        searched,
        overflows,
    }
}

/// crash's CPU lists: `0`, `1,3`, `0-2`, `a` or `all`.
fn parse_cpus(list: &str) -> Result<Vec<u32>, CommandError> {
    let bad = || CommandError::Usage(format!("bt: invalid cpu specification: {list}"));
    let mut out = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if b < a || b - a > 4096 {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(out)
}

/// `-R REF`: whether the task's backtrace refers to `r`: a frame's function, or (for a value)
/// a frame's pc or a word on its stack.
fn references(prog: &Program, t: &BtTask, r: &str, value: Option<u64>) -> bool {
    let names = t.frames.iter().any(|f| f.function.as_deref() == Some(r));
    let Some(v) = value else {
        return names;
    };
    names
        || t.frames.iter().any(|f| f.pc == v)
        || t.frames.first().is_some_and(|f| {
            stack_words(
                prog.mem(),
                f.sp,
                f.sp.saturating_add(0x4000) & !0x3fff,
                0x4000,
            )
            .iter()
            .any(|w| w.1 == v)
        })
}

/// `-v`: every task whose stack's lowest word is not `STACK_END_MAGIC` (the idle task of the
/// boot CPU, whose stack is the image's, excepted as crash does).
fn overflows(prog: &Program, ctx: &BacktraceContext, infos: &[TaskInfo]) -> Vec<Overflow> {
    let init = prog.symbols().address_of("init_task");
    infos
        .iter()
        .filter(|t| Some(t.addr) != init)
        .filter_map(|t| {
            let base = ctx.task_stack(prog, t.addr).ok()?.start;
            let found = prog.read_u64(base).ok()?;
            (found != STACK_END_MAGIC).then(|| Overflow {
                pid: t.pid,
                task: t.addr,
                cpu: t.cpu,
                comm: t.comm.clone(),
                location: base,
                found,
            })
        })
        .collect()
}

/// `-E`: each CPU's interrupt stack, then its exception stacks, searched for exception frames.
fn search_cpu_stacks(prog: &Program, ctx: &BacktraceContext) -> Vec<SearchedStack> {
    let mut irq = Vec::new();
    let mut exc = Vec::new();
    for (&cpu, &task) in &ctx.active {
        let (stacks, _) = ctx.stacks(prog, task, Some(cpu));
        for r in stacks.ranges() {
            let name = match r.kind {
                StackKind::Irq => "IRQ",
                StackKind::Exception(e) => match e {
                    ExceptionStack::DoubleFault => "DOUBLEFAULT",
                    ExceptionStack::Nmi => "NMI",
                    ExceptionStack::Debug => "DEBUG",
                    ExceptionStack::MachineCheck => "MCE",
                    ExceptionStack::Vc => "VC",
                    ExceptionStack::Vc2 => "VC2",
                },
                _ => continue,
            };
            let found = SearchedStack {
                cpu,
                name: name.into(),
                frames: exception_frames(prog, r),
            };
            if r.kind == StackKind::Irq {
                irq.push(found);
            } else {
                exc.push(found);
            }
        }
    }
    irq.extend(exc);
    irq
}

/// `bt [flags]` of chosen tasks (`foreach ... bt`).
pub(crate) fn for_tasks<'s>(
    s: &'s Session,
    chosen: &[&'s TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report + 's>, CommandError> {
    if f.has('a') || f.has('c') || f.has('v') || f.has('E') {
        return Err(CommandError::Usage(
            "foreach: bt -a, -c, -v and -E choose tasks themselves; give foreach the `active` selector".into(),
        ));
    }
    check_skip(f)?;
    let tasks = s.tasks()?;
    let prog = s.kernel()?;
    Ok(Box::new(BtStream {
        prog,
        ctx: s.backtrace_context(prog, &tasks.list.active),
        tasks: chosen.to_vec(),
        opts: opts(f),
    }))
}

/// `-n` names what to leave out: only `idle` is known.
fn check_skip(f: &Flags) -> Result<(), CommandError> {
    match f.value('n') {
        Some(v) if v != "idle" => Err(CommandError::Usage(format!(
            "bt: -n {v}: only idle tasks can be left out (-n idle)"
        ))),
        _ => Ok(()),
    }
}

fn opts(f: &Flags) -> BtOptions {
    let big_f = f
        .given()
        .filter(|g| g.0 == table::FlagName::Letter('F'))
        .count();
    BtOptions {
        full: f.has('f') || big_f > 0,
        text_scan: if f.has('T') {
            Some(TextScan::FromBase)
        } else if f.has('t') {
            Some(TextScan::FromSp)
        } else {
            None
        },
        offsets: f.has('s'),
        hex: f.has('x'),
        lines: f.has('l'),
        symbolic: match big_f {
            0 => Symbolic::None,
            1 => Symbolic::SlabCaches,
            _ => Symbolic::SlabObjects,
        },
        raw: f.has('r'),
        exception_search: f.has('e'),
        skip_idle: f.has('n'),
    }
}

fn default_arch() -> String {
    "x86_64".into()
}

fn backtraces(
    prog: &Program,
    ctx: &BacktraceContext,
    tasks: &[&TaskInfo],
    opts: BtOptions,
    start: Option<(Option<u64>, Option<u64>)>,
) -> Bt {
    let mut walker = Backtracer::new(prog, ctx, opts);
    let out = tasks.iter().map(|t| walker.task(t, start)).collect();
    Bt {
        tasks: out,
        ..walker.header()
    }
}

/// Makes the backtraces of tasks one at a time, sharing symbol lookups between them.
struct Backtracer<'p> {
    prog: &'p Program,
    ctx: &'p BacktraceContext,
    opts: BtOptions,
    syms: Symbolizer<'p>,
    names: AddressNames<'p>,
    arch: Option<Box<dyn Arch>>,
}

impl<'p> Backtracer<'p> {
    fn new(prog: &'p Program, ctx: &'p BacktraceContext, opts: BtOptions) -> Self {
        Backtracer {
            prog,
            ctx,
            opts,
            syms: Symbolizer::new(prog),
            names: AddressNames::new(prog),
            arch: prog.unwind_arch().ok(),
        }
    }

    /// The backtrace of one task (from `start`'s pc and sp when given).
    fn task(&mut self, t: &TaskInfo, start: Option<(Option<u64>, Option<u64>)>) -> BtTask {
        let (prog, ctx, opts) = (self.prog, self.ctx, self.opts);
        // -n idle: the idle tasks (PID 0, one per CPU) by their header alone, as crash shows
        // them
        if opts.skip_idle && t.pid == 0 {
            return BtTask {
                pid: t.pid,
                task: t.addr,
                cpu: ctx.active_cpu(t.addr).unwrap_or(t.cpu),
                comm: t.comm.clone(),
                active: ctx.active_cpu(t.addr).is_some(),
                start: WalkStart::Nothing,
                frames: Vec::new(),
                end: "an idle task, left out (-n idle)".into(),
                complete: true,
                notes: Vec::new(),
                text_words: Vec::new(),
                raw: Vec::new(),
                found_frames: Vec::new(),
                left_out: true,
            };
        }
        let b = match start {
            Some((pc, sp)) => ctx.backtrace_from(prog, t.addr, pc, sp),
            None => ctx.backtrace(prog, t.addr),
        };
        let mut report = task_report(prog, &mut self.syms, self.arch.as_deref(), t, &b, opts);
        for w in report.frames.iter_mut().flat_map(|f| f.words.iter_mut()) {
            w.label = self.names.label(w.value, opts.symbolic);
        }
        let task_stack = b.stacks.ranges().iter().find(|r| r.kind == StackKind::Task);
        if let (true, Some(r)) = (opts.raw, task_stack) {
            report.raw = raw_words(prog, r);
        }
        if let (true, Some(r)) = (opts.exception_search, task_stack) {
            report.found_frames = exception_frames(prog, r);
        }
        report
    }

    /// The result without its tasks: the architecture, the options, the remarks.
    fn header(&self) -> Bt {
        let mut notes = self.ctx.problems.clone();
        if self.opts.lines && self.prog.debug().is_none() {
            // a module's debug file gives its own frames lines, never the kernel's
            notes.push(if self.prog.module_debug().is_empty() {
                "-l: source files and lines need DWARF debug info (a vmlinux), which the dump alone does not carry"
            } else {
                "-l: the kernel's own frames have no source lines: they need the vmlinux's DWARF, which the dump alone does not carry"
            }.into());
        }
        Bt {
            arch: self
                .arch
                .as_ref()
                .map_or_else(default_arch, |a| a.name().into()),
            tasks: Vec::new(),
            notes,
            options: self.opts,
            searched: None,
            overflows: None,
        }
    }
}

/// `foreach bt`: each task's backtrace made as it is written and dropped after, so memory does
/// not grow with the number of tasks (the text and the JSON array are written task by task).
struct BtStream<'s> {
    prog: &'s Program,
    ctx: BacktraceContext,
    tasks: Vec<&'s TaskInfo>,
    opts: BtOptions,
}

impl BtStream<'_> {
    fn backtracer(&self) -> Backtracer<'_> {
        Backtracer::new(self.prog, &self.ctx, self.opts)
    }
}

impl Report for BtStream<'_> {
    fn write_text(&self, opts: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let mut walker = self.backtracer();
        let header = walker.header();
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            header.write_task(out, &walker.task(t, None))?;
        }
        // the remarks, as `bt` writes them after its tasks
        header.write_text(opts, out)
    }
}

impl Serialize for BtStream<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        /// The tasks' backtraces, each made as the array is written.
        struct Tasks<'a>(&'a BtStream<'a>);
        impl Serialize for Tasks<'_> {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                let mut walker = self.0.backtracer();
                ser.collect_seq(self.0.tasks.iter().map(|t| walker.task(t, None)))
            }
        }
        let header = self.backtracer().header();
        let mut st = ser.serialize_struct("Bt", 6)?;
        st.serialize_field("arch", &header.arch)?;
        st.serialize_field("tasks", &Tasks(self))?;
        st.serialize_field("notes", &header.notes)?;
        st.serialize_field("options", &header.options)?;
        st.serialize_field("searched", &header.searched)?;
        st.serialize_field("overflows", &header.overflows)?;
        st.end()
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

fn regs_report(
    arch: Option<&dyn Arch>,
    set: &RegSet,
    addr: Option<u64>,
    user: bool,
    partial: bool,
) -> BtRegs {
    let name = |r| match arch {
        Some(a) => a.reg_name(r),
        None => reg_name(r),
    };
    BtRegs {
        addr,
        user,
        partial,
        registers: set
            .iter()
            .filter_map(|(r, v)| Some((name(r)?.to_string(), Hex(v))))
            .collect(),
    }
}

fn task_report(
    prog: &Program,
    syms: &mut Symbolizer<'_>,
    arch: Option<&dyn Arch>,
    t: &TaskInfo,
    b: &Backtrace,
    opts: BtOptions,
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
            Some(e) => Some(regs_report(arch, &e.regs, Some(e.addr), e.user, e.partial)),
            None if i == 0 && f.ra_slot.is_none() => {
                Some(regs_report(arch, &f.regs, None, false, false))
            }
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
            found: f.found.into(),
            reliable: f.reliable,
            stack: f.stack.map(Stack::from),
            transition: i
                .checked_sub(1)
                .and_then(|p| frames[p].stack)
                .filter(|_| switched)
                .and_then(StackKind::crash_marker),
            exception: block,
            source: Vec::new(),
            words: Vec::new(),
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
            frame.words = frame_contents(prog, b, f, frames.get(i + 1));
        }
        out.push(frame);
    }
    let (end, complete) = match &b.trace.end {
        TraceEnd::EndOfStack => ("end-of-stack".to_string(), true),
        TraceEnd::UserMode => ("user-mode".to_string(), true),
        TraceEnd::Error(why) => (why.to_string(), false),
    };
    let text_words = match opts.text_scan {
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
            StartKind::Sleeping => WalkStart::Sleeping,
            StartKind::CpuRegs(_) => WalkStart::CpuRegisters,
            StartKind::Innermost { .. } => WalkStart::InnermostFrame,
            StartKind::Chosen => WalkStart::Chosen,
            StartKind::Nothing => WalkStart::Nothing,
        },
        frames: out,
        end,
        complete,
        notes,
        text_words,
        raw: Vec::new(),
        found_frames: Vec::new(),
        left_out: false,
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

/// `-f`: the words from just above the frame's return-address slot (or its sp) up to and
/// including the next frame's slot, as crash shows them; none for the last frame.
fn frame_contents(
    prog: &Program,
    b: &Backtrace,
    f: &Frame,
    next: Option<&Frame>,
) -> Vec<StackWord> {
    let from = f.ra_slot.map_or(f.sp, |s| s + 8);
    let Some(range) = b.stacks.range_of(from) else {
        return Vec::new();
    };
    let Some(to) = next
        .map(|n| n.ra_slot.unwrap_or(n.sp) + 8)
        .filter(|&t| t > from && range.contains(t - 8, 0))
    else {
        return Vec::new();
    };
    stack_words(
        prog.mem(),
        from,
        to.min(from + MAX_FRAME_BYTES),
        MAX_FRAME_BYTES,
    )
    .into_iter()
    .map(|(address, value)| StackWord {
        address,
        value,
        label: None,
    })
    .collect()
}

/// `-t`/`-T`: every word on the task's stack that is a text address.
fn text_words(
    prog: &Program,
    syms: &mut Symbolizer<'_>,
    b: &Backtrace,
    scan: TextScan,
) -> Vec<TextWord> {
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
    .filter_map(|(slot, value)| {
        let (function, _, module) = syms.lookup(value)?;
        Some(TextWord {
            slot,
            value,
            function,
            module,
        })
    })
    .collect()
}

impl Bt {
    fn function_text(&self, f: &BtFrame) -> String {
        match (&f.function, f.offset) {
            (Some(name), Some(off)) if self.options.offsets => {
                if self.options.hex {
                    format!("{name}+{off:#x}")
                } else {
                    format!("{name}+{off}")
                }
            }
            (Some(name), _) => name.clone(),
            (None, _) => format!("{:x}", f.pc),
        }
    }

    fn write_frame_line(&self, out: &mut dyn Write, f: &BtFrame, at: u64) -> io::Result<()> {
        let mark = if !f.reliable && f.found == Found::Scan {
            "? "
        } else {
            ""
        };
        writeln!(
            out,
            "{:>3} [{at:016x}] {mark}{} at {:016x}{}",
            format!("#{}", f.level.unwrap_or(0)),
            self.function_text(f),
            f.pc,
            module_suffix(&f.module)
        )
    }

    fn write_task(&self, out: &mut dyn Write, t: &BtTask) -> io::Result<()> {
        writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
        if t.left_out {
            return Ok(());
        }
        if self.options.text_scan.is_some() {
            return write_text_listing(out, t);
        }
        if self.options.raw {
            return write_raw(out, &t.raw, "");
        }
        if self.options.exception_search {
            return write_found(out, &t.found_frames);
        }
        if t.frames.is_empty() {
            writeln!(out, "bt: cannot unwind this task: {}", t.end)?;
            for n in &t.notes {
                writeln!(out, "bt: {n}")?;
            }
            return Ok(());
        }
        let mut scanned = false;
        // crash shows a kernel exception frame under the frame line whose words hold it
        let mut shown_early = None;
        for (i, f) in t.frames.iter().enumerate() {
            if f.found == Found::Scan && !f.reliable && !scanned {
                scanned = true;
                writeln!(
                    out,
                    "    bt: the walk stopped ({}); the frames below are text addresses found on the stack",
                    t.end
                )?;
            }
            let marker = &f.transition;
            match &f.exception {
                Some(_) if shown_early == Some(i) => {
                    if f.level.is_some() {
                        self.write_frame_line(out, f, f.sp)?;
                    }
                    write_source(out, f)?;
                }
                Some(regs) => {
                    write_regs_block(out, &self.arch, regs, f)?;
                    if f.level.is_none() {
                        write_source(out, f)?;
                    }
                    if let (Some(m), false) = (marker, regs.user) {
                        writeln!(out, "{m}")?;
                    }
                    if f.level.is_some() {
                        self.write_frame_line(out, f, f.sp)?;
                        write_source(out, f)?;
                    }
                }
                None => {
                    if let Some(m) = marker {
                        writeln!(out, "{m}")?;
                    }
                    let at = match self.arch.as_str() {
                        "x86_64" => shown_at(t, i),
                        _ => f.slot.unwrap_or(f.sp),
                    };
                    self.write_frame_line(out, f, at)?;
                    write_source(out, f)?;
                }
            }
            if let Some(next) = t.frames.get(i + 1) {
                let kernel_regs = next.exception.as_ref().filter(|r| !r.user);
                let same_stack = next.stack == f.stack;
                if let (Some(regs), false, true) = (kernel_regs, f.words.is_empty(), same_stack) {
                    write_regs_block(out, &self.arch, regs, next)?;
                    shown_early = Some(i + 1);
                }
            }
            for line in f.words.chunks(2) {
                write!(out, "    {:016x}: ", line[0].address)?;
                for w in line {
                    match &w.label {
                        Some(l) => write!(out, "{l:<16} ")?,
                        None => write!(out, "{:016x} ", w.value)?,
                    }
                }
                writeln!(out)?;
            }
        }
        if !t.complete && !scanned {
            writeln!(out, "    bt: the walk stopped: {}", t.end)?;
        }
        for n in &t.notes {
            writeln!(out, "    bt: {n}")?;
        }
        Ok(())
    }
}

/// The stack address crash shows for x86_64 frame `i` (`[SP]`): where its return address was
/// read, except for the first frame after the IRQ stack, which crash shows at the interrupted
/// context's register block when one follows (the entry code called the handler with the
/// stack pointer at that block).
fn shown_at(t: &BtTask, i: usize) -> u64 {
    let f = &t.frames[i];
    let left_irq = i
        .checked_sub(1)
        .is_some_and(|p| t.frames[p].stack == Some(Stack::Irq) && f.stack != Some(Stack::Irq));
    let block = t.frames.get(i + 1).and_then(|n| {
        n.exception
            .as_ref()
            .filter(|e| !e.user && n.stack == f.stack)
            .and_then(|e| e.addr)
    });
    match (left_irq, block) {
        (true, Some(addr)) => addr,
        _ => f.slot.unwrap_or(f.sp),
    }
}

/// `-l` lines under a frame, as crash prints them (`    file: line`); an inlined function's
/// location is followed by its name.
fn write_source(out: &mut dyn Write, f: &BtFrame) -> io::Result<()> {
    for s in &f.source {
        let (Some(file), Some(line)) = (&s.file, s.line) else {
            continue;
        };
        write!(out, "    {file}: {line}")?;
        match (s.inlined, &s.function) {
            (true, Some(func)) => write!(out, "  (inlined {func})")?,
            (true, None) => write!(out, "  (inlined)")?,
            _ => {}
        }
        if s.saved_regs {
            write!(out, "  (registers saved here)")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `-t`/`-T` listing: the starting frame, then every text address on the stack.
fn write_text_listing(out: &mut dyn Write, t: &BtTask) -> io::Result<()> {
    if let Some(f) = t.frames.first() {
        let name = f.function.clone().unwrap_or_else(|| format!("{:x}", f.pc));
        writeln!(out, "              START: {name} at {:016x}", f.pc)?;
    }
    for w in &t.text_words {
        let m = module_suffix(&w.module);
        writeln!(
            out,
            "  [{:016x}] {}{m} at {:016x}",
            w.slot, w.function, w.value
        )?;
    }
    Ok(())
}

/// ` [module]` after a symbol in a module, nothing for the kernel's own.
fn module_suffix(module: &Option<String>) -> String {
    module
        .as_ref()
        .map(|m| format!(" [{m}]"))
        .unwrap_or_default()
}

/// crash's register block of the architecture.
fn write_regs_block(out: &mut dyn Write, arch: &str, r: &BtRegs, f: &BtFrame) -> io::Result<()> {
    match arch {
        "aarch64" => write_regs_block_arm64(out, r, f),
        _ => write_regs_block_x86(out, r, f),
    }
}

/// crash's aarch64 register block: pc, lr, sp (with symbols in kernel mode), then x29..x0,
/// and for user mode `orig_x0`, the syscall number and pstate.
fn write_regs_block_arm64(out: &mut dyn Write, r: &BtRegs, f: &BtFrame) -> io::Result<()> {
    let g = |name: &str| match r.get(name) {
        Some(v) => format!("{v:016x}"),
        None => "-".repeat(16),
    };
    if r.user {
        writeln!(
            out,
            "     PC: {}   LR: {}   SP: {}",
            g("pc"),
            g("x30"),
            g("sp")
        )?;
    } else {
        let at = match (&f.function, f.offset) {
            (Some(n), Some(o)) => format!("  [{n}+{o}]"),
            _ => String::new(),
        };
        writeln!(out, "     PC: {}{at}", g("pc"))?;
        writeln!(out, "     LR: {}", g("x30"))?;
        let pstate = r
            .get("pstate")
            .map_or("-".repeat(8), |v| format!("{v:08x}"));
        writeln!(out, "     SP: {}  PSTATE: {pstate}", g("sp"))?;
    }
    let names: Vec<String> = (0..30).rev().map(|i| format!("x{i}")).collect();
    for row in names.chunks(3) {
        let cells: Vec<String> = row
            .iter()
            .map(|n| format!("{:>3}: {}", n.to_uppercase(), g(n)))
            .collect();
        writeln!(out, "    {}", cells.join("  "))?;
    }
    if r.user {
        let pstate = r
            .get("pstate")
            .map_or("-".repeat(8), |v| format!("{v:08x}"));
        let sysno = r
            .get("syscallno")
            .map_or("-".into(), |v| (v as i64).to_string());
        writeln!(
            out,
            "    ORIG_X0: {}  SYSCALLNO: {sysno}  PSTATE: {pstate}",
            g("orig_x0")
        )?;
    }
    Ok(())
}

fn write_regs_block_x86(out: &mut dyn Write, r: &BtRegs, f: &BtFrame) -> io::Result<()> {
    write_regs(out, r, f.function.as_deref(), f.offset)
}

/// crash's x86_64 register block: `[exception RIP: fn+off]` (kernel mode), then the registers.
pub(crate) fn write_regs(
    out: &mut dyn Write,
    r: &BtRegs,
    function: Option<&str>,
    offset: Option<u64>,
) -> io::Result<()> {
    let g = |reg: &str| match r.get(reg) {
        Some(v) => format!("{v:016x}"),
        None => "-".repeat(16),
    };
    if !r.user {
        let rip = match (function, offset) {
            (Some(n), Some(o)) => format!("{n}+{o}"),
            _ => "unknown or invalid address".into(),
        };
        writeln!(out, "    [exception RIP: {rip}]")?;
    }
    let flags = r
        .get("rflags")
        .map_or("-".repeat(8), |v| format!("{v:08x}"));
    writeln!(
        out,
        "    RIP: {}  RSP: {}  RFLAGS: {flags}",
        g("rip"),
        g("rsp")
    )?;
    let rows: [[(&str, &str); 3]; 5] = [
        [("RAX", "rax"), ("RBX", "rbx"), ("RCX", "rcx")],
        [("RDX", "rdx"), ("RSI", "rsi"), ("RDI", "rdi")],
        [("RBP", "rbp"), ("R8", "r8"), ("R9", "r9")],
        [("R10", "r10"), ("R11", "r11"), ("R12", "r12")],
        [("R13", "r13"), ("R14", "r14"), ("R15", "r15")],
    ];
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|&(n, rg)| format!("{n:>3}: {}", g(rg)))
            .collect();
        writeln!(out, "    {}", cells.join("  "))?;
    }
    let seg = |rg: &str| r.get(rg).map_or("----".into(), |v| format!("{v:04x}"));
    let orig = r
        .get("orig_rax")
        .map(|v| format!("ORIG_RAX: {v:016x}  "))
        .unwrap_or_default();
    writeln!(out, "    {orig}CS: {}  SS: {}", seg("cs"), seg("ss"))
}

impl Report for Bt {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if let Some(o) = &self.overflows {
            for v in o {
                writeln!(out, "{}", task_header(v.pid, v.task, v.cpu, &v.comm))?;
                writeln!(
                    out,
                    "  possible stack overflow: {:x}: {:x} != STACK_END_MAGIC\n",
                    v.location, v.found
                )?;
            }
            if o.is_empty() {
                writeln!(out, "No stack overflows detected")?;
            }
        }
        for st in self.searched.iter().flatten() {
            match st.name.as_str() {
                "IRQ" => writeln!(out, "CPU {} IRQ STACK:", st.cpu)?,
                n => writeln!(out, "CPU {} {n} EXCEPTION STACK:", st.cpu)?,
            }
            if st.frames.is_empty() {
                writeln!(out, "(none found)\n")?;
            } else {
                write_found(out, &st.frames)?;
                writeln!(out)?;
            }
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            self.write_task(out, t)?;
        }
        for n in &self.notes {
            writeln!(out, "bt: {n}")?;
        }
        Ok(())
    }
}
