//! `log`: the kernel ring buffer, as crash's `log` prints it.

use serde::Serialize;

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session};

/// One record of `log --json`.
#[derive(Debug, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub ts_nsec: u64,
    pub level: u8,
    pub facility: u8,
    pub caller: Option<String>,
    pub text: String,
}

/// What `log` reports.
#[derive(Debug, Serialize)]
pub struct LogOut {
    pub records: Vec<LogEntry>,
    pub problems: Vec<String>,
    #[serde(skip)]
    lines: Vec<String>,
}

/// Runs `log [-T|-t] [-m] [-c] [-d]`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    use kdive_linux::printk::{
        caller_id_text, crash_caller_width, format_record_lines, FormatOptions, TimeFormat,
    };
    let f = Flags::parse(&table::LOG, args)?;
    let log = s.log()?;
    let prog = s.log_program()?;
    let time = if f.has('T') {
        let c = kdive_linux::system::clocks(prog).map_err(|e| CommandError::Program {
            cmd: "log -T",
            source: e,
        })?;
        TimeFormat::Wall {
            boot_secs: c
                .realtime_sec
                .saturating_sub((c.boottime_ns / 1_000_000_000) as i64),
        }
    } else if f.has('t') {
        TimeFormat::None
    } else {
        TimeFormat::Monotonic
    };
    let opts = FormatOptions {
        time,
        level: f.has('m'),
        caller_width: f.has('c').then(|| crash_caller_width(prog)),
        dict: f.has('d'),
    };
    let lines = log
        .records
        .iter()
        .flat_map(|r| format_record_lines(r, &opts))
        .collect();
    let records = log
        .records
        .iter()
        .map(|r| LogEntry {
            seq: r.seq,
            ts_nsec: r.ts_nsec,
            level: r.level,
            facility: r.facility,
            caller: r.caller_id.map(caller_id_text),
            text: r.text.clone(),
        })
        .collect();
    Ok(Box::new(LogOut {
        records,
        problems: log.problems.clone(),
        lines,
    }))
}

impl Report for LogOut {
    fn text(&self) -> String {
        let mut out: String = self.lines.iter().map(|l| format!("{l}\n")).collect();
        for p in &self.problems {
            out += &format!("log: {p}\n");
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
