//! The variable-length record `log_buf` (Linux 3.5 to 5.9): `struct printk_log` headers, each
//! followed by its text and dictionary; a zero-length header means "continue at index 0".

use kdive_program::{Program, ProgramError, Result};

use super::buf::{Field, Problems, Sparse};
use super::{Log, LogRecord};

/// Largest `log_buf_len` accepted.
const MAX_LOG_BUF_LEN: u64 = 1 << 28;

struct Layout {
    size: usize,
    ts_nsec: Field,
    len: Field,
    text_len: Field,
    dict_len: Field,
    facility: Option<Field>,
    flags: Option<Field>,
    level: Option<Field>,
    caller_id: Option<Field>,
}

impl Layout {
    fn new(prog: &Program) -> Result<Layout> {
        // renamed from `struct log` to `struct printk_log` in 3.11
        let ty = prog
            .type_("struct printk_log")
            .or_else(|_| prog.type_("struct log"))?;
        let opt = |path: &str| Field::of(prog, ty, path).ok();
        Ok(Layout {
            size: prog.types().size_of(ty)? as usize,
            ts_nsec: Field::of(prog, ty, "ts_nsec")?,
            len: Field::of(prog, ty, "len")?,
            text_len: Field::of(prog, ty, "text_len")?,
            dict_len: Field::of(prog, ty, "dict_len")?,
            facility: opt("facility"),
            flags: opt("flags"),
            level: opt("level"),
            caller_id: opt("caller_id"),
        })
    }
}

fn read_u32(prog: &Program, name: &str) -> Result<u64> {
    let mut b = [0u8; 4];
    prog.read(prog.symbol_address(name)?, &mut b)?;
    Ok(u32::from_le_bytes(b) as u64)
}

/// The dictionary: NUL-separated `KEY=VALUE` strings.
fn parse_dict(d: &[u8]) -> Vec<(String, String)> {
    d.split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let s = String::from_utf8_lossy(s);
            match s.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (s.into_owned(), String::new()),
            }
        })
        .collect()
}

pub(super) fn read(prog: &Program) -> Result<Log> {
    let l = Layout::new(prog)?;
    let log_buf = prog.read_u64(prog.symbol_address("log_buf")?)?;
    let buf_len = read_u32(prog, "log_buf_len")?;
    let first = read_u32(prog, "log_first_idx")?;
    let next_idx = read_u32(prog, "log_next_idx")?;
    let first_seq = match prog.symbols().address_of("log_first_seq") {
        Some(a) => prog.read_u64(a)?,
        None => 0,
    };
    let what = format!("log_buf at {log_buf:#x}");
    if buf_len > MAX_LOG_BUF_LEN
        || buf_len < l.size as u64
        || first >= buf_len
        || next_idx >= buf_len
    {
        return Err(ProgramError::Walk {
            what,
            why: format!(
                "log_buf_len {buf_len:#x}, log_first_idx {first:#x}, log_next_idx {next_idx:#x}"
            ),
        });
    }
    let mut buf = Sparse::read(prog, "log_buf", log_buf, buf_len as usize);
    let mut problems = Problems::new();
    let mut records = Vec::new();

    let buf_len = buf_len as usize;
    let mut idx = first as usize;
    let mut seq = first_seq;
    let mut wrapped = false;
    // every record is at least a header long: more steps than that means a loop
    let max_steps = buf_len / l.size.max(1) + 2;
    for _ in 0..max_steps {
        if idx == next_idx as usize {
            break;
        }
        let mut hdr = match buf.get(idx..idx + l.size) {
            Ok(h) => h,
            Err(None) => &[][..], // no room for a header: the writer wrapped
            Err(Some(g)) => {
                buf.lose(g, Some(seq));
                problems.push(format!(
                    "{what}: header at index {idx:#x} unreadable; the records after it are lost"
                ));
                break;
            }
        };
        if hdr.is_empty() || l.len.get(hdr) == 0 {
            if wrapped {
                problems.push(format!(
                    "{what}: wrapped a second time at index {idx:#x}; stopped"
                ));
                break;
            }
            wrapped = true;
            idx = 0;
            if idx == next_idx as usize {
                break;
            }
            hdr = match buf.get(0..l.size) {
                Ok(h) => h,
                Err(_) => {
                    problems.push(format!(
                        "{what}: header at index 0 unreadable; the records after it are lost"
                    ));
                    break;
                }
            };
        }
        let len = l.len.get(hdr) as usize;
        let (text_len, dict_len) = (l.text_len.get(hdr) as usize, l.dict_len.get(hdr) as usize);
        if len < l.size || idx + len > buf_len || l.size + text_len + dict_len > len {
            problems.push(format!(
                "{what}: record at index {idx:#x} has len {len}, text_len {text_len}, dict_len {dict_len}; stopped"
            ));
            break;
        }
        let rec = LogRecord {
            seq,
            ts_nsec: l.ts_nsec.get(hdr),
            level: l.level.map_or(0, |f| f.get(hdr) as u8),
            facility: l.facility.map_or(0, |f| f.get(hdr) as u8),
            flags: l.flags.map_or(0, |f| f.get(hdr) as u8),
            caller_id: l.caller_id.map(|f| f.get(hdr) as u32),
            text: String::new(),
            dict: Vec::new(),
        };
        let body = idx + l.size;
        match buf.get(body..body + text_len + dict_len) {
            Ok(b) => records.push(LogRecord {
                text: String::from_utf8_lossy(&b[..text_len]).into_owned(),
                dict: parse_dict(&b[text_len..]),
                ..rec
            }),
            Err(g) => {
                if let Some(g) = g {
                    buf.lose(g, Some(seq));
                }
            }
        }
        seq = seq.wrapping_add(1);
        idx += len;
    }
    if idx != next_idx as usize && problems.is_empty() {
        problems.push(format!(
            "{what}: no log_next_idx {next_idx:#x} after {max_steps} records; stopped"
        ));
    }
    let mut lines: Vec<String> = buf.gap_lines().collect();
    lines.extend(problems.finish());
    Ok(Log {
        records,
        problems: lines,
    })
}
