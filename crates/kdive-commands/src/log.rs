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

/// Runs `log [-T|-t] [-m] [-c] [-d] [-R]`, `log -a` (the audit queues), `log -s [-m]` (the printk
/// safe buffers).
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    use kdive_linux::printk::{caller_id_text, crash_caller_width};
    let f = Flags::parse(&table::LOG, args)?;
    if f.has('a') {
        return audit(s);
    }
    if f.has('s') {
        return safe_buffers(s, f.has('m'));
    }
    let log = s.log()?;
    let (time, boot_secs) = if f.has('T') {
        let prog = s.log_program()?;
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
        caller_width: if f.has('c') {
            Some(crash_caller_width(s.log_program()?))
        } else {
            None
        },
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

/// What `log -a` reports: the audit records queued for the audit daemon.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditLog {
    pub records: Vec<AuditEntry>,
    /// Queues whose walk stopped early.
    pub problems: Vec<String>,
}

/// One queued audit record.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The queue holding it (`audit_queue`, `audit_hold_queue`...).
    pub queue: String,
    #[serde(with = "crate::hex")]
    pub skb: u64,
    /// The netlink message type (`AUDIT_SYSCALL` is 1300).
    #[serde(rename = "type")]
    pub msg_type: u16,
    pub text: String,
}

fn audit(s: &Session) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let program = |e| CommandError::Program {
        cmd: "log -a",
        source: e,
    };
    let (records, problems) = kdive_linux::audit::queued_records(prog, s.walk_limit)
        .map_err(program)?
        .ok_or_else(|| {
            CommandError::Unavailable(
                "log: -a: the kernel has no audit queues (audit_queue, audit_skb_queue): it was \
                 built without audit"
                    .into(),
            )
        })?;
    Ok(Box::new(AuditLog {
        records: records
            .into_iter()
            .map(|r| AuditEntry {
                queue: r.queue.to_string(),
                skb: r.skb,
                msg_type: r.msg_type,
                text: r.text,
            })
            .collect(),
        problems,
    }))
}

impl Report for AuditLog {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for r in &self.records {
            writeln!(out, "type={} {}", r.msg_type, r.text)?;
        }
        if self.records.is_empty() && self.problems.is_empty() {
            writeln!(out, "log: kernel audit log is empty")?;
        }
        for p in &self.problems {
            writeln!(out, "log: {p}")?;
        }
        Ok(())
    }

    fn incomplete(&self) -> Option<String> {
        (!self.problems.is_empty()).then(|| self.problems.join("; "))
    }
}

/// What `log -s` reports: the printk safe per-CPU buffers of kernels that have them (4.11 to
/// 5.14; later kernels print from any context straight into the ring buffer).
#[derive(Debug, Serialize, Deserialize)]
pub struct SafeLog {
    /// `None`: the kernel has no `struct printk_safe_seq_buf`.
    pub buffers: Option<Vec<SafeBufferEntry>>,
    /// `-m`: each message's level.
    pub level: bool,
}

/// One CPU's safe buffer.
#[derive(Debug, Serialize, Deserialize)]
pub struct SafeBufferEntry {
    /// `nmi_print_seq` or `safe_print_seq`.
    pub name: String,
    pub cpu: u32,
    #[serde(with = "crate::hex")]
    pub addr: u64,
    pub len: i64,
    pub message_lost: i64,
    /// The messages: each a level character (`0`..`7`, `c` for a continuation, or none) and
    /// its text.
    pub messages: Vec<SafeMessage>,
}

/// One message of a safe buffer.
#[derive(Debug, Serialize, Deserialize)]
pub struct SafeMessage {
    pub level: Option<char>,
    pub text: String,
}

fn safe_buffers(s: &Session, level: bool) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let program = |e| CommandError::Program {
        cmd: "log -s",
        source: e,
    };
    let cpus = kdive_linux::percpu::possible_cpus(prog).map_err(program)?;
    let buffers = kdive_linux::printk::safe::printk_safe_buffers(prog, &cpus).map_err(program)?;
    Ok(Box::new(SafeLog {
        buffers: buffers.map(|v| {
            v.into_iter()
                .map(|b| SafeBufferEntry {
                    name: b.name.to_string(),
                    cpu: b.cpu,
                    addr: b.addr,
                    len: b.len,
                    message_lost: b.message_lost,
                    messages: safe_messages(&b.bytes),
                })
                .collect()
        }),
        level,
    }))
}

/// A safe buffer's bytes as messages: each starts at the kernel's SOH (0x01) followed by its
/// level character; unprintable bytes become `.`, as crash shows them.
fn safe_messages(bytes: &[u8]) -> Vec<SafeMessage> {
    let mut out: Vec<SafeMessage> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 1 {
            let level = bytes.get(i + 1).map(|&c| c as char);
            out.push(SafeMessage {
                level: level.filter(|c| matches!(c, '0'..='7' | 'c')),
                text: String::new(),
            });
            i += 2;
            continue;
        }
        if out.is_empty() {
            out.push(SafeMessage {
                level: None,
                text: String::new(),
            });
        }
        let c = bytes[i];
        let shown = if c.is_ascii_graphic() || c.is_ascii_whitespace() || c == b' ' {
            c as char
        } else {
            '.'
        };
        if let Some(m) = out.last_mut() {
            m.text.push(shown);
        }
        i += 1;
    }
    out
}

impl Report for SafeLog {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let Some(buffers) = &self.buffers else {
            return writeln!(
                out,
                "log: -s: this kernel has no printk safe buffers (no struct printk_safe_seq_buf): \
                 its messages from any context go straight to the log"
            );
        };
        let mut last = "";
        for b in buffers {
            if b.name != last {
                writeln!(out, "PRINTK_SAFE_SEQ_BUF: {}", b.name)?;
                last = &b.name;
            }
            writeln!(
                out,
                "CPU: {}  ADDR: {:x} LEN: {}  MESSAGE_LOST: {}",
                b.cpu, b.addr, b.len, b.message_lost
            )?;
            if b.messages.is_empty() {
                writeln!(out, "  (empty)\n")?;
                continue;
            }
            for m in &b.messages {
                let prefix = match (self.level, m.level) {
                    (true, Some(l)) => format!("  <{l}>"),
                    (true, None) => "     ".to_string(),
                    _ => "  ".to_string(),
                };
                // lines after a newline inside one message are indented as its first
                let indent = " ".repeat(prefix.len());
                for (n, line) in m.text.trim_end_matches('\n').split('\n').enumerate() {
                    let lead = if n == 0 {
                        prefix.as_str()
                    } else {
                        indent.as_str()
                    };
                    writeln!(out, "{lead}{line}")?;
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel writes each message into a safe buffer as `printk_get_level()` reads it back:
    /// SOH (0x01), the level character, the text; crash prints them indented under the CPU
    /// line, with `<level>` for `-m`.
    #[test]
    fn safe_buffer_messages_split_at_soh() {
        let bytes = b"\x014first line\n\x01cmore\n\x016bad \x7f byte\n";
        let m = safe_messages(bytes);
        let got: Vec<(Option<char>, &str)> = m.iter().map(|m| (m.level, m.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some('4'), "first line\n"),
                (Some('c'), "more\n"),
                (Some('6'), "bad . byte\n")
            ]
        );
        let log = SafeLog {
            buffers: Some(vec![SafeBufferEntry {
                name: "safe_print_seq".into(),
                cpu: 1,
                addr: 0xffff_8880_0001_0000,
                len: bytes.len() as i64,
                message_lost: 0,
                messages: m,
            }]),
            level: true,
        };
        let r: &dyn Report = &log;
        let mut out = Vec::new();
        r.write_text(&TextOptions::default(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "PRINTK_SAFE_SEQ_BUF: safe_print_seq\n\
             CPU: 1  ADDR: ffff888000010000 LEN: 33  MESSAGE_LOST: 0\n  \
             <4>first line\n  <c>more\n  <6>bad . byte\n\n"
        );
    }
}
