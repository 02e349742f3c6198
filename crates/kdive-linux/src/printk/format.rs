//! Text forms of log records, as crash's `log` prints them.

use kdive_program::Program;

use super::LogRecord;

/// Caller id bit that marks a CPU id (else a thread id).
const CALLER_CPU: u32 = 0x8000_0000;

/// How the timestamp prefix of a record is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// `[    0.000000] `: seconds.microseconds since boot (crash `log`).
    #[default]
    Monotonic,
    /// `[Sun Nov 22 12:04:06 UTC 2026] ` (crash `log -T`): `boot_secs` (seconds since the epoch at
    /// boot; crash uses the dump's date minus the uptime) plus the record's whole seconds, in UTC.
    Wall { boot_secs: i64 },
    /// No timestamp (crash `log -t`).
    None,
}

/// Options of [`format_record_lines`], one per crash `log` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FormatOptions {
    /// `-T` / `-t`.
    pub time: TimeFormat,
    /// `-m`: `<level>` in hex, after the timestamp and caller id, with no space before the text.
    pub level: bool,
    /// `-c`: the caller id right-aligned in a field this wide, `[    T565] `, after the timestamp
    /// (see [`crash_caller_width`]); ignored for records without a caller id.
    pub caller_width: Option<usize>,
    /// `-d`: the dictionary, one `KEY=VALUE` per line, indented like continuation lines.
    pub dict: bool,
}

/// crash's timestamp: `[%5lu.%06lu]` (`[    0.000000]`, `[   16.944349]`).
pub fn format_timestamp(ts_nsec: u64) -> String {
    format!(
        "[{:5}.{:06}]",
        ts_nsec / 1_000_000_000,
        ts_nsec % 1_000_000_000 / 1000
    )
}

/// `T565` for thread 565, `C1` for CPU 1.
pub fn caller_id_text(caller_id: u32) -> String {
    let kind = if caller_id & CALLER_CPU != 0 {
        'C'
    } else {
        'T'
    };
    format!("{kind}{}", caller_id & !CALLER_CPU)
}

/// The caller id in brackets, right-aligned to `width`: `[    T565]` for width 8.
pub fn format_caller(caller_id: u32, width: usize) -> String {
    format!("[{:>width$}]", caller_id_text(caller_id))
}

/// The caller-id width crash's `log -c` uses: from `pid_max` for the lockless ring buffer
/// (6 up to 99999, 7 up to 999999, else 8), 8 for the old buffer. makedumpfile 1.7.8 always uses 8.
pub fn crash_caller_width(prog: &Program) -> usize {
    if prog.symbols().address_of("prb").is_none() {
        return 8;
    }
    let Some(addr) = prog.symbols().address_of("pid_max") else {
        return 8;
    };
    let mut b = [0u8; 4];
    if prog.read(addr, &mut b).is_err() {
        return 8;
    }
    match u32::from_le_bytes(b) {
        0..=99_999 => 6,
        100_000..=999_999 => 7,
        _ => 8,
    }
}

/// The `(year, month, day)` of `days` since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `Sun Nov 22 12:04:06 UTC 2026`: `strftime("%a %b %e %T %Z %Y")` in UTC, as crash's `ctime_tz`.
pub fn format_wall_time(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_date(days);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} UTC {}",
        DAYS[(days + 4).rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        tod / 3600,
        tod / 60 % 60,
        tod % 60,
        year
    )
}

/// crash's rendering of text bytes: printable ASCII and whitespace as is, anything else as one
/// `.` per byte.
fn push_printable(out: &mut String, s: &str) {
    for c in s.chars() {
        if c == ' ' || c.is_ascii_graphic() || matches!(c, '\t' | '\r' | '\x0b' | '\x0c') {
            out.push(c);
        } else {
            let n = if c == char::REPLACEMENT_CHARACTER {
                1
            } else {
                c.len_utf8()
            };
            out.extend((0..n).map(|_| '.'));
        }
    }
}

/// The line(s) crash's `log` prints for a record: the prefix (timestamp, caller id, level) then
/// the text; each embedded newline starts a new line indented by the prefix's width; with
/// `dict`, the dictionary follows on lines indented the same way. A record with empty text is
/// one empty line (crash prints no prefix for a data-less record).
pub fn format_record_lines(rec: &LogRecord, opts: &FormatOptions) -> Vec<String> {
    if rec.text.is_empty() {
        return vec![String::new()];
    }
    let mut prefix = match opts.time {
        TimeFormat::Monotonic => format_timestamp(rec.ts_nsec) + " ",
        TimeFormat::Wall { boot_secs } => {
            let secs = boot_secs.saturating_add((rec.ts_nsec / 1_000_000_000) as i64);
            format!("[{}] ", format_wall_time(secs))
        }
        TimeFormat::None => String::new(),
    };
    if let (Some(width), Some(id)) = (opts.caller_width, rec.caller_id) {
        prefix += &format_caller(id, width);
        prefix.push(' ');
    }
    if opts.level {
        prefix += &format!("<{:x}>", rec.level);
    }
    let indent = " ".repeat(prefix.chars().count());
    let mut lines = Vec::new();
    for (i, part) in rec.text.split('\n').enumerate() {
        let mut line = if i == 0 {
            prefix.clone()
        } else {
            indent.clone()
        };
        push_printable(&mut line, part);
        lines.push(line);
    }
    if opts.dict {
        for (k, v) in &rec.dict {
            let mut line = indent.clone();
            push_printable(&mut line, &format!("{k}={v}"));
            lines.push(line);
        }
    }
    lines
}
