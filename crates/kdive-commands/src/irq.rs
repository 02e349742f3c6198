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

/// Runs `irq` (all IRQs; crash's `-d`, `-b`, `-u`, `-a`, `-s`, `-c` and IRQ arguments are not
/// supported).
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::IRQ, args)?;
    let prog = s.kernel()?;
    let (list, problems) = irqs(prog, s.walk_limit).map_err(|e| CommandError::Program {
        cmd: "irq",
        source: e,
    })?;
    let irqs = list
        .into_iter()
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
