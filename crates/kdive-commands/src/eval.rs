//! `eval` and `ascii`: numbers as crash shows them.
//!
//! - `eval [-b] [-l] EXPR`: the value in hexadecimal (with a `(4KB)` size when it is a whole
//!   number of KB, MB or GB), decimal, octal and binary; `-b` also lists the bits set. A
//!   symbol stands for its address, as in crash, and `k`/`m`/`g` multiply.
//! - `ascii [HEX...]`: the bytes of each hexadecimal value as characters (little-endian, as
//!   memory holds them); without a value, the ASCII chart.

use std::io::{self, Write};

use kdive_program::expr::{evaluate, Expr};
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::print::parse_expression;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// Column at which crash wraps the `bits set:` list.
const BITS_WRAP: usize = 77;
/// The label of the `bits set:` line (its width is the continuation lines' indentation).
const BITS_HEADER: &str = "   bits set: ";

/// What `eval` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct EvalReport {
    /// The value, as unsigned 64 bits.
    pub value: u64,
    /// The same bits as a signed number.
    pub signed: i64,
    /// `0x…`
    pub hexadecimal: String,
    pub octal: String,
    /// 64 binary digits.
    pub binary: String,
    /// `4KB`, `2MB`, `1GB` when the value is a whole number of them (at least 1 KB).
    pub size: Option<String>,
    /// With `-b`: the bits set, highest first.
    pub bits_set: Option<Vec<u32>>,
}

impl EvalReport {
    fn new(value: u64, bits: bool) -> EvalReport {
        const KB: u64 = 1 << 10;
        const MB: u64 = 1 << 20;
        const GB: u64 = 1 << 30;
        let size = if value < KB {
            None
        } else if value.is_multiple_of(GB) {
            Some(format!("{}GB", value / GB))
        } else if value.is_multiple_of(MB) {
            Some(format!("{}MB", value / MB))
        } else if value.is_multiple_of(KB) {
            Some(format!("{}KB", value / KB))
        } else {
            None
        };
        EvalReport {
            value,
            signed: value as i64,
            hexadecimal: format!("{value:#x}"),
            octal: format!("{value:o}"),
            binary: format!("{value:064b}"),
            size,
            bits_set: bits.then(|| (0..64).rev().filter(|b| value >> b & 1 == 1).collect()),
        }
    }
}

impl Report for EvalReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "hexadecimal: {:x}  ", self.value)?;
        if let Some(s) = &self.size {
            write!(out, "({s})")?;
        }
        write!(out, "\n    decimal: {}  ", self.value)?;
        if self.signed < 0 {
            write!(out, "({})", self.signed)?;
        }
        writeln!(out, "\n      octal: {}", self.octal)?;
        writeln!(out, "     binary: {}", self.binary)?;
        if let Some(bits) = &self.bits_set {
            out.write_all(BITS_HEADER.as_bytes())?;
            let mut col = BITS_HEADER.len();
            for b in bits {
                let item = format!("{b} ");
                out.write_all(item.as_bytes())?;
                col += item.len();
                if col >= BITS_WRAP {
                    write!(out, "\n{:width$}", "", width = BITS_HEADER.len())?;
                    col = BITS_HEADER.len();
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Runs `eval`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::EVAL, args)?;
    let prog = s.kernel()?;
    let text = f.positional.join(" ");
    if text.trim().is_empty() {
        return Err(CommandError::Usage("eval: evaluate what?".into()));
    }
    // crash evaluates only the first parenthesised word and ignores what follows it
    // (`eval (1 << 12) * 3` gives 4096); the whole expression is evaluated here, as C does
    let expr = symbols_as_addresses(prog, parse_expression("eval", prog, &text)?);
    let value = evaluate(prog, &expr)
        .and_then(|v| v.to_u64())
        .map_err(|source| CommandError::Program {
            cmd: "eval",
            source,
        })?;
    Ok(Box::new(EvalReport::new(value, f.has('b'))))
}

/// The expression with each symbol replaced by its address: crash's `eval` reads a symbol as
/// its value in the symbol table, not as the variable it names.
fn symbols_as_addresses(prog: &Program, e: Expr) -> Expr {
    let sub = |e: Box<Expr>| Box::new(symbols_as_addresses(prog, *e));
    match e {
        Expr::Ident(name) => match prog.symbols().address_of(&name) {
            Some(a) if prog.types().find_enumerator(&name).is_none() => Expr::Int(a),
            _ => Expr::Ident(name),
        },
        Expr::Member { base, name, arrow } => Expr::Member {
            base: sub(base),
            name,
            arrow,
        },
        Expr::Index(a, b) => Expr::Index(sub(a), sub(b)),
        Expr::Unary(op, a) => Expr::Unary(op, sub(a)),
        Expr::Binary(op, a, b) => Expr::Binary(op, sub(a), sub(b)),
        Expr::Cond(c, a, b) => Expr::Cond(sub(c), sub(a), sub(b)),
        Expr::Cast(t, a) => Expr::Cast(t, sub(a)),
        Expr::SizeofExpr(a) => Expr::SizeofExpr(sub(a)),
        other => other,
    }
}

/// One translated value of `ascii`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AsciiValue {
    #[serde(with = "crate::hex")]
    pub value: u64,
    /// Its bytes as characters: printable ones as they are, others as `<NUL>`, `<LF>`, `<ff>`.
    pub text: String,
}

/// What `ascii` reports: translated values, or the chart.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AsciiReport {
    Values { values: Vec<AsciiValue> },
    Chart { lines: Vec<String> },
}

impl Report for AsciiReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        match self {
            AsciiReport::Values { values } => {
                for v in values {
                    writeln!(out, "{:016x}: {}", v.value, v.text)?;
                }
            }
            AsciiReport::Chart { lines } => {
                for l in lines {
                    writeln!(out, "{l}")?;
                }
            }
        }
        Ok(())
    }
}

/// The names of the control characters 0x00–0x1f.
const CONTROL: [&str; 32] = [
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC",
    "FS", "GS", "RS", "US",
];

/// A byte as `ascii` shows it.
fn ascii_char(c: u8) -> String {
    match c {
        0x20..=0x7e => char::from(c).to_string(),
        0x7f => "<DEL>".into(),
        0x80.. => format!("<{c:02x}>"),
        _ => format!("<{}>", CONTROL[c as usize]),
    }
}

/// The chart: 8 columns of 16 characters (column N holds 16·N to 16·N+15).
fn chart() -> Vec<String> {
    let name = |c: u8| match c {
        0x20 => "SP".to_string(),
        0x7f => "DEL".into(),
        0..=0x1f => CONTROL[c as usize].into(),
        _ => char::from(c).to_string(),
    };
    let mut lines = vec![
        String::new(),
        "      0    1   2   3   4   5   6   7".to_string(),
        "    +-------------------------------".to_string(),
    ];
    for row in 0..16u8 {
        let mut l = format!("  {row:X} |");
        for col in 0..8u8 {
            let n = name(col * 16 + row);
            l += &format!("{n:>4}");
        }
        lines.push(l);
    }
    lines.push(String::new());
    lines
}

/// Runs `ascii`.
pub fn run_ascii(_: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::ASCII, args)?;
    if f.positional.is_empty() {
        return Ok(Box::new(AsciiReport::Chart { lines: chart() }));
    }
    let mut values = Vec::new();
    for w in &f.positional {
        let digits = w.trim_start_matches("0x").trim_start_matches("0X");
        let value = u64::from_str_radix(digits, 16)
            .map_err(|_| CommandError::Usage(format!("ascii: invalid hexadecimal value: {w}")))?;
        let text = (0..8)
            .map(|i| ascii_char((value >> (8 * i)) as u8))
            .collect();
        values.push(AsciiValue { value, text });
    }
    Ok(Box::new(AsciiReport::Values { values }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &dyn Report) -> String {
        let mut out = Vec::new();
        r.write_text(&TextOptions::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn eval_text_is_crashs() {
        // crash-more/020-eval-b-0x55.txt of every fixture
        assert_eq!(
            text(&EvalReport::new(0x55, true)),
            "hexadecimal: 55  \n    decimal: 85  \n      octal: 125\n     binary: \
             0000000000000000000000000000000000000000000000000000000001010101\n   \
             bits set: 6 4 2 0 \n"
        );
        // 019-eval-expr.txt's value
        assert!(text(&EvalReport::new(1 << 12, false)).starts_with("hexadecimal: 1000  (4KB)\n"));
        assert_eq!(EvalReport::new(3 << 20, false).size.as_deref(), Some("3MB"));
        assert_eq!(EvalReport::new(1 << 30, false).size.as_deref(), Some("1GB"));
        assert_eq!(EvalReport::new(1000, false).size, None);
        assert!(text(&EvalReport::new(u64::MAX, false))
            .contains("    decimal: 18446744073709551615  (-1)\n"));
    }

    #[test]
    fn eval_wraps_bits_set_as_crash() {
        let t = text(&EvalReport::new(u64::MAX, true));
        let lines: Vec<&str> = t.lines().skip(4).collect();
        assert!(lines[0].starts_with("   bits set: 63 62 "));
        assert!(lines.iter().all(|l| l.len() <= BITS_WRAP + 3));
        assert!(lines[1].starts_with("             "));
        assert!(t.trim_end().ends_with(" 1 0"));
    }

    #[test]
    fn ascii_bytes() {
        assert_eq!(ascii_char(b'a'), "a");
        assert_eq!(ascii_char(0), "<NUL>");
        assert_eq!(ascii_char(10), "<LF>");
        assert_eq!(ascii_char(0x7f), "<DEL>");
        assert_eq!(ascii_char(0xe8), "<e8>");
        let c = chart();
        assert_eq!(c[3], "  0 | NUL DLE  SP   0   @   P   `   p");
        assert_eq!(c[18], "  F |  SI  US   /   ?   O   _   o DEL");
    }
}
