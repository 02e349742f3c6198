//! `timer`: each CPU's timer wheel (when each timer fires, in jiffies, and how soon), and with
//! `-r` its high-resolution timers by clock.

use std::io::{self, Write};

use kdive_linux::timer;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::{center, symbol};
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `timer` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Timers {
    pub jiffies: u64,
    pub cpus: Vec<TimerCpu>,
    pub problems: Vec<String>,
}

/// One CPU's timer bases.
#[derive(Debug, Serialize, Deserialize)]
pub struct TimerCpu {
    pub cpu: u32,
    pub offline: bool,
    pub bases: Vec<TimerBase>,
}

/// One timer wheel.
#[derive(Debug, Serialize, Deserialize)]
pub struct TimerBase {
    /// `BASE_STD`, `BASE_DEF`; since 6.9 `BASE_LOCAL`, `BASE_GLOBAL`, `BASE_DEF`.
    pub name: String,
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub timers: Vec<WheelTimer>,
}

/// A timer on a wheel.
#[derive(Debug, Serialize, Deserialize)]
pub struct WheelTimer {
    pub expires: u64,
    /// Jiffies until it fires (negative: overdue).
    pub tte: i64,
    #[serde(with = "crate::hex")]
    pub timer_list: u64,
    #[serde(with = "crate::hex")]
    pub function: u64,
    pub symbol: String,
}

/// What `timer -r` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct HrTimers {
    /// The tick rate the clocks' "now" is computed with.
    pub hz: u64,
    pub cpus: Vec<HrTimerCpu>,
    pub problems: Vec<String>,
}

/// One CPU's high-resolution timer bases.
#[derive(Debug, Serialize, Deserialize)]
pub struct HrTimerCpu {
    pub cpu: u32,
    pub offline: bool,
    #[serde(with = "crate::hex")]
    pub cpu_base: u64,
    pub clocks: Vec<HrClock>,
}

/// One clock base.
#[derive(Debug, Serialize, Deserialize)]
pub struct HrClock {
    pub index: u32,
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// The clock: its reader's symbol (`ktime_get`) or its base type.
    pub clock: Option<String>,
    /// The clock's time at the last tick: jiffies since boot in nanoseconds, plus its offset.
    pub now_ns: i64,
    pub timers: Vec<HrTimer>,
}

/// A high-resolution timer.
#[derive(Debug, Serialize, Deserialize)]
pub struct HrTimer {
    pub softexpires_ns: i64,
    pub expires_ns: i64,
    /// Nanoseconds until it expires (negative: overdue).
    pub tte_ns: i64,
    #[serde(with = "crate::hex")]
    pub hrtimer: u64,
    #[serde(with = "crate::hex")]
    pub function: u64,
    pub symbol: String,
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "timer",
        source: e,
    }
}

/// Runs `timer`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::TIMER, args)?;
    let prog = s.kernel()?;
    let chosen = f
        .value('C')
        .map(|c| crate::ps::parse_cpus("timer", c))
        .transpose()?;
    let ncpus = kdive_linux::percpu::cpu_count(prog).map_err(program_error)?;
    let online = kdive_linux::percpu::online_cpus(prog).unwrap_or_else(|_| (0..ncpus).collect());
    let cpus: Vec<u32> = (0..ncpus)
        .filter(|c| chosen.as_ref().is_none_or(|l| l.contains(c)))
        .collect();
    let mut problems = Vec::new();
    if f.has('r') {
        // "now" is the time of the last tick, as crash computes it
        let hz = kdive_linux::machine::hz(prog).map_err(program_error)?;
        let ticks = timer::jiffies_since_boot(prog, hz).map_err(program_error)?;
        let tick_ns = (1_000_000_000 / hz.max(1)) as i64;
        let mut out = Vec::new();
        for &cpu in &cpus {
            if !online.contains(&cpu) {
                out.push(HrTimerCpu {
                    cpu,
                    offline: true,
                    cpu_base: 0,
                    clocks: Vec::new(),
                });
                continue;
            }
            let (cpu_base, bases, p) =
                timer::hrtimer_bases(prog, cpu, s.walk_limit).map_err(program_error)?;
            problems.extend(p);
            let clocks = bases
                .into_iter()
                .enumerate()
                .map(|(i, b)| {
                    let now = (ticks as i64)
                        .wrapping_mul(tick_ns)
                        .wrapping_add(b.offset_ns);
                    HrClock {
                        index: i as u32,
                        address: b.addr,
                        clock: b.get_time.map(|g| symbol(prog, g)).or(b.type_name),
                        now_ns: now,
                        timers: b
                            .timers
                            .iter()
                            .map(|t| HrTimer {
                                softexpires_ns: t.softexpires,
                                expires_ns: t.expires,
                                tte_ns: t.expires.wrapping_sub(now),
                                hrtimer: t.addr,
                                function: t.function,
                                symbol: symbol(prog, t.function),
                            })
                            .collect(),
                    }
                })
                .collect();
            out.push(HrTimerCpu {
                cpu,
                offline: false,
                cpu_base,
                clocks,
            });
        }
        return Ok(Box::new(HrTimers {
            hz,
            cpus: out,
            problems,
        }));
    }
    let jiffies = timer::jiffies(prog).map_err(program_error)?;
    let count = timer::timer_base_count(prog).map_err(program_error)?;
    let names = timer::base_names(count);
    let mut out = Vec::new();
    for &cpu in &cpus {
        let mut row = TimerCpu {
            cpu,
            offline: !online.contains(&cpu),
            bases: Vec::new(),
        };
        if !row.offline {
            let addrs = timer::timer_bases(prog, cpu, count).map_err(program_error)?;
            for (name, addr) in names.iter().zip(addrs) {
                let (timers, p) =
                    timer::wheel_timers(prog, addr, s.walk_limit).map_err(program_error)?;
                problems.extend(p);
                row.bases.push(TimerBase {
                    name: name.to_string(),
                    address: addr,
                    timers: timers
                        .into_iter()
                        .map(|t| WheelTimer {
                            expires: t.expires,
                            tte: t.expires.wrapping_sub(jiffies) as i64,
                            timer_list: t.addr,
                            function: t.function,
                            symbol: symbol(prog, t.function),
                        })
                        .collect(),
                });
            }
        }
        out.push(row);
    }
    Ok(Box::new(Timers {
        jiffies,
        cpus: out,
        problems,
    }))
}

impl Report for Timers {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        let j = self.jiffies.to_string();
        let flen = j.len().max("JIFFIES".len());
        writeln!(w, "{:<flen$}", "JIFFIES")?;
        writeln!(w, "{j:>flen$}\n")?;
        let mut shown = 0;
        for c in &self.cpus {
            if c.offline {
                writeln!(w, "TIMER_BASES[{}]: [OFFLINE]", c.cpu)?;
                continue;
            }
            if shown > 0 {
                writeln!(w)?;
            }
            shown += 1;
            for b in &c.bases {
                writeln!(w, "TIMER_BASES[{}][{}]: {:x}", c.cpu, b.name, b.address)?;
                // room for the largest time to expiry and a sign
                let widest = b
                    .timers
                    .iter()
                    .map(|t| t.tte.unsigned_abs())
                    .max()
                    .unwrap_or(0);
                let tlen = (widest.to_string().len() + 1).max(3);
                writeln!(
                    w,
                    "  {:<flen$}     {:<tlen$}     TIMER_LIST     FUNCTION",
                    "EXPIRES", "TTE"
                )?;
                for t in &b.timers {
                    writeln!(
                        w,
                        "  {:>flen$}  {:>tlen$}  {:>16}  {:>16x}  <{}>",
                        t.expires,
                        t.tte,
                        format!("{:x}", t.timer_list),
                        t.function,
                        t.symbol
                    )?;
                }
                if b.timers.is_empty() {
                    writeln!(w, "  (none)")?;
                }
            }
        }
        for p in &self.problems {
            writeln!(w, "timer: {p}")?;
        }
        Ok(())
    }
}

impl HrClock {
    fn write(&self, w: &mut dyn Write) -> io::Result<()> {
        write!(
            w,
            "  CLOCK: {}  HRTIMER_CLOCK_BASE: {:x}",
            self.index, self.address
        )?;
        match &self.clock {
            Some(c) => writeln!(w, "  [{c}]")?,
            None => writeln!(w)?,
        }
        let Some(last) = self.timers.last() else {
            return writeln!(w, "  (empty)");
        };
        // crash sizes the columns by the last (latest) timer
        let soft_len = last.softexpires_ns.to_string().len().max(11);
        let exp_len = last.expires_ns.to_string().len().max(7);
        let tte_len = last.tte_ns.to_string().len();
        writeln!(w, "  {}", center("CURRENT", soft_len, true))?;
        writeln!(w, "  {}", center(&self.now_ns.to_string(), soft_len, true))?;
        writeln!(
            w,
            "  {}  {}  {}  {}  {}",
            center("SOFTEXPIRES", soft_len, true),
            center("EXPIRES", exp_len, true),
            center("TTE", tte_len, true),
            center("HRTIMER", 16, false),
            center("FUNCTION", 16, false)
        )?;
        for t in &self.timers {
            writeln!(
                w,
                "  {}  {}  {:>tte_len$}  {:x}  {:x}  <{}>",
                center(&t.softexpires_ns.to_string(), soft_len, true),
                center(&t.expires_ns.to_string(), exp_len, true),
                t.tte_ns,
                t.hrtimer,
                t.function,
                t.symbol
            )?;
        }
        Ok(())
    }
}

impl Report for HrTimers {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        for (i, c) in self.cpus.iter().enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            if c.offline {
                writeln!(w, "CPU: {}  [OFFLINE]", c.cpu)?;
                continue;
            }
            writeln!(w, "CPU: {}  HRTIMER_CPU_BASE: {:x}", c.cpu, c.cpu_base)?;
            for (j, clock) in c.clocks.iter().enumerate() {
                if j > 0 {
                    writeln!(w)?;
                }
                clock.write(w)?;
            }
        }
        for p in &self.problems {
            writeln!(w, "timer: {p}")?;
        }
        Ok(())
    }
}
