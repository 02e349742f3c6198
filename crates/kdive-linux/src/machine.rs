//! The machine as the kernel set it up (x86_64): the tick rate, the kernel's address-space
//! layout, the interrupt and exception stacks of each CPU, and the firmware's memory map.

use kdive_debuginfo::TypeKind;
use kdive_program::object::offset_of;
use kdive_program::{Program, ProgramError, Result};

use crate::percpu::per_cpu_address;

/// `__START_KERNEL_map`: where the kernel image is mapped.
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// `KERNEL_IMAGE_SIZE` with KASLR, when VMCOREINFO does not say.
const KASLR_IMAGE_SIZE: u64 = 1 << 30;
/// Interrupt-stack-table slots of a TSS (`ist[7]`).
const IST_SLOTS: usize = 7;

/// The tick rate `HZ`: one second over the length of a tick (`tick_nsec`, which NTP trims by a
/// few parts per million at most).
pub fn hz(prog: &Program) -> Result<u64> {
    let tick = prog.read_u64(prog.symbol_address("tick_nsec")?)?;
    if tick == 0 {
        return Err(ProgramError::Walk {
            what: "tick_nsec".into(),
            why: "is 0".into(),
        });
    }
    Ok((1_000_000_000 + tick / 2) / tick)
}

/// The hypervisor the kernel runs under, by its paravirt name (`pv_info.name`), `None` on
/// bare hardware or when it cannot be read.
pub fn hypervisor(prog: &Program) -> Option<String> {
    let name = prog
        .object("struct pv_info", prog.symbol_address("pv_info").ok()?)
        .ok()?
        .member("name")
        .ok()?
        .read_string(64)
        .ok()?;
    (name != "bare hardware" && !name.is_empty()).then_some(name)
}

/// Where the kernel's regions start.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Layout {
    /// The direct map of physical memory (`page_offset_base`).
    pub page_offset: u64,
    pub vmalloc_start: u64,
    pub vmemmap: Option<u64>,
    pub start_kernel_map: u64,
    pub modules: u64,
}

/// The kernel's address-space layout: the randomised bases the kernel keeps in variables, the
/// fixed ones from the kernel image size.
pub fn layout(prog: &Program) -> Result<Layout> {
    let var = |name: &str| prog.read_u64(prog.symbol_address(name)?);
    let image_size = prog
        .dump()
        .and_then(|d| d.vmcoreinfo())
        .and_then(|v| v.number("KERNEL_IMAGE_SIZE"))
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n > 0 && n < 1 << 32)
        .unwrap_or(KASLR_IMAGE_SIZE);
    Ok(Layout {
        page_offset: var("page_offset_base")?,
        vmalloc_start: var("vmalloc_base")?,
        vmemmap: var("vmemmap_base").ok(),
        start_kernel_map: START_KERNEL_MAP,
        modules: START_KERNEL_MAP + image_size,
    })
}

/// The size of a task's kernel stack (`THREAD_SIZE`): the initial task's stack, between the
/// linker's symbols around it (`init_stack` .. `__end_init_task`, `__end_init_stack` since 6.4).
pub fn thread_size(prog: &Program) -> Result<u64> {
    let start = prog.symbol_address("init_stack")?;
    let end = prog
        .symbol_address("__end_init_stack")
        .or_else(|_| prog.symbol_address("__end_init_task"))?;
    end.checked_sub(start)
        .filter(|&n| n > 0 && n <= 1 << 20)
        .ok_or_else(|| ProgramError::Walk {
            what: "the initial task's stack".into(),
            why: format!("init_stack {start:#x} .. {end:#x} is no stack"),
        })
}

/// Each CPU's hard-IRQ stack (its lowest address), and the stacks' size.
pub fn irq_stacks(prog: &Program, cpus: &[u32]) -> Result<(u64, Vec<u64>)> {
    let size = prog
        .type_("struct irq_stack")
        .and_then(|t| Ok(prog.types().size_of(t)?))
        .unwrap_or(16384);
    let mut bases = Vec::with_capacity(cpus.len());
    for &c in cpus {
        // `hardirq_stack_ptr` is a per-CPU variable, or since 6.2 a member of `pcpu_hot`
        let at = match per_cpu_address(prog, "hardirq_stack_ptr", c) {
            Ok(a) => a,
            Err(_) => {
                let hot = prog.type_("struct pcpu_hot")?;
                per_cpu_address(prog, "pcpu_hot", c)?.wrapping_add(offset_of(
                    prog,
                    hot,
                    "hardirq_stack_ptr",
                )?)
            }
        };
        let mut top = prog.read_u64(at)?;
        // the pointer is to the stack's last word, 8 bytes below its top
        if top % 4096 != 0 {
            top = top.wrapping_add(8);
        }
        bases.push(top.wrapping_sub(size));
    }
    Ok((size, bases))
}

/// One kind of exception stack (an interrupt-stack-table slot).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExceptionStack {
    /// `DOUBLEFAULT`, `NMI`, `DEBUG`, `MCE`, `VC`, or `None` when no handler names the slot.
    pub name: Option<&'static str>,
    /// Size in bytes (0 when the slot's kind is unknown).
    pub size: u64,
    /// Each CPU's stack: its lowest address, and whether the dump maps it.
    pub bases: Vec<(u64, bool)>,
}

/// The kind of stack an exception handler's name says it runs on.
fn stack_kind(handler: &str) -> Option<&'static str> {
    // the last match wins, as in crash
    [
        ("nmi", "NMI"),
        ("debug", "DEBUG"),
        ("stack", "STACKFAULT"),
        ("double", "DOUBLEFAULT"),
        ("machine", "MCE"),
        ("vmm", "VC"),
    ]
    .iter()
    .filter(|(k, _)| handler.contains(k))
    .map(|(_, n)| *n)
    .next_back()
}

/// The member of `struct cea_exception_stacks` holding a kind's stack.
fn stack_member(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "DEBUG" => "DB_stack",
        "NMI" => "NMI_stack",
        "DOUBLEFAULT" => "DF_stack",
        "MCE" => "MCE_stack",
        "VC" => "VC_stack",
        _ => return None,
    })
}

/// The names of the interrupt-stack-table slots, from the IDT gates that use them.
fn ist_names(prog: &Program) -> Result<[Option<&'static str>; IST_SLOTS]> {
    let mut names = [None; IST_SLOTS];
    let idt = prog.symbol_address("idt_table")?;
    let mut table = vec![0u8; 256 * 16];
    prog.read(idt, &mut table)?;
    for gate in table.chunks_exact(16) {
        let lo = u64::from_le_bytes(gate[..8].try_into().unwrap_or_default());
        let hi = u64::from_le_bytes(gate[8..].try_into().unwrap_or_default());
        let ist = (lo >> 32 & 7) as usize;
        if ist == 0 {
            continue;
        }
        let handler = (lo & 0xffff) | (lo >> 48 & 0xffff) << 16 | (hi & 0xffff_ffff) << 32;
        if let Some(kind) = prog
            .symbols()
            .by_addr(handler)
            .and_then(|(s, _)| stack_kind(&s.name))
        {
            names[ist - 1] = Some(kind);
        }
    }
    Ok(names)
}

/// The exception stacks of each CPU, from the interrupt stack tables of the CPUs' TSSs, in
/// slot order up to the first unused slot.
pub fn exception_stacks(prog: &Program, cpus: &[u32]) -> Result<Vec<ExceptionStack>> {
    let names = ist_names(prog).unwrap_or([None; IST_SLOTS]);
    let tss = prog.type_("struct tss_struct")?;
    let ist_off = offset_of(prog, tss, "x86_tss.ist")?;
    let mut tops = Vec::with_capacity(cpus.len());
    for &c in cpus {
        let at = per_cpu_address(prog, "cpu_tss_rw", c)?.wrapping_add(ist_off);
        let mut ist = [0u64; IST_SLOTS];
        for (i, v) in ist.iter_mut().enumerate() {
            *v = prog.read_u64(at + 8 * i as u64)?;
        }
        tops.push(ist);
    }
    let cea = prog.type_("struct cea_exception_stacks").ok();
    let member_size = |m: &str| -> u64 {
        let Some(cea) = cea else { return 0 };
        prog.types()
            .member(cea, m)
            .ok()
            .and_then(|m| prog.types().size_of(m.ty).ok())
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    for slot in 0..IST_SLOTS {
        if tops.first().is_none_or(|t| t[slot] == 0) {
            break;
        }
        let name = names[slot];
        let size = name.and_then(stack_member).map_or(0, member_size);
        let mut bases = Vec::new();
        for t in &tops {
            if t[slot] == 0 {
                break;
            }
            let base = t[slot].wrapping_sub(size);
            bases.push((base, prog.read_u64(base).is_ok()));
        }
        out.push(ExceptionStack { name, size, bases });
    }
    Ok(out)
}

/// One range of the firmware's memory map.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MemoryRange {
    pub start: u64,
    pub end: u64,
    /// The E820 type: 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable, 12 PRAM...
    pub kind: u32,
}

/// The E820 memory map the kernel kept (`e820_table`, the older `e820`).
pub fn memory_map(prog: &Program) -> Result<Vec<MemoryRange>> {
    let (table, ty) = match prog.symbol_address("e820_table") {
        Ok(p) => (prog.read_u64(p)?, "struct e820_table"),
        Err(_) => (prog.symbol_address("e820")?, "struct e820map"),
    };
    let t = prog.object(ty, table)?;
    let n = t
        .member("nr_entries")
        .or_else(|_| t.member("nr_map"))?
        .read_u64()?;
    let entries = t.member("entries").or_else(|_| t.member("map"))?;
    let n = n.min(entries.array_len().unwrap_or(n)).min(4096);
    let (_, arr) = prog.types().resolve(entries.type_id())?;
    if !matches!(arr.kind, TypeKind::Array { .. }) {
        return Err(ProgramError::Walk {
            what: ty.into(),
            why: "its entries are not an array".into(),
        });
    }
    (0..n)
        .map(|i| {
            let e = entries.index(i)?;
            let start = e.member("addr")?.read_u64()?;
            Ok(MemoryRange {
                start,
                end: start.wrapping_add(e.member("size")?.read_u64()?),
                kind: e.member("type")?.read_u64()? as u32,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_names_say_the_stack() {
        assert_eq!(stack_kind("asm_exc_nmi"), Some("NMI"));
        assert_eq!(stack_kind("asm_exc_double_fault"), Some("DOUBLEFAULT"));
        assert_eq!(stack_kind("asm_exc_machine_check"), Some("MCE"));
        assert_eq!(stack_kind("asm_exc_vmm_communication"), Some("VC"));
        assert_eq!(stack_kind("asm_exc_debug"), Some("DEBUG"));
        assert_eq!(stack_kind("asm_exc_page_fault"), None);
    }
}
