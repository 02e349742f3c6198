//! Interrupt descriptors and their actions.
//!
//! With `CONFIG_SPARSE_IRQ` the `struct irq_desc`s sit in the maple tree `sparse_irqs` (Linux
//! 6.5+) or the radix tree `irq_desc_tree` (an xarray since 4.20) keyed by IRQ number; without
//! it, in the array `irq_desc[]`. The symbols say which. `nr_irqs` bounds the numbers.

use std::collections::BTreeMap;

use kdive_program::object::offset_of;
use kdive_program::{Program, ProgramError, Result};

use crate::list::chain;

/// Most IRQ numbers looked at, whatever `nr_irqs` says.
const MAX_IRQS: u64 = 1 << 20;
/// Fewest irqactions read in all (a lower walk limit still bounds each chain): far more than
/// any machine has.
const MIN_ACTIONS: usize = 1 << 16;

/// One handler of an interrupt (`struct irqaction`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct IrqAction {
    pub addr: u64,
    /// `name`, `None` when it could not be read.
    pub name: Option<String>,
}

/// One IRQ number.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Irq {
    pub irq: u64,
    /// Its `struct irq_desc`, `None` when it has none (or none was found: see `desc_unknown`).
    pub desc: Option<u64>,
    /// No descriptor was found, but the descriptor tree could not be read where it would be.
    pub desc_unknown: bool,
    /// The `action` chain.
    pub actions: Vec<IrqAction>,
    /// Why the descriptor or its action chain could not be (wholly) read.
    pub error: Option<String>,
}

/// Every IRQ number below `nr_irqs` with its descriptor and actions, and what could not be read
/// (an unreadable descriptor tree leaves numbers without a descriptor: then a problem says so).
pub fn irqs(prog: &Program, limit: usize) -> Result<(Vec<Irq>, Vec<String>)> {
    let mut problems = Vec::new();
    let nr = match prog
        .symbol_address("nr_irqs")
        .and_then(|a| prog.read_u64(a))
    {
        Ok(n) => Some(u64::from(n as u32)),
        Err(e) => {
            problems.push(format!(
                "nr_irqs: {e}; listing up to the highest descriptor found"
            ));
            None
        }
    };
    if nr.is_some_and(|n| n > MAX_IRQS) {
        problems.push(format!(
            "nr_irqs is {}: only the first {MAX_IRQS} are listed",
            nr.unwrap_or(0)
        ));
    }
    let (descs, known_below) = descriptors(
        prog,
        nr.unwrap_or(MAX_IRQS).min(MAX_IRQS),
        limit,
        &mut problems,
    )?;
    let nr = nr
        .unwrap_or_else(|| descs.keys().next_back().map_or(0, |k| k + 1))
        .min(MAX_IRQS);
    let desc_ty = prog.type_("struct irq_desc")?;
    let action_off = offset_of(prog, desc_ty, "action")?;
    let act_ty = prog.type_("struct irqaction")?;
    let next_off = offset_of(prog, act_ty, "next")?;
    let mut out = Vec::new();
    // the irqactions read in all are bounded too, not only each chain: a corrupt dump can hang
    // one long chain on every descriptor
    let all_actions = limit.max(MIN_ACTIONS);
    let mut actions_left = all_actions;
    for irq in 0..nr {
        let desc = descs.get(&irq).copied();
        let mut row = Irq {
            irq,
            desc,
            desc_unknown: desc.is_none() && irq >= known_below,
            actions: Vec::new(),
            error: None,
        };
        if let Some(d) = desc {
            match prog.read_u64(d.wrapping_add(action_off)) {
                Ok(first) if first != 0 && actions_left == 0 => {
                    row.error = Some(format!(
                        "irqaction chain at {first:#x} not read: more than {all_actions} irqactions in all"
                    ));
                }
                Ok(first) => {
                    let (elems, err) =
                        chain(prog, first, next_off, limit.min(actions_left), "irqaction");
                    actions_left = actions_left.saturating_sub(elems.len());
                    for a in elems {
                        let name = prog
                            .object("struct irqaction", a)
                            .and_then(|o| o.member("name")?.read_string(256));
                        if let Err(e) = &name {
                            problems.push(format!("irq {irq}: irqaction at {a:#x}: name: {e}"));
                        }
                        row.actions.push(IrqAction {
                            addr: a,
                            name: name.ok(),
                        });
                    }
                    if let Some(e) = err {
                        row.error = Some(e.to_string());
                    }
                }
                Err(e) => row.error = Some(format!("irq_desc at {d:#x}: {e}")),
            }
        }
        if let Some(e) = &row.error {
            problems.push(format!("irq {irq}: {e}"));
        }
        out.push(row);
    }
    Ok((out, problems))
}

/// The descriptors by IRQ number, from wherever this kernel keeps them, and the number from
/// which a missing descriptor is unknown rather than absent (`u64::MAX`: the tree was whole).
fn descriptors(
    prog: &Program,
    nr: u64,
    limit: usize,
    problems: &mut Vec<String>,
) -> Result<(BTreeMap<u64, u64>, u64)> {
    let mut map = BTreeMap::new();
    let mut known_below = u64::MAX;
    if let Ok(tree) = prog.symbol_address("sparse_irqs") {
        let (entries, err) = crate::maple::entries(prog, tree, limit)?;
        if let Some(e) = err {
            // the walk goes in index order: what lies past the last entry found is unknown
            known_below = entries.last().map_or(0, |e| e.last.saturating_add(1));
            problems.push(format!(
                "sparse_irqs: {e}; the descriptors of IRQ {known_below} and above are unknown"
            ));
        }
        // entries come in index order, each range after the last: the numbers of a corrupt
        // tree's overlapping or backward range that are already filled are skipped, so no more
        // than `nr` numbers are ever filled in
        let mut next = 0u64;
        let mut overlaps = 0usize;
        let top = nr.saturating_sub(1);
        for e in entries {
            let (first, last) = (e.first.max(next), e.last.min(top));
            if e.first < next && e.first <= top {
                overlaps += 1;
            }
            if first > last {
                continue;
            }
            // one descriptor per index; a range would be one entry stored over several
            for irq in first..=last {
                map.insert(irq, e.value);
            }
            next = last.saturating_add(1);
        }
        if overlaps > 0 {
            problems.push(format!(
                "sparse_irqs: {overlaps} entries overlap or precede earlier ones (a corrupt \
                 tree); the numbers already found were kept"
            ));
        }
    } else if let Ok(tree) = prog.symbol_address("irq_desc_tree") {
        let walk = crate::xarray::xa_entries(prog, tree, limit)?;
        for e in &walk.errors {
            problems.push(format!(
                "irq_desc_tree: {e}; an IRQ without a descriptor may have one under that node"
            ));
        }
        if !walk.errors.is_empty() {
            known_below = 0;
        }
        map.extend(walk.entries.iter().map(|e| (e.index, e.value)));
    } else if let Some(sym) = prog.symbols().by_name("irq_desc") {
        // the array `irq_desc[NR_IRQS]`: no longer than its symbol
        let size = prog.types().size_of(prog.type_("struct irq_desc")?)?.max(1);
        let len = sym.size.map_or(nr, |s| nr.min(s / size));
        map.extend((0..len).map(|i| (i, sym.addr.wrapping_add(i * size))));
    } else {
        return Err(ProgramError::Walk {
            what: "IRQ descriptors".into(),
            why: "none of sparse_irqs, irq_desc_tree, irq_desc exists".into(),
        });
    }
    Ok((map, known_below))
}

/// How an IRQ is handled and counted, as `/proc/interrupts` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IrqStats {
    /// Interrupts taken on each CPU asked for, in the order asked.
    pub counts: Vec<u64>,
    /// The `irq_chip`'s name (`IO-APIC`), when readable.
    pub chip: Option<String>,
    /// The flow handler's name the descriptor keeps (`edge`, `fasteoi`), when set.
    pub flow: Option<String>,
}

/// The per-CPU counts, chip and flow name of the `struct irq_desc` at `desc`.
pub fn irq_stats(prog: &Program, desc: u64, cpus: &[u32]) -> Result<IrqStats> {
    let d = prog.object("struct irq_desc", desc)?;
    // `kstat_irqs` points to per-CPU counters: an `unsigned int`, or since 6.10 a
    // `struct irqstat` whose first member is the count
    let per_cpu = d.member("kstat_irqs")?.read_u64()?;
    let mut counts = Vec::with_capacity(cpus.len());
    for &c in cpus {
        let at = per_cpu.wrapping_add(crate::percpu::per_cpu_offset(prog, c)?);
        counts.push(u64::from(prog.mem().read_u32(at)?));
    }
    let string = |p: u64| (p != 0).then(|| prog.mem().read_cstr(p, 64).ok()).flatten();
    let chip = d.member("irq_data.chip")?.read_u64()?;
    let chip = if chip == 0 {
        None
    } else {
        string(
            prog.object("struct irq_chip", chip)?
                .member("name")?
                .read_u64()?,
        )
    };
    let flow = string(d.member("name")?.read_u64()?);
    Ok(IrqStats { counts, chip, flow })
}

/// The CPUs an IRQ may be delivered to (`irq_common_data.affinity`), below `ncpus`.
pub fn irq_affinity(prog: &Program, desc: u64, ncpus: u32) -> Result<Vec<u32>> {
    let d = prog.object("struct irq_desc", desc)?;
    let aff = d
        .member("irq_common_data.affinity")
        .or_else(|_| d.member("irq_data.affinity"))?;
    // `cpumask_var_t` is a pointer with CONFIG_CPUMASK_OFFSTACK, an array of one mask without
    let (_, t) = prog.types().resolve(aff.type_id())?;
    let mask = match t.kind {
        kdive_debuginfo::TypeKind::Pointer { .. } => aff.read_u64()?,
        _ => aff.address().unwrap_or(0),
    };
    let mut out = Vec::new();
    for w in 0..ncpus.div_ceil(64) {
        let bits = prog.read_u64(mask.wrapping_add(8 * u64::from(w)))?;
        out.extend(
            (0..64)
                .map(|b| w * 64 + b)
                .filter(|&c| c < ncpus && bits >> (c % 64) & 1 == 1),
        );
    }
    Ok(out)
}

/// The handlers of the softirq vectors (`softirq_vec[].action`), by vector; 0 where none.
pub fn softirq_actions(prog: &Program) -> Result<Vec<u64>> {
    let sym = prog
        .symbols()
        .by_name("softirq_vec")
        .ok_or_else(|| ProgramError::NoSymbol("softirq_vec".into()))?;
    let ty = prog.type_("struct softirq_action")?;
    let size = prog.types().size_of(ty)?.max(1);
    let off = offset_of(prog, ty, "action")?;
    // NR_SOFTIRQS is 10; the symbol's size says how many this kernel has
    let n = sym.size.map_or(10, |s| s / size).min(64);
    (0..n)
        .map(|i| prog.read_u64(sym.addr + i * size + off))
        .collect()
}

/// The handler addresses of the x86_64 interrupt descriptor table (`idt_table`, 256
/// `struct gate_struct`): each gate's `offset_low | offset_middle << 16 | offset_high << 32`.
pub fn idt_handlers(prog: &Program) -> Result<Vec<u64>> {
    let base = prog.symbol_address("idt_table")?;
    let size = prog.types().size_of(prog.type_("struct gate_struct")?)?;
    (0..256u64)
        .map(|i| {
            let g = prog.object("struct gate_struct", base + i * size)?;
            Ok(g.member("offset_low")?.read_u64()?
                | g.member("offset_middle")?.read_u64()? << 16
                | g.member("offset_high")?.read_u64()? << 32)
        })
        .collect()
}
