//! `search`: find values or strings in memory, as crash's `search` prints them.
//!
//! `search -p [-s START] [-e END | -l LEN] [-m MASK] [-w|-h|-c] VALUE...` walks physical
//! memory page by page (no kernel needed), skipping pages the dump does not hold.
//! `search -s START (-e END | -l LEN) ...` walks kernel virtual memory through the kernel.

use std::io::{self, Write};

use kdive_dump::PageState;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::rd::parse_hex;
use crate::table::{self, FlagName};
use crate::{CommandError, Report, Session, TextOptions};

/// Matches reported at most.
const MAX_MATCHES: usize = 100_000;
/// Largest kernel virtual range searched.
const MAX_VIRTUAL: u64 = 64 << 30;
/// Characters shown from a string match on (crash's `CHARS_CTX`).
const CHARS_CTX: usize = 56;

/// What is searched for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Values of this many bytes, each with the word it was given as when that was a symbol.
    Values(usize, Vec<(u64, Option<String>)>),
    Strings(Vec<Vec<u8>>),
}

#[derive(Debug)]
struct Args {
    phys: bool,
    start: Option<u64>,
    end: Option<u64>,
    len: Option<u64>,
    mask: u64,
    target: Target,
}

fn usage(msg: impl Into<String>) -> CommandError {
    CommandError::Usage(format!("search: {}", msg.into()))
}

fn parse(s: &Session, args: &[String]) -> Result<Args, CommandError> {
    let mut a = Args {
        phys: false,
        start: None,
        end: None,
        len: None,
        mask: 0,
        target: Target::Values(8, Vec::new()),
    };
    let f = Flags::parse(&table::SEARCH, args)?;
    let (mut size, mut chars) = (8usize, false);
    let bad = |v: &str| usage(format!("bad number {v}"));
    for (flag, value) in f.given() {
        use FlagName::Letter;
        match (flag, value) {
            (Letter('p'), _) => a.phys = true,
            (Letter('k'), _) => a.phys = false,
            (Letter('w'), _) => (size, chars) = (4, false),
            (Letter('h'), _) => (size, chars) = (2, false),
            (Letter('c'), _) => chars = true,
            (Letter('s'), Some(v)) => a.start = Some(address(s, v).ok_or_else(|| bad(v))?),
            (Letter('e'), Some(v)) => a.end = Some(address(s, v).ok_or_else(|| bad(v))?),
            (Letter('m'), Some(v)) => a.mask = address(s, v).ok_or_else(|| bad(v))?,
            (Letter('l'), Some(v)) => {
                a.len = Some(
                    v.parse()
                        .ok()
                        .or_else(|| parse_hex(v))
                        .ok_or_else(|| bad(v))?,
                )
            }
            (other, _) => return Err(usage(format!("{other} is not handled"))),
        }
    }
    let words = f.positional;
    if words.is_empty() {
        return Err(usage(format!("usage: {}", table::SEARCH.synopsis())));
    }
    if a.end.is_some() && a.len.is_some() {
        return Err(usage("-e and -l exclude each other"));
    }
    a.target = if chars {
        if words.iter().any(String::is_empty) {
            return Err(usage("an empty string matches everywhere"));
        }
        Target::Strings(words.into_iter().map(String::into_bytes).collect())
    } else {
        let limit = if size == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * size)) - 1
        };
        let mut vals = Vec::new();
        for w in words {
            let (v, named) = match parse_hex(&w) {
                Some(v) => (v, None),
                None => (
                    address(s, &w).ok_or_else(|| usage(format!("invalid value: {w}")))?,
                    Some(w),
                ),
            };
            if v > limit {
                return Err(usage(format!("value {v:#x} does not fit in {size} bytes")));
            }
            vals.push((v, named));
        }
        Target::Values(size, vals)
    };
    Ok(a)
}

/// A hex number, or a kernel symbol's address.
fn address(s: &Session, w: &str) -> Option<u64> {
    parse_hex(w).or_else(|| s.kernel().ok()?.symbols().address_of(w))
}

/// One match.
#[derive(Debug, Serialize, Deserialize)]
pub struct Match {
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// A value search: the value found there (equal to a value searched for, under the mask).
    #[serde(with = "crate::hex_opt")]
    pub value: Option<u64>,
    /// The symbol the value searched for was given as (`search -k jiffies`).
    pub symbol: Option<String>,
    /// A string search (`-c`): the text from the match on, unprintable bytes as `.`.
    pub text: Option<String>,
}

/// What was searched for.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Bytes per value (8, `-w` 4, `-h` 2); 0 for strings (`-c`).
    pub size: usize,
    /// Bits ignored when comparing values (`-m`).
    #[serde(with = "crate::hex")]
    pub mask: u64,
}

/// What `search` found.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchOut {
    pub physical: bool,
    #[serde(with = "crate::hex")]
    pub start: u64,
    #[serde(with = "crate::hex")]
    pub end: u64,
    pub options: SearchOptions,
    pub matches: Vec<Match>,
    /// Pages that could not be read and were skipped.
    pub pages_skipped: u64,
    /// The search stopped at the most matches it reports.
    pub truncated: bool,
}

/// Runs `search`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let a = parse(s, args)?;
    let ps = s.dump().page_size().max(1);
    let (start, end) = range(s, &a)?;
    let mut out = SearchOut {
        physical: a.phys,
        start,
        end,
        options: SearchOptions {
            size: match &a.target {
                Target::Values(size, _) => *size,
                Target::Strings(_) => 0,
            },
            mask: a.mask,
        },
        matches: Vec::new(),
        pages_skipped: 0,
        truncated: false,
    };
    let prog = if a.phys { None } else { Some(s.kernel()?) };
    let (first, last) = (start / ps, end.div_ceil(ps));
    // physical searches visit only the pages the dump holds
    let pages: Box<dyn Iterator<Item = u64>> = match prog {
        None => Box::new(
            s.dump()
                .page_runs()
                .filter(|r| r.2 == PageState::Present)
                .flat_map(move |(a, z, _)| a.max(first)..z.min(last)),
        ),
        Some(_) => Box::new(first..last),
    };
    let mut page = vec![0u8; ps as usize];
    // the last bytes of the previous page, for strings that cross into this one
    let mut carry: Vec<u8> = Vec::new();
    let mut next = first;
    for pfn in pages {
        if out.truncated {
            break;
        }
        let base = pfn * ps;
        if pfn != next {
            carry.clear();
        }
        next = pfn + 1;
        let ok = match prog {
            None => s.dump().read_phys(base, &mut page).is_ok(),
            Some(p) => p.read(base, &mut page).is_ok(),
        };
        if !ok {
            out.pages_skipped += 1;
            carry.clear();
            continue;
        }
        let from = (start.max(base) - base) as usize;
        let to = (end - base).min(ps) as usize;
        scan(&a, base, &page, from, to, &mut carry, &mut out);
    }
    Ok(Box::new(out))
}

/// The `[start, end)` to search: crash's defaults are all of physical memory for `-p`.
fn range(s: &Session, a: &Args) -> Result<(u64, u64), CommandError> {
    let ps = s.dump().page_size();
    let align = match &a.target {
        Target::Values(size, _) => *size as u64,
        Target::Strings(_) => 1,
    };
    let start = match (a.start, a.phys) {
        (Some(v), _) => v - v % align,
        (None, true) => 0,
        (None, false) => return Err(usage("a kernel virtual search needs -s START (or -p)")),
    };
    let end = match (a.end, a.len) {
        (Some(e), _) => e,
        (_, Some(l)) => start.saturating_add(l),
        _ if a.phys => s.dump().meta().max_pfn.saturating_mul(ps),
        _ => return Err(usage("a kernel virtual search needs -e END or -l LEN")),
    };
    if end < start {
        return Err(usage(format!(
            "ending address {end:x} is below starting address {start:x}"
        )));
    }
    if !a.phys && end - start > MAX_VIRTUAL {
        return Err(usage("kernel virtual ranges over 64 GiB are not searched"));
    }
    Ok((start, end))
}

/// Searches `page[from..to]` (at address `base`), reporting into `out`.
fn scan(
    a: &Args,
    base: u64,
    page: &[u8],
    from: usize,
    to: usize,
    carry: &mut Vec<u8>,
    out: &mut SearchOut,
) {
    match &a.target {
        Target::Values(size, vals) => {
            for off in (from..to.saturating_sub(size - 1)).step_by(*size) {
                let mut b = [0u8; 8];
                b[..*size].copy_from_slice(&page[off..off + size]);
                let v = u64::from_le_bytes(b);
                for (want, named) in vals {
                    if v | a.mask == want | a.mask {
                        out.push(Match {
                            address: base + off as u64,
                            value: Some(v),
                            symbol: named.clone(),
                            text: None,
                        });
                    }
                }
            }
        }
        Target::Strings(strings) => {
            let keep = strings
                .iter()
                .map(Vec::len)
                .max()
                .unwrap_or(1)
                .saturating_sub(1);
            let mut hay = std::mem::take(carry);
            let pre = hay.len();
            hay.extend_from_slice(&page[from..to]);
            for i in 0..hay.len() {
                for s in strings {
                    // matches wholly in the carried bytes were reported with the previous page
                    if i + s.len() > pre && hay[i..].starts_with(s) {
                        let end = (i + CHARS_CTX.max(s.len())).min(hay.len());
                        let text: String = hay[i..end]
                            .iter()
                            .map(|&c| {
                                if (0x20..0x7f).contains(&c) {
                                    c as char
                                } else {
                                    '.'
                                }
                            })
                            .collect();
                        out.push(Match {
                            address: base + from as u64 + i as u64 - pre as u64,
                            value: None,
                            symbol: None,
                            text: Some(text),
                        });
                    }
                }
            }
            let tail = hay.len().saturating_sub(keep);
            *carry = if to == page.len() {
                hay.split_off(tail)
            } else {
                Vec::new()
            };
        }
    }
}

impl SearchOut {
    fn push(&mut self, m: Match) {
        if self.matches.len() >= MAX_MATCHES {
            self.truncated = true;
            return;
        }
        self.matches.push(m);
    }
}

impl Report for SearchOut {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for m in &self.matches {
            write!(out, "{:x}: ", m.address)?;
            if let Some(v) = m.value {
                // crash prints the value, a blank, then the symbol it was given as
                write!(out, "{v:x} ")?;
                if let Some(s) = &m.symbol {
                    write!(out, "({s})")?;
                }
            }
            if let Some(t) = &m.text {
                out.write_all(t.as_bytes())?;
            }
            writeln!(out)?;
        }
        if self.truncated {
            writeln!(out, "search: stopped after {} matches", self.matches.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out() -> SearchOut {
        SearchOut {
            physical: true,
            start: 0,
            end: 0,
            options: SearchOptions { size: 8, mask: 0 },
            matches: Vec::new(),
            pages_skipped: 0,
            truncated: false,
        }
    }

    /// The lines `search` prints for `o`.
    fn lines(o: &SearchOut) -> Vec<String> {
        let r: &dyn Report = o;
        r.text().lines().map(str::to_string).collect()
    }

    fn args(target: Target, mask: u64) -> Args {
        Args {
            phys: true,
            start: None,
            end: None,
            len: None,
            mask,
            target,
        }
    }

    #[test]
    fn values_with_a_mask() {
        let mut page = vec![0u8; 64];
        page[8..16].copy_from_slice(&0xdead_beefu64.to_le_bytes());
        page[40..48].copy_from_slice(&0xdead_be00u64.to_le_bytes());
        let a = args(Target::Values(8, vec![(0xdead_beef, None)]), 0xff);
        let mut o = out();
        scan(&a, 0x1000, &page, 0, 64, &mut Vec::new(), &mut o);
        assert_eq!(lines(&o), vec!["1008: deadbeef ", "1028: deadbe00 "]);
        let a = args(Target::Values(4, vec![(0xbeef, Some("x".into()))]), 0);
        let mut o = out();
        scan(&a, 0, &page, 0, 64, &mut Vec::new(), &mut o);
        assert!(lines(&o).is_empty());
    }

    #[test]
    fn strings_across_pages() {
        let a = args(Target::Strings(vec![b"hello".to_vec()]), 0);
        let mut first = vec![b'.'; 32];
        first[29..].copy_from_slice(b"hel");
        let mut second = vec![b'.'; 32];
        second[..2].copy_from_slice(b"lo");
        second[10..15].copy_from_slice(b"hello");
        let (mut o, mut carry) = (out(), Vec::new());
        scan(&a, 0x1000, &first, 0, 32, &mut carry, &mut o);
        scan(&a, 0x1020, &second, 0, 32, &mut carry, &mut o);
        let addrs: Vec<u64> = o.matches.iter().map(|m| m.address).collect();
        assert_eq!(addrs, vec![0x101d, 0x102a]);
        assert!(lines(&o)[0].starts_with("101d: hello"));
    }
}
