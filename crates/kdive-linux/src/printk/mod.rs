//! The kernel log (printk) as structured records.
//!
//! Two generations of the log buffer, chosen by asking the program which symbols exist:
//! the lockless `printk_ringbuffer` behind `prb` (Linux 5.10+), else the variable-length
//! `log_buf` of `struct printk_log` records (3.5 to 5.9). Both are read in bulk and decoded
//! from buffers; pages missing from the dump cost only the records stored on them, each gap
//! reported as one line of [`Log::problems`].

mod buf;
mod format;
mod legacy;
mod lockless;
pub mod safe;
pub mod vmcoreinfo;

use kdive_program::{Program, ProgramError};
use serde::Serialize;

pub use format::{
    caller_id_text, civil_date, crash_caller_width, format_caller, format_record_lines,
    format_timestamp, format_wall_time, FormatOptions, TimeFormat,
};

/// One record of the kernel log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// Sequence number (the old buffer numbers records from `log_first_seq`).
    pub seq: u64,
    /// Timestamp: nanoseconds of `local_clock()` since boot.
    pub ts_nsec: u64,
    /// Syslog level (0 = emergency .. 7 = debug).
    pub level: u8,
    /// Syslog facility (0 = kernel).
    pub facility: u8,
    /// The kernel's internal record flags (`LOG_NEWLINE`, `LOG_CONT`, ...).
    pub flags: u8,
    /// Raw caller id: high bit set = CPU id, else thread id; `None` when the buffer has none.
    pub caller_id: Option<u32>,
    /// The message, possibly with embedded newlines (lossy UTF-8).
    pub text: String,
    /// `SUBSYSTEM=` / `DEVICE=` of `dev_printk_info`, or the old buffer's dictionary.
    pub dict: Vec<(String, String)>,
}

/// The kernel log: every record that could be read, in sequence order, and what could not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Log {
    /// The records, in sequence order.
    pub records: Vec<LogRecord>,
    /// One line each: a gap of the dump, or a record that could not be decoded.
    pub problems: Vec<String>,
}

/// Reads the kernel log of `prog`.
///
/// Errors only when the buffer itself cannot be found or its header is unreadable or absurd;
/// missing pages inside the buffer become [`Log::problems`].
pub fn read_log(prog: &Program) -> Result<Log, ProgramError> {
    let has = |name: &str| prog.symbols().address_of(name).is_some();
    if has("prb") {
        lockless::read(prog)
    } else if has("log_first_idx") && has("log_next_idx") && has("log_buf") {
        legacy::read(prog)
    } else {
        Err(ProgramError::Walk {
            what: "kernel log".into(),
            why: "neither 'prb' (printk_ringbuffer) nor 'log_first_idx'/'log_next_idx' (log_buf) is a symbol".into(),
        })
    }
}
