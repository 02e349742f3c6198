//! Kernel stacks and where each task's walk starts.
//!
//! - Stacks: the task's (`task->stack` + THREAD_SIZE, from `struct thread_union` or
//!   `struct irq_stack` in the types), and per CPU the hard-IRQ stack (`hardirq_stack_ptr`, or
//!   `pcpu_hot.hardirq_stack_ptr` on newer kernels), the exception stacks
//!   (`cea_exception_stacks`) and the entry stack of the CPU entry area.
//! - Starting registers: a sleeping task's saved switch frame (`thread.sp` →
//!   `struct inactive_task_frame`); for a task running on a CPU, that CPU's registers from the
//!   dump's notes (QEMU CPU state: live registers; `NT_PRSTATUS`: saved by kdump), or from the
//!   kernel's `crash_notes` when the dump has none.
//! - kdump saves the panicking CPU's registers in `__crash_kexec` and the others' in the NMI
//!   handler, below which the CPU went on running. Like crash, the walk then starts from the
//!   innermost frame left on the stack (a return address into `machine_kexec` or
//!   `crash_nmi_callback`), kept only when it leads to the saved registers.

use std::collections::{BTreeMap, BTreeSet};

use kdive_program::object::offset_of;
use kdive_program::unwind::scan::stack_words;
use kdive_program::unwind::x86_64::{reg, regs_from_qemu};
use kdive_program::unwind::{
    Arch, ExceptionStack, FoundBy, Limits, RegSet, StackKind, StackRange, Stacks, Start,
    StopReason, Trace, TraceEnd,
};
use kdive_program::{Program, Result};

use crate::percpu::{online_cpus, per_cpu_address, per_cpu_offset};

/// THREAD_SIZE when the types do not say (x86_64 without KASAN).
const DEFAULT_THREAD_SIZE: u64 = 16 << 10;
/// Candidate starting slots tried per function when looking for the innermost frame.
const MAX_SEED_TRIES: usize = 16;
/// Functions a kdump-stopped CPU is left in: the panicking CPU in `machine_kexec` (called after
/// its registers were saved), the others in the NMI handler.
const SEED_FUNCTIONS: [&str; 2] = ["machine_kexec", "crash_nmi_callback"];

/// Where a CPU's registers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RegsSource {
    /// A QEMU CPU state note: the registers at the moment of the dump.
    Qemu,
    /// An `NT_PRSTATUS` note: registers kdump saved when the machine crashed.
    Prstatus,
    /// The kernel's `crash_notes` per-CPU buffer (the same registers kdump saves).
    CrashNotes,
}

impl RegsSource {
    /// The registers are the CPU's state at the moment of the dump (not saved earlier by kdump).
    pub fn live(self) -> bool {
        self == RegsSource::Qemu
    }
}

/// One CPU's registers.
#[derive(Debug, Clone)]
pub struct CpuRegs {
    pub regs: RegSet,
    pub source: RegsSource,
    /// `pr_pid` of an `NT_PRSTATUS` note.
    pub pid: Option<u32>,
}

/// How a task's walk started.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum StartKind {
    /// From the saved switch frame of a task that is not running.
    Sleeping,
    /// From its CPU's registers.
    CpuRegs(RegsSource),
    /// From the innermost frame left on a stack by the named function, which leads to the
    /// CPU's saved registers.
    Innermost {
        function: String,
        source: RegsSource,
        /// The pc of the saved registers (where kdump saved them, e.g. in `__crash_kexec`).
        saved_pc: Option<u64>,
    },
    /// From registers the user chose (`bt -I`/`-S`).
    Chosen,
    /// Nothing to start from.
    Nothing,
}

/// A task's backtrace.
#[derive(Debug, Clone)]
pub struct Backtrace {
    pub task: u64,
    /// The CPU the task was running on at the time of the dump, if it was.
    pub active_cpu: Option<u32>,
    pub start: StartKind,
    pub trace: Trace,
    /// The stacks the walk could use.
    pub stacks: Stacks,
    /// What could not be read, or was guessed.
    pub notes: Vec<String>,
}

/// Offsets of `struct inactive_task_frame` (the frame `__switch_to_asm` leaves on a stack).
#[derive(Debug, Clone)]
struct SwitchFrame {
    size: u64,
    ret_addr: u64,
    regs: Vec<(u16, u64)>,
}

impl SwitchFrame {
    fn new(prog: &Program) -> SwitchFrame {
        let names = [
            ("r15", reg::R15),
            ("r14", reg::R14),
            ("r13", reg::R13),
            ("r12", reg::R12),
            ("bx", reg::RBX),
            ("bp", reg::RBP),
        ];
        let from_types = || -> Result<SwitchFrame> {
            let ty = prog.type_("struct inactive_task_frame")?;
            let mut regs = Vec::new();
            for (n, r) in names {
                regs.push((r, offset_of(prog, ty, n)?));
            }
            Ok(SwitchFrame {
                size: prog.types().size_of(ty)?,
                ret_addr: offset_of(prog, ty, "ret_addr")?,
                regs,
            })
        };
        from_types().unwrap_or_else(|_| SwitchFrame {
            size: 56,
            ret_addr: 48,
            regs: names
                .iter()
                .enumerate()
                .map(|(i, &(_, r))| (r, 8 * i as u64))
                .collect(),
        })
    }
}

/// What every backtrace of one dump shares, computed once: CPU registers and stacks, sizes,
/// the panic CPU.
pub struct BacktraceContext {
    thread_size: u64,
    /// The architecture's conventions (`None`: unwinding is not supported on it).
    arch: Option<Box<dyn Arch>>,
    switch: SwitchFrame,
    /// Registers per CPU.
    pub cpu_regs: BTreeMap<u32, CpuRegs>,
    /// IRQ, exception and entry stacks per CPU.
    pub cpu_stacks: BTreeMap<u32, Vec<StackRange>>,
    /// The task running on each CPU (`rq->curr`).
    pub active: BTreeMap<u32, u64>,
    /// The CPU that panicked, if any.
    pub panic_cpu: Option<u32>,
    /// `[start, end)` of the functions a stopped CPU is found in.
    seeds: Vec<(String, u64, u64)>,
    /// What could not be read while setting up.
    pub problems: Vec<String>,
    /// Bounds of each walk.
    pub limits: Limits,
    /// Tasks named active by hand (crash's `set -a`) rather than by the runqueues: their
    /// CPU's registers start their walk only when the stack pointer is on one of their stacks,
    /// else (the registers are another task's) the saved switch frame does.
    pub marked: BTreeSet<u64>,
}

impl BacktraceContext {
    /// Reads CPU registers and stacks. `active` maps each CPU to the task it was running.
    pub fn new(prog: &Program, active: &BTreeMap<u32, u64>) -> BacktraceContext {
        let mut problems = Vec::new();
        let thread_size = [
            "struct thread_union",
            "struct irq_stack",
            "union thread_union",
        ]
        .iter()
        .find_map(|t| {
            prog.type_(t)
                .and_then(|id| Ok(prog.types().size_of(id)?))
                .ok()
        })
        .filter(|s| s.is_power_of_two() && (4096..=1 << 20).contains(s))
        // stacks are at least a page (aarch64 with 64K pages)
        .unwrap_or_else(|| {
            let page = prog.dump().and_then(|d| d.vmcoreinfo()?.page_size());
            DEFAULT_THREAD_SIZE.max(page.unwrap_or(0))
        });
        let arch = prog.unwind_arch().ok();
        let cpus: Vec<u32> = online_cpus(prog).unwrap_or_else(|e| {
            problems.push(format!("online CPUs: {e}"));
            active.keys().copied().collect()
        });
        let cpu_regs = cpu_registers(prog, arch.as_deref(), &cpus, &mut problems);
        let mut cpu_stacks = BTreeMap::new();
        for &cpu in active.keys().chain(&cpus) {
            cpu_stacks
                .entry(cpu)
                .or_insert_with(|| cpu_stack_ranges(prog, cpu, thread_size, &mut problems));
        }
        let seeds = SEED_FUNCTIONS
            .iter()
            .filter_map(|name| {
                let s = prog.symbols().by_name(name)?;
                Some((name.to_string(), s.addr, s.addr + s.size.unwrap_or(1)))
            })
            .collect();
        BacktraceContext {
            thread_size,
            arch,
            switch: SwitchFrame::new(prog),
            cpu_regs,
            cpu_stacks,
            active: active.clone(),
            panic_cpu: crate::system::panic_cpu(prog).ok().flatten(),
            seeds,
            problems,
            limits: Limits::default(),
            marked: BTreeSet::new(),
        }
    }

    /// THREAD_SIZE of this kernel.
    pub fn thread_size(&self) -> u64 {
        self.thread_size
    }

    /// The CPU a task is running on, if it is running.
    pub fn active_cpu(&self, task: u64) -> Option<u32> {
        self.active
            .iter()
            .find(|(_, &t)| t == task)
            .map(|(&c, _)| c)
    }

    /// The task's own stack: `task->stack` .. + THREAD_SIZE.
    pub fn task_stack(&self, prog: &Program, task: u64) -> Result<StackRange> {
        let base = prog
            .object("struct task_struct", task)?
            .member("stack")?
            .read_u64()?;
        Ok(StackRange {
            start: base,
            end: base.wrapping_add(self.thread_size),
            kind: StackKind::Task,
        })
    }

    /// The stacks a task's walk may use: its own, and its CPU's when it is running.
    pub fn stacks(&self, prog: &Program, task: u64, cpu: Option<u32>) -> (Stacks, Vec<String>) {
        let mut notes = Vec::new();
        let mut ranges = Vec::new();
        match self.task_stack(prog, task) {
            Ok(r) => ranges.push(r),
            Err(e) => notes.push(format!("stack of task {task:#x}: {e}")),
        }
        if let Some(c) = cpu.and_then(|c| self.cpu_stacks.get(&c)) {
            ranges.extend(c.iter().copied());
        }
        (Stacks::new(ranges), notes)
    }

    /// Whether a CPU's registers can start `task`'s walk: always for a task the runqueues
    /// name, for a [`marked`](Self::marked) one when their stack pointer is on its stacks.
    fn regs_fit(&self, task: u64, stacks: &Stacks, regs: &RegSet) -> bool {
        if !self.marked.contains(&task) {
            return true;
        }
        let sp = self.arch.as_ref().and_then(|a| regs.get(a.sp_reg()));
        sp.is_some_and(|sp| stacks.range_of(sp).is_some())
    }

    /// The backtrace of one task.
    pub fn backtrace(&self, prog: &Program, task: u64) -> Backtrace {
        let active_cpu = self.active_cpu(task);
        let (stacks, mut notes) = self.stacks(prog, task, active_cpu);
        let bt = |start: StartKind, trace: Trace, notes: Vec<String>| Backtrace {
            task,
            active_cpu,
            start,
            trace,
            stacks: stacks.clone(),
            notes,
        };
        if let Some(cpu) = active_cpu {
            match self.cpu_regs.get(&cpu) {
                // as crash, silently: the saved switch frame is the task's own
                Some(cr) if !self.regs_fit(task, &stacks, &cr.regs) => {}
                Some(cr) => {
                    if !cr.source.live() {
                        if let Some((function, trace)) = self.innermost(prog, &stacks, &cr.regs) {
                            let start = StartKind::Innermost {
                                function,
                                source: cr.source,
                                saved_pc: self.arch.as_ref().and_then(|a| cr.regs.get(a.pc_reg())),
                            };
                            return bt(start, trace, notes);
                        }
                    }
                    let start = Start {
                        regs: cr.regs,
                        return_address: false,
                        ra_slot: None,
                        found: FoundBy::Regs,
                    };
                    return match prog.unwind(&start, &stacks, self.limits) {
                        Ok(t) => bt(StartKind::CpuRegs(cr.source), t, notes),
                        Err(e) => bt(StartKind::Nothing, failed(e.to_string()), notes),
                    };
                }
                None => notes.push(format!(
                    "no registers for CPU {cpu} in the dump: its saved switch frame is stale"
                )),
            }
        }
        let start = match prog.sleeping_start(task) {
            Some(s) => s,
            None => self.switch_start(prog, task),
        };
        match start {
            Ok(start) => match prog.unwind(&start, &stacks, self.limits) {
                Ok(t) => bt(StartKind::Sleeping, t, notes),
                Err(e) => bt(StartKind::Nothing, failed(e.to_string()), notes),
            },
            Err(e) => {
                let why = format!("saved switch frame of task {task:#x}: {e}");
                bt(StartKind::Nothing, failed(why), notes)
            }
        }
    }

    /// The backtrace of `task` from a chosen start (crash's `bt -I IP -S SP`): `pc` and `sp`
    /// as given; without `pc`, the word at `sp` is taken as a return address; without `sp`,
    /// the stack pointer the task's own walk starts from.
    pub fn backtrace_from(
        &self,
        prog: &Program,
        task: u64,
        pc: Option<u64>,
        sp: Option<u64>,
    ) -> Backtrace {
        let active_cpu = self.active_cpu(task);
        let (stacks, notes) = self.stacks(prog, task, active_cpu);
        let sp = match sp {
            Some(sp) => sp,
            None => match self.backtrace(prog, task).trace.frames.first() {
                Some(f) => f.sp,
                None => {
                    return Backtrace {
                        task,
                        active_cpu,
                        start: StartKind::Nothing,
                        trace: failed("no stack pointer to start from: give -S".into()),
                        stacks,
                        notes,
                    }
                }
            },
        };
        let mut regs = RegSet::new();
        let start = match pc {
            Some(pc) => {
                regs.set(reg::RIP, pc);
                regs.set(reg::RSP, sp);
                Ok(Start {
                    regs,
                    return_address: false,
                    ra_slot: None,
                    found: FoundBy::Regs,
                })
            }
            None => prog.read_u64(sp).map(|ra| {
                regs.set(reg::RIP, ra);
                regs.set(reg::RSP, sp + 8);
                Start {
                    regs,
                    return_address: true,
                    ra_slot: Some(sp),
                    found: FoundBy::Regs,
                }
            }),
        };
        let (start_kind, trace) = match start {
            Ok(start) => match prog.unwind(&start, &stacks, self.limits) {
                Ok(t) => (StartKind::Chosen, t),
                Err(e) => (StartKind::Nothing, failed(e.to_string())),
            },
            Err(e) => (StartKind::Nothing, failed(format!("{sp:#x}: {e}"))),
        };
        Backtrace {
            task,
            active_cpu,
            start: start_kind,
            trace,
            stacks,
            notes,
        }
    }

    /// A sleeping task's start: `thread.sp` points at its `struct inactive_task_frame`.
    fn switch_start(&self, prog: &Program, task: u64) -> Result<Start> {
        let sp = prog
            .object("struct task_struct", task)?
            .member("thread.sp")?
            .read_u64()?;
        let f = &self.switch;
        let mut buf = vec![0u8; f.size as usize];
        prog.read(sp, &mut buf)?;
        let word = |off: u64| {
            let o = off as usize;
            u64::from_le_bytes(buf[o..o + 8].try_into().unwrap_or([0; 8]))
        };
        let mut regs = RegSet::new();
        for &(r, off) in &f.regs {
            regs.set(r, word(off));
        }
        regs.set(reg::RIP, word(f.ret_addr));
        regs.set(reg::RSP, sp + f.size);
        Ok(Start {
            regs,
            return_address: true,
            ra_slot: Some(sp + f.ret_addr),
            found: FoundBy::Regs,
        })
    }

    /// The walk from the innermost frame a kdump-stopped CPU left on its stacks: a return
    /// address into one of the seed functions whose walk reaches the saved registers.
    fn innermost(
        &self,
        prog: &Program,
        stacks: &Stacks,
        saved: &RegSet,
    ) -> Option<(String, Trace)> {
        let arch = self.arch.as_deref()?;
        let (pc_reg, sp_reg) = (arch.pc_reg(), arch.sp_reg());
        let (pc, sp) = (saved.get(pc_reg)?, saved.get(sp_reg)?);
        let func_of = |a: u64| prog.symbols().by_addr(a).map(|(s, _)| s.addr);
        let target = func_of(pc);
        for (name, lo, hi) in &self.seeds {
            let mut tries = 0;
            for range in stacks.ranges() {
                // below the saved sp on its own stack (the frames called after the save)
                let top = if range.contains(sp, 0) { sp } else { range.end };
                let words = stack_words(prog.mem(), range.start, top, range.end - range.start);
                for &(slot, value) in words.iter().rev() {
                    if value < *lo || value >= *hi {
                        continue;
                    }
                    tries += 1;
                    if tries > MAX_SEED_TRIES {
                        break;
                    }
                    let mut regs = RegSet::new();
                    regs.set(pc_reg, value);
                    regs.set(sp_reg, slot + 8);
                    let start = Start {
                        regs,
                        return_address: true,
                        ra_slot: Some(slot),
                        found: FoundBy::Scan,
                    };
                    let Ok(mut trace) = prog.unwind(&start, stacks, self.limits) else {
                        continue;
                    };
                    let reaches = trace.frames.iter().skip(1).any(|f| {
                        f.found != FoundBy::Scan
                            && f.sp == sp
                            && (f.pc == pc || (target.is_some() && func_of(f.pc) == target))
                    });
                    if reaches {
                        trace.frames[0].reliable = true;
                        return Some((name.clone(), trace));
                    }
                }
            }
        }
        None
    }
}

fn failed(why: String) -> Trace {
    Trace {
        frames: Vec::new(),
        end: TraceEnd::Error(StopReason::NoStart(why)),
    }
}

/// Each online CPU's registers: QEMU notes (live), else `NT_PRSTATUS` notes in online-CPU
/// order, else the kernel's `crash_notes`.
fn cpu_registers(
    prog: &Program,
    arch: Option<&dyn Arch>,
    cpus: &[u32],
    problems: &mut Vec<String>,
) -> BTreeMap<u32, CpuRegs> {
    let mut out = BTreeMap::new();
    let (Some(dump), Some(arch)) = (prog.dump(), arch) else {
        return out;
    };
    let from_note = |p: &kdive_dump::PrStatus, source: RegsSource| CpuRegs {
        regs: arch.regs_from_prstatus(&p.regs),
        source,
        pid: Some(p.pid),
    };
    let meta = dump.meta();
    if !meta.qemu_cpus.is_empty() {
        for (cpu, q) in meta.qemu_cpus.iter().enumerate() {
            let regs = regs_from_qemu(&q.regs, q.cs.selector, q.ss.selector);
            out.insert(
                cpu as u32,
                CpuRegs {
                    regs,
                    source: RegsSource::Qemu,
                    pid: None,
                },
            );
        }
        return out;
    }
    if !meta.prstatus.is_empty() && meta.prstatus.len() == cpus.len() {
        for (&cpu, p) in cpus.iter().zip(&meta.prstatus) {
            out.insert(cpu, from_note(p, RegsSource::Prstatus));
        }
        return out;
    }
    for &cpu in cpus {
        match crash_note(prog, cpu) {
            Ok(Some(p)) => {
                out.insert(cpu, from_note(&p, RegsSource::CrashNotes));
            }
            Ok(None) => {}
            Err(e) => problems.push(format!("crash_notes of CPU {cpu}: {e}")),
        }
    }
    if out.is_empty() && !meta.prstatus.is_empty() {
        problems.push(format!(
            "{} NT_PRSTATUS notes for {} online CPUs: notes matched to CPUs in order",
            meta.prstatus.len(),
            cpus.len()
        ));
        for (cpu, p) in (0u32..).zip(&meta.prstatus) {
            let cpu = cpus.get(cpu as usize).copied().unwrap_or(cpu);
            out.insert(cpu, from_note(p, RegsSource::Prstatus));
        }
    }
    out
}

/// The `NT_PRSTATUS` note the kernel wrote for `cpu` in `crash_notes` (a per-CPU `note_buf_t`),
/// `None` when it is empty (the CPU did not go through kdump).
pub fn crash_note(prog: &Program, cpu: u32) -> Result<Option<kdive_dump::PrStatus>> {
    let ptr = prog.read_u64(prog.symbol_address("crash_notes")?)?;
    let addr = ptr.wrapping_add(per_cpu_offset(prog, cpu)?);
    let size = prog
        .type_("note_buf_t")
        .and_then(|t| Ok(prog.types().size_of(t)?))
        .unwrap_or(368)
        .min(4096);
    let mut buf = vec![0u8; size as usize];
    prog.read(addr, &mut buf)?;
    let notes = kdive_dump::notes::parse_notes(&buf);
    Ok(notes
        .prstatus
        .into_iter()
        .next()
        .filter(|p| p.regs.iter().any(|&r| r != 0)))
}

/// The IRQ, exception and entry stacks of a CPU (those that can be found).
fn cpu_stack_ranges(
    prog: &Program,
    cpu: u32,
    size: u64,
    problems: &mut Vec<String>,
) -> Vec<StackRange> {
    if prog.dump().map(|d| d.meta().arch) == Some(kdive_dump::Arch::Aarch64) {
        return crate::stack_arm64::cpu_stacks(prog, cpu, size, problems);
    }
    let mut out = Vec::new();
    match irq_stack_top(prog, cpu) {
        Ok(top) => out.push(StackRange {
            start: top.wrapping_sub(size),
            end: top,
            kind: StackKind::Irq,
        }),
        Err(e) => problems.push(format!("IRQ stack of CPU {cpu}: {e}")),
    }
    match exception_stacks(prog, cpu) {
        Ok(v) => out.extend(v),
        Err(e) => problems.push(format!("exception stacks of CPU {cpu}: {e}")),
    }
    out
}

/// Top of the hard-IRQ stack. The per-CPU pointer holds the top, or the top minus 8 (newer
/// kernels store the last slot); the stack is page-aligned either way.
fn irq_stack_top(prog: &Program, cpu: u32) -> Result<u64> {
    let var = match per_cpu_address(prog, "hardirq_stack_ptr", cpu) {
        Ok(a) => a,
        Err(_) => {
            let hot = prog.type_("struct pcpu_hot")?;
            per_cpu_address(prog, "pcpu_hot", cpu)? + offset_of(prog, hot, "hardirq_stack_ptr")?
        }
    };
    let ptr = prog.read_u64(var)?;
    if ptr == 0 {
        return Err(kdive_program::ProgramError::Walk {
            what: "hardirq_stack_ptr".into(),
            why: "NULL".into(),
        });
    }
    Ok(ptr.next_multiple_of(4096))
}

/// The exception (IST) stacks and the entry stack of a CPU's entry area: `cea_exception_stacks`
/// points at its `struct cea_exception_stacks`, inside `struct cpu_entry_area`.
fn exception_stacks(prog: &Program, cpu: u32) -> Result<Vec<StackRange>> {
    let base = prog.read_u64(per_cpu_address(prog, "cea_exception_stacks", cpu)?)?;
    let ty = prog.type_("struct cea_exception_stacks")?;
    let kinds = [
        ("DF_stack", ExceptionStack::DoubleFault),
        ("NMI_stack", ExceptionStack::Nmi),
        ("DB_stack", ExceptionStack::Debug),
        ("DB1_stack", ExceptionStack::Debug),
        ("DB2_stack", ExceptionStack::Debug),
        ("MCE_stack", ExceptionStack::MachineCheck),
        ("VC_stack", ExceptionStack::Vc),
        ("VC2_stack", ExceptionStack::Vc2),
    ];
    let mut out = Vec::new();
    for (name, kind) in kinds {
        let Ok(m) = prog.types().member(ty, name) else {
            continue;
        };
        let size = prog.types().size_of(m.ty)?;
        let start = base + m.bit_offset / 8;
        out.push(StackRange {
            start,
            end: start + size,
            kind: StackKind::Exception(kind),
        });
    }
    // the entry stack, in the same entry area
    if let Ok(cea) = prog.type_("struct cpu_entry_area") {
        if let (Ok(est), Ok(m)) = (
            offset_of(prog, cea, "estacks"),
            prog.types().member(cea, "entry_stack_page"),
        ) {
            let start = base.wrapping_sub(est) + m.bit_offset / 8;
            let size = prog.types().size_of(m.ty)?;
            out.push(StackRange {
                start,
                end: start + size,
                kind: StackKind::Entry,
            });
        }
    }
    Ok(out)
}
