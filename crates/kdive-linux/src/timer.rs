//! Timers: each CPU's timer wheel (`timer_bases`, the hashed wheel since 4.8) and its
//! high-resolution timer bases (`hrtimer_bases`), and the kernel's notion of time in jiffies.

use kdive_debuginfo::TypeKind;
use kdive_program::object::offset_of;
use kdive_program::{Program, ProgramError, Result};

use crate::percpu::per_cpu_address;
use crate::rbtree::inorder;

/// Most timer bases a CPU has (`NR_BASES`: standard and deferrable, and since 6.9 local,
/// global and deferrable).
const MAX_BASES: u64 = 3;

/// `jiffies` at the time of the dump.
pub fn jiffies(prog: &Program) -> Result<u64> {
    prog.read_u64(prog.symbol_address("jiffies")?)
}

/// Jiffies since boot: `jiffies_64` less `INITIAL_JIFFIES`, which starts the count five minutes
/// before the 32-bit wrap.
pub fn jiffies_since_boot(prog: &Program, hz: u64) -> Result<u64> {
    let j = prog.read_u64(prog.symbol_address("jiffies_64")?)?;
    let initial = u64::from((300u64.wrapping_mul(hz) as u32).wrapping_neg());
    Ok(j.wrapping_sub(initial))
}

/// The names of a CPU's timer bases, in order: `BASE_STD`, `BASE_DEF`; since 6.9 (three
/// bases) `BASE_LOCAL`, `BASE_GLOBAL`, `BASE_DEF`.
pub fn base_names(count: usize) -> &'static [&'static str] {
    match count {
        1 => &["BASE_STD"],
        2 => &["BASE_STD", "BASE_DEF"],
        _ => &["BASE_LOCAL", "BASE_GLOBAL", "BASE_DEF"],
    }
}

/// How many timer bases each CPU has (`NR_BASES`): the length of the per-CPU `timer_bases`
/// array as the kernel's BTF declares it, else the symbol's size over one `struct timer_base`.
pub fn timer_base_count(prog: &Program) -> Result<usize> {
    let declared = crate::percpu::per_cpu_var_type(prog, "timer_bases").and_then(|t| {
        match prog.types().resolve(t).ok()?.1.kind {
            TypeKind::Array { len, .. } => Some(len),
            _ => None,
        }
    });
    let n = match declared {
        Some(n) => n,
        None => {
            let sym = prog
                .symbols()
                .by_name("timer_bases")
                .ok_or_else(|| ProgramError::NoSymbol("timer_bases".into()))?;
            let size = prog
                .types()
                .size_of(prog.type_("struct timer_base")?)?
                .max(1);
            sym.size.map_or(1, |s| s / size)
        }
    };
    Ok(n.clamp(1, MAX_BASES) as usize)
}

/// The timer bases of `cpu`, `count` of them.
pub fn timer_bases(prog: &Program, cpu: u32, count: usize) -> Result<Vec<u64>> {
    let first = per_cpu_address(prog, "timer_bases", cpu)?;
    let size = prog.types().size_of(prog.type_("struct timer_base")?)?;
    Ok((0..count as u64).map(|i| first + i * size).collect())
}

/// A timer on a wheel.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct WheelTimer {
    /// Its `struct timer_list`.
    pub addr: u64,
    /// When it fires, in jiffies.
    pub expires: u64,
    pub function: u64,
}

/// The timers queued on the wheel of the `struct timer_base` at `base`, soonest first, and
/// what could not be read. Every bucket's chain is bounded; all of them together by `limit`.
pub fn wheel_timers(
    prog: &Program,
    base: u64,
    limit: usize,
) -> Result<(Vec<WheelTimer>, Vec<String>)> {
    let vectors = prog.object("struct timer_base", base)?.member("vectors")?;
    let n = vectors.array_len()?.min(1 << 16);
    let start = vectors.address().unwrap_or(0);
    let tl = prog.type_("struct timer_list")?;
    let entry_off = offset_of(prog, tl, "entry")?;
    let next_off = offset_of(prog, prog.type_("struct hlist_node")?, "next")?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut first = vec![0u8; n as usize * 8];
    prog.read(start, &mut first)?;
    for (i, w) in first.chunks_exact(8).enumerate() {
        let head = u64::from_le_bytes(w.try_into().unwrap_or_default());
        if head == 0 {
            continue;
        }
        let room = limit.saturating_sub(out.len());
        let (nodes, err) = crate::list::chain(prog, head, next_off, room, "timer_list");
        if let Some(e) = err {
            problems.push(format!("timer wheel bucket {i} of {base:#x}: {e}"));
        }
        for node in nodes {
            let t = node.wrapping_sub(entry_off);
            let o = prog.object("struct timer_list", t)?;
            match (
                o.member("expires").and_then(|e| e.read_u64()),
                o.member("function").and_then(|f| f.read_u64()),
            ) {
                (Ok(expires), Ok(function)) => out.push(WheelTimer {
                    addr: t,
                    expires,
                    function,
                }),
                (Err(e), _) | (_, Err(e)) => problems.push(format!("timer_list {t:#x}: {e}")),
            }
        }
        if out.len() >= limit {
            problems.push(format!("timer wheel {base:#x}: more than {limit} timers"));
            break;
        }
    }
    // a stable sort: timers firing together stay in bucket order
    out.sort_by_key(|t| t.expires);
    Ok((out, problems))
}

/// A high-resolution timer.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct HrTimer {
    /// Its `struct hrtimer`.
    pub addr: u64,
    /// The earliest and latest it may fire, nanoseconds of its clock.
    pub softexpires: i64,
    pub expires: i64,
    pub function: u64,
}

/// One clock base of a CPU's high-resolution timers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HrClockBase {
    /// Its `struct hrtimer_clock_base`.
    pub addr: u64,
    /// The clock's reader (`ktime_get`...), before 6.18.
    pub get_time: Option<u64>,
    /// The clock's `enum hrtimer_base_type` name, from 6.18 when `get_time` is gone.
    pub type_name: Option<String>,
    /// The clock's offset from the monotonic clock (`offset`), nanoseconds.
    pub offset_ns: i64,
    /// Its timers, soonest first.
    pub timers: Vec<HrTimer>,
}

/// The `struct hrtimer_cpu_base` of `cpu`, and its clock bases with their timers; and what
/// could not be read.
pub fn hrtimer_bases(
    prog: &Program,
    cpu: u32,
    limit: usize,
) -> Result<(u64, Vec<HrClockBase>, Vec<String>)> {
    let cpu_base = per_cpu_address(prog, "hrtimer_bases", cpu)?;
    let bases = prog
        .object("struct hrtimer_cpu_base", cpu_base)?
        .member("clock_base")?;
    let n = bases.array_len()?.min(64);
    let hr = prog.type_("struct hrtimer")?;
    let node_off = offset_of(prog, hr, "node")?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for i in 0..n {
        let b = bases.index(i)?;
        let addr = b.address().unwrap_or(0);
        let get_time = b.member("get_time").and_then(|g| g.read_u64()).ok();
        let type_name = if get_time.is_none() {
            b.member("index")
                .and_then(|x| x.read_u64())
                .ok()
                .and_then(|v| enumerator_name(prog, "enum hrtimer_base_type", v))
        } else {
            None
        };
        let offset_ns = b.member("offset").and_then(|o| o.read_i64()).unwrap_or(0);
        let root = b.member("active.rb_root.rb_root.rb_node")?.read_u64()?;
        let (nodes, err) = inorder(prog, root, limit)?;
        if let Some(e) = err {
            problems.push(format!("hrtimers of clock base {addr:#x}: {e}"));
        }
        let mut timers = Vec::with_capacity(nodes.len());
        for node in nodes {
            // the rb_node is the first member of the timerqueue_node, itself `hrtimer.node`
            let t = node.wrapping_sub(node_off);
            let o = prog.object("struct hrtimer", t)?;
            let read = || -> Result<HrTimer> {
                Ok(HrTimer {
                    addr: t,
                    softexpires: o.member("_softexpires")?.read_i64()?,
                    expires: o.member("node.expires")?.read_i64()?,
                    function: o.member("function")?.read_u64()?,
                })
            };
            match read() {
                Ok(h) => timers.push(h),
                Err(e) => problems.push(format!("hrtimer {t:#x}: {e}")),
            }
        }
        out.push(HrClockBase {
            addr,
            get_time,
            type_name,
            offset_ns,
            timers,
        });
    }
    Ok((cpu_base, out, problems))
}

/// The name of the enumerator of `spec` whose value is `value`.
fn enumerator_name(prog: &Program, spec: &str, value: u64) -> Option<String> {
    let ty = prog.type_(spec).ok()?;
    let (_, t) = prog.types().resolve(ty).ok()?;
    match &t.kind {
        TypeKind::Enum { values, .. } => values
            .iter()
            .find(|(_, v)| *v as u64 == value)
            .map(|(n, _)| n.to_string()),
        _ => None,
    }
}
