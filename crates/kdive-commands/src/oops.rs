//! `oops FILE|-`: the kernel reports of a log (a console log, `dmesg`, `vmcore-dmesg.txt`, a
//! pstore file, a pasted report), each classified as `analyze` classifies a dump, with the
//! decoded taint flags, page-fault error code and `Code:` bytes.

use std::io::{self, Read, Write};

use kdive_oops::decode::{self, CodeLine};
use kdive_oops::report::Report as OopsReport;
use serde::{Deserialize, Serialize};

use crate::analyze::{verdict_line, Culprit, Finding, Lockup, TaskRef};
use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// A task of a hung-task report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockedTask {
    pub comm: String,
    pub pid: i32,
    /// How long it had been blocked, as the report says.
    pub seconds: Option<u64>,
}

/// One report of the log: what `analyze` would find, and what only the text gives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OopsEntry {
    #[serde(flatten)]
    pub finding: Finding,
    /// The line (1-based) of the input where the report starts.
    pub line: usize,
    /// The report ended in a kernel panic.
    pub fatal: bool,
    pub release: Option<String>,
    /// Each taint flag, decoded (`O: externally-built (out-of-tree) module was loaded`).
    pub taint: Vec<String>,
    #[serde(with = "crate::hex_opt")]
    pub fault_address: Option<u64>,
    /// The page-fault error code, decoded (`0x2: not-present page, write, kernel mode`).
    pub error_code: Option<String>,
    /// KASAN's hint for a general protection fault (`probably for non-canonical address ...`).
    pub address_hint: Option<String>,
    /// `file:line` of `kernel BUG at` / `WARNING: ... at`.
    pub location: Option<String>,
    /// The report was raised in interrupt context.
    pub in_interrupt: bool,
    pub blocked: Vec<BlockedTask>,
    /// The `Code:` bytes disassembled, the faulting instruction marked.
    pub code: Vec<CodeLine>,
}

/// What `oops` reports: every report of the input, first first.
#[derive(Debug, Serialize, Deserialize)]
pub struct Oops {
    /// The file read (`-` for standard input).
    pub source: String,
    pub reports: Vec<OopsEntry>,
}

impl Oops {
    /// The report a dump of this log would be about (as `analyze` chooses): the last that
    /// ended in a panic, else the first.
    pub fn main(&self) -> Option<&OopsEntry> {
        self.reports
            .iter()
            .rev()
            .find(|r| r.fatal)
            .or(self.reports.first())
    }
}

/// Runs `oops [FILE|-]`: a file's reports, or without one the dump's own kernel log's.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::OOPS, args)?;
    match f.positional.first() {
        Some(path) => Ok(Box::new(read(path)?)),
        None => {
            let log = s.log()?;
            let text: Vec<&str> = log.records.iter().map(|r| r.text.as_str()).collect();
            Ok(Box::new(from_text(
                &text.join("\n"),
                "the dump's kernel log",
            )))
        }
    }
}

/// Reads `path` (`-`: standard input) and classifies its reports.
pub fn read(path: &str) -> Result<Oops, CommandError> {
    let mut bytes = Vec::new();
    let read = if path == "-" {
        io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|source| CommandError::Io {
        path: path.into(),
        source,
    })?;
    Ok(from_text(&String::from_utf8_lossy(&bytes), path))
}

/// Classifies every report of `text`.
pub fn from_text(text: &str, source: &str) -> Oops {
    Oops {
        source: source.to_string(),
        reports: kdive_oops::parse(text).iter().map(entry).collect(),
    }
}

fn task_ref(t: &kdive_oops::report::TaskName, cpu: Option<u32>) -> TaskRef {
    TaskRef {
        pid: t.pid,
        comm: t.comm.clone(),
        task: None,
        cpu,
    }
}

/// One report as `analyze` would show it.
pub fn entry(r: &OopsReport) -> OopsEntry {
    let v = kdive_oops::verdict(r);
    let culprits: Vec<Culprit> = v
        .culprits
        .iter()
        .map(|c| Culprit {
            function: c.function.clone(),
            offset: c.offset,
            module: c.module.clone(),
            source: c.source.clone(),
            task: c.task.as_ref().map(|t| task_ref(t, None)),
        })
        .collect();
    let mut evidence = vec![format!("log: {}", r.headline)];
    if let Some(p) = r.panic.as_ref().filter(|p| **p != r.headline) {
        evidence.push(format!("log: {p}"));
    }
    evidence.extend(r.pf_lines.iter().map(|l| format!("log: {l}")));
    if let Some(ip) = &r.ip {
        evidence.push(format!(
            "log: faulting or interrupted function {}",
            ip.function
        ));
    }
    for s in r.stacks.iter().filter(|s| !s.frames.is_empty()).take(3) {
        let names: Vec<String> = s
            .frames
            .iter()
            .filter(|f| !f.unreliable)
            .take(8)
            .map(|f| match &f.module {
                Some(m) => format!("{} [{m}]", f.function),
                None => f.function.clone(),
            })
            .collect();
        let context = format!("{:?}", s.context).to_lowercase();
        evidence.push(format!("stack ({context}): {}", names.join(" < ")));
    }
    let mut problems = Vec::new();
    if r.stacks.is_empty() && r.ip.is_none() {
        problems.push("the report holds no stack and no instruction pointer".into());
    }
    let code = match &r.code {
        Some(c) if c.starts_with("Unable to access") => {
            problems.push(format!("Code: {c}"));
            Vec::new()
        }
        Some(c) => decode::disassemble(c).unwrap_or_else(|| {
            problems.push("the Code: bytes do not decode".into());
            Vec::new()
        }),
        None => Vec::new(),
    };
    let verdict = verdict_line(r.kind, culprits.first());
    let lockup = (r.lockup_cpu.is_some() || r.lockup_seconds.is_some()).then_some(Lockup {
        cpu: r.lockup_cpu,
        seconds: r.lockup_seconds,
    });
    OopsEntry {
        finding: Finding {
            kind: r.kind,
            title: v.title,
            verdict,
            message: Some(r.panic.clone().unwrap_or_else(|| r.headline.clone())),
            lockup,
            culprits,
            panic_task: r.task.as_ref().map(|t| task_ref(t, r.cpu)),
            signature: v.signature,
            signature_text: v.signature_text,
            evidence,
            problems,
        },
        line: r.line,
        fatal: r.panic.is_some(),
        release: r.release.clone(),
        taint: r.taint.as_deref().map(decode::taint).unwrap_or_default(),
        fault_address: r.fault_address,
        error_code: r.error_code.map(decode::page_fault_error),
        address_hint: r.address_hint.clone(),
        location: r.location.clone(),
        in_interrupt: r.in_interrupt,
        blocked: r
            .blocked
            .iter()
            .map(|b| BlockedTask {
                comm: b.task.comm.clone(),
                pid: b.task.pid,
                seconds: b.seconds,
            })
            .collect(),
        code,
    }
}

impl Report for OopsEntry {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let f = &self.finding;
        f.write_head(out)?;
        f.write_culprits(out)?;
        if let Some(t) = &f.panic_task {
            let cpu = t.cpu.map(|c| format!(" on CPU {c}")).unwrap_or_default();
            let irq = if self.in_interrupt {
                ", in interrupt"
            } else {
                ""
            };
            writeln!(out, "       TASK: {} (pid {}){cpu}{irq}", t.comm, t.pid)?;
        }
        for b in &self.blocked {
            let secs = b
                .seconds
                .map(|s| format!(" for more than {s} s"))
                .unwrap_or_default();
            writeln!(out, "    BLOCKED: {} (pid {}){secs}", b.comm, b.pid)?;
        }
        f.write_lockup(out)?;
        if let Some(r) = &self.release {
            writeln!(out, "     KERNEL: {r}")?;
        }
        for (i, t) in self.taint.iter().enumerate() {
            writeln!(out, "{:>12} {t}", if i == 0 { "TAINTED:" } else { "" })?;
        }
        if let Some(l) = &self.location {
            writeln!(out, "         AT: {l}")?;
        }
        if let Some(a) = self.fault_address {
            writeln!(out, "    ADDRESS: {a:#x}")?;
        }
        if let Some(h) = &self.address_hint {
            writeln!(out, "       HINT: {h}")?;
        }
        if let Some(e) = &self.error_code {
            writeln!(out, " ERROR CODE: {e}")?;
        }
        for (i, c) in self.code.iter().enumerate() {
            writeln!(
                out,
                "{:>12} {}{:>4}: {:<24} {}{}",
                if i == 0 { "CODE:" } else { "" },
                if c.trapping { ">" } else { " " },
                c.offset,
                c.bytes,
                c.text,
                if c.trapping {
                    "   <-- trapping instruction"
                } else {
                    ""
                }
            )?;
        }
        f.write_tail("oops", out)
    }
}

impl Report for Oops {
    fn write_text(&self, opts: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if self.reports.is_empty() {
            return writeln!(out, "{}: no kernel report found", self.source);
        }
        for (i, r) in self.reports.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(
                out,
                "REPORT {} of {} ({}, line {})",
                i + 1,
                self.reports.len(),
                self.source,
                r.line
            )?;
            r.write_text(opts, out)?;
        }
        Ok(())
    }
}
