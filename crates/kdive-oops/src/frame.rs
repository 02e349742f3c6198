//! One frame of a printed stack: `func+0x1c/0x50 [module]`, in every form kernels print it.

use serde::{Deserialize, Serialize};

/// A frame as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub function: String,
    pub offset: Option<u64>,
    /// The function's length (`/0x50`).
    pub size: Option<u64>,
    pub module: Option<String>,
    /// `file:line` when the report was symbolised.
    pub source: Option<String>,
    /// Printed with `? ` (a stale return address the unwinder was not sure of).
    pub unreliable: bool,
    /// Printed as `[inline]` by a symbolised report.
    pub inline: bool,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'$')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// Parses `func+0x1c/0x50 [module]` (the text after `RIP: 0010:`, `pc : ` or a trace line's
/// indentation), also with `[<ffffffff81000000>] `, `? `, a trailing `file:line` or `[inline]`.
pub fn parse(text: &str) -> Option<Frame> {
    let mut t = text.trim();
    let mut unreliable = false;
    // `[<ffffffff81000000>] ` and `? ` may come in either order
    for _ in 0..3 {
        if let Some(r) = t.strip_prefix("? ") {
            unreliable = true;
            t = r.trim_start();
        }
        if t.starts_with("[<") {
            t = t.split_once("] ").map_or("", |(_, r)| r).trim_start();
        }
        // arm32 / older `(func+0x1/0x2)` forms
        if let Some(r) = t.strip_prefix("0x").filter(|r| r.contains(' ')) {
            t = r.split_once(' ').map_or("", |(_, r)| r).trim_start();
        }
    }
    let t = t.trim_start_matches('(').trim_end_matches(')');
    let mut words = t.split_whitespace();
    let sym = words.next()?;
    let (function, offset, size) = match sym.split_once('+') {
        Some((f, rest)) => {
            let (off, len) = rest.split_once('/').unwrap_or((rest, ""));
            let off = hex(off)?;
            (f, Some(off), hex(len))
        }
        None => (sym, None, None),
    };
    if !is_ident(function) || function == "Code" {
        return None;
    }
    let mut module = None;
    let mut source = None;
    let mut inline = false;
    for w in words {
        if w == "[inline]" {
            inline = true;
        } else if let Some(m) = w.strip_prefix('[').and_then(|m| m.strip_suffix(']')) {
            if is_ident(m) {
                module = Some(m.to_string());
            }
        } else if w.contains(':') && w.contains('.') && source.is_none() {
            source = Some(w.to_string());
        } else if offset.is_none() {
            // a bare word followed by anything else is not a frame
            return None;
        }
    }
    // a bare identifier is a frame only when symbolised (`func file.c:12 [inline]`)
    if offset.is_none() && source.is_none() {
        return None;
    }
    Some(Frame {
        function: function.to_string(),
        offset,
        size,
        module,
        source,
        unreliable,
        inline,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn forms() {
        let f = parse(" ? __pfx_fixture_hung_fn+0x10/0x10 [hung]").unwrap();
        assert_eq!(f.function, "__pfx_fixture_hung_fn");
        assert!(f.unreliable);
        assert_eq!(f.module.as_deref(), Some("hung"));
        assert_eq!((f.offset, f.size), (Some(0x10), Some(0x10)));
        let f = parse(" [<ffffffff82d4e304>] __memset+0x24/0x30").unwrap();
        assert_eq!(f.function, "__memset");
        let f = parse(" [<ffffffff810b4ac1>] ? kthread+0x1/0x2").unwrap();
        assert!(f.unreliable && f.function == "kthread");
        let f = parse(" __dump_stack lib/dump_stack.c:77 [inline]").unwrap();
        assert!(f.inline && f.source.as_deref() == Some("lib/dump_stack.c:77"));
        let f = parse(" kasan_report+0xe9/0x120 mm/kasan/report.c:588").unwrap();
        assert_eq!(f.function, "kasan_report");
        assert_eq!(parse(" </TASK>"), None);
        assert_eq!(parse("Call Trace:"), None);
        assert_eq!(parse(" Modules linked in: a b"), None);
        assert_eq!(parse("0x47b6fd"), None);
        assert_eq!(parse(" kernel: hello there"), None);
    }
}
