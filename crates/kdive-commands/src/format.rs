//! Text formats shared by commands: durations, dates, sizes.

/// crash's duration: `HH:MM:SS`, with `N days, ` in front past a day.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d} days, {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// A UTC date as `date(1)` prints it: `Sun Nov 22 12:04:22 UTC 2026`.
pub fn date(epoch_secs: i64) -> String {
    kdive_linux::printk::format_wall_time(epoch_secs)
}

/// A memory size as crash prints it: `447.5 MB`, `2 GB`.
pub fn memory_size(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    let (v, unit) = if bytes as f64 >= 1024.0 * MB {
        (bytes as f64 / (1024.0 * MB), "GB")
    } else {
        (bytes as f64 / MB, "MB")
    };
    let s = format!("{v:.1}");
    format!("{} {unit}", s.strip_suffix(".0").unwrap_or(&s))
}

/// `s` centred in `width` columns, as crash's `mkstring(CENTER)` does: when the padding is
/// odd, the odd space goes left with `odd_left`, right otherwise. Wider strings are left whole.
pub fn center(s: &str, width: usize, odd_left: bool) -> String {
    let extra = width.saturating_sub(s.chars().count());
    let left = if odd_left {
        extra.div_ceil(2)
    } else {
        extra / 2
    };
    format!("{}{s}{}", " ".repeat(left), " ".repeat(extra - left))
}

/// A span of nanoseconds as crash's `ps -m` shows it: `D HH:MM:SS.mmm`.
pub fn days_clock(ns: u64) -> String {
    let ms = ns / 1_000_000;
    let (d, h, m, s) = (
        ms / 86_400_000,
        ms / 3_600_000 % 24,
        ms / 60_000 % 60,
        ms / 1000 % 60,
    );
    format!("{d} {h:02}:{m:02}:{s:02}.{:03}", ms % 1000)
}

/// `name` or `name+offset` (decimal, as crash's `value_to_symstr`), or the address in hex
/// without a symbol.
pub fn symbol(prog: &kdive_program::Program, addr: u64) -> String {
    match prog.symbols().by_addr(addr) {
        Some((s, 0)) => s.name.to_string(),
        Some((s, off)) => format!("{}+{off}", s.name),
        None => format!("{addr:x}"),
    }
}

/// crash's task header line: `PID: 565      TASK: ffff8e119be90000  CPU: 0    COMMAND: "sh"`.
pub fn task_header(pid: i32, task: u64, cpu: u32, comm: &str) -> String {
    format!("PID: {pid:<8} TASK: {task:016x}  CPU: {cpu:<4} COMMAND: \"{comm}\"")
}

/// Writes `KEY: value` lines with the keys right-aligned, as crash's `sys` prints them.
pub fn key_values(out: &mut dyn std::io::Write, lines: &[(&str, String)]) -> std::io::Result<()> {
    for (k, v) in lines {
        writeln!(out, "{k:>12}: {v}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(16), "00:00:16");
        assert_eq!(duration(232), "00:03:52");
        assert_eq!(duration(90061), "1 days, 01:01:01");
        assert_eq!(date(1795349062), "Sun Nov 22 12:04:22 UTC 2026");
        assert_eq!(memory_size(114560 * 4096), "447.5 MB");
        assert_eq!(memory_size(2 << 30), "2 GB");
        // crash's `ps -m` of a-sysrq-6.1: `[0 00:00:16.941]` for rq clock 16941428400
        assert_eq!(days_clock(16_941_428_400), "0 00:00:16.941");
        assert_eq!(days_clock(90_061_001_000_000), "1 01:01:01.001");
        // crash's `ps -s` header and `--`: KSTACKP and -- centred in 16 columns
        assert_eq!(center("KSTACKP", 16, true), "     KSTACKP    ");
        assert_eq!(center("--", 16, true), "       --       ");
        assert_eq!(center("1024", 11, false), "   1024    ");
        assert_eq!(center("toolong", 3, true), "toolong");
        assert_eq!(
            task_header(1, 0xffff8e11811f8000, 1, "init"),
            "PID: 1        TASK: ffff8e11811f8000  CPU: 1    COMMAND: \"init\""
        );
    }
}
