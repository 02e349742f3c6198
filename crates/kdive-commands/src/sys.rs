//! `sys`: the system at the time of the dump, as crash's `sys` shows it.

use kdive_dump::FormatKind;
use kdive_linux::{percpu, system, task};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::{date, duration, memory_size};
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What the log says about a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PanicKind {
    /// A `Kernel panic - not syncing` line.
    Panic,
    /// An oops line without a panic line.
    Oops,
    /// Neither: the dump was taken from a running system.
    None,
    /// The log could not be read.
    Unknown,
}

/// What `sys` reports. Fields the dump could not give are `None`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Sys {
    pub kernel: String,
    pub tainted: bool,
    pub dumpfile: String,
    pub partial_dump: bool,
    pub cpus: Option<usize>,
    pub offline_cpus: Option<usize>,
    pub date: Option<String>,
    pub realtime_sec: Option<i64>,
    pub uptime: Option<String>,
    pub uptime_ns: Option<u64>,
    pub load_average: Option<[String; 3]>,
    /// Tasks read from the dump; above a few hundred, the kernel's count (not walked).
    pub tasks: Option<usize>,
    /// Tasks the kernel had (`nr_threads` + idle tasks) that could not be read.
    pub tasks_missing: u64,
    /// Some task structure could not be walked (`ps` lists why): `tasks` may be short of the truth
    /// even when `tasks_missing` is 0 (the kernel's own count unreadable).
    pub tasks_incomplete: bool,
    pub nodename: Option<String>,
    pub release: Option<String>,
    pub version: Option<String>,
    pub machine: Option<String>,
    pub cpu_mhz: Option<u64>,
    pub memory_bytes: Option<u64>,
    /// The panic message (`Kernel panic - not syncing: …`), or the oops line, or "" without a panic.
    pub panic: String,
    /// `unknown` when the log is unreadable (`panic` then says why).
    pub panic_kind: PanicKind,
    /// The running kernel (`/proc/kcore`): there is no panic, and no PANIC line (as crash on a
    /// live system).
    #[serde(default)]
    pub live: bool,
}

/// Above this many tasks, `sys` gives the kernel's count without walking them.
const WALK_AT_MOST: u64 = 512;

/// TASKS: the kernel's own count (`nr_threads` and the idle tasks) when there are many tasks;
/// else every task walked (a few milliseconds), which also tells how many cannot be read.
/// Returns the count, how many are missing, and whether the walk met damage.
fn task_count(s: &Session, prog: &kdive_program::Program) -> (Option<usize>, u64, bool) {
    match task::task_count(prog) {
        Ok(n) if n > WALK_AT_MOST => (usize::try_from(n).ok(), 0, false),
        _ => {
            let t = s.tasks().ok();
            (
                t.map(|t| t.infos.len()),
                t.map_or(0, |t| t.list.missing()),
                t.is_some_and(|t| !t.list.problems.is_empty()),
            )
        }
    }
}

/// Runs `sys`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::SYS, args)?;
    if f.has('t') {
        return Ok(Box::new(taint(s)?));
    }
    if f.has('c') {
        return Ok(Box::new(syscalls(s, &f.positional)?));
    }
    if f.has('i') {
        return Ok(Box::new(dmi(s)?));
    }
    match f.positional.split_first() {
        None => Ok(Box::new(collect(s)?)),
        Some((w, rest)) if w == "config" => Ok(Box::new(config(s, rest)?)),
        Some((w, _)) => Err(CommandError::Usage(format!(
            "sys: unexpected argument {w}\nusage: {}",
            table::SYS.synopsis()
        ))),
    }
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "sys",
        source: e,
    }
}

/// `sys -t`: the kernel's taint.
#[derive(Debug, Serialize, Deserialize)]
pub struct SysTaint {
    #[serde(with = "crate::hex")]
    pub tainted_mask: u64,
    /// The taint letters, as the kernel's oops lines show them (`OE`).
    pub letters: String,
}

fn taint(s: &Session) -> Result<SysTaint, CommandError> {
    let prog = s.kernel()?;
    let mask = system::tainted_mask(prog).map_err(program_error)?;
    let flags = kdive_linux::taint::taint_flags(prog).map_err(program_error)?;
    Ok(SysTaint {
        tainted_mask: mask,
        letters: kdive_linux::taint::kernel_taint_letters(&flags, mask),
    })
}

impl Report for SysTaint {
    fn write_text(&self, _: &TextOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "TAINTED_MASK: {:x}  {}",
            self.tainted_mask, self.letters
        )
    }
}

/// `sys -i`: the DMI (SMBIOS) identification the kernel kept.
#[derive(Debug, Serialize, Deserialize)]
pub struct SysDmi {
    /// Every `enum dmi_field` below `DMI_STRING_MAX`, in order: `{field, value}` (`value` null
    /// when the firmware gave none; the text leaves those out).
    pub fields: Vec<DmiField>,
}

/// One DMI field.
#[derive(Debug, Serialize, Deserialize)]
pub struct DmiField {
    /// The enumerator's name (`DMI_SYS_VENDOR`).
    pub field: String,
    pub value: Option<String>,
}

fn dmi(s: &Session) -> Result<SysDmi, CommandError> {
    let prog = s.kernel()?;
    let fields = system::dmi_ident(prog)
        .map_err(program_error)?
        .into_iter()
        .map(|(field, value)| DmiField { field, value })
        .collect();
    Ok(SysDmi { fields })
}

impl Report for SysDmi {
    fn write_text(&self, _: &TextOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        // crash aligns the names on the longest of all the fields, shown or not
        let width = self.fields.iter().map(|f| f.field.len()).max().unwrap_or(0);
        for f in &self.fields {
            if let Some(v) = &f.value {
                writeln!(out, "  {:>width$}: {v}", f.field)?;
            }
        }
        Ok(())
    }
}

/// `sys -c`: the system call table.
#[derive(Debug, Serialize, Deserialize)]
pub struct SysCalls {
    pub calls: Vec<SyscallRow>,
    /// The kernel's build directory, as the DWARF names `schedule`'s file (the paths shown are
    /// relative to it, as crash shows them); null without a vmlinux.
    pub build_directory: Option<String>,
}

/// One system call.
#[derive(Debug, Serialize, Deserialize)]
pub struct SyscallRow {
    pub nr: u64,
    #[serde(with = "crate::hex")]
    pub handler: u64,
    /// The handler's symbol (`sys_ni_syscall` for the unimplemented); null when none holds it.
    pub name: Option<String>,
    /// Where it is defined: the first line of its code not in a header, as
    /// `../fs/read_write.c`, and the line; null without DWARF.
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// Most bytes of a handler looked through for a line outside the headers.
const MAX_SCAN: u64 = 4096;

fn syscalls(s: &Session, specs: &[String]) -> Result<SysCalls, CommandError> {
    let prog = s.kernel()?;
    let table = system::syscalls(prog).map_err(program_error)?;
    let line_of = |a: u64| {
        prog.source(a)
            .ok()
            .flatten()
            .and_then(|f| f.into_iter().next())
            .and_then(|f| Some((f.file?, f.line?)))
    };
    // crash names paths from the build directory: where `schedule`'s file has `/kernel/`
    let build = prog
        .symbols()
        .address_of("schedule")
        .and_then(line_of)
        .and_then(|(f, _)| f.find("/kernel/").map(|i| f[..i].to_string()));
    let mut calls = Vec::new();
    for c in table {
        let wanted = specs.is_empty()
            || specs.iter().any(|w| match w.parse::<u64>() {
                Ok(n) => n == c.nr,
                Err(_) => c.symbol.as_deref().is_some_and(|n| n.contains(w.as_str())),
            });
        if !wanted {
            continue;
        }
        let mut place = None;
        if let (Some(b), Some((sym, _))) = (&build, prog.symbols().by_addr(c.handler)) {
            let end = c.handler + sym.size.unwrap_or(1).clamp(1, MAX_SCAN);
            // the first instruction may be inlined from a header: the first that is not
            for a in c.handler..end {
                let Some((f, l)) = line_of(a) else { break };
                if f.contains("include/") && f.ends_with(".h") {
                    continue;
                }
                if let Some(rest) = f.strip_prefix(b.as_str()) {
                    place = Some((format!("..{rest}"), l));
                }
                break;
            }
        }
        calls.push(SyscallRow {
            nr: c.nr,
            handler: c.handler,
            name: c.symbol,
            file: place.as_ref().map(|p| p.0.clone()),
            line: place.map(|p| p.1),
        });
    }
    Ok(SysCalls {
        calls,
        build_directory: build,
    })
}

impl Report for SysCalls {
    fn write_text(&self, _: &TextOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "NUM  SYSTEM CALL                FILE AND LINE NUMBER")?;
        for c in &self.calls {
            match &c.name {
                Some(n) => {
                    write!(out, "{:3}  {n:<26} ", c.nr)?;
                    if let (Some(f), Some(l)) = (&c.file, c.line) {
                        write!(out, "{f}: {l}")?;
                    }
                    writeln!(out)?;
                }
                None => writeln!(
                    out,
                    "{:3}  invalid sys_call_table entry: {:x} ",
                    c.nr, c.handler
                )?,
            }
        }
        Ok(())
    }
}

/// `sys config`: the kernel's built-in configuration.
#[derive(Debug, Serialize, Deserialize)]
pub struct SysConfig {
    /// The lines shown: all of them, or those containing one of `patterns`.
    pub lines: Vec<String>,
    pub patterns: Vec<String>,
}

fn config(s: &Session, patterns: &[String]) -> Result<SysConfig, CommandError> {
    let prog = s.kernel()?;
    let text = system::ikconfig(prog)
        .map_err(program_error)?
        .ok_or_else(|| {
            CommandError::Unavailable(
                "sys: kernel_config_data does not exist in this kernel (built without \
             CONFIG_IKCONFIG)"
                    .into(),
            )
        })?;
    Ok(SysConfig {
        lines: text
            .lines()
            .filter(|l| patterns.is_empty() || patterns.iter().any(|p| l.contains(p.as_str())))
            .map(str::to_string)
            .collect(),
        patterns: patterns.to_vec(),
    })
}

impl Report for SysConfig {
    fn write_text(&self, _: &TextOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        for l in &self.lines {
            writeln!(out, "{l}")?;
        }
        Ok(())
    }
}

/// Collects what `sys` shows; every field is read independently so one unreadable
/// structure costs one line, not the command.
pub fn collect(s: &Session) -> Result<Sys, CommandError> {
    let prog = s.kernel()?;
    let meta = s.dump().meta();
    let uts = system::utsname(prog).ok();
    let clocks = system::clocks(prog).ok();
    let present = percpu::cpumask(
        prog,
        "__cpu_present_mask",
        percpu::nr_cpu_ids(prog).unwrap_or(1),
    )
    .ok();
    let online = percpu::online_cpus(prog).ok();
    let (tasks, tasks_missing, tasks_incomplete) = task_count(s, prog);
    let (panic, panic_kind) = match s
        .log()
        .map(|l| system::panic_message(l.records.iter().map(|r| r.text.as_str())))
    {
        Ok(system::PanicMessage::Panic(m)) => (m, PanicKind::Panic),
        Ok(system::PanicMessage::Oops(m)) => (m, PanicKind::Oops),
        Ok(system::PanicMessage::None) => (String::new(), PanicKind::None),
        // Without the log, "no panic" would be a guess: say the log could not be read.
        Err(e) => (e.to_string(), PanicKind::Unknown),
    };
    // a running kernel has not panicked, whatever an earlier panic left in its log
    let (panic, panic_kind) = match s.is_live() {
        true => (String::new(), PanicKind::None),
        false => (panic, panic_kind),
    };
    let partial = match meta.format {
        FormatKind::Kdump { .. } => meta.dump_level.is_some_and(|l| l > 0),
        FormatKind::Elf { .. } | FormatKind::MemoryDevice { .. } => false,
    };
    Ok(Sys {
        kernel: prog.debug().map_or_else(
            || "(none: kallsyms and BTF read from the dump)".into(),
            |d| d.path().display().to_string(),
        ),
        tainted: system::tainted_mask(prog).is_ok_and(|m| m != 0),
        dumpfile: s
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        partial_dump: partial,
        cpus: present
            .as_ref()
            .map(Vec::len)
            .or(meta.nr_cpus.map(|n| n as usize)),
        offline_cpus: match (&present, &online) {
            (Some(p), Some(o)) => Some(p.iter().filter(|c| !o.contains(c)).count()),
            _ => None,
        },
        date: clocks.map(|c| date(c.realtime_sec)),
        realtime_sec: clocks.map(|c| c.realtime_sec),
        uptime: clocks.map(|c| duration(c.boottime_ns / 1_000_000_000)),
        uptime_ns: clocks.map(|c| c.boottime_ns),
        load_average: system::avenrun(prog).ok().map(|a| a.map(system::load_text)),
        tasks,
        tasks_missing,
        tasks_incomplete,
        nodename: uts.as_ref().map(|u| u.nodename.clone()),
        release: uts.as_ref().map(|u| u.release.clone()),
        version: uts.as_ref().map(|u| u.version.clone()),
        machine: uts.as_ref().map(|u| u.machine.clone()),
        cpu_mhz: system::cpu_mhz(prog).ok(),
        memory_bytes: system::present_pages(prog)
            .ok()
            .map(|p| p.saturating_mul(s.dump().kernel_page_size())),
        panic,
        panic_kind,
        live: s.is_live(),
    })
}

impl Report for Sys {
    fn write_text(&self, _: &TextOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let unknown = || "(unknown)".to_string();
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(unknown);
        let mut lines: Vec<(&str, String)> = vec![
            (
                "KERNEL",
                format!(
                    "{}{}",
                    self.kernel,
                    if self.tainted { "  [TAINTED]" } else { "" }
                ),
            ),
            (
                "DUMPFILE",
                format!(
                    "{}{}",
                    self.dumpfile,
                    if self.partial_dump {
                        "  [PARTIAL DUMP]"
                    } else {
                        ""
                    }
                ),
            ),
            (
                "CPUS",
                match (self.cpus, self.offline_cpus) {
                    (Some(c), Some(o)) if o > 0 => format!("{c} [OFFLINE: {o}]"),
                    (Some(c), _) => c.to_string(),
                    _ => unknown(),
                },
            ),
            ("DATE", opt(&self.date)),
            ("UPTIME", opt(&self.uptime)),
            (
                "LOAD AVERAGE",
                self.load_average
                    .as_ref()
                    .map(|l| l.join(", "))
                    .unwrap_or_else(unknown),
            ),
            (
                "TASKS",
                match self.tasks {
                    // the kernel's count first, then how many of them the dump does not let us read
                    Some(n) if self.tasks_missing > 0 => {
                        format!(
                            "{}  [{} could not be read from the dump]",
                            n as u64 + self.tasks_missing,
                            self.tasks_missing
                        )
                    }
                    Some(n) if self.tasks_incomplete => {
                        format!("{n}  [task structures damaged or missing: see ps]")
                    }
                    Some(n) => n.to_string(),
                    None => unknown(),
                },
            ),
            ("NODENAME", opt(&self.nodename)),
            ("RELEASE", opt(&self.release)),
            ("VERSION", opt(&self.version)),
            (
                "MACHINE",
                match (&self.machine, self.cpu_mhz) {
                    (Some(m), Some(mhz)) => format!("{m}  ({mhz} Mhz)"),
                    (Some(m), None) => m.clone(),
                    _ => unknown(),
                },
            ),
            (
                "MEMORY",
                self.memory_bytes.map(memory_size).unwrap_or_else(unknown),
            ),
        ];
        if self.live {
            return crate::format::key_values(out, &lines);
        }
        lines.push((
            "PANIC",
            match self.panic_kind {
                PanicKind::Oops => format!("\"{}\" (check log for details)", self.panic),
                PanicKind::Unknown => format!("(unknown: {})", self.panic),
                PanicKind::Panic | PanicKind::None => format!("\"{}\"", self.panic),
            },
        ));
        crate::format::key_values(out, &lines)
    }
}
