//! `read_log` over synthetic programs: hand-built types (6.1-like layouts), memory and symbols,
//! with ring buffers written the way the kernel writes them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kdive_linux::printk::{read_log, Log, LogRecord};
use kdive_program::Program;
use kdive_testdata::mem::SparseMemory;

mod printk_support;
use printk_support::program as new_program;

type Mem = SparseMemory;

fn program(mem: Mem, syms: &[(&str, u64)]) -> Program {
    new_program(Arc::new(mem), syms)
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

// ---------- the lockless ring buffer, written like kernel/printk/printk_ringbuffer.c ----------

const PRB_SYM: u64 = 0xffff_ffff_8200_0000;
const PRB: u64 = 0xffff_ffff_8200_1000;
const DESCS: u64 = 0xffff_8880_0010_0000;
const INFOS: u64 = 0xffff_8880_0020_0000;
const DATA: u64 = 0xffff_8880_0030_0000;
const ID_MASK: u64 = (1 << 62) - 1;
const FINALIZED: u64 = 2;

struct Ring {
    count_bits: u32,
    size_bits: u32,
    descs: Vec<u8>,
    infos: Vec<u8>,
    data: Vec<u8>,
    head_id: u64,
    tail_id: u64,
    head_lpos: u64,
    next_seq: u64,
    /// Live records, oldest first: (id, begin lpos, expected record).
    live: VecDeque<(u64, u64, LogRecord)>,
    /// Ids of live records whose data block wraps.
    wrapped: Vec<u64>,
}

impl Ring {
    fn new(count_bits: u32, size_bits: u32) -> Ring {
        let count = 1u64 << count_bits;
        let id0 = (0u64.wrapping_sub(count + 1)) & ID_MASK; // DESC0_ID
        let mut r = Ring {
            count_bits,
            size_bits,
            descs: vec![0; count as usize * 24],
            infos: vec![0; count as usize * 88],
            data: vec![0; 1 << size_bits],
            head_id: id0,
            tail_id: id0,
            head_lpos: 0u64.wrapping_sub(1 << size_bits), // BLK0_LPOS
            next_seq: 0,
            live: VecDeque::new(),
            wrapped: Vec::new(),
        };
        // the bootstrap descriptor: reusable, data-less (FAILED_LPOS)
        let last = (count as usize - 1) * 24;
        put_u64(&mut r.descs, last, (3 << 62) | id0);
        put_u64(&mut r.descs, last + 8, 1);
        put_u64(&mut r.descs, last + 16, 1);
        r
    }

    fn count(&self) -> u64 {
        1 << self.count_bits
    }

    /// Makes the oldest live record reusable and moves the tail past it.
    fn retire_oldest(&mut self) {
        if let Some((id, _, _)) = self.live.pop_front() {
            let off = (id & (self.count() - 1)) as usize * 24;
            put_u64(&mut self.descs, off, (3 << 62) | id);
            self.tail_id = self.live.front().map_or((id + 1) & ID_MASK, |l| l.0);
        }
    }

    fn push(&mut self, text: &str, level: u8, caller_id: u32, subsystem: &str) -> u64 {
        let size = 1u64 << self.size_bits;
        let id = (self.head_id + 1) & ID_MASK;
        while !self.live.is_empty() && id.wrapping_sub(self.tail_id) & ID_MASK >= self.count() {
            self.retire_oldest();
        }
        if self.live.is_empty() {
            self.tail_id = id;
        }
        self.head_id = id;
        let idx = (id & (self.count() - 1)) as usize;
        let seq = self.next_seq;
        self.next_seq += 1;
        assert_eq!(seq & (self.count() - 1), idx as u64);

        let (begin, next) = if text.is_empty() {
            (3, 3) // NO_LPOS
        } else {
            let blk = (8 + text.len() as u64).next_multiple_of(8);
            let begin = self.head_lpos;
            let mut next = begin.wrapping_add(blk);
            let wraps = (begin >> self.size_bits) != (next >> self.size_bits);
            if wraps {
                next = (next & !(size - 1)).wrapping_add(blk);
            }
            // push the data tail: retire records whose blocks the new one overwrites
            while let Some(&(_, b, _)) = self.live.front() {
                if b != 3 && next.wrapping_sub(b) > size {
                    self.retire_oldest();
                } else {
                    break;
                }
            }
            let bi = (begin & (size - 1)) as usize;
            put_u64(&mut self.data, bi, id);
            let ti = if wraps {
                put_u64(&mut self.data, 0, id);
                self.wrapped.push(id);
                8
            } else {
                bi + 8
            };
            self.data[ti..ti + text.len()].copy_from_slice(text.as_bytes());
            self.head_lpos = next;
            (begin, next)
        };
        let d = idx * 24;
        put_u64(&mut self.descs, d, (FINALIZED << 62) | id);
        put_u64(&mut self.descs, d + 8, begin);
        put_u64(&mut self.descs, d + 16, next);
        let i = idx * 88;
        let info = &mut self.infos[i..i + 88];
        info.fill(0);
        let ts = 1_000_000 * seq + 123;
        put_u64(info, 0, seq);
        put_u64(info, 8, ts);
        info[16..18].copy_from_slice(&(text.len() as u16).to_le_bytes());
        info[18] = 0;
        info[19] = (level << 5) | 0x4; // level:3 above flags:5 (LOG_CONT-ish flag bits)
        info[20..24].copy_from_slice(&caller_id.to_le_bytes());
        info[24..24 + subsystem.len()].copy_from_slice(subsystem.as_bytes());
        let dict = if subsystem.is_empty() {
            vec![]
        } else {
            vec![("SUBSYSTEM".to_string(), subsystem.to_string())]
        };
        let rec = LogRecord {
            seq,
            ts_nsec: ts,
            level,
            facility: 0,
            flags: 4,
            caller_id: Some(caller_id),
            text: text.into(),
            dict,
        };
        self.live.push_back((id, begin, rec));
        id
    }

    fn set_state(&mut self, id: u64, sv: u64) {
        let off = (id & (self.count() - 1)) as usize * 24;
        put_u64(&mut self.descs, off, sv);
    }

    fn expected(&self) -> Vec<LogRecord> {
        self.live.iter().map(|l| l.2.clone()).collect()
    }

    fn memory(&self) -> Mem {
        let mut m = Mem::default();
        let mut sym = vec![0u8; 8];
        put_u64(&mut sym, 0, PRB);
        m.map(PRB_SYM, sym);
        let mut rb = vec![0u8; 88];
        rb[0..4].copy_from_slice(&self.count_bits.to_le_bytes());
        put_u64(&mut rb, 8, DESCS);
        put_u64(&mut rb, 16, INFOS);
        put_u64(&mut rb, 24, self.head_id);
        put_u64(&mut rb, 32, self.tail_id);
        rb[48..52].copy_from_slice(&self.size_bits.to_le_bytes());
        put_u64(&mut rb, 56, DATA);
        put_u64(&mut rb, 64, self.head_lpos);
        m.map(PRB, rb);
        m.map(DESCS, self.descs.clone());
        m.map(INFOS, self.infos.clone());
        m.map(DATA, self.data.clone());
        m
    }

    fn read(&self, edit: impl FnOnce(&mut Mem)) -> Result<Log, kdive_program::ProgramError> {
        let mut m = self.memory();
        edit(&mut m);
        let prog = program(m, &[("prb", PRB_SYM), ("pid_max", PRB_SYM + 0x100)]);
        read_log(&prog)
    }
}

fn text_for(i: usize) -> String {
    match i % 4 {
        0 => format!("message {i}: short"),
        1 => format!("message {i}: a somewhat longer line of kernel log text"),
        2 => format!("message {i}: two lines\n  second line of {i}"),
        _ => format!("m{i}"),
    }
}

#[test]
fn lockless_wrapped_blocks_and_descriptors() {
    let mut r = Ring::new(4, 9);
    for i in 0..40 {
        r.push(
            &text_for(i),
            (i % 8) as u8,
            if i % 5 == 0 {
                0x8000_0001
            } else {
                100 + i as u32
            },
            if i % 3 == 0 { "pci" } else { "" },
        );
    }
    assert!(
        r.live.iter().any(|l| r.wrapped.contains(&l.0)),
        "test setup: a live record must wrap"
    );
    let log = r.read(|_| {}).unwrap();
    assert_eq!(log.problems, Vec::<String>::new());
    assert_eq!(log.records, r.expected());
    assert!(log.records.len() >= 8);
}

#[test]
fn lockless_empty_text_record_is_kept() {
    let mut r = Ring::new(4, 10);
    r.push("before", 6, 1, "");
    r.push("", 6, 1, "");
    r.push("after", 6, 1, "");
    let log = r.read(|_| {}).unwrap();
    assert_eq!(log.records, r.expected());
    assert_eq!(log.records[1].text, "");
}

#[test]
fn lockless_reserved_and_stale_descriptors_are_skipped() {
    let mut r = Ring::new(4, 10);
    let ids: Vec<u64> = (0..6)
        .map(|i| r.push(&format!("record {i}"), 6, 1, ""))
        .collect();
    r.set_state(ids[2], ids[2]); // reserved (state 0) by a writer that never committed
    r.set_state(
        ids[4],
        (FINALIZED << 62) | (ids[4].wrapping_sub(16) & ID_MASK),
    ); // previous wrap's id
    r.set_state(ids[5], (1 << 62) | ids[5]); // committed, not finalized: kept
    let log = r.read(|_| {}).unwrap();
    let texts: Vec<&str> = log.records.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["record 0", "record 1", "record 3", "record 5"]);
    assert!(log.problems.is_empty(), "{:?}", log.problems);
}

#[test]
fn lockless_overwritten_block_is_a_problem() {
    let mut r = Ring::new(4, 10);
    r.push("first", 6, 1, "");
    r.push("second", 6, 1, "");
    let mut data = r.data.clone();
    put_u64(&mut data, 16, 0x1234); // block id of "second" (begins at data offset 16)
    let log = r
        .read(|m| {
            m.map(DATA, data);
        })
        .unwrap();
    assert_eq!(log.records.len(), 1);
    assert_eq!(log.problems.len(), 1);
    assert!(
        log.problems[0].contains("seq 1") && log.problems[0].contains("0x1234"),
        "{:?}",
        log.problems
    );
}

#[test]
fn lockless_missing_data_page_keeps_the_rest() {
    let mut r = Ring::new(7, 13); // 128 descriptors, 8 KiB of text: two pages
    for i in 0..120 {
        r.push(
            &format!("record number {i} with some padding text"),
            6,
            1,
            "",
        );
    }
    let expected = r.expected();
    let log = r
        .read(|m| {
            m.exclude_page(DATA + 0x1000);
        })
        .unwrap();
    let lost: Vec<&LogRecord> = expected
        .iter()
        .filter(|e| !log.records.contains(e))
        .collect();
    assert!(!lost.is_empty() && !log.records.is_empty());
    assert_eq!(log.records.len() + lost.len(), expected.len());
    assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
    let p = &log.problems[0];
    assert!(
        p.contains("text data ring") && p.contains(&format!("{} record(s) lost", lost.len())),
        "{p}"
    );
    assert!(p.contains("excluded"), "{p}");
    // every kept record is intact
    for rec in &log.records {
        assert!(expected.contains(rec));
    }
}

#[test]
fn lockless_missing_descriptor_and_info_pages() {
    let mut r = Ring::new(8, 14); // 256 descriptors: 6 KiB of descs, 22 KiB of infos
    for i in 0..200 {
        r.push(&format!("r{i}"), 6, 1, "");
    }
    let log = r
        .read(|m| {
            m.exclude_page(DESCS + 0x1000);
            m.exclude_page(INFOS + 0x3000);
        })
        .unwrap();
    assert_eq!(log.problems.len(), 2, "{:?}", log.problems);
    assert!(
        log.problems[0].contains("descriptor array")
            && log.problems[1].contains("printk_info array")
    );
    assert!(log.records.len() > 100 && log.records.len() < 200);
    assert!(log.records.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[test]
fn lockless_garbage_tail_is_bounded() {
    let mut r = Ring::new(4, 10);
    for i in 0..10 {
        r.push(&format!("record {i}"), 6, 1, "");
    }
    let expected = r.expected();
    let t0 = Instant::now();
    let log = r
        .read(|m| {
            m.put_u64(PRB + 32, 0x2bad_0000_dead_beef); // tail_id
        })
        .unwrap();
    assert_eq!(log.records, expected);
    assert_eq!(log.problems.len(), 1);
    assert!(log.problems[0].contains("tail_id"), "{:?}", log.problems);

    // head and tail both garbage: nothing matches, an error (quickly), not a hang
    let err = r
        .read(|m| {
            m.put_u64(PRB + 24, 0x0123_4567_89ab_cdef);
            m.put_u64(PRB + 32, 0x3fff_ffff_ffff_fff0);
        })
        .unwrap_err();
    assert!(err.to_string().contains("head_id"), "{err}");
    // absurd ring sizes are refused before any allocation
    for (off, v) in [(0u64, 60u32), (48, 40)] {
        let err = r
            .read(|m| {
                m.write(PRB + off, &v.to_le_bytes());
            })
            .unwrap_err();
        assert!(err.to_string().contains("bits"), "{err}");
    }
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[test]
fn lockless_unreadable_header_is_an_error() {
    let r = Ring::new(4, 10);
    let err = r.read(|m| {
        m.unmap(PRB);
    });
    assert!(err.is_err());
}

// ---------- the variable-length log_buf ----------

const LOG_BUF_PTR: u64 = 0xffff_ffff_8300_0000;
const LOG_BUF: u64 = 0xffff_8880_0040_0000;
const HDR: usize = 20;

/// log_buf written like log_store() of 4.x/5.x (4-byte aligned records, zero header on wrap).
struct OldLog {
    buf: Vec<u8>,
    first_idx: usize,
    next_idx: usize,
    first_seq: u64,
    next_seq: u64,
    live: VecDeque<(usize, LogRecord)>,
}

impl OldLog {
    fn new(len: usize) -> OldLog {
        OldLog {
            buf: vec![0; len],
            first_idx: 0,
            next_idx: 0,
            first_seq: 0,
            next_seq: 0,
            live: VecDeque::new(),
        }
    }

    fn retire_oldest(&mut self) {
        self.live.pop_front();
        self.first_seq += 1;
        self.first_idx = self.live.front().map_or(self.next_idx, |l| l.0);
    }

    /// Frees space until `size` bytes fit at `at` without overwriting a live record.
    fn make_room(&mut self, at: usize, size: usize) {
        while let Some(&(idx, _)) = self.live.front() {
            if idx >= at && idx < at + size {
                self.retire_oldest();
            } else {
                break;
            }
        }
    }

    fn push(&mut self, text: &str, dict: &[(&str, &str)]) {
        let dict_bytes: Vec<u8> = dict
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\0")
            .into_bytes();
        let size = (HDR + text.len() + dict_bytes.len()).next_multiple_of(4);
        if self.next_idx + size + HDR > self.buf.len() {
            self.make_room(self.next_idx, self.buf.len() - self.next_idx);
            let end = (self.next_idx + HDR).min(self.buf.len());
            self.buf[self.next_idx..end].fill(0);
            self.next_idx = 0;
        }
        self.make_room(self.next_idx, size + HDR);
        let i = self.next_idx;
        let seq = self.next_seq;
        self.next_seq += 1;
        let ts = 5_000_000 * seq;
        let level = (seq % 8) as u8;
        let h = &mut self.buf[i..i + size];
        h.fill(0);
        put_u64(h, 0, ts);
        h[8..10].copy_from_slice(&(size as u16).to_le_bytes());
        h[10..12].copy_from_slice(&(text.len() as u16).to_le_bytes());
        h[12..14].copy_from_slice(&(dict_bytes.len() as u16).to_le_bytes());
        h[14] = 3;
        h[15] = (level << 5) | 2;
        h[16..20].copy_from_slice(&(7 + seq as u32).to_le_bytes());
        h[HDR..HDR + text.len()].copy_from_slice(text.as_bytes());
        h[HDR + text.len()..HDR + text.len() + dict_bytes.len()].copy_from_slice(&dict_bytes);
        self.next_idx = i + size;
        if self.live.is_empty() {
            self.first_idx = i;
            self.first_seq = seq;
        }
        let dict = dict
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let rec = LogRecord {
            seq,
            ts_nsec: ts,
            level,
            facility: 3,
            flags: 2,
            caller_id: Some(7 + seq as u32),
            text: text.into(),
            dict,
        };
        self.live.push_back((i, rec));
    }

    fn read(&self, edit: impl FnOnce(&mut Mem)) -> Result<Log, kdive_program::ProgramError> {
        let mut m = Mem::default();
        let mut v = vec![0u8; 0x40];
        put_u64(&mut v, 0, LOG_BUF);
        v[8..12].copy_from_slice(&(self.buf.len() as u32).to_le_bytes());
        v[12..16].copy_from_slice(&(self.first_idx as u32).to_le_bytes());
        v[16..20].copy_from_slice(&(self.next_idx as u32).to_le_bytes());
        put_u64(&mut v, 24, self.first_seq);
        m.map(LOG_BUF_PTR, v);
        m.map(LOG_BUF, self.buf.clone());
        edit(&mut m);
        let prog = program(
            m,
            &[
                ("log_buf", LOG_BUF_PTR),
                ("log_buf_len", LOG_BUF_PTR + 8),
                ("log_first_idx", LOG_BUF_PTR + 12),
                ("log_next_idx", LOG_BUF_PTR + 16),
                ("log_first_seq", LOG_BUF_PTR + 24),
            ],
        );
        read_log(&prog)
    }
}

#[test]
fn old_log_buf_with_wrap() {
    let mut l = OldLog::new(512);
    for i in 0..30 {
        let dict: &[(&str, &str)] = if i % 4 == 0 {
            &[("SUBSYSTEM", "pci"), ("DEVICE", "+pci:0000:00:01.0")]
        } else {
            &[]
        };
        l.push(
            &format!(
                "old record {i}{}",
                if i % 3 == 0 {
                    "\nwith a second line"
                } else {
                    ""
                }
            ),
            dict,
        );
    }
    assert!(
        l.first_idx > l.next_idx,
        "test setup: the buffer must have wrapped"
    );
    let log = l.read(|_| {}).unwrap();
    assert_eq!(log.problems, Vec::<String>::new());
    let expected: Vec<LogRecord> = l.live.iter().map(|x| x.1.clone()).collect();
    assert_eq!(log.records, expected);
    assert!(log.records.iter().any(|r| r.dict.len() == 2));
}

#[test]
fn old_log_buf_with_a_missing_page() {
    let mut l = OldLog::new(3 * 4096);
    for i in 0..400 {
        l.push(&format!("old record {i} with padding"), &[]);
    }
    // the page after the oldest record's is missing: the records before it survive
    let hole = ((l.first_idx / 4096 + 1) % 3 * 4096) as u64;
    let log = l
        .read(|m| {
            m.exclude_page(LOG_BUF + hole);
        })
        .unwrap();
    assert!(!log.records.is_empty(), "{:?}", log.problems);
    assert!(log.problems.len() >= 2, "{:?}", log.problems);
    let gap = format!("log_buf bytes {:#x}..{:#x}", hole, hole + 0x1000);
    assert!(log.problems[0].contains(&gap), "{:?}", log.problems);
    let expected: Vec<LogRecord> = l.live.iter().map(|x| x.1.clone()).collect();
    assert!(log.records.iter().all(|r| expected.contains(r)));
    // records before the gap survive
    assert_eq!(log.records[0], expected[0]);
}

#[test]
fn old_log_buf_loop_is_bounded() {
    let mut l = OldLog::new(256);
    for i in 0..3 {
        l.push(&format!("r{i}"), &[]);
    }
    // a record whose len points back at itself: len 0 at a non-zero index twice
    let log = l
        .read(|m| {
            let second = l.live[1].0;
            m.write(LOG_BUF + second as u64 + 8, &[0, 0]);
            m.write(LOG_BUF + 8, &(second as u16).to_le_bytes());
        })
        .unwrap();
    assert!(!log.problems.is_empty());
}

#[test]
fn no_log_buffer_is_an_error() {
    let prog = program(Mem::default(), &[]);
    assert!(read_log(&prog).is_err());
}

// ---------- corruption ----------

/// xorshift64*: a reproducible stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Overwrites 1..=16 random bytes of each region with random values (or whole words with
/// extreme ones), then reads: never a panic, always within a time bound.
fn corrupt(m: &mut Mem, rng: &mut Rng) {
    for bytes in m.regions_mut() {
        for _ in 0..=rng.below(16) {
            let i = rng.below(bytes.len());
            if rng.below(4) == 0 && i + 8 <= bytes.len() {
                let v = [0, u64::MAX, 1 << 63, 3, 1 << 62][rng.below(5)];
                put_u64(bytes, i & !7, v);
            } else {
                bytes[i] = rng.next() as u8;
            }
        }
    }
}

#[test]
fn random_corruption_never_panics() {
    let mut ring = Ring::new(5, 10);
    for i in 0..50 {
        ring.push(&text_for(i), 6, 1, if i % 2 == 0 { "usb" } else { "" });
    }
    let mut old = OldLog::new(1024);
    for i in 0..50 {
        old.push(&text_for(i), &[("DEVICE", "c1:2")]);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let t0 = Instant::now();
    for _ in 0..300 {
        let _ = ring.read(|m| corrupt(m, &mut rng));
        let _ = old.read(|m| corrupt(m, &mut rng));
    }
    assert!(t0.elapsed() < Duration::from_secs(20));
}
