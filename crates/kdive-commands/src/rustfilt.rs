//! `rustfilt`: Rust symbol names demangled, as crash's `rustfilt` prints them; and the same for
//! the names in a text (`log -R`).

use std::borrow::Cow;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// A Rust symbol's readable name, without the crate disambiguators and hashes (as crash and
/// `rustfilt` print it), or `None` when `name` is not a Rust symbol.
///
/// v0 names (`_R…`) are always Rust's; a legacy name (`_ZN…E`) only when it ends in the hash
/// Rust adds (`17h` and 16 hexadecimal digits), as crash's demangler decides: without it, it is
/// a C++ name.
pub fn demangle(name: &str) -> Option<String> {
    let d = rustc_demangle::try_demangle(name).ok()?;
    if !name.trim_start_matches('_').starts_with('R') && !has_legacy_hash(name) {
        return None;
    }
    let shown = format!("{d:#}");
    (shown != name).then_some(shown)
}

/// Whether a legacy `_ZN…E` name ends in Rust's `17h<16 hex digits>E` (before any `.llvm.`
/// suffix).
fn has_legacy_hash(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name);
    let Some(body) = base.strip_suffix('E') else {
        return false;
    };
    body.len() >= 19 && {
        let tail = &body[body.len() - 19..];
        tail.starts_with("17h") && tail[3..].bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// Whether `c` can be part of a mangled name (v0 and legacy names use these and `.` suffixes).
fn symbol_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'
}

/// `text` with every Rust symbol name in it demangled (a call trace's `_RNv…+0x1c/0x40` becomes
/// `kernel::…+0x1c/0x40`); other words stay as they are.
pub fn demangle_text(text: &str) -> Cow<'_, str> {
    if !text.contains("_R") && !text.contains("_ZN") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('_') {
        // a name starts at a word boundary
        let boundary = start == 0 || !symbol_char(rest[..start].chars().next_back().unwrap_or(' '));
        // at least the `_`: it is a symbol character
        let word_len = rest[start..]
            .find(|c: char| !symbol_char(c))
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        out.push_str(&rest[..start]);
        match boundary.then(|| demangle(word)).flatten() {
            Some(d) => out.push_str(&d),
            None => out.push_str(word),
        }
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// One name given to `rustfilt`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Demangled {
    pub mangled: String,
    /// The readable name; null when the name is not a Rust symbol.
    pub demangled: Option<String>,
}

/// What `rustfilt` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Rustfilt {
    pub names: Vec<Demangled>,
}

/// Runs `rustfilt NAME...`.
pub fn run(_: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::RUSTFILT, args)?;
    if f.positional.is_empty() {
        return Err(CommandError::Usage(format!(
            "rustfilt: a symbol name is required\nusage: {}",
            table::RUSTFILT.synopsis()
        )));
    }
    let names = f
        .positional
        .iter()
        .map(|n| Demangled {
            mangled: n.clone(),
            demangled: demangle(n),
        })
        .collect();
    Ok(Box::new(Rustfilt { names }))
}

impl Report for Rustfilt {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for n in &self.names {
            match &n.demangled {
                Some(d) => writeln!(out, "{d}")?,
                // crash's words, its line break included
                None => writeln!(out, "Not a rust symbol: \n{}", n.mangled)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_names_lose_crate_disambiguators() {
        // crash's `help rustfilt` example
        assert_eq!(
            demangle("_RNvNtCshc5sK6KjdJJ_6kernel5print11call_printk").as_deref(),
            Some("kernel::print::call_printk")
        );
        // a trait implementation: <Type as Trait>::method
        assert_eq!(
            demangle("_RNvXs_NtCs1234_4core3fmtNtB4_9ArgumentsNtB4_7Display3fmt").as_deref(),
            Some("<core::fmt::Arguments as core::fmt::Display>::fmt")
        );
    }

    #[test]
    fn legacy_names_need_rusts_hash() {
        assert_eq!(
            demangle("_ZN4core3ptr13drop_in_place17h0123456789abcdefE").as_deref(),
            Some("core::ptr::drop_in_place")
        );
        // a C++ name has no hash: not Rust's
        assert_eq!(demangle("_ZN3foo3barE"), None);
        assert_eq!(demangle("schedule"), None);
        assert_eq!(demangle("_RNvC"), None);
    }

    #[test]
    fn names_in_text_are_demangled_in_place() {
        assert_eq!(
            demangle_text(
                " _RNvNtCshc5sK6KjdJJ_6kernel5print11call_printk+0x1c/0x40 [rust_minimal]"
            ),
            " kernel::print::call_printk+0x1c/0x40 [rust_minimal]"
        );
        let plain = "do_sys_open+0x12/0x40 __x64_sys_openat _RNvC";
        assert_eq!(demangle_text(plain), plain);
        // a name inside a longer word stays
        assert_eq!(
            demangle_text("x_RNvNtCshc5sK6KjdJJ_6kernel5print11call_printk"),
            "x_RNvNtCshc5sK6KjdJJ_6kernel5print11call_printk"
        );
    }

    #[test]
    fn text_says_what_is_not_rust() {
        let r = Rustfilt {
            names: vec![
                Demangled {
                    mangled: "_RNvNtCshc5sK6KjdJJ_6kernel5print11call_printk".into(),
                    demangled: demangle("_RNvNtCshc5sK6KjdJJ_6kernel5print11call_printk"),
                },
                Demangled {
                    mangled: "schedule".into(),
                    demangled: None,
                },
            ],
        };
        let mut out = Vec::new();
        r.write_text(&TextOptions::default(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "kernel::print::call_printk\nNot a rust symbol: \nschedule\n"
        );
    }
}
