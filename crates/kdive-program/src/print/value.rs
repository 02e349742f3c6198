//! Values in gdb's "pretty" print format, the one crash shows for `struct`, `task` and `p`:
//! `name = value` members, `{...}` aggregates, `"..."` for char arrays with `<repeats N times>`,
//! pointers as hex with `<symbol+off>` when they point into the kernel's symbols.
//!
//! The object's bytes are read once; everything is formatted from that buffer. Only `char *`
//! members read memory again (their string), and a string that cannot be read is shown as gdb
//! does, `<error: ...>`, without failing the whole print.

use std::cell::Cell;
use std::fmt::Write;

use kdive_debuginfo::{Member, TypeId, TypeKind};
use kdive_memory::ReadVirt;

use crate::{Object, Program, ProgramError, Result};

/// Choices of one print.
#[derive(Debug, Clone, Copy)]
pub struct PrintOptions {
    /// Integers in hex (crash's `-x`).
    pub hex: bool,
    /// Most elements of an array or characters of a string shown (gdb's `print elements`;
    /// crash's gdb shows 256).
    pub max_elements: usize,
    /// Runs longer than this are shown as `<repeats N times>` (gdb's `print repeats`; crash
    /// turns it off, so by default there is no limit).
    pub repeat_threshold: usize,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            hex: false,
            max_elements: 256,
            repeat_threshold: usize::MAX,
        }
    }
}

/// Deepest nesting of aggregates printed (corrupt types can nest without end).
const MAX_DEPTH: usize = 32;
/// Largest object read for printing.
const MAX_BYTES: u64 = 1 << 24;
/// Most values (members, elements, scalars) one print formats. Depth alone does not bound a
/// print: corrupt types can make a struct hold itself several times over, each copy printed
/// again at every level (2^32 values for two members 32 levels deep). The largest real prints
/// (a `pglist_data`, 256 elements of a struct) stay two orders of magnitude below.
const MAX_VALUES: usize = 1 << 18;
/// Longest text one print builds before it stops (an error): nested values indent ever further.
const MAX_TEXT: usize = 1 << 24;
/// Most bytes a [`PrintBudget`] lets its prints read (each at most [`MAX_BYTES`]).
const MAX_READ: u64 = 1 << 28;

/// What a series of prints (the members of one structure, say) may still spend: values
/// formatted and bytes read. Corrupt types can give a structure thousands of members that each
/// overlap all of it; one budget for them all keeps that from multiplying the work.
#[derive(Debug)]
pub struct PrintBudget {
    values: Cell<usize>,
    bytes: Cell<u64>,
    /// Set once a value was refused for want of budget.
    exhausted: Cell<bool>,
}

impl PrintBudget {
    /// A budget of 2^18 values and 2^28 bytes.
    pub fn new() -> PrintBudget {
        PrintBudget {
            values: Cell::new(MAX_VALUES),
            bytes: Cell::new(MAX_READ),
            exhausted: Cell::new(false),
        }
    }
}

impl Default for PrintBudget {
    fn default() -> Self {
        PrintBudget::new()
    }
}

/// The value of `obj` as gdb prints it after `name = `: `34`, `"comm\000..."`, `{` ... `}`.
/// `indent` is the column of the line the value starts on (nested lines are indented from it).
pub fn format_value(obj: &Object<'_>, opts: PrintOptions, indent: usize) -> Result<String> {
    format_value_in(obj, opts, indent, &PrintBudget::new())
}

/// [`format_value`] spending from `budget`, shared with other prints.
pub fn format_value_in(
    obj: &Object<'_>,
    opts: PrintOptions,
    indent: usize,
    budget: &PrintBudget,
) -> Result<String> {
    let prog = obj.prog();
    let size = obj.size()?;
    if size > MAX_BYTES {
        return Err(ProgramError::Type {
            op: "print",
            ty: obj.type_name(),
            why: format!("{size} bytes is too large"),
        });
    }
    if budget.exhausted.get() {
        return Err(too_many_values(obj));
    }
    match budget.bytes.get().checked_sub(size) {
        Some(left) => budget.bytes.set(left),
        None => {
            budget.exhausted.set(true);
            return Err(ProgramError::Type {
                op: "print",
                ty: obj.type_name(),
                why: format!("more than {MAX_READ} bytes in all (corrupt type data?)"),
            });
        }
    }
    let buf = match obj.address() {
        Some(_) => obj.read_bytes()?,
        // a computed value or a bitfield: its bits are the value
        None => obj.read_u64()?.to_le_bytes()[..size.min(8) as usize].to_vec(),
    };
    let p = Printer {
        prog,
        opts,
        base: obj.address(),
        budget,
    };
    let mut out = String::new();
    p.value(obj.type_id(), &buf, 0, obj.bit_size(), indent, 0, &mut out)?;
    if budget.exhausted.get() {
        // members that ran out are shown as `<error: ...>`; the print as a whole fails
        return Err(too_many_values(obj));
    }
    Ok(out)
}

fn too_many_values(obj: &Object<'_>) -> ProgramError {
    ProgramError::Type {
        op: "print",
        ty: obj.type_name(),
        why: format!(
            "more than {MAX_VALUES} values or {MAX_TEXT} bytes of text (corrupt type data?)"
        ),
    }
}

struct Printer<'p, 'b> {
    prog: &'p Program,
    opts: PrintOptions,
    /// Address of the buffer's first byte, for an object in memory.
    base: Option<u64>,
    budget: &'b PrintBudget,
}

impl Printer<'_, '_> {
    /// Formats the value of type `ty` found `bit_off` bits into `buf` (`bits` wide for a
    /// bitfield).
    #[allow(clippy::too_many_arguments)]
    fn value(
        &self,
        ty: TypeId,
        buf: &[u8],
        bit_off: u64,
        bits: Option<u32>,
        indent: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            out.push_str("{...}");
            return Ok(());
        }
        match self.budget.values.get().checked_sub(1) {
            Some(left) if out.len() <= MAX_TEXT => self.budget.values.set(left),
            _ => {
                self.budget.exhausted.set(true);
                return Err(ProgramError::Type {
                    op: "print",
                    ty: "value".into(),
                    why: format!(
                        "more than {MAX_VALUES} values or {MAX_TEXT} bytes of text (corrupt type data?)"
                    ),
                });
            }
        }
        let types = self.prog.types();
        let (rid, t) = types.resolve(ty)?;
        match &t.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                self.aggregate(members, buf, bit_off, indent, depth, out)
            }
            TypeKind::Array { elem, len } => {
                self.array(*elem, *len, buf, bit_off, indent, depth, out)
            }
            TypeKind::Pointer { target } => {
                let v = scalar(buf, bit_off, 64)?;
                self.pointer(*target, v, out);
                Ok(())
            }
            TypeKind::Int {
                size,
                signed,
                is_bool,
                ..
            } => {
                let width = bits.unwrap_or(size.saturating_mul(8));
                let v = scalar(buf, bit_off, width)?;
                if *is_bool {
                    out.push_str(match v {
                        0 => "false",
                        1 => "true",
                        _ => return self.integer(v, width, false, out),
                    });
                    return Ok(());
                }
                self.integer(v, width, *signed, out)?;
                if is_char_type(self.prog, rid) && bits.is_none() {
                    out.push_str(&format!(" '{}'", escape_char(v as u8, '\'')));
                }
                Ok(())
            }
            TypeKind::Enum {
                size,
                signed,
                values,
            } => {
                let width = bits.unwrap_or(size.saturating_mul(8));
                let v = scalar(buf, bit_off, width)?;
                let sv = sign_extend(v, width, *signed);
                match values.iter().find(|(_, val)| *val == sv) {
                    Some((name, _)) => out.push_str(name),
                    None => self.integer(v, width, *signed, out)?,
                }
                Ok(())
            }
            TypeKind::Float { size } => {
                let v = scalar(buf, bit_off, size.saturating_mul(8))?;
                match size {
                    4 => write!(out, "{}", f32::from_bits(v as u32)),
                    8 => write!(out, "{}", f64::from_bits(v)),
                    _ => write!(out, "<{size}-byte float>"),
                }
                .ok();
                Ok(())
            }
            TypeKind::Void
            | TypeKind::Function { .. }
            | TypeKind::Fwd { .. }
            | TypeKind::Typedef { .. }
            | TypeKind::Qualified { .. } => {
                out.push_str("<incomplete type>");
                Ok(())
            }
        }
    }

    fn integer(&self, v: u64, width: u32, signed: bool, out: &mut String) -> Result<()> {
        if self.opts.hex {
            write!(out, "{v:#x}").ok();
        } else if signed {
            write!(out, "{}", sign_extend(v, width, true)).ok();
        } else {
            write!(out, "{v}").ok();
        }
        Ok(())
    }

    /// A pointer: hex, `<symbol+off>` when it points at a kernel symbol, the string of a
    /// `char *`.
    fn pointer(&self, target: TypeId, v: u64, out: &mut String) {
        write!(out, "{v:#x}").ok();
        if v == 0 {
            return;
        }
        let (tid, is_func) = match self.prog.types().resolve(target) {
            Ok((id, t)) => (id, matches!(t.kind, TypeKind::Function { .. })),
            Err(_) => return,
        };
        if let Some((sym, off)) = self.prog.symbols().by_addr(v) {
            if off == 0 {
                write!(out, " <{}>", sym.name).ok();
            } else {
                write!(out, " <{}+{off}>", sym.name).ok();
            }
            if is_func {
                return;
            }
        }
        if is_char_type(self.prog, tid) {
            // through the program: a user address under `-u` is read in the process
            match ReadVirt::read_cbytes(self.prog, v, self.opts.max_elements.saturating_add(1)) {
                Ok(bytes) => {
                    let shown = &bytes[..bytes.len().min(self.opts.max_elements)];
                    out.push(' ');
                    self.string(shown, out);
                    if bytes.len() > shown.len() {
                        out.push_str("...");
                    }
                }
                Err(e) => {
                    write!(out, " <error: {e}>").ok();
                }
            }
        }
    }

    /// `{` members `}` in gdb's pretty layout: one member per line, `indent + 2` deep.
    fn aggregate(
        &self,
        members: &[Member],
        buf: &[u8],
        bit_off: u64,
        indent: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        if members.is_empty() {
            out.push_str("{<No data fields>}");
            return Ok(());
        }
        out.push_str("{\n");
        let inner = indent + 2;
        for (i, m) in members.iter().enumerate() {
            pad(out, inner);
            if let Some(n) = &m.name {
                out.push_str(n);
                out.push_str(" = ");
            }
            // past the buffer (scalars say so) rather than overflowing
            let at = bit_off.saturating_add(m.bit_offset);
            if let Err(e) = self.value(m.ty, buf, at, m.bit_size, inner, depth + 1, out) {
                write!(out, "<error: {e}>").ok();
            }
            out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
        }
        pad(out, indent);
        out.push('}');
        Ok(())
    }

    /// An array: a string for chars, else `{a, b, c <repeats N times>}` (aggregates pretty).
    #[allow(clippy::too_many_arguments)]
    fn array(
        &self,
        elem: TypeId,
        len: u64,
        buf: &[u8],
        bit_off: u64,
        indent: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        let size = self.prog.types().size_of(elem)?;
        let start = (bit_off / 8) as usize;
        let total = size.saturating_mul(len);
        let end = start.saturating_add(total as usize).min(buf.len());
        let bytes = buf.get(start..end).unwrap_or(&[]);
        let (eid, _) = self.prog.types().resolve(elem)?;
        if len == 0 {
            // a flexible array member: gdb shows where it starts (and a char one's string)
            match self.base {
                Some(b) => self.pointer(elem, b.wrapping_add(start as u64), out),
                None => out.push_str("{}"),
            }
            return Ok(());
        }
        if size == 1 && is_char_type(self.prog, eid) {
            // gdb leaves out one trailing NUL of a char array
            let text = match bytes.split_last() {
                Some((0, rest)) => rest,
                _ => bytes,
            };
            self.char_array(text, out);
            return Ok(());
        }
        if size == 0 || len == 0 {
            out.push_str("{}");
            return Ok(());
        }
        let aggregate = matches!(
            self.prog.types().resolve(elem)?.1.kind,
            TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Array { .. }
        );
        let elem_indent = if aggregate { indent + 2 } else { indent };
        let n = (bytes.len() as u64 / size) as usize;
        let chunk = |i: usize| &bytes[i * size as usize..(i + 1) * size as usize];
        out.push('{');
        let mut i = 0;
        let mut shown = 0;
        while i < n {
            if shown >= self.opts.max_elements {
                out.push_str("...");
                break;
            }
            // a run's length matters only past the threshold (and is then skipped whole):
            // counting no further keeps a long run from being rescanned for each element shown
            let mut reps = 1;
            if n - i > self.opts.repeat_threshold {
                while i + reps < n
                    && reps <= self.opts.repeat_threshold
                    && chunk(i + reps) == chunk(i)
                {
                    reps += 1;
                }
                if reps > self.opts.repeat_threshold {
                    while i + reps < n && chunk(i + reps) == chunk(i) {
                        reps += 1;
                    }
                }
            }
            if i > 0 {
                out.push_str(", ");
            }
            let at = ((start + i * size as usize) * 8) as u64;
            self.value(elem, buf, at, None, elem_indent, depth + 1, out)?;
            if reps > self.opts.repeat_threshold {
                write!(out, " <repeats {reps} times>").ok();
                i += reps;
                shown = shown.saturating_add(self.opts.repeat_threshold);
            } else {
                i += 1;
                shown += 1;
            }
        }
        if (n as u64) < len && shown < self.opts.max_elements {
            out.push_str("...");
        }
        out.push('}');
        Ok(())
    }

    /// A char array as gdb prints it: quoted runs, long runs of one character as
    /// `'c' <repeats N times>`, `...` past the element limit.
    fn char_array(&self, bytes: &[u8], out: &mut String) {
        if bytes.is_empty() {
            out.push_str("\"\"");
            return;
        }
        let mut segments: Vec<String> = Vec::new();
        let mut quoted: Vec<u8> = Vec::new();
        let mut i = 0;
        let mut shown = 0;
        let mut truncated = false;
        while i < bytes.len() {
            if shown >= self.opts.max_elements {
                truncated = true;
                break;
            }
            let c = bytes[i];
            // as in `array`: a run is counted in full only once it is past the threshold
            let mut reps = 1;
            if bytes.len() - i > self.opts.repeat_threshold {
                let run = bytes[i..].iter().take_while(|&&b| b == c);
                reps = run.clone().take(self.opts.repeat_threshold + 1).count();
                if reps > self.opts.repeat_threshold {
                    reps = run.count();
                }
            }
            if reps > self.opts.repeat_threshold {
                if !quoted.is_empty() {
                    let mut s = String::new();
                    self.string(&quoted, &mut s);
                    segments.push(s);
                    quoted.clear();
                }
                segments.push(format!("'{}' <repeats {reps} times>", escape_char(c, '\'')));
                i += reps;
                shown = shown.saturating_add(self.opts.repeat_threshold);
            } else {
                quoted.push(c);
                i += 1;
                shown += 1;
            }
        }
        if !quoted.is_empty() {
            let mut s = String::new();
            self.string(&quoted, &mut s);
            segments.push(s);
        }
        out.push_str(&segments.join(", "));
        if truncated {
            out.push_str("...");
        }
    }

    /// `"..."` with C escapes, as gdb writes them.
    fn string(&self, bytes: &[u8], out: &mut String) {
        out.push('"');
        for &b in bytes {
            out.push_str(&escape_char(b, '"'));
        }
        out.push('"');
    }
}

/// Bytes as a gdb string literal: `"swapper/0\000"` (escapes as gdb writes them).
pub fn format_string(bytes: &[u8]) -> String {
    let mut out = String::from('"');
    for &b in bytes {
        out.push_str(&escape_char(b, '"'));
    }
    out.push('"');
    out
}

/// `n` spaces of indentation.
fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// A byte as gdb shows it in quotes: itself, a C escape, or three octal digits.
fn escape_char(b: u8, quote: char) -> String {
    match b {
        b'\n' => "\\n".into(),
        b'\t' => "\\t".into(),
        b'\r' => "\\r".into(),
        0x07 => "\\a".into(),
        0x08 => "\\b".into(),
        0x0c => "\\f".into(),
        0x0b => "\\v".into(),
        0x1b => "\\033".into(),
        b'\\' => "\\\\".into(),
        _ if b as char == quote => format!("\\{quote}"),
        0x20..=0x7e => (b as char).to_string(),
        _ => format!("\\{b:03o}"),
    }
}

/// Whether a resolved integer type is one of C's character types (`char`, `signed char`,
/// `unsigned char`), which gdb shows as characters and strings.
fn is_char_type(prog: &Program, id: TypeId) -> bool {
    match prog.types().get(id) {
        Ok(t) => match &t.kind {
            TypeKind::Int {
                size: 1, is_char, ..
            } => *is_char || t.name.as_deref().is_some_and(|n| n.contains("char")),
            _ => false,
        },
        Err(_) => false,
    }
}

/// `width` bits at `bit_off` of `buf`, little endian.
fn scalar(buf: &[u8], bit_off: u64, width: u32) -> Result<u64> {
    if width == 0 || width > 64 {
        return Err(ProgramError::Type {
            op: "print",
            ty: format!("{width}-bit value"),
            why: "unsupported width".into(),
        });
    }
    let start = (bit_off / 8) as usize;
    let shift = (bit_off % 8) as u32;
    let nbytes = (shift + width).div_ceil(8) as usize;
    if nbytes > 16 {
        return Err(ProgramError::Type {
            op: "print",
            ty: format!("{width}-bit value"),
            why: "unsupported width".into(),
        });
    }
    let src = start
        .checked_add(nbytes)
        .and_then(|end| buf.get(start..end))
        .ok_or_else(|| ProgramError::Type {
            op: "print",
            ty: format!("{width}-bit value"),
            why: format!("bit {bit_off} is past the object"),
        })?;
    let mut b = [0u8; 16];
    b[..nbytes].copy_from_slice(src);
    let v = (u128::from_le_bytes(b) >> shift) as u64;
    Ok(if width >= 64 {
        v
    } else {
        v & ((1u64 << width) - 1)
    })
}

fn sign_extend(v: u64, width: u32, signed: bool) -> i64 {
    if signed && width > 0 && width < 64 && (v >> (width - 1)) & 1 == 1 {
        (v | (!0u64 << width)) as i64
    } else {
        v as i64
    }
}
