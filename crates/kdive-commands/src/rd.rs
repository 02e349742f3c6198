//! `rd`: memory contents, as crash's `rd` prints them.
//!
//! `rd [-p] [-8|-16|-32|-64] [-a] [-x] [-d|-D] [-e END] ADDR [COUNT]` and
//! `rd [-p] -r FILE ADDR COUNT`. Physical reads (`-p`) need no kernel; virtual ones read through
//! the kernel's page tables. A read stops at the first page the dump does not hold, saying why.

use std::io::Write;

use kdive_dump::{DumpError, Endian};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table::{self, FlagName};
use crate::{CommandError, Hex, Report, Session, TextOptions};

/// Largest range `rd` displays (a `-r` copy streams and has no bound).
const MAX_DISPLAY: u64 = 16 << 20;
/// Bytes copied per read by `-r`.
const CHUNK: usize = 1 << 16;
/// Characters per line of `-a`.
const ASCII_PER_LINE: usize = 60;
/// Bytes `-a` reads at most without a count (it stops at the first unprintable byte).
const ASCII_UNLIMITED: u64 = 1 << 20;

/// How values are shown: hex, or decimal (`-d` signed, `-D` unsigned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Radix {
    Hex,
    Signed,
    Unsigned,
}

/// How `rd` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdOptions {
    /// Bytes per value (`-8`, `-16`, `-32`, `-64`); 0 for `-a` (printable characters).
    pub size: usize,
    pub radix: Radix,
    /// The ASCII column after hex values (off with `-x`, `-s` and `-S`).
    pub ascii_column: bool,
    /// `-s`: 8-byte values that are kernel addresses shown as `symbol+offset`; `-S` also
    /// slab objects as `[cache]`, `-SS` as `[address:cache]`.
    #[serde(default)]
    pub symbols: Symbolic,
    /// `-N`: 2- and 4-byte values in network byte order.
    #[serde(default)]
    pub network_order: bool,
}

/// What `rd -s`/`-S`/`-SS` names.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Symbolic {
    #[default]
    None,
    Symbols,
    SlabCaches,
    SlabObjects,
}

/// The dump's byte order, in which values were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ByteOrder {
    Little,
    Big,
}

impl From<Endian> for ByteOrder {
    fn from(e: Endian) -> Self {
        match e {
            Endian::Little => ByteOrder::Little,
            Endian::Big => ByteOrder::Big,
        }
    }
}

/// Parsed `rd` arguments.
#[derive(Debug)]
struct Args {
    phys: bool,
    opts: RdOptions,
    raw_file: Option<String>,
    end: Option<u64>,
    offset: u64,
    user: bool,
    /// `-f`: ADDR is an offset in the dump file.
    file: bool,
    /// `-R`: COUNT values up to and including ADDR.
    reverse: bool,
    addr: String,
    count: Option<u64>,
}

fn usage(msg: impl Into<String>) -> CommandError {
    CommandError::Usage(format!("rd: {}", msg.into()))
}

/// Parses a hex number with or without `0x`.
pub fn parse_hex(s: &str) -> Option<u64> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(h, 16).ok()
}

/// Parses a count: decimal, or hex with `0x`.
fn parse_count(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse(args: &[String]) -> Result<Args, CommandError> {
    let f = Flags::parse(&table::RD, args)?;
    let mut a = Args {
        phys: false,
        opts: RdOptions {
            size: 8,
            radix: Radix::Hex,
            ascii_column: true,
            symbols: Symbolic::None,
            network_order: false,
        },
        raw_file: None,
        end: None,
        offset: 0,
        user: false,
        file: false,
        reverse: false,
        addr: String::new(),
        count: None,
    };
    // in order: of -8/-16/-32/-64/-a and of -d/-D, the last given wins
    for (flag, value) in f.given() {
        match (flag, value) {
            (FlagName::Word("8"), _) => a.opts.size = 1,
            (FlagName::Word("16"), _) => a.opts.size = 2,
            (FlagName::Word("32"), _) => a.opts.size = 4,
            (FlagName::Word("64"), _) => a.opts.size = 8,
            (FlagName::Letter('p'), _) => a.phys = true,
            (FlagName::Letter('a'), _) => a.opts.size = 0,
            (FlagName::Letter('x'), _) => a.opts.ascii_column = false,
            (FlagName::Letter('d'), _) => a.opts.radix = Radix::Signed,
            (FlagName::Letter('D'), _) => a.opts.radix = Radix::Unsigned,
            (FlagName::Letter('r'), Some(v)) => a.raw_file = Some(v.to_string()),
            (FlagName::Letter('s'), _) => {
                a.opts.symbols = a.opts.symbols.max(Symbolic::Symbols);
            }
            (FlagName::Letter('S'), _) => {
                a.opts.symbols = match a.opts.symbols {
                    Symbolic::SlabCaches | Symbolic::SlabObjects => Symbolic::SlabObjects,
                    _ => Symbolic::SlabCaches,
                };
            }
            (FlagName::Letter('N'), _) => a.opts.network_order = true,
            (FlagName::Letter('u'), _) => a.user = true,
            (FlagName::Letter('f'), _) => a.file = true,
            (FlagName::Letter('R'), _) => a.reverse = true,
            (FlagName::Letter('o'), Some(v)) => {
                a.offset = parse_count(v).ok_or_else(|| usage(format!("bad offset {v}")))?
            }
            (FlagName::Letter('e'), Some(v)) => {
                a.end = Some(parse_hex(v).ok_or_else(|| usage(format!("bad address {v}")))?)
            }
            (other, _) => return Err(usage(format!("{other} is not handled"))),
        }
    }
    if a.opts.symbols != Symbolic::None {
        if a.opts.size != 8 {
            return Err(usage(format!(
                "-{} option is only allowed with 64-bit display",
                if a.opts.symbols == Symbolic::Symbols {
                    's'
                } else {
                    'S'
                }
            )));
        }
        a.opts.ascii_column = false;
    }
    if [a.phys, a.user, a.file].iter().filter(|&&m| m).count() > 1 {
        return Err(usage("-p, -u and -f are mutually exclusive"));
    }
    if a.reverse && a.raw_file.is_some() {
        return Err(usage("-R does not apply to -r"));
    }
    let mut pos = f.positional.into_iter();
    a.addr = pos
        .next()
        .ok_or_else(|| usage(format!("usage: {}", table::RD.synopsis())))?;
    if let Some(c) = pos.next() {
        a.count = Some(parse_count(&c).ok_or_else(|| usage(format!("bad count {c}")))?);
    }
    Ok(a)
}

/// Reads memory of one kind: physical from the dump, kernel virtual through the kernel, or a
/// task's user memory through its page tables.
struct Reader<'s> {
    s: &'s Session,
    phys: bool,
    user: Option<kdive_memory::AddressSpace>,
    /// `-f`: the dump file's bytes.
    file: Option<crate::dumpfile::DumpFileBytes>,
}

impl Reader<'_> {
    /// Reads as much of `addr..addr + buf.len()` as it can, from the start: the byte count read
    /// and, when it stopped early, why.
    fn read_prefix(&self, addr: u64, buf: &mut [u8]) -> (usize, Option<CommandError>) {
        if self.phys {
            let (n, e) = self.s.dump().read_phys_partial(addr, buf);
            let e = e.map(|source| CommandError::Dump {
                context: "rd",
                hint: hint(self.s, &source),
                source,
            });
            return (n, e);
        }
        let other: Option<&dyn kdive_memory::ReadVirt> = match (&self.user, &self.file) {
            (Some(user), _) => Some(user),
            (_, Some(file)) => Some(file),
            _ => None,
        };
        if let Some(mem) = other {
            let got = mem.read_partial(addr, buf);
            let e = got.error.map(|e| CommandError::Program {
                cmd: "rd",
                source: e.into(),
            });
            return (got.read, e);
        }
        let prog = match self.s.kernel() {
            Ok(p) => p,
            Err(e) => return (0, Some(e)),
        };
        let got = prog.read_partial(addr, buf);
        let e = got.error.map(|e| CommandError::Program {
            cmd: "rd",
            source: e.into(),
        });
        (got.read, e)
    }
}

/// What would help read a page the dump lacks: the missing split part that held it, or
/// `--zero-excluded`; empty otherwise.
pub fn hint(s: &Session, e: &DumpError) -> String {
    let mut text = String::new();
    match e {
        DumpError::Lost { paddr } => {
            let pfn = paddr / s.dump().kernel_page_size().max(1);
            if let Some((a, b)) = s
                .dump()
                .missing()
                .iter()
                .find(|(a, b)| (*a..*b).contains(&pfn))
            {
                text += &format!(": the split part holding pfns {a:#x}..{b:#x} is missing");
            }
        }
        DumpError::Excluded { .. } => text += " (--zero-excluded reads such pages as zeros)",
        _ => {}
    }
    text
}

/// What `rd` shows.
#[derive(Debug, Serialize, Deserialize)]
pub struct Rd {
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub physical: bool,
    pub options: RdOptions,
    /// The byte order the values were read in (the ASCII column shows the bytes in memory
    /// order).
    pub endian: ByteOrder,
    /// The values read, `options.size` bytes each, from `address` on (empty for `-a`, `-r`);
    /// with `-N`, in network byte order.
    pub values: Vec<Hex>,
    /// `-s`/`-S`: what is shown instead of each value (`symbol+offset`, `[cache]`), when
    /// something is.
    #[serde(default)]
    pub labels: Vec<Option<String>>,
    /// `-u`: the task whose user memory was read.
    #[serde(default, with = "crate::hex_opt")]
    pub user_task: Option<u64>,
    /// `-f`: `address` is an offset in the dump file.
    #[serde(default)]
    pub dump_file: bool,
    /// `-R`: the values end at the address given (`address` is where they start).
    #[serde(default)]
    pub reversed: bool,
    /// `-a`: the printable characters, one entry per line shown.
    pub strings: Vec<RdString>,
    /// Why the read stopped early, if it did: the answer is partial (the front end prints this
    /// on stderr and exits with the partial status).
    pub stopped_by: Option<String>,
    /// `-r`: the file written and the bytes copied.
    pub file: Option<String>,
    pub copied: Option<u64>,
}

/// A run of printable characters (`rd -a`), at most a line's worth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdString {
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub text: String,
}

/// Runs `rd`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let a = parse(args)?;
    let addr = resolve(s, &a)?.wrapping_add(a.offset);
    let (user, user_task) = if a.user {
        user_memory(s)?
    } else {
        (None, None)
    };
    let reader = Reader {
        s,
        phys: a.phys,
        user,
        file: a
            .file
            .then(|| crate::dumpfile::DumpFileBytes::open(s, "rd"))
            .transpose()?,
    };
    if let Some(file) = &a.raw_file {
        let count = a
            .count
            .or(a.end.and_then(|e| e.checked_sub(addr)))
            .ok_or_else(|| usage("-r needs a count or -e"))?;
        return copy_raw(&reader, addr, count, file).map(|r| Box::new(r) as Box<dyn Report>);
    }
    let unit = a.opts.size.max(1) as u64;
    let count = match (a.count, a.end) {
        (Some(c), _) => c,
        (None, Some(e)) if e > addr => ((e - addr) / unit).max(1),
        (None, Some(e)) => return Err(usage(format!("invalid ending address: {e:x}"))),
        (None, None) if a.opts.size == 0 => ASCII_UNLIMITED,
        (None, None) => 1,
    };
    if count == 0 {
        return Err(usage(format!("invalid count request: {count}")));
    }
    // -R: the COUNT values that end with the one at ADDR, shown in address order as crash does
    let addr = if a.reverse {
        let back = count.saturating_sub(1).saturating_mul(unit);
        addr.checked_sub(back)
            .ok_or_else(|| usage(format!("-R: {count} values reach below address 0")))?
    } else {
        addr
    };
    let bytes = count
        .checked_mul(unit)
        .filter(|&b| b <= MAX_DISPLAY)
        .ok_or_else(|| {
            usage(format!(
                "{count} values is more than rd displays; use -r FILE"
            ))
        })?;
    let mut buf = vec![0u8; bytes as usize];
    let (got, error) = reader.read_prefix(addr, &mut buf);
    let got = got - got % unit as usize;
    let error = match error {
        Some(e) if got == 0 => return Err(e),
        e => e.map(|e| e.to_string()),
    };
    let endian = ByteOrder::from(s.dump().meta().endian);
    let (values, strings) = if a.opts.size == 0 {
        (Vec::new(), ascii(addr, &buf[..got], a.count.is_none()))
    } else {
        (values(&buf[..got], a.opts.size, endian), Vec::new())
    };
    // -N: 2- and 4-byte values in network byte order, as shown
    let values = match (a.opts.network_order, a.opts.size) {
        (true, 2) => values
            .into_iter()
            .map(|v| Hex(u64::from((v.0 as u16).swap_bytes())))
            .collect(),
        (true, 4) => values
            .into_iter()
            .map(|v| Hex(u64::from((v.0 as u32).swap_bytes())))
            .collect(),
        _ => values,
    };
    let labels = match (a.opts.symbols, s.kernel()) {
        (Symbolic::None, _) | (_, Err(_)) => Vec::new(),
        (mode, Ok(prog)) => {
            let mut names = crate::format::AddressNames::new(prog);
            values.iter().map(|v| names.label(v.0, mode)).collect()
        }
    };
    Ok(Box::new(Rd {
        address: addr,
        physical: a.phys,
        options: a.opts,
        endian,
        values,
        labels,
        user_task,
        dump_file: a.file,
        reversed: a.reverse,
        strings,
        stopped_by: error,
        file: None,
        copied: None,
    }))
}

/// `-u`: the current context's user address space, and the task.
fn user_memory(
    s: &Session,
) -> Result<(Option<kdive_memory::AddressSpace>, Option<u64>), CommandError> {
    let (mem, task) = crate::tasks::current_user_space(s, "rd")?;
    Ok((Some(mem), Some(task)))
}

/// The start address: hex, or a kernel symbol.
fn resolve(s: &Session, a: &Args) -> Result<u64, CommandError> {
    if let Some(v) = parse_hex(&a.addr) {
        return Ok(v);
    }
    let prog = s
        .kernel()
        .map_err(|_| usage(format!("invalid address: {}", a.addr)))?;
    prog.symbols()
        .address_of(&a.addr)
        .ok_or_else(|| usage(format!("symbol not found: {}", a.addr)))
}

/// `-r`: copies `count` bytes at `addr` into `file`.
fn copy_raw(r: &Reader, addr: u64, count: u64, file: &str) -> Result<Rd, CommandError> {
    let io = |source: std::io::Error| CommandError::Io {
        path: file.into(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(file).map_err(io)?);
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    let mut error = None;
    while done < count {
        let n = (count - done).min(CHUNK as u64) as usize;
        let (got, e) = r.read_prefix(addr.wrapping_add(done), &mut buf[..n]);
        out.write_all(&buf[..got]).map_err(io)?;
        done += got as u64;
        if let Some(e) = e {
            error = Some(e.to_string());
            break;
        }
    }
    out.flush().map_err(io)?;
    Ok(Rd {
        address: addr,
        physical: r.phys,
        options: RdOptions {
            size: 1,
            radix: Radix::Hex,
            ascii_column: false,
            symbols: Symbolic::None,
            network_order: false,
        },
        endian: ByteOrder::from(r.s.dump().meta().endian),
        values: Vec::new(),
        labels: Vec::new(),
        user_task: None,
        dump_file: r.file.is_some(),
        reversed: false,
        strings: Vec::new(),
        stopped_by: error,
        file: Some(file.to_string()),
        copied: Some(done),
    })
}

fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// The `size`-byte values in `bytes`, read in the dump's byte order.
pub(crate) fn values(bytes: &[u8], size: usize, endian: ByteOrder) -> Vec<Hex> {
    bytes
        .chunks_exact(size)
        .map(|unit| {
            let mut v = [0u8; 8];
            v[..size].copy_from_slice(unit);
            if endian == ByteOrder::Big {
                v[..size].reverse();
            }
            Hex(u64::from_le_bytes(v))
        })
        .collect()
}

/// `v`'s `size` bytes in memory order.
fn bytes_of(v: u64, size: usize, endian: ByteOrder) -> Vec<u8> {
    let le = v.to_le_bytes();
    let mut b = le[..size].to_vec();
    if endian == ByteOrder::Big {
        b.reverse();
    }
    b
}

/// Writes crash's value lines: `addr:  v v ...  ascii`, the ASCII column starting at a fixed
/// place.
pub(crate) fn write_words(
    out: &mut dyn Write,
    addr: u64,
    values: &[Hex],
    labels: &[Option<String>],
    opts: RdOptions,
    endian: ByteOrder,
) -> std::io::Result<()> {
    let size = opts.size;
    let per_line = 16 / size;
    let digits = size * 2;
    let ascii_start = 16 + [51, 43, 39, 37][size.trailing_zeros() as usize];
    let show_ascii = opts.ascii_column && opts.radix == Radix::Hex;
    for (l, line) in values.chunks(per_line).enumerate() {
        let at = addr.wrapping_add((l * per_line * size) as u64);
        let mut text = format!("{at:>16x}:  ");
        for (k, &Hex(v)) in line.iter().enumerate() {
            if let Some(Some(label)) = labels.get(l * per_line + k) {
                text += &format!("{label:<16} ");
                continue;
            }
            // crash promotes 8- and 16-bit values unsigned even for -d
            let shift = 64 - 8 * size as u32;
            let signed = if size >= 4 {
                ((v << shift) as i64) >> shift
            } else {
                v as i64
            };
            text += &match opts.radix {
                Radix::Hex => format!("{v:0digits$x} "),
                Radix::Signed => format!(
                    "{signed:>w$} ",
                    w = [3, 5, 12, 15][size.trailing_zeros() as usize]
                ),
                Radix::Unsigned => format!(
                    "{v:>w$} ",
                    w = [3, 5, 12, 20][size.trailing_zeros() as usize]
                ),
            };
        }
        if show_ascii {
            let chars: String = line
                .iter()
                .flat_map(|v| bytes_of(v.0, size, endian))
                .map(|b| if printable(b) { b as char } else { '.' })
                .collect();
            text = format!("{text:<ascii_start$}  {chars}");
        }
        writeln!(out, "{text}")?;
    }
    Ok(())
}

/// `-a`: printable characters, 60 per line; an unprintable byte ends the line (or, without a
/// count, the display).
fn ascii(addr: u64, bytes: &[u8], unlimited: bool) -> Vec<RdString> {
    let mut lines: Vec<RdString> = Vec::new();
    let mut run = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if !printable(b) {
            if unlimited {
                break;
            }
            run = 0;
            continue;
        }
        if run.is_multiple_of(ASCII_PER_LINE) {
            lines.push(RdString {
                address: addr.wrapping_add(i as u64),
                text: String::new(),
            });
        }
        if let Some(l) = lines.last_mut() {
            l.text.push(b as char);
        }
        run += 1;
    }
    lines
}

impl Report for Rd {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> std::io::Result<()> {
        match (&self.file, self.copied) {
            (Some(file), Some(done)) => writeln!(
                out,
                "{done} bytes copied from {:#x} to {file}",
                self.address
            )?,
            _ if self.options.size == 0 => {
                for l in &self.strings {
                    writeln!(out, "{:>16x}:  {}", l.address, l.text)?;
                }
            }
            _ => write_words(
                out,
                self.address,
                &self.values,
                &self.labels,
                self.options,
                self.endian,
            )?,
        }
        Ok(())
    }

    /// What stopped the read: the error for stderr, the values read are the (partial) answer.
    fn incomplete(&self) -> Option<String> {
        self.stopped_by.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text and values of `bytes` shown as `rd` shows them.
    fn words(
        addr: u64,
        bytes: &[u8],
        size: usize,
        radix: Radix,
        ascii_column: bool,
        endian: Endian,
    ) -> (String, Vec<Hex>) {
        let order = ByteOrder::from(endian);
        let v = values(bytes, size, order);
        let opts = RdOptions {
            size,
            radix,
            ascii_column,
            symbols: Symbolic::None,
            network_order: false,
        };
        let mut out = Vec::new();
        write_words(&mut out, addr, &v, &[], opts, order).unwrap();
        (String::from_utf8(out).unwrap(), v)
    }

    /// `rd -a`'s text of `bytes`, and the strings it shows.
    fn ascii_text(addr: u64, bytes: &[u8], unlimited: bool) -> (String, Vec<String>) {
        let lines = ascii(addr, bytes, unlimited);
        let text = lines
            .iter()
            .map(|l| format!("{:>16x}:  {}\n", l.address, l.text))
            .collect();
        (text, lines.into_iter().map(|l| l.text).collect())
    }

    #[test]
    fn lines_look_like_crash() {
        let bytes: Vec<u8> = (0x40..0x60).collect();
        let (t, v) = words(
            0xffff8e1181274180,
            &bytes,
            8,
            Radix::Hex,
            true,
            Endian::Little,
        );
        assert_eq!(
            t,
            "ffff8e1181274180:  4746454443424140 4f4e4d4c4b4a4948   @ABCDEFGHIJKLMNO\n\
             ffff8e1181274190:  5756555453525150 5f5e5d5c5b5a5958   PQRSTUVWXYZ[\\]^_\n"
        );
        assert_eq!(v[0], Hex(0x4746454443424140));
        let (t, _) = words(0x1000, &bytes[..12], 4, Radix::Hex, true, Endian::Little);
        assert_eq!(
            t,
            "            1000:  43424140 47464544 4b4a4948            @ABCDEFGHIJK\n"
        );
        let (t, _) = words(
            0x1000,
            &[0u8, 1, 0xff],
            1,
            Radix::Hex,
            false,
            Endian::Little,
        );
        assert_eq!(t, "            1000:  00 01 ff \n");
        let (t, _) = words(0x10, &[0xff, 0xff], 2, Radix::Signed, true, Endian::Little);
        assert_eq!(t, "              10:  65535 \n");
        let (t, _) = words(0x10, &[0xff; 4], 4, Radix::Signed, true, Endian::Little);
        assert_eq!(t, "              10:            -1 \n");
    }

    #[test]
    fn ascii_stops_at_unprintable() {
        let (t, v) = ascii_text(0x100, b"Linux\0rest", true);
        assert_eq!(t, "             100:  Linux\n");
        assert_eq!(v, vec!["Linux"]);
        let (t, _) = ascii_text(0x100, b"ab\0cd", false);
        assert_eq!(t, "             100:  ab\n             103:  cd\n");
    }

    #[test]
    fn arguments() {
        let a = |s: &str| parse(&crate::args::split(s).unwrap());
        let x = a("-p -32 0x1000 4").unwrap();
        assert!(x.phys && x.opts.size == 4 && x.count == Some(4) && x.addr == "0x1000");
        let x = a("-p -r /tmp/x 1000 0x20").unwrap();
        assert_eq!(x.raw_file.as_deref(), Some("/tmp/x"));
        assert_eq!(x.count, Some(0x20));
        assert!(a("-q 1").is_err());
        assert!(a("-p").is_err());
    }
}
