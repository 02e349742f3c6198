//! `irq`: every IRQ number with its descriptor and actions, as crash lists them.

use kdive_linux::irq::irqs;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `irq` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct IrqList {
    pub irqs: Vec<IrqRow>,
    pub problems: Vec<String>,
    /// False when something could not be read: IRQs may show no descriptor or miss actions.
    pub complete: bool,
}

/// One IRQ number.
#[derive(Debug, Serialize, Deserialize)]
pub struct IrqRow {
    pub irq: u64,
    #[serde(with = "crate::hex_opt")]
    pub irq_desc: Option<u64>,
    /// No descriptor was found where the descriptor tree could not be read.
    pub irq_desc_unknown: bool,
    pub actions: Vec<ActionRow>,
    pub error: Option<String>,
}

/// One `struct irqaction`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ActionRow {
    #[serde(with = "crate::hex")]
    pub irqaction: u64,
    pub name: Option<String>,
}

/// `irq -s`: the interrupts taken per CPU, as `/proc/interrupts` shows them.
#[derive(Debug, Serialize, Deserialize)]
pub struct IrqCounts {
    /// The CPUs of the columns.
    pub cpus: Vec<u32>,
    pub irqs: Vec<IrqCountRow>,
    pub problems: Vec<String>,
}

/// One IRQ with handlers.
#[derive(Debug, Serialize, Deserialize)]
pub struct IrqCountRow {
    pub irq: u64,
    /// One count per CPU of `cpus`.
    pub counts: Vec<u64>,
    /// The `irq_chip`'s name and the flow handler's (`IO-APIC`, `edge`).
    pub chip: Option<String>,
    pub flow: Option<String>,
    /// The names of its handlers.
    pub names: Vec<String>,
}

/// `irq -a`: which CPUs each IRQ with handlers may be delivered to.
#[derive(Debug, Serialize, Deserialize)]
pub struct IrqAffinity {
    pub irqs: Vec<IrqAffinityRow>,
    pub problems: Vec<String>,
}

/// One IRQ's affinity.
#[derive(Debug, Serialize, Deserialize)]
pub struct IrqAffinityRow {
    pub irq: u64,
    pub names: Vec<String>,
    pub cpus: Vec<u32>,
}

/// `irq -b`: the softirq vectors and their handlers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Softirqs {
    pub vectors: Vec<SoftirqRow>,
}

/// One softirq vector with a handler.
#[derive(Debug, Serialize, Deserialize)]
pub struct SoftirqRow {
    pub vector: u32,
    #[serde(with = "crate::hex")]
    pub action: u64,
    /// The handler's symbol (its address in hex without one), and its module.
    pub symbol: String,
    pub module: Option<String>,
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "irq",
        source: e,
    }
}

/// Runs `irq`: every IRQ, or with `-s`, `-a`, `-b` the counts, affinities or softirqs.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::IRQ, args)?;
    let prog = s.kernel()?;
    if f.has('b') {
        return Ok(Box::new(softirqs(prog)?));
    }
    if f.has('d') {
        return Ok(Box::new(idt(prog)?));
    }
    let (list, mut problems) = irqs(prog, s.walk_limit).map_err(program_error)?;
    let ncpus = kdive_linux::percpu::cpu_count(prog).map_err(program_error)?;
    let with_actions = list
        .iter()
        .filter_map(|i| Some((i, i.desc?)))
        .filter(|(i, _)| !i.actions.is_empty());
    let names = |i: &kdive_linux::irq::Irq| -> Vec<String> {
        i.actions.iter().filter_map(|a| a.name.clone()).collect()
    };
    if f.has('s') {
        let cpus: Vec<u32> = match f.value('c') {
            Some(spec) => crate::ps::parse_cpus("irq", spec)?,
            None => (0..ncpus).collect(),
        };
        let online = kdive_linux::percpu::online_cpus(prog).unwrap_or_else(|_| cpus.clone());
        let cpus: Vec<u32> = cpus.into_iter().filter(|c| online.contains(c)).collect();
        let mut rows = Vec::new();
        for (i, desc) in with_actions {
            match kdive_linux::irq::irq_stats(prog, desc, &cpus) {
                Ok(st) => rows.push(IrqCountRow {
                    irq: i.irq,
                    counts: st.counts,
                    chip: st.chip,
                    flow: st.flow,
                    names: names(i),
                }),
                Err(e) => problems.push(format!("irq {}: {e}", i.irq)),
            }
        }
        return Ok(Box::new(IrqCounts {
            cpus,
            irqs: rows,
            problems,
        }));
    }
    if f.has('a') {
        let mut rows = Vec::new();
        for (i, desc) in with_actions {
            match kdive_linux::irq::irq_affinity(prog, desc, ncpus) {
                Ok(cpus) => rows.push(IrqAffinityRow {
                    irq: i.irq,
                    names: names(i),
                    cpus,
                }),
                Err(e) => problems.push(format!("irq {}: {e}", i.irq)),
            }
        }
        return Ok(Box::new(IrqAffinity {
            irqs: rows,
            problems,
        }));
    }
    // -u: crash leaves out the IRQ numbers without a descriptor
    let in_use = f.has('u');
    let irqs = list
        .into_iter()
        .filter(|i| !in_use || i.desc.is_some() || i.desc_unknown)
        .map(|i| IrqRow {
            irq: i.irq,
            irq_desc: i.desc,
            irq_desc_unknown: i.desc_unknown,
            actions: i
                .actions
                .into_iter()
                .map(|a| ActionRow {
                    irqaction: a.addr,
                    name: a.name,
                })
                .collect(),
            error: i.error,
        })
        .collect();
    Ok(Box::new(IrqList {
        irqs,
        complete: problems.is_empty(),
        problems,
    }))
}

/// crash's centred column: `(unused)` in 16 characters.
const UNUSED: &str = "    (unused)    ";
/// The same place when it could not be read.
const UNKNOWN: &str = "   (unknown)    ";

/// The IRQ number centred in four columns, the odd space on the left (crash's `mkstring`).
fn irq_col(irq: u64) -> String {
    let s = irq.to_string();
    let extra = 4usize.saturating_sub(s.len());
    let left = extra.div_ceil(2);
    format!("{}{s}{}", " ".repeat(left), " ".repeat(extra - left))
}

impl Report for IrqList {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, " IRQ   IRQ_DESC/_DATA      IRQACTION      NAME")?;
        for i in &self.irqs {
            let mut out = String::new();
            out += &irq_col(i.irq);
            out += "  ";
            match i.irq_desc {
                Some(d) => out += &format!("{d:016x}"),
                None if i.irq_desc_unknown => out += UNKNOWN,
                None => out += UNUSED,
            }
            out += "  ";
            if i.actions.is_empty() {
                out += if i.error.is_some() || i.irq_desc_unknown {
                    UNKNOWN
                } else {
                    UNUSED
                };
                out += "  ";
            }
            for (n, a) in i.actions.iter().enumerate() {
                if n > 0 {
                    // further actions of a shared IRQ line up under the first
                    out += &format!("\n{}", " ".repeat(24));
                }
                out += &format!("{:016x}  ", a.irqaction);
                if let Some(name) = &a.name {
                    out += &format!("\"{name}\"");
                }
            }
            writeln!(w, "{out}")?;
        }
        for p in &self.problems {
            writeln!(w, "irq: {p}")?;
        }
        if !self.complete {
            writeln!(w, "irq: this list is incomplete")?;
        }
        Ok(())
    }
}

fn softirqs(prog: &kdive_program::Program) -> Result<Softirqs, CommandError> {
    let actions = kdive_linux::irq::softirq_actions(prog).map_err(program_error)?;
    let vectors = actions
        .into_iter()
        .enumerate()
        .filter(|(_, a)| *a != 0)
        .map(|(i, action)| {
            let module = prog.module_at(action).map(|m| m.span().name.to_string());
            SoftirqRow {
                vector: i as u32,
                action,
                symbol: crate::format::symbol(prog, action),
                module,
            }
        })
        .collect();
    Ok(Softirqs { vectors })
}

/// `irq -d`: the x86_64 interrupt descriptor table.
#[derive(Debug, Serialize, Deserialize)]
pub struct Idt {
    /// The 256 vectors, in order.
    pub vectors: Vec<IdtRow>,
}

/// One gate of the IDT.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdtRow {
    pub vector: u32,
    #[serde(with = "crate::hex")]
    pub handler: u64,
    /// `name` or `name+offset`; null when no symbol holds the handler.
    pub symbol: Option<String>,
}

fn idt(prog: &kdive_program::Program) -> Result<Idt, CommandError> {
    if prog.dump().map(|d| d.meta().arch) == Some(kdive_dump::Arch::Aarch64) {
        return Err(CommandError::Unavailable(
            "irq -d: the interrupt descriptor table is x86_64's; aarch64 has none (its \
             exception vectors are at the `vectors` symbol: `dis vectors`)"
                .into(),
        ));
    }
    let handlers = kdive_linux::irq::idt_handlers(prog).map_err(program_error)?;
    let vectors = handlers
        .into_iter()
        .enumerate()
        .map(|(i, handler)| IdtRow {
            vector: i as u32,
            handler,
            symbol: prog
                .symbols()
                .by_addr(handler)
                .map(|_| crate::format::symbol(prog, handler)),
        })
        .collect();
    Ok(Idt { vectors })
}

impl Report for Idt {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for v in &self.vectors {
            let index = format!("[{}]", v.vector);
            match &v.symbol {
                Some(sym) => writeln!(out, "{index:>5} {sym}")?,
                None => writeln!(out, "{index:>5} {:016x}", v.handler)?,
            }
        }
        Ok(())
    }
}

/// crash's CPU list: `0-1`, `0,2-3`.
pub(crate) fn cpu_list(cpus: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

impl Report for IrqCounts {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        write!(w, "     ")?;
        for c in &self.cpus {
            write!(w, "{:>10} ", format!("CPU{c}"))?;
        }
        writeln!(w)?;
        for r in &self.irqs {
            write!(w, "{:>3}: ", r.irq)?;
            for n in &r.counts {
                write!(w, "{n:>10} ")?;
            }
            if let Some(chip) = &r.chip {
                write!(w, "{chip:>8}")?;
                if let Some(flow) = &r.flow {
                    write!(w, "-{flow:<8}")?;
                }
            }
            writeln!(w, " {}", r.names.join(","))?;
        }
        for p in &self.problems {
            writeln!(w, "irq: {p}")?;
        }
        Ok(())
    }
}

impl Report for IrqAffinity {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "IRQ NAME                 AFFINITY")?;
        for r in &self.irqs {
            writeln!(
                w,
                "{:>3} {:<20} {}",
                r.irq,
                r.names.join(","),
                cpu_list(&r.cpus)
            )?;
        }
        for p in &self.problems {
            writeln!(w, "irq: {p}")?;
        }
        Ok(())
    }
}

impl Report for Softirqs {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "SOFTIRQ_VEC {}",
            crate::format::center("ACTION", 16, true)
        )?;
        for v in &self.vectors {
            let tag = format!("[{}]", v.vector);
            write!(w, "    {tag:<7} {:016x}  <{}>", v.action, v.symbol)?;
            if let Some(m) = &v.module {
                write!(w, "  [{m}]")?;
            }
            writeln!(w)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list(&[0, 1]), "0-1");
        assert_eq!(cpu_list(&[1]), "1");
        assert_eq!(cpu_list(&[0, 2, 3, 5]), "0,2-3,5");
        assert_eq!(cpu_list(&[]), "");
    }
}
