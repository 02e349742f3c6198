//! Log lines as the kernel printed them: the prefixes that logging added are removed.
//!
//! Handled: printk timestamps (`[   31.407157] `), caller ids (`[ T1234]`, `[    C1]`),
//! `dmesg -T` dates (`[Mon Jan  1 12:34:56 2024] `), console log levels (`<4>`), `dmesg -x`
//! facility and level (`kern  :warn  : `), and syslog/journal prefixes
//! (`Jan  1 12:34:56 host kernel: `, `2024-01-01T12:34:56+00:00 host kernel: `).

/// The line without the prefixes logging added; what follows keeps its own indentation.
pub fn clean(line: &str) -> &str {
    let mut l = line.trim_end_matches(['\r', '\n']);
    // console output that ran into the line (`login: [   16.3] INFO: ...`)
    if let Some(i) = l
        .get(1..l.len().min(120))
        .and_then(|h| h.find("[ "))
        .map(|i| i + 1)
    {
        if strip_bracket(&l[i..]).len() < l.len() - i {
            l = &l[i..];
        }
    }
    // a bounded number of passes: each removes one prefix
    for _ in 0..6 {
        let before = l.len();
        l = strip_level(l);
        l = strip_syslog(l);
        l = strip_facility(l);
        l = strip_bracket(l);
        if l.len() == before {
            break;
        }
    }
    l
}

/// `<4>`
fn strip_level(l: &str) -> &str {
    let b = l.as_bytes();
    if b.first() == Some(&b'<') {
        if let Some(end) = l[1..].find('>') {
            if end > 0 && end <= 3 && l[1..1 + end].bytes().all(|c| c.is_ascii_digit()) {
                return &l[end + 2..];
            }
        }
    }
    l
}

/// `Jan  1 12:34:56 host kernel: ` and ISO-dated variants.
fn strip_syslog(l: &str) -> &str {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let dated = MONTHS.iter().any(|m| l.starts_with(m))
        || (l.len() > 10
            && l.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && l.as_bytes()[4] == b'-');
    if !dated {
        return l;
    }
    match l.find(" kernel: ") {
        Some(i) if i < 90 => &l[i + " kernel: ".len()..],
        _ => l,
    }
}

/// `kern  :warn  : ` of `dmesg -x`.
fn strip_facility(l: &str) -> &str {
    const FACILITIES: [&str; 4] = ["kern", "user", "daemon", "syslog"];
    let Some(f) = FACILITIES.iter().find(|f| l.starts_with(**f)) else {
        return l;
    };
    let rest = l[f.len()..].trim_start_matches(' ');
    let Some(rest) = rest.strip_prefix(':') else {
        return l;
    };
    let level_end = rest.find(':').filter(|&i| i <= 8);
    match level_end {
        Some(i) if rest[..i].trim().bytes().all(|c| c.is_ascii_lowercase()) => {
            rest[i + 1..].strip_prefix(' ').unwrap_or(&rest[i + 1..])
        }
        _ => l,
    }
}

/// `[   31.407157] `, `[ T1234] `, `[    C1] `, `[Mon Jan  1 12:34:56 2024] `.
fn strip_bracket(l: &str) -> &str {
    let Some(body_end) = l.strip_prefix('[').and_then(|r| r.find(']')) else {
        return l;
    };
    let body = l[1..1 + body_end].trim();
    let timestamp = !body.is_empty()
        && body.contains('.')
        && body.bytes().all(|c| c.is_ascii_digit() || c == b'.');
    let caller = body.len() >= 2
        && (body.starts_with('T') || body.starts_with('C'))
        && body[1..].bytes().all(|c| c.is_ascii_digit());
    let date = body.len() >= 20
        && body.contains(':')
        && ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            .iter()
            .any(|d| body.starts_with(d));
    if !(timestamp || caller || date) {
        return l;
    }
    let rest = &l[body_end + 2..];
    rest.strip_prefix(' ').unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn prefixes() {
        assert_eq!(
            clean("[   31.412106]  schedule+0x27/0xc0"),
            " schedule+0x27/0xc0"
        );
        assert_eq!(
            clean("[  772.918915][ T4070] BUG: KASAN: x"),
            "BUG: KASAN: x"
        );
        assert_eq!(clean("[  772.918915][    C1] Call Trace:"), "Call Trace:");
        assert_eq!(clean("<4>[   1.0] Oops: 0002"), "Oops: 0002");
        assert_eq!(
            clean("Jan  3 10:11:12 box kernel: [ 1.5] general protection fault"),
            "general protection fault"
        );
        assert_eq!(
            clean("2024-01-03T10:11:12.123456+01:00 box kernel: RIP: 0010:x+0x1/0x2"),
            "RIP: 0010:x+0x1/0x2"
        );
        assert_eq!(
            clean("kern  :warn  : [ 2.0] WARNING: CPU: 0"),
            "WARNING: CPU: 0"
        );
        assert_eq!(
            clean("[Mon Jan  1 12:34:56 2024] Kernel panic - not syncing: x"),
            "Kernel panic - not syncing: x"
        );
        // text in brackets that is not a prefix stays
        assert_eq!(
            clean("[<ffffffff8100>] f+0x1/0x2"),
            "[<ffffffff8100>] f+0x1/0x2"
        );
        assert_eq!(clean("[ cut here ]"), "[ cut here ]");
    }
}
