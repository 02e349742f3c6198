//! Scalable bitmaps: a `struct sbitmap_queue` (the block layer's tag allocator) read whole.

use kdive_debuginfo::TypeKind;
use kdive_program::{Object, Program, Result};

/// `SBQ_WAIT_QUEUES`: the wait queues of every `sbitmap_queue`.
pub const SBQ_WAIT_QUEUES: u64 = 8;
/// Most words of a bitmap read (1 << 16 words hold at least 65536 bits).
const MAX_WORDS: u64 = 1 << 16;

/// One `struct sbitmap_word`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SbitmapWord {
    pub word: u64,
    /// Bits freed but not yet cleared from `word` (0 before 5.0, which has no `cleared`).
    pub cleared: u64,
}

/// One `struct sbq_wait_state`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct WaitState {
    /// `wait_cnt`; none where the kernel has no such member (6.2 and backports).
    pub wait_cnt: Option<i64>,
    /// Some task waits on its `wait` queue.
    pub active: bool,
}

/// A `struct sbitmap`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sbitmap {
    pub depth: u64,
    /// log2 of the bits per word.
    pub shift: u64,
    pub map_nr: u64,
    /// The `map` words (at most `map_nr`).
    pub words: Vec<SbitmapWord>,
    /// Whether the bitmap has a `cleared` word per word (5.0 and later).
    pub has_cleared: bool,
}

/// A `struct sbitmap_queue`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SbitmapQueue {
    pub sb: Sbitmap,
    /// The per-CPU allocation hints, one per possible CPU.
    pub alloc_hint: Vec<u32>,
    pub wake_batch: u64,
    pub wake_index: i64,
    /// `ws_active` (5.0 and later).
    pub ws_active: Option<i64>,
    pub wait_states: Vec<WaitState>,
    /// `round_robin`, of the queue (before 5.13) or of its bitmap.
    pub round_robin: Option<bool>,
    /// `min_shallow_depth` (4.18 and later).
    pub min_shallow_depth: Option<u64>,
}

/// Reads an `atomic_t` member (or a plain integer one) as a signed value.
fn atomic(o: &Object<'_>, name: &str) -> Result<i64> {
    let m = o.member(name)?;
    match m.member("counter") {
        Ok(c) => c.read_i64(),
        Err(_) => m.read_i64(),
    }
}

impl Sbitmap {
    /// Reads the `struct sbitmap` `sb` and its words.
    pub fn read(prog: &Program, sb: &Object<'_>) -> Result<Sbitmap> {
        let depth = sb.member("depth")?.read_u64()?;
        let shift = sb.member("shift")?.read_u64()?;
        let map_nr = sb.member("map_nr")?.read_u64()?;
        let map = sb.member("map")?.read_u64()?;
        let wtype = prog.type_("struct sbitmap_word")?;
        let wsize = prog.types().size_of(wtype)?;
        let mut words = Vec::new();
        let mut has_cleared = false;
        for i in 0..map_nr.min(MAX_WORDS) {
            let w = prog.object("struct sbitmap_word", map.wrapping_add(i * wsize))?;
            let cleared = match w.member("cleared") {
                Ok(c) => {
                    has_cleared = true;
                    c.read_u64()?
                }
                Err(_) => 0,
            };
            words.push(SbitmapWord {
                word: w.member("word")?.read_u64()?,
                cleared,
            });
        }
        Ok(Sbitmap {
            depth,
            shift,
            map_nr,
            words,
            has_cleared,
        })
    }

    /// The bits word `i` holds (the kernel's `__map_depth`): all but the last word hold
    /// `1 << shift`.
    pub fn word_depth(&self, i: u64) -> u64 {
        let per = 1u64.checked_shl(self.shift as u32).unwrap_or(0);
        per.min(self.depth.saturating_sub(i.saturating_mul(per)))
            .min(64)
    }

    fn weight(&self, pick: impl Fn(&SbitmapWord) -> u64) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let d = self.word_depth(i as u64);
                let mask = if d >= 64 { !0 } else { (1u64 << d) - 1 };
                u64::from((pick(w) & mask).count_ones())
            })
            .sum()
    }

    /// The bits set in the words (the kernel's `sbitmap_weight`).
    pub fn weight_set(&self) -> u64 {
        self.weight(|w| w.word)
    }

    /// The bits freed but not yet cleared (`sbitmap_cleared`).
    pub fn weight_cleared(&self) -> u64 {
        self.weight(|w| w.cleared)
    }

    /// The bits in use: set and not cleared, as the kernel's `sbitmap_show` counts them.
    pub fn busy(&self) -> u64 {
        self.weight_set().saturating_sub(self.weight_cleared())
    }

    /// The bits in use (set and not cleared), in order.
    pub fn set_bits(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for (i, w) in self.words.iter().enumerate() {
            let word = w.word & !w.cleared;
            let base = (i as u64) << self.shift;
            out.extend(
                (0..self.word_depth(i as u64))
                    .filter(|b| word >> b & 1 == 1)
                    .map(|b| base + b),
            );
        }
        out
    }

    /// The bitmap as bytes, bit 0 first, each word contributing its depth's bits (the kernel's
    /// `sbitmap_bitmap_show`); the last byte padded with zeros.
    pub fn bitmap_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut byte, mut used) = (0u8, 0u32);
        for (i, w) in self.words.iter().enumerate() {
            let word = w.word & !w.cleared;
            for b in 0..self.word_depth(i as u64) {
                byte |= ((word >> b & 1) as u8) << used;
                used += 1;
                if used == 8 {
                    out.push(byte);
                    (byte, used) = (0, 0);
                }
            }
        }
        if used > 0 {
            out.push(byte);
        }
        out
    }
}

impl SbitmapQueue {
    /// Reads the `struct sbitmap_queue` at `addr`.
    pub fn read(prog: &Program, addr: u64) -> Result<SbitmapQueue> {
        let q = prog.object("struct sbitmap_queue", addr)?;
        let sb = q.member("sb")?;
        // the hints moved from the queue to the bitmap in 5.13
        let hint = q
            .member("alloc_hint")
            .or_else(|_| sb.member("alloc_hint"))?
            .read_u64()?;
        let mut alloc_hint = Vec::new();
        for cpu in crate::percpu::possible_cpus(prog)? {
            let at = hint.wrapping_add(crate::percpu::per_cpu_offset(prog, cpu)?);
            let mut b = [0u8; 4];
            prog.read(at, &mut b)?;
            alloc_hint.push(u32::from_le_bytes(b));
        }
        let ws = q.member("ws")?.read_u64()?;
        let stype = prog.type_("struct sbq_wait_state")?;
        let ssize = prog.types().size_of(stype)?;
        let mut wait_states = Vec::new();
        for i in 0..SBQ_WAIT_QUEUES {
            let s = prog.object("struct sbq_wait_state", ws.wrapping_add(i * ssize))?;
            let wait_cnt = s
                .member("wait_cnt")
                .ok()
                .map(|_| atomic(&s, "wait_cnt"))
                .transpose()?;
            // the kernel's waitqueue_active(): the list is not empty. crash compares next with
            // prev, which calls a queue with one waiter inactive.
            let head = s.member("wait")?;
            let list = head.member("head").or_else(|_| head.member("task_list"))?;
            let next = list.member("next")?.read_u64()?;
            let active = next != list.address().unwrap_or(0);
            wait_states.push(WaitState { wait_cnt, active });
        }
        let round_robin = match q
            .member("round_robin")
            .or_else(|_| sb.member("round_robin"))
        {
            Ok(r) => Some(r.read_u64()? != 0),
            Err(_) => None,
        };
        Ok(SbitmapQueue {
            sb: Sbitmap::read(prog, &sb)?,
            alloc_hint,
            wake_batch: q.member("wake_batch")?.read_u64()?,
            wake_index: atomic(&q, "wake_index")?,
            ws_active: q
                .member("ws_active")
                .ok()
                .map(|_| atomic(&q, "ws_active"))
                .transpose()?,
            wait_states,
            round_robin,
            min_shallow_depth: q
                .member("min_shallow_depth")
                .ok()
                .map(|m| m.read_u64())
                .transpose()?,
        })
    }
}

/// The address of a `struct sbitmap_queue` member of a structure (embedded since 5.16, a
/// pointer before: `blk_mq_tags.bitmap_tags`).
pub fn member_queue(prog: &Program, o: &Object<'_>, member: &str) -> Result<u64> {
    let b = o.member(member)?;
    match prog.types().resolve(b.type_id())?.1.kind {
        TypeKind::Pointer { .. } => b.read_u64(),
        _ => Ok(b.address().unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(depth: u64, shift: u64, words: &[(u64, u64)]) -> Sbitmap {
        Sbitmap {
            depth,
            shift,
            map_nr: words.len() as u64,
            words: words
                .iter()
                .map(|&(word, cleared)| SbitmapWord { word, cleared })
                .collect(),
            has_cleared: true,
        }
    }

    #[test]
    fn weights_count_only_each_words_depth() {
        // 136 bits in words of 32 (crash's help example's geometry): the last word holds 8
        let q = bitmap(136, 5, &[(0, 0), (0, 0), (0x3000, 0), (0, 0), (0x101, 0x1)]);
        assert_eq!(q.word_depth(4), 8);
        // bit 0 of the last word is cleared; its bit 8 is past its depth
        assert_eq!(q.weight_set(), 2 + 1);
        assert_eq!(q.weight_cleared(), 1);
        assert_eq!(q.busy(), 2);
        assert_eq!(q.set_bits(), vec![76, 77]);
        // crash's example bitmap for tags 76 and 77: `0000 0000 0000 0000 0030 ...`, 17 bytes
        let bytes = q.bitmap_bytes();
        assert_eq!(bytes.len(), 17);
        assert_eq!(bytes[9], 0x30);
        assert!(bytes.iter().enumerate().all(|(i, &b)| i == 9 || b == 0));
    }
}
