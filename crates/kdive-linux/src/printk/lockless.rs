//! The lockless `printk_ringbuffer` (Linux 5.10+): a descriptor ring, a parallel `printk_info`
//! array, and a text data ring of `{ unsigned long id; char data[]; }` blocks.

use kdive_program::{Object, Program, ProgramError, Result};

use super::buf::{cstr, Field, Problems, Sparse};
use super::{Log, LogRecord};

/// Largest descriptor ring accepted (`count_bits`).
const MAX_COUNT_BITS: u64 = 24;
/// Largest text data ring accepted (`size_bits`).
const MAX_SIZE_BITS: u64 = 28;
/// Largest `struct prb_desc` / `struct printk_info` accepted (24 and 88 bytes on x86_64).
const MAX_RECORD: u64 = 4096;

/// `desc_committed` and `desc_finalized`: the states whose records are complete.
const DESC_COMMITTED: u64 = 1;
const DESC_FINALIZED: u64 = 2;
/// `NO_LPOS`: the `begin`/`next` of a record whose text is empty (no data block).
const NO_LPOS: u64 = 0x3;

/// Member offsets looked up once.
struct Layout {
    desc_size: usize,
    state_var: Field,
    begin: Field,
    next: Field,
    info_size: usize,
    seq: Field,
    ts_nsec: Field,
    text_len: Field,
    facility: Field,
    flags: Option<Field>,
    level: Field,
    caller_id: Option<Field>,
    subsystem: Option<Field>,
    device: Option<Field>,
    /// Bytes of an `unsigned long` (the state word, lpos values and block ids).
    word: usize,
}

impl Layout {
    fn new(prog: &Program) -> Result<Layout> {
        let desc = prog.type_("struct prb_desc")?;
        let info = prog.type_("struct printk_info")?;
        let state_var = Field::of(prog, desc, "state_var")?;
        let word = state_var.size;
        if word != 8 && word != 4 {
            return Err(ProgramError::Type {
                op: "printk ring buffer",
                ty: "struct prb_desc".into(),
                why: format!("{word}-byte state_var"),
            });
        }
        let opt = |path: &str| Field::of(prog, info, path).ok();
        let (desc_size, info_size) = (prog.types().size_of(desc)?, prog.types().size_of(info)?);
        // The arrays are read whole: sizes from corrupt types must not size the allocation.
        if !(1..=MAX_RECORD).contains(&desc_size) || !(1..=MAX_RECORD).contains(&info_size) {
            return Err(ProgramError::Type {
                op: "printk ring buffer",
                ty: "struct prb_desc / struct printk_info".into(),
                why: format!("sizes {desc_size} / {info_size} (at most {MAX_RECORD})"),
            });
        }
        Ok(Layout {
            desc_size: desc_size as usize,
            state_var,
            begin: Field::of(prog, desc, "text_blk_lpos.begin")?,
            next: Field::of(prog, desc, "text_blk_lpos.next")?,
            info_size: info_size as usize,
            seq: Field::of(prog, info, "seq")?,
            ts_nsec: Field::of(prog, info, "ts_nsec")?,
            text_len: Field::of(prog, info, "text_len")?,
            facility: Field::of(prog, info, "facility")?,
            flags: opt("flags"),
            level: Field::of(prog, info, "level")?,
            caller_id: opt("caller_id"),
            subsystem: opt("dev_info.subsystem"),
            device: opt("dev_info.device"),
            word,
        })
    }
}

/// An `atomic_long_t` (a struct with `counter`) or a plain integer.
fn atomic(obj: Object<'_>) -> Result<u64> {
    match obj.read_u64() {
        Err(ProgramError::Type { .. }) => obj.member("counter")?.read_u64(),
        r => r,
    }
}

/// Where a record's text lives in the data ring.
enum Block {
    /// Data-less with `NO_LPOS`: an empty message.
    Empty,
    /// Data-less otherwise (`FAILED_LPOS`): the kernel lost the text.
    Lost,
    /// The block (id word + text) at `off..off + len` of the data ring.
    At { off: usize, len: usize },
    /// A block position no valid record can have.
    Bad,
}

fn text_block(begin: u64, next: u64, size_bits: u32, word: usize) -> Block {
    if begin & 1 == 1 && next & 1 == 1 {
        return if begin == NO_LPOS && next == NO_LPOS {
            Block::Empty
        } else {
            Block::Lost
        };
    }
    let size = 1u64 << size_bits;
    let wraps = |lpos: u64| lpos >> size_bits;
    let (off, len) = if wraps(begin) == wraps(next) && begin < next {
        (begin & (size - 1), next - begin)
    } else if wraps(begin.wrapping_add(size)) == wraps(next) {
        // a wrapping block: its id is repeated at, and its data starts at, offset 0
        (0, next & (size - 1))
    } else {
        return Block::Bad;
    };
    let w = word as u64;
    if (begin | next) & (w - 1) != 0 || len < w || off + len > size {
        return Block::Bad;
    }
    Block::At {
        off: off as usize,
        len: len as usize,
    }
}

pub(super) fn read(prog: &Program) -> Result<Log> {
    let prb_sym = prog.symbol_address("prb")?;
    let prb = prog.read_u64(prb_sym)?;
    let rb = prog.object("struct printk_ringbuffer", prb)?;
    let what = || format!("printk_ringbuffer at {prb:#x}");
    let bad = |why: String| ProgramError::Walk { what: what(), why };

    let dr = rb.member("desc_ring")?;
    let count_bits = dr.member("count_bits")?.read_u64()?;
    if count_bits > MAX_COUNT_BITS {
        return Err(bad(format!(
            "desc_ring.count_bits is {count_bits} (at most {MAX_COUNT_BITS})"
        )));
    }
    let descs_addr = dr.member("descs")?.read_u64()?;
    let infos_addr = dr.member("infos")?.read_u64()?;
    let head_id = atomic(dr.member("head_id")?)?;
    let tail_id = atomic(dr.member("tail_id")?)?;
    let tr = rb.member("text_data_ring")?;
    let size_bits = tr.member("size_bits")?.read_u64()?;
    if !(3..=MAX_SIZE_BITS).contains(&size_bits) {
        return Err(bad(format!(
            "text_data_ring.size_bits is {size_bits} (3 to {MAX_SIZE_BITS})"
        )));
    }
    let data_addr = tr.member("data")?.read_u64()?;

    let l = Layout::new(prog)?;
    let count = 1u64 << count_bits;
    let wbits = l.word as u32 * 8;
    let id_mask = (1u64 << (wbits - 2)) - 1;

    let mut descs = Sparse::read(
        prog,
        "printk descriptor array",
        descs_addr,
        count as usize * l.desc_size,
    );
    let mut infos = Sparse::read(
        prog,
        "printk_info array",
        infos_addr,
        count as usize * l.info_size,
    );
    let mut data = Sparse::read(
        prog,
        "printk text data ring",
        data_addr,
        1usize << size_bits,
    );
    let mut problems = Problems::new();

    // ids run from tail to head inclusive; a span longer than the ring means a garbage tail
    // (or head): read the ring's worth of ids that end at head.
    let span = head_id.wrapping_sub(tail_id) & id_mask;
    let (first, n) = if span < count {
        (tail_id & id_mask, span + 1)
    } else {
        problems.push(format!(
            "{}: tail_id {tail_id:#x} and head_id {head_id:#x} are {span:#x} apart, more than the {count} descriptors; \
             reading the {count} ids up to head_id",
            what()
        ));
        (head_id.wrapping_sub(count - 1) & id_mask, count)
    };

    let mut records = Vec::new();
    for k in 0..n {
        let id = first.wrapping_add(k) & id_mask;
        let idx = (id & (count - 1)) as usize;
        let desc = match descs.get(idx * l.desc_size..(idx + 1) * l.desc_size) {
            Ok(d) => d,
            Err(gap) => {
                if let Some(g) = gap {
                    descs.lose(g, None);
                }
                continue;
            }
        };
        let sv = l.state_var.get(desc);
        let state = sv >> (wbits - 2);
        if sv & id_mask != id || (state != DESC_COMMITTED && state != DESC_FINALIZED) {
            continue; // stale (id mismatch), reserved by a writer, or reusable
        }
        let (begin, next) = (l.begin.get(desc), l.next.get(desc));
        let info = match infos.get(idx * l.info_size..(idx + 1) * l.info_size) {
            Ok(i) => i,
            Err(gap) => {
                if let Some(g) = gap {
                    infos.lose(g, None);
                }
                continue;
            }
        };
        let seq = l.seq.get(info);
        let rec_what = || format!("record seq {seq} (descriptor id {id:#x})");
        if seq & (count - 1) != idx as u64 {
            problems.push(format!(
                "{}: sequence number does not belong to descriptor slot {idx}; skipped",
                rec_what()
            ));
            continue;
        }
        let text_len = l.text_len.get(info) as usize;
        let text = match text_block(begin, next, size_bits as u32, l.word) {
            Block::Empty => String::new(),
            Block::Lost => {
                problems.push(format!(
                    "{}: the kernel lost its text (no data block)",
                    rec_what()
                ));
                continue;
            }
            Block::Bad => {
                problems.push(format!(
                    "{}: invalid text block position {begin:#x}..{next:#x}; skipped",
                    rec_what()
                ));
                continue;
            }
            Block::At { off, len } => {
                let blk = match data.get(off..off + len) {
                    Ok(b) => b,
                    Err(gap) => {
                        if let Some(g) = gap {
                            data.lose(g, Some(seq));
                        }
                        continue;
                    }
                };
                let mut w = [0u8; 8];
                w[..l.word].copy_from_slice(&blk[..l.word]);
                let blk_id = u64::from_le_bytes(w);
                if blk_id != id {
                    problems.push(format!(
                        "{}: text block at data ring offset {off:#x} belongs to descriptor id {blk_id:#x} (overwritten); skipped",
                        rec_what()
                    ));
                    continue;
                }
                let body = &blk[l.word..];
                if text_len > body.len() {
                    problems.push(format!(
                        "{}: text_len {text_len} but its block holds {} bytes; text truncated",
                        rec_what(),
                        body.len()
                    ));
                }
                String::from_utf8_lossy(&body[..text_len.min(body.len())]).into_owned()
            }
        };
        let mut dict = Vec::new();
        for (key, f) in [("SUBSYSTEM", l.subsystem), ("DEVICE", l.device)] {
            let v = f.map(|f| cstr(f.bytes(info))).unwrap_or_default();
            if !v.is_empty() {
                dict.push((key.to_string(), v));
            }
        }
        records.push(LogRecord {
            seq,
            ts_nsec: l.ts_nsec.get(info),
            level: l.level.get(info) as u8,
            facility: l.facility.get(info) as u8,
            flags: l.flags.map_or(0, |f| f.get(info) as u8),
            caller_id: l.caller_id.map(|f| f.get(info) as u32),
            text,
            dict,
        });
    }
    records.sort_by_key(|r| r.seq);

    let mut lines: Vec<String> = descs
        .gap_lines()
        .chain(infos.gap_lines())
        .chain(data.gap_lines())
        .collect();
    lines.extend(problems.finish());
    if records.is_empty() && span >= count {
        return Err(bad(format!(
            "tail_id {tail_id:#x} and head_id {head_id:#x} are {span:#x} apart (ring of {count}) and no record is readable"
        )));
    }
    Ok(Log {
        records,
        problems: lines,
    })
}
