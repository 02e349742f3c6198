//! `sbitmapq`: an `sbitmap_queue`'s contents, or the array entries its set bits index, as
//! crash's `sbitmapq` prints them.

use std::io::{self, Write};

use kdive_debuginfo::NameKind;
use kdive_linux::sbitmap::{SbitmapQueue, WaitState};
use kdive_program::print::PrintOptions;
use kdive_program::Object;
use serde::Serialize;

use crate::args::Flags;
use crate::structs::{address_of, find_aggregate, struct_value, StructValue};
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// Most entries `sbitmapq -s` shows (a bitmap of 65536 tags at most).
const MAX_ENTRIES: usize = 1 << 16;

/// `sbitmapq ADDR`: the queue and its bitmap.
#[derive(Debug, Serialize)]
pub struct QueueReport {
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub depth: u64,
    /// Bits set and not cleared (the kernel's `sbitmap_show` count).
    pub busy: u64,
    /// Bits freed but not yet cleared; null before 5.0 (no `cleared` words).
    pub cleared: Option<u64>,
    pub bits_per_word: u64,
    pub map_nr: u64,
    /// Per possible CPU.
    pub alloc_hint: Vec<u32>,
    pub wake_batch: u64,
    pub wake_index: i64,
    pub ws_active: Option<i64>,
    /// The 8 wait queues: `wait_cnt` (null where the kernel has none) and whether a task waits.
    pub ws: Vec<WaitState>,
    pub round_robin: Option<bool>,
    pub min_shallow_depth: Option<u64>,
    /// The bits in use, in order.
    pub set_bits: Vec<u64>,
    /// The bitmap, bit 0 first, 8 bits a byte (the hex dump under the fields).
    pub bitmap: Vec<u8>,
}

/// One set bit's entry of the array (`-s STRUCT -a ADDR`).
#[derive(Debug, Serialize)]
pub struct Entry {
    pub index: u64,
    /// The array element's address (with `-p`, the pointer's).
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// `-v`: the structure the element is (or, with `-p`, points at); its chosen members when
    /// STRUCT names some.
    pub contents: Option<StructValue>,
    /// Why the structure could not be shown.
    pub error: Option<String>,
}

/// `sbitmapq -s STRUCT -a ADDR ADDR`: the array entries of the set bits.
#[derive(Debug, Serialize)]
pub struct EntriesReport {
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// `-s` as given (`STRUCT` or `STRUCT.MEMBER,...`).
    pub structure: String,
    #[serde(with = "crate::hex")]
    pub array: u64,
    /// `-p`: the array holds pointers to the structures.
    pub pointers: bool,
    pub verbose: bool,
    pub entries: Vec<Entry>,
}

/// What `sbitmapq` reports.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sbitmapq {
    Queue(QueueReport),
    Entries(EntriesReport),
}

fn usage(msg: &str) -> CommandError {
    CommandError::Usage(format!(
        "sbitmapq: {msg}\nusage: {}",
        table::SBITMAPQ.synopsis()
    ))
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "sbitmapq",
        source: e,
    }
}

/// Runs `sbitmapq [-s STRUCT[.MEMBER,...] -a ADDR [-p] [-v]] [-x|-d] ADDR`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::SBITMAPQ, args)?;
    if f.has('x') && f.has('d') {
        return Err(usage("-d and -x are mutually exclusive"));
    }
    let prog = s.kernel()?;
    let addr = match f.positional.as_slice() {
        [] => return Err(usage("command argument is required")),
        [a] => address_of(prog, a).ok_or_else(|| usage(&format!("invalid address: {a}")))?,
        _ => return Err(usage("too many arguments")),
    };
    let (name, array) = (f.value('s'), f.value('a'));
    match (name, array) {
        (Some(_), None) => return Err(usage("-s option requires -a option")),
        (None, Some(_)) => return Err(usage("-a option is used with -s option only")),
        (None, None) if f.has('p') => return Err(usage("-p option requires -a option")),
        (None, None) if f.has('v') => return Err(usage("-v option requires -s option")),
        _ => {}
    }
    let q = SbitmapQueue::read(prog, addr).map_err(program_error)?;
    let (Some(spec), Some(array)) = (name, array) else {
        return Ok(Box::new(Sbitmapq::Queue(queue_report(addr, &q))));
    };
    let array = u64::from_str_radix(array.trim_start_matches("0x"), 16)
        .map_err(|_| usage(&format!("invalid -a option: {array}")))?;
    let (type_name, members) = match spec.split_once('.') {
        Some((n, m)) => (n, Some(m.split(',').collect::<Vec<_>>())),
        None => (spec, None),
    };
    let ty = find_aggregate(prog, type_name, Some(NameKind::Struct))
        .ok_or_else(|| usage(&format!("invalid data structure reference: {spec}")))?;
    let pointers = f.has('p');
    let stride = if pointers {
        8
    } else {
        prog.types()
            .size_of(ty)
            .map_err(|e| program_error(e.into()))?
    };
    let opts = PrintOptions {
        hex: f.has('x'),
        ..PrintOptions::default()
    };
    let mut entries = Vec::new();
    for index in q.sb.set_bits().into_iter().take(MAX_ENTRIES) {
        let address = array.wrapping_add(index.wrapping_mul(stride));
        let mut e = Entry {
            index,
            address,
            contents: None,
            error: None,
        };
        if f.has('v') {
            let target = if pointers {
                prog.read_u64(address)
            } else {
                Ok(address)
            };
            let shown = target.and_then(|t| {
                struct_value(
                    &Object::reference(prog, ty, t),
                    members.as_deref(),
                    opts,
                    None,
                )
            });
            match shown {
                Ok(v) => e.contents = Some(v),
                Err(err) => e.error = Some(err.to_string()),
            }
        }
        entries.push(e);
    }
    Ok(Box::new(Sbitmapq::Entries(EntriesReport {
        address: addr,
        structure: spec.to_string(),
        array,
        pointers,
        verbose: f.has('v'),
        entries,
    })))
}

fn queue_report(address: u64, q: &SbitmapQueue) -> QueueReport {
    let sb = &q.sb;
    // crash adds each word's whole weight to its masked weight when the words are narrower
    // than 64 bits, counting set bits twice (its help's example shows busy = 4 for the two
    // tags its bitmap shows); kdive counts as the kernel's sbitmap_weight() does
    QueueReport {
        address,
        depth: sb.depth,
        busy: sb.busy(),
        cleared: sb.has_cleared.then(|| sb.weight_cleared()),
        bits_per_word: 1u64.checked_shl(sb.shift as u32).unwrap_or(0),
        map_nr: sb.map_nr,
        alloc_hint: q.alloc_hint.clone(),
        wake_batch: q.wake_batch,
        wake_index: q.wake_index,
        ws_active: q.ws_active,
        ws: q.wait_states.clone(),
        round_robin: q.round_robin,
        min_shallow_depth: q.min_shallow_depth,
        set_bits: sb.set_bits(),
        bitmap: sb.bitmap_bytes(),
    }
}

impl QueueReport {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "depth = {}", self.depth)?;
        writeln!(out, "busy = {}", self.busy)?;
        if let Some(c) = self.cleared {
            writeln!(out, "cleared = {c}")?;
        }
        writeln!(out, "bits_per_word = {}", self.bits_per_word)?;
        writeln!(out, "map_nr = {}", self.map_nr)?;
        let hints: Vec<String> = self.alloc_hint.iter().map(u32::to_string).collect();
        writeln!(out, "alloc_hint = {{{}}}", hints.join(", "))?;
        writeln!(out, "wake_batch = {}", self.wake_batch)?;
        writeln!(out, "wake_index = {}", self.wake_index)?;
        if let Some(a) = self.ws_active {
            writeln!(out, "ws_active = {a}")?;
        }
        writeln!(out, "ws = {{")?;
        for w in &self.ws {
            let state = if w.active { "active" } else { "inactive" };
            match w.wait_cnt {
                Some(c) => writeln!(out, "\t{{ .wait_cnt = {c}, .wait = {state} }},")?,
                None => writeln!(out, "\t{{ .wait = {state} }},")?,
            }
        }
        writeln!(out, "}}")?;
        if let Some(r) = self.round_robin {
            writeln!(out, "round_robin = {}", u8::from(r))?;
        }
        if let Some(m) = self.min_shallow_depth {
            writeln!(out, "min_shallow_depth = {m}")?;
        }
        writeln!(out)?;
        write_bitmap(&self.bitmap, out)
    }
}

/// The bitmap's bytes as crash (and the kernel's `sbitmap_bitmap_show`) dump them: 16 a line
/// after the offset, a space before every other byte.
fn write_bitmap(bytes: &[u8], out: &mut dyn Write) -> io::Result<()> {
    for (line, chunk) in bytes.chunks(16).enumerate() {
        write!(out, "{:08x}:", line * 16)?;
        for (i, b) in chunk.iter().enumerate() {
            if i % 2 == 0 {
                out.write_all(b" ")?;
            }
            write!(out, "{b:02x}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

impl EntriesReport {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        for e in &self.entries {
            if !self.verbose {
                writeln!(out, "{}: {:#010x}", e.index, e.address)?;
                continue;
            }
            writeln!(out, "{} ({:#010x}):", e.index, e.address)?;
            match (&e.contents, &e.error) {
                (Some(v), _) => v.write_body(out)?,
                (None, Some(err)) => writeln!(out, "sbitmapq: {err}")?,
                (None, None) => {}
            }
        }
        Ok(())
    }
}

impl Report for Sbitmapq {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Sbitmapq::Queue(q) => q.write(out),
            Sbitmapq::Entries(e) => e.write(out),
        }
    }

    fn incomplete(&self) -> Option<String> {
        match self {
            Sbitmapq::Entries(e) => e
                .entries
                .iter()
                .find_map(|x| x.error.as_ref())
                .map(|err| format!("sbitmapq: some structures could not be read: {err}")),
            Sbitmapq::Queue(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_dump_is_crashs() {
        // crash's help example: 17 bytes, tags 76 and 77 busy
        let mut bytes = vec![0u8; 17];
        bytes[9] = 0x30;
        let mut out = Vec::new();
        write_bitmap(&bytes, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "00000000: 0000 0000 0000 0000 0030 0000 0000 0000\n00000010: 00\n"
        );
    }

    #[test]
    fn entries_are_index_and_address() {
        let r = EntriesReport {
            address: 0xc0000000e118c808,
            structure: "iscsi_cmd".into(),
            array: 0xc0000000671c0000,
            pointers: false,
            verbose: false,
            entries: vec![Entry {
                index: 76,
                address: 0xc0000000671d5600,
                contents: None,
                error: None,
            }],
        };
        let mut out = Vec::new();
        r.write(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "76: 0xc0000000671d5600\n");
    }
}
