//! crash `log` text forms of records (expected strings from crash 9.0.2 and makedumpfile output).

use kdive_linux::printk::{
    caller_id_text, format_caller, format_record_lines, format_timestamp, format_wall_time,
    FormatOptions, LogRecord, TimeFormat,
};

fn rec(ts_nsec: u64, text: &str) -> LogRecord {
    LogRecord {
        seq: 0,
        ts_nsec,
        level: 6,
        facility: 0,
        flags: 0,
        caller_id: Some(565),
        text: text.into(),
        dict: vec![
            ("SUBSYSTEM".into(), "pci".into()),
            ("DEVICE".into(), "+pci:0000:00:01.0".into()),
        ],
    }
}

#[test]
fn timestamps() {
    assert_eq!(format_timestamp(0), "[    0.000000]");
    assert_eq!(format_timestamp(16_944_349_123), "[   16.944349]");
    assert_eq!(format_timestamp(123_456_789_999_999), "[123456.789999]");
}

#[test]
fn caller_ids() {
    assert_eq!(caller_id_text(565), "T565");
    assert_eq!(caller_id_text(0x8000_0001), "C1");
    assert_eq!(format_caller(565, 8), "[    T565]");
    assert_eq!(format_caller(0, 8), "[      T0]");
    assert_eq!(format_caller(0x8000_0001, 6), "[    C1]");
}

#[test]
fn wall_times() {
    assert_eq!(
        format_wall_time(1_795_349_062),
        "Sun Nov 22 12:04:22 UTC 2026"
    );
    assert_eq!(format_wall_time(0), "Thu Jan  1 00:00:00 UTC 1970");
    assert_eq!(
        format_wall_time(951_782_400),
        "Tue Feb 29 00:00:00 UTC 2000"
    );
    assert_eq!(
        format_wall_time(4_102_444_799),
        "Thu Dec 31 23:59:59 UTC 2099"
    );
    assert_eq!(format_wall_time(-1), "Wed Dec 31 23:59:59 UTC 1969");
}

#[test]
fn multi_line_record_is_indented_by_the_prefix_width() {
    let r = rec(
        2_562_967_000,
        "Unstable clock detected\nIf you want:\n  \"trace_clock=local\"",
    );
    let lines = format_record_lines(&r, &FormatOptions::default());
    assert_eq!(
        lines,
        [
            "[    2.562967] Unstable clock detected",
            "               If you want:",
            "                 \"trace_clock=local\"",
        ]
    );
    // makedumpfile 1.7.8 --dump-dmesg: caller id of width 8, continuation indented past it
    let opts = FormatOptions {
        caller_width: Some(8),
        ..Default::default()
    };
    let lines = format_record_lines(&r, &opts);
    assert_eq!(
        lines[0],
        "[    2.562967] [    T565] Unstable clock detected"
    );
    assert_eq!(lines[1], format!("{}If you want:", " ".repeat(26)));
}

#[test]
fn level_wall_time_no_time_and_dict() {
    let r = rec(16_944_349_000, "sysrq: Trigger a crash");
    let m = FormatOptions {
        level: true,
        ..Default::default()
    };
    assert_eq!(
        format_record_lines(&r, &m),
        ["[   16.944349] <6>sysrq: Trigger a crash"]
    );
    let t = FormatOptions {
        time: TimeFormat::Wall {
            boot_secs: 1_795_349_062 - 16,
        },
        ..Default::default()
    };
    assert_eq!(
        format_record_lines(&r, &t),
        ["[Sun Nov 22 12:04:22 UTC 2026] sysrq: Trigger a crash"]
    );
    let none = FormatOptions {
        time: TimeFormat::None,
        level: true,
        ..Default::default()
    };
    assert_eq!(
        format_record_lines(&r, &none),
        ["<6>sysrq: Trigger a crash"]
    );
    let d = FormatOptions {
        dict: true,
        ..Default::default()
    };
    assert_eq!(
        format_record_lines(&r, &d),
        [
            "[   16.944349] sysrq: Trigger a crash",
            "               SUBSYSTEM=pci",
            "               DEVICE=+pci:0000:00:01.0",
        ]
    );
}

#[test]
fn unprintable_bytes_and_empty_records() {
    let r = rec(0, "a\x1bb\u{e9}c\td");
    assert_eq!(
        format_record_lines(&r, &FormatOptions::default()),
        ["[    0.000000] a.b..c\td"]
    );
    assert_eq!(
        format_record_lines(&rec(5, ""), &FormatOptions::default()),
        [""]
    );
}
