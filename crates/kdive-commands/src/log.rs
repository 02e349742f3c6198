//! `log`: the kernel ring buffer, as crash's `log` prints it.

use std::io::{self, Write};

use kdive_linux::printk::{FormatOptions, LogRecord, TimeFormat};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// One record of the kernel log.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    /// Nanoseconds since boot (`local_clock()`).
    pub ts_nsec: u64,
    /// Syslog level (0 = emergency .. 7 = debug): `log -m` shows it as `<N>`.
    pub level: u8,
    pub facility: u8,
    /// The kernel's record flags (`LOG_NEWLINE`, `LOG_CONT`...).
    pub flags: u8,
    /// Who logged it: `T565` (thread 565) or `C1` (CPU 1), as `log -c` shows it; null when the
    /// buffer records no callers.
    pub caller: Option<String>,
    /// The same as the kernel stores it (the top bit set for a CPU).
    pub caller_id: Option<u32>,
    /// The message; continuation lines separated by `\n`.
    pub text: String,
    /// `SUBSYSTEM=`, `DEVICE=`... (`log -d`), in the kernel's order.
    pub dict: Vec<DictEntry>,
}

/// One `KEY=VALUE` of a record's dictionary.
#[derive(Debug, Serialize, Deserialize)]
pub struct DictEntry {
    pub key: String,
    pub value: String,
}

/// How `log` prints.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogOptions {
    /// The timestamp: `monotonic` (seconds since boot), `wall` (`-T`) or `none` (`-t`).
    pub time: LogTime,
    /// `-T`: the wall clock at boot, seconds since the epoch (the dump's date less the uptime).
    pub boot_secs: Option<i64>,
    /// `-m`: each record's level.
    pub level: bool,
    /// `-c`: each record's caller, right-aligned in this many columns.
    pub caller_width: Option<usize>,
    /// `-d`: each record's dictionary.
    pub dict: bool,
    /// `-R`: the Rust symbol names in the texts demangled (the records' `text` holds them so).
    #[serde(default)]
    pub rust_demangled: bool,
}

/// What a `log` line starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogTime {
    Monotonic,
    Wall,
    None,
}

/// What `log` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogOut {
    pub records: Vec<LogEntry>,
    /// Gaps in the dump, records that could not be decoded.
    pub problems: Vec<String>,
    pub options: LogOptions,
}

/// Runs `log [-T|-t] [-m] [-c] [-d] [-R]`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    use kdive_linux::printk::{caller_id_text, crash_caller_width};
    let f = Flags::parse(&table::LOG, args)?;
    let log = s.log()?;
    let prog = s.log_program()?;
    let (time, boot_secs) = if f.has('T') {
        let c = kdive_linux::system::clocks(prog).map_err(|e| CommandError::Program {
            cmd: "log -T",
            source: e,
        })?;
        let boot = c
            .realtime_sec
            .saturating_sub((c.boottime_ns / 1_000_000_000) as i64);
        (LogTime::Wall, Some(boot))
    } else if f.has('t') {
        (LogTime::None, None)
    } else {
        (LogTime::Monotonic, None)
    };
    let options = LogOptions {
        time,
        boot_secs,
        level: f.has('m'),
        caller_width: f.has('c').then(|| crash_caller_width(prog)),
        dict: f.has('d'),
        rust_demangled: f.has('R'),
    };
    let records = log
        .records
        .iter()
        .map(|r| LogEntry {
            seq: r.seq,
            ts_nsec: r.ts_nsec,
            level: r.level,
            facility: r.facility,
            flags: r.flags,
            caller: r.caller_id.map(caller_id_text),
            caller_id: r.caller_id,
            text: if options.rust_demangled {
                crate::rustfilt::demangle_text(&r.text).into_owned()
            } else {
                r.text.clone()
            },
            dict: r
                .dict
                .iter()
                .map(|(key, value)| DictEntry {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        })
        .collect();
    Ok(Box::new(LogOut {
        records,
        problems: log.problems.clone(),
        options,
    }))
}

impl LogOptions {
    fn format(&self) -> FormatOptions {
        FormatOptions {
            time: match (self.time, self.boot_secs) {
                (LogTime::Wall, Some(boot_secs)) => TimeFormat::Wall { boot_secs },
                (LogTime::None, _) => TimeFormat::None,
                _ => TimeFormat::Monotonic,
            },
            level: self.level,
            caller_width: self.caller_width,
            dict: self.dict,
        }
    }
}

impl LogEntry {
    /// The record as the printk formatter takes it.
    fn record(&self) -> LogRecord {
        LogRecord {
            seq: self.seq,
            ts_nsec: self.ts_nsec,
            level: self.level,
            facility: self.facility,
            flags: self.flags,
            caller_id: self.caller_id,
            text: self.text.clone(),
            dict: self
                .dict
                .iter()
                .map(|d| (d.key.clone(), d.value.clone()))
                .collect(),
        }
    }
}

impl Report for LogOut {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let opts = self.options.format();
        for r in &self.records {
            for line in kdive_linux::printk::format_record_lines(&r.record(), &opts) {
                writeln!(out, "{line}")?;
            }
        }
        for p in &self.problems {
            writeln!(out, "log: {p}")?;
        }
        Ok(())
    }
}
