//! `dis`: disassembly of kernel code as crash prints it (gdb's AT&T syntax, `<function+offset>`
//! on every line and branch target), from the code bytes in the dump: what ran, with
//! alternatives, static calls and jump labels as patched.
//!
//! The decoder is the architecture's ([`kdive_program::disasm::Decoder`]); names come from the
//! program's symbols (kallsyms, module symtabs); a function's extent from the vmlinux's or the
//! module's symbol sizes, else the next symbol; `-l` lines from DWARF when a vmlinux or `.ko` is
//! attached.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use kdive_debuginfo::Symbol;
use kdive_program::disasm::{self, Decoder, Flow, Instruction};
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::crash_symbol_name;
use crate::rd::parse_hex;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// Most instructions one `dis` shows.
const MAX_INSNS: usize = 100_000;
/// Source lines `-s` shows at most.
const MAX_SOURCE_LINES: usize = 2_000;

/// How `dis` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisOptions {
    /// `-l`: the source file and line above each change of line.
    pub source_lines: bool,
    /// `-x`: symbol offsets in hexadecimal (decimal by default, `-d`).
    pub hex_offsets: bool,
}

/// An address and the symbol it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located {
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub symbol: Option<String>,
    /// Bytes from the symbol's start.
    pub offset: u64,
    pub module: Option<String>,
}

/// A source location (`-l`): the line-table row of the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLine {
    pub file: String,
    pub line: u32,
}

/// One instruction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisInsn {
    pub at: Located,
    /// Its encoding, in hex.
    pub bytes: String,
    pub mnemonic: String,
    pub operands: String,
    /// A direct branch or call's target.
    pub target: Option<Located>,
    /// The address a PC-relative operand refers to.
    pub refers_to: Option<Located>,
    /// What the disassembler writes after the operands (aarch64's `// b.none`, `// #1`).
    pub comment: Option<String>,
    /// `call`, `jump`, `conditional-jump`, `return`, `next` or `invalid`.
    pub flow: String,
    /// crash's `[FTRACE NOP]`: the 5-byte nop at a function's start that ftrace patches.
    pub ftrace_nop: bool,
    /// `-l`: where in the source.
    pub source: Option<SourceLine>,
}

/// `-s`: source text around the line of an address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceListing {
    /// The file as DWARF names it.
    pub file: String,
    /// The file read from disk.
    pub path: String,
    /// The line the address is on.
    pub line: u32,
    /// (number, text) of the lines shown.
    pub lines: Vec<(u32, String)>,
}

/// What `dis` shows.
#[derive(Debug, Serialize, Deserialize)]
pub struct Dis {
    pub arch: String,
    pub options: DisOptions,
    pub instructions: Vec<DisInsn>,
    /// `-s`: the source text instead of instructions.
    pub source: Option<SourceListing>,
    /// Why the code could not all be read, if so (the instructions before it are shown).
    pub stopped_by: Option<String>,
}

impl Dis {
    /// The whole range was read.
    pub fn complete(&self) -> bool {
        self.stopped_by.is_none()
    }
}

fn usage(msg: impl Into<String>) -> CommandError {
    CommandError::Usage(format!("dis: {}", msg.into()))
}

/// What to disassemble, as crash decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// COUNT instructions from the address.
    Count(u64),
    /// The whole function starting at the address.
    Function,
    /// One instruction.
    One,
    /// `-r`: from the function's start up to and including the address (the last COUNT).
    Reverse(Option<u64>),
    /// `-f`: from the address to the function's end.
    Forward,
}

/// Runs `dis [-l|-r|-f|-s|-x|-d] [-b N] ADDR|SYMBOL [COUNT]`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::DIS, args)?;
    if f.has('x') && f.has('d') {
        return Err(usage("-d and -x are mutually exclusive"));
    }
    let exclusive = [('r', 'f'), ('r', 's'), ('f', 's')];
    if let Some((a, b)) = exclusive.iter().find(|(a, b)| f.has(*a) && f.has(*b)) {
        return Err(usage(format!("-{a} and -{b} are mutually exclusive")));
    }
    let bug_bytes = match f.value('b') {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| usage(format!("invalid -b argument: {v}")))?,
        None => 0,
    };
    let prog = s.kernel()?;
    // -u: a user address of the current context, read in its process; no kernel symbol
    // names it
    let user = match f.has('u') {
        true => Some(crate::tasks::current_user_space(s, "dis")?.0),
        false => None,
    };
    let (target, named) = match f.positional.first() {
        Some(w) if user.is_some() => (
            crate::rd::parse_hex(w).ok_or_else(|| usage(format!("invalid user address: {w}")))?,
            None,
        ),
        Some(w) => resolve(prog, w)?,
        None => return Err(usage(format!("usage: {}", table::DIS.synopsis()))),
    };
    let count = match f.positional.get(1) {
        Some(c) => match parse_count(c) {
            Some(0) | None => return Err(usage(format!("invalid count argument: {c}"))),
            n => n,
        },
        None => None,
    };
    let sym = prog.symbols().by_addr(target).filter(|_| user.is_none());
    let at_function_start = sym
        .as_ref()
        .is_some_and(|(sym, off)| *off == 0 && is_text(sym));
    let span = match (f.has('r'), f.has('f'), count) {
        (true, _, c) => Span::Reverse(c),
        (_, true, None) => Span::Forward,
        (_, _, Some(c)) => Span::Count(c),
        _ if at_function_start || named.as_ref().is_some_and(is_text) => Span::Function,
        _ => Span::One,
    };
    let options = DisOptions {
        source_lines: f.has('l'),
        hex_offsets: f.has('x'),
    };
    let arch = match prog.dump().map(|d| d.meta().arch) {
        Some(kdive_dump::Arch::Aarch64) => "aarch64",
        Some(kdive_dump::Arch::Other(m)) => {
            return Err(CommandError::Unavailable(format!(
                "dis: no disassembler for machine {m}"
            )))
        }
        _ => "x86_64",
    }
    .to_string();
    let dec = disasm::decoder(&arch)
        .ok_or_else(|| CommandError::Unavailable(format!("dis: no disassembler for {arch}")))?;
    if f.has('s') {
        let listing = source_listing(prog, target, count)?;
        return Ok(Box::new(Dis {
            arch,
            options,
            instructions: Vec::new(),
            source: Some(listing),
            stopped_by: None,
        }));
    }
    let func = sym.as_ref().map(|(sym, off)| (target - off, sym));
    let end_of = |start: u64, sym: &Symbol| function_end(prog, start, sym);
    // (where decoding starts, where the code read ends, the first address shown)
    let (start, end, from) = match span {
        Span::Count(n) => (
            target,
            target.saturating_add(n.saturating_mul(dec.max_len() as u64)),
            target,
        ),
        Span::One => (target, target.saturating_add(dec.max_len() as u64), target),
        Span::Function => (
            target,
            func.map_or(target, |(a, sym)| end_of(a, sym)),
            target,
        ),
        Span::Reverse(_) => {
            let (a, _) =
                func.ok_or_else(|| usage(format!("cannot resolve address: {target:x}")))?;
            (a, target.saturating_add(dec.max_len() as u64), a)
        }
        Span::Forward => {
            let (a, sym) =
                func.ok_or_else(|| usage(format!("cannot resolve address: {target:x}")))?;
            (a, end_of(a, sym), target)
        }
    };
    let mem: &dyn kdive_memory::ReadVirt = match &user {
        Some(space) => space,
        None => prog.mem(),
    };
    let (code, failed) = disasm::read_code(mem, start, end.max(start + 1));
    let failed = match failed {
        Some(e) if code.is_empty() => {
            return Err(CommandError::Program {
                cmd: "dis",
                source: e.into(),
            })
        }
        e => e.map(|e| format!("dis: {e}")),
    };
    let mut insns = decode(&*dec, start, &code, bug_bytes);
    insns.retain(|i| i.addr >= from);
    match span {
        Span::Count(n) => insns.truncate(n as usize),
        Span::One => insns.truncate(1),
        Span::Reverse(n) => {
            if let Some(last) = insns.iter().position(|i| i.addr >= target) {
                insns.truncate(last + 1);
            }
            if let Some(n) = n {
                let drop = insns.len().saturating_sub(n as usize);
                insns.drain(..drop);
            }
        }
        Span::Function | Span::Forward => insns.retain(|i| i.addr < end),
    }
    // a read that stopped before what is shown was decoded matters; one past it does not
    let shown_end = insns
        .last()
        .map_or(start, |i| i.addr + i.bytes.len() as u64);
    let stopped_by = failed.filter(|_| match span {
        Span::Function | Span::Forward => start + code.len() as u64 <= shown_end,
        _ => insns.is_empty(),
    });
    let mut names = Names {
        prog,
        user: user.is_some(),
    };
    let instructions = insns
        .iter()
        .map(|i| names.describe(i, options.source_lines))
        .collect();
    Ok(Box::new(Dis {
        arch,
        options,
        instructions,
        source: None,
        stopped_by,
    }))
}

/// The address a word names, and the symbol when it names one: `SYMBOL`, `SYMBOL+OFF`, or hex.
fn resolve(prog: &Program, w: &str) -> Result<(u64, Option<Symbol>), CommandError> {
    if let Some(sym) = prog.symbols().by_name(w) {
        return Ok((sym.addr, Some(sym)));
    }
    if let Some((name, off)) = w.split_once('+') {
        if let (Some(sym), Some(off)) =
            (prog.symbols().by_name(name.trim()), parse_count(off.trim()))
        {
            return Ok((sym.addr.wrapping_add(off), None));
        }
    }
    match parse_hex(w) {
        Some(a) => Ok((a, None)),
        None => Err(usage(format!("symbol not found: {w}"))),
    }
}

/// A count: decimal, or hexadecimal with `0x`.
fn parse_count(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A code symbol (nm's `t`, `T`, `w`, `W`).
fn is_text(sym: &Symbol) -> bool {
    matches!(sym.kind, 't' | 'T' | 'w' | 'W')
}

/// Where the function starting at `start` ends: its size in the vmlinux's symbol table or the
/// module's symtab, else the next symbol.
fn function_end(prog: &Program, start: u64, sym: &Symbol) -> u64 {
    let size = match (&sym.module, prog.debug()) {
        (None, Some(d)) => d.function_size(start).or(sym.size),
        _ => sym.size,
    };
    start.saturating_add(size.unwrap_or(1).clamp(1, disasm::MAX_CODE_BYTES as u64))
}

/// Decodes `code`; after a `ud2`, `bug_bytes` bytes of inline data are skipped (`-b`).
fn decode(dec: &dyn Decoder, start: u64, code: &[u8], bug_bytes: usize) -> Vec<Instruction> {
    if bug_bytes == 0 {
        return disasm::decode_all(dec, start, code, MAX_INSNS);
    }
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < code.len() && out.len() < MAX_INSNS {
        let Some(i) = dec.decode(start + at as u64, &code[at..]) else {
            break;
        };
        at += i.bytes.len().max(1);
        if i.mnemonic == "ud2" {
            at += bug_bytes;
        }
        out.push(i);
    }
    out
}

/// Symbol and source lookups for the lines of one listing.
struct Names<'p> {
    prog: &'p Program,
    /// A process's code (`-u`): kernel symbols and source lines name none of it.
    user: bool,
}

impl Names<'_> {
    fn locate(&self, address: u64) -> Located {
        let sym = match self.user {
            true => None,
            false => self.prog.symbols().by_addr(address),
        };
        match sym {
            Some((sym, offset)) => Located {
                address,
                symbol: Some(sym.name.to_string()),
                offset,
                module: sym.module.as_deref().map(String::from),
            },
            None => Located {
                address,
                symbol: None,
                offset: 0,
                module: None,
            },
        }
    }

    fn describe(&mut self, i: &Instruction, lines: bool) -> DisInsn {
        let at = self.locate(i.addr);
        let text = i.text();
        let ftrace_nop = at.symbol.is_some()
            && at.offset == 0
            && (text == "nopl   0x0(%rax,%rax,1)" || text == "data32 data32 data32 xchg %ax,%ax");
        let source = if lines && !self.user {
            self.prog
                .statement_line(i.addr)
                .ok()
                .flatten()
                .map(|(file, line)| SourceLine { file, line })
        } else {
            None
        };
        DisInsn {
            at,
            bytes: i.bytes.iter().map(|b| format!("{b:02x}")).collect(),
            mnemonic: i.mnemonic.clone(),
            operands: i.operands.clone(),
            target: i.target.map(|t| self.locate(t)),
            refers_to: i.refers_to.map(|t| self.locate(t)),
            comment: i.comment.clone(),
            flow: match i.flow {
                Flow::Next => "next",
                Flow::Call => "call",
                Flow::Jump => "jump",
                Flow::ConditionalJump => "conditional-jump",
                Flow::Return => "return",
                Flow::Invalid => "invalid",
            }
            .into(),
            ftrace_nop,
            source,
        }
    }
}

/// `-s`: the source around the line of `addr`, read from disk: `count` lines, or to the end
/// of the function (the first line `}` after it).
fn source_listing(
    prog: &Program,
    addr: u64,
    count: Option<u64>,
) -> Result<SourceListing, CommandError> {
    let unavailable = |m: String| CommandError::Unavailable(format!("dis: {m}"));
    let here = prog
        .source(addr)
        .map_err(|e| CommandError::Program {
            cmd: "dis",
            source: e,
        })?
        .and_then(|f| f.into_iter().next())
        .ok_or_else(|| {
            unavailable(format!(
                "{addr:x}: no source lines (they need a vmlinux or the module's .ko with DWARF)"
            ))
        })?;
    let (Some(file), Some(line)) = (here.file, here.line) else {
        return Err(unavailable(format!("{addr:x}: no source line")));
    };
    let module_dir = prog
        .symbols()
        .by_addr(addr)
        .and_then(|(s, _)| s.module.as_deref().map(String::from))
        .and_then(|m| prog.module_debug().into_iter().find(|d| d.name() == m))
        .and_then(|d| d.path().parent().map(Path::to_path_buf));
    let path = find_source(&file, module_dir.as_deref())
        .ok_or_else(|| unavailable(format!("{file}: source code is not available")))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
    let all: Vec<&str> = text.lines().collect();
    let first = line.saturating_sub(5).max(1);
    let mut lines = Vec::new();
    for (n, t) in all.iter().enumerate().skip(first as usize - 1) {
        let n = n as u32 + 1;
        lines.push((n, t.to_string()));
        let done = match count {
            Some(c) => n >= line && lines.len() as u64 >= c + u64::from(line - first),
            None => n > line && *t == "}",
        };
        if done || lines.len() >= MAX_SOURCE_LINES {
            break;
        }
    }
    Ok(SourceListing {
        file,
        path: path.display().to_string(),
        line,
        lines,
    })
}

/// The file DWARF names `file`: as named, or by its name beside the module's debug file.
fn find_source(file: &str, module_dir: Option<&Path>) -> Option<PathBuf> {
    let named = PathBuf::from(file);
    if named.is_file() {
        return Some(named);
    }
    let base = named.file_name()?;
    module_dir.map(|d| d.join(base)).filter(|p| p.is_file())
}

impl Dis {
    fn symbolic(&self, l: &Located) -> Option<String> {
        let name = crash_symbol_name(l.symbol.as_ref()?);
        Some(match (l.offset, self.options.hex_offsets) {
            (0, _) => name.to_string(),
            (o, true) => format!("{name}+{o:#x}"),
            (o, false) => format!("{name}+{o}"),
        })
    }

    fn write_insn(&self, out: &mut dyn Write, i: &DisInsn) -> io::Result<()> {
        write!(out, "0x{:x}", i.at.address)?;
        if let Some(s) = self.symbolic(&i.at) {
            write!(out, " <{s}>")?;
        }
        write!(out, ":\t")?;
        let dec = disasm::decoder(&self.arch);
        let sep = dec.as_ref().map_or(disasm::PAD_TO_SIX, |d| d.separator());
        write!(
            out,
            "{}",
            disasm::join_mnemonic(&i.mnemonic, &i.operands, sep)
        )?;
        if let Some(s) = i.target.as_ref().and_then(|t| self.symbolic(t)) {
            write!(out, " <{s}>")?;
        }
        if let Some(r) = &i.refers_to {
            if !dec.as_ref().is_some_and(|d| d.pc_relative_in_place()) {
                write!(out, "        # 0x{:x}", r.address)?;
            }
            if let Some(s) = self.symbolic(r) {
                write!(out, " <{s}>")?;
            }
        }
        if let Some(c) = &i.comment {
            write!(out, "{c}")?;
        }
        if i.ftrace_nop {
            write!(out, " [FTRACE NOP]")?;
        }
        writeln!(out)
    }
}

impl Report for Dis {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if let Some(src) = &self.source {
            writeln!(out, "FILE: {}\nLINE: {}\n", src.file, src.line)?;
            for (n, t) in &src.lines {
                let mark = if *n == src.line { "* " } else { "  " };
                writeln!(out, "{mark}{n}\t{t}")?;
            }
            return Ok(());
        }
        let mut last_line: Option<String> = None;
        for i in &self.instructions {
            if self.options.source_lines {
                let here = i.source.as_ref().map(|s| format!("{}: {}", s.file, s.line));
                if here.is_some() && here != last_line {
                    writeln!(out, "{}", here.as_deref().unwrap_or_default())?;
                    last_line = here;
                }
            }
            self.write_insn(out, i)?;
        }
        if let Some(e) = &self.stopped_by {
            writeln!(out, "{e}")?;
        }
        Ok(())
    }
}
