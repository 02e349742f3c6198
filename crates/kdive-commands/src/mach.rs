//! `mach`: the machine — its type, memory, CPUs, tick rate, the kernel's address-space layout
//! and each CPU's interrupt and exception stacks; `-c` each CPU's `cpuinfo_x86`, `-m` the
//! firmware's memory map.

use std::io::{self, Write};

use kdive_linux::machine;
use kdive_program::print::PrintOptions;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::memory_size;
use crate::structs::{struct_value, StructValue};
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `mach` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Mach {
    pub machine: Option<String>,
    pub memory_bytes: Option<u64>,
    /// CPUs as crash counts them (the highest present one plus one), and how many are offline.
    pub cpus: u32,
    pub offline_cpus: u32,
    /// The hypervisor's paravirt name; null on bare hardware.
    pub hypervisor: Option<String>,
    pub cpu_mhz: Option<u64>,
    pub hz: Option<u64>,
    pub page_size: u64,
    #[serde(with = "crate::hex_opt")]
    pub kernel_virtual_base: Option<u64>,
    #[serde(with = "crate::hex_opt")]
    pub vmalloc_base: Option<u64>,
    #[serde(with = "crate::hex_opt")]
    pub vmemmap_base: Option<u64>,
    #[serde(with = "crate::hex")]
    pub kernel_start_map: u64,
    #[serde(with = "crate::hex_opt")]
    pub modules_base: Option<u64>,
    pub kernel_stack_size: Option<u64>,
    pub irq_stack_size: Option<u64>,
    /// Each CPU's IRQ stack, by CPU.
    pub irq_stacks: Vec<MachStack>,
    pub exception_stacks: Vec<MachExceptionStacks>,
    pub problems: Vec<String>,
}

/// One CPU's stack.
#[derive(Debug, Serialize, Deserialize)]
pub struct MachStack {
    pub cpu: u32,
    #[serde(with = "crate::hex")]
    pub base: u64,
    /// The dump maps it.
    pub available: bool,
    pub offline: bool,
}

/// One kind of exception stack, on every CPU.
#[derive(Debug, Serialize, Deserialize)]
pub struct MachExceptionStacks {
    /// `DOUBLEFAULT`, `NMI`, `DEBUG`, `MCE`, `VC`; null when no handler names the slot.
    pub name: Option<String>,
    pub size: u64,
    pub stacks: Vec<MachStack>,
}

/// `mach -c`: each CPU's `struct cpuinfo_x86`.
#[derive(Debug, Serialize, Deserialize)]
pub struct MachCpus {
    pub cpus: Vec<MachCpu>,
}

/// One CPU's data.
#[derive(Debug, Serialize, Deserialize)]
pub struct MachCpu {
    pub cpu: u32,
    pub offline: bool,
    pub cpuinfo: Option<StructValue>,
}

/// `mach -m`: the firmware's (E820) memory map.
#[derive(Debug, Serialize, Deserialize)]
pub struct MachMemoryMap {
    pub ranges: Vec<MachRange>,
}

/// One range of the map.
#[derive(Debug, Serialize, Deserialize)]
pub struct MachRange {
    #[serde(with = "crate::hex")]
    pub start: u64,
    #[serde(with = "crate::hex")]
    pub end: u64,
    /// `E820_RAM`, `E820_RESERVED`, ... or `type N`.
    #[serde(rename = "type")]
    pub kind: String,
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "mach",
        source: e,
    }
}

/// Runs `mach`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::MACH, args)?;
    let prog = s.kernel()?;
    let ncpus = kdive_linux::percpu::cpu_count(prog).map_err(program_error)?;
    let online = kdive_linux::percpu::online_cpus(prog).unwrap_or_else(|_| (0..ncpus).collect());
    let cpus: Vec<u32> = (0..ncpus).collect();
    if f.has('m') {
        let ranges = machine::memory_map(prog)
            .map_err(program_error)?
            .into_iter()
            .map(|r| MachRange {
                start: r.start,
                end: r.end,
                kind: e820_name(r.kind),
            })
            .collect();
        return Ok(Box::new(MachMemoryMap { ranges }));
    }
    if f.has('c') {
        let opts = PrintOptions {
            hex: f.has('x'),
            ..PrintOptions::default()
        };
        let mut out = Vec::new();
        for &c in &cpus {
            let offline = !online.contains(&c);
            let cpuinfo = if offline {
                None
            } else {
                let at = kdive_linux::percpu::per_cpu_address(prog, "cpu_info", c)
                    .map_err(program_error)?;
                let obj = prog
                    .object("struct cpuinfo_x86", at)
                    .map_err(program_error)?;
                Some(struct_value(&obj, None, opts, None).map_err(program_error)?)
            };
            out.push(MachCpu {
                cpu: c,
                offline,
                cpuinfo,
            });
        }
        return Ok(Box::new(MachCpus { cpus: out }));
    }
    let mut problems = Vec::new();
    let mut note = |what: &str, r: Result<u64, kdive_program::ProgramError>| match r {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("{what}: {e}"));
            None
        }
    };
    let layout = machine::layout(prog);
    let uts = kdive_linux::system::utsname(prog).ok();
    let memory_bytes = note(
        "memory size",
        kdive_linux::system::present_pages(prog)
            .map(|p| p.saturating_mul(s.dump().kernel_page_size())),
    );
    let cpu_mhz = note("processor speed", kdive_linux::system::cpu_mhz(prog));
    let hz = note("HZ", machine::hz(prog));
    let kernel_stack_size = note("kernel stack size", machine::thread_size(prog));
    let stack = |cpu: u32, base: u64, available: bool| MachStack {
        cpu,
        base,
        available,
        offline: !online.contains(&cpu),
    };
    let (irq_stack_size, irq_stacks) = match machine::irq_stacks(prog, &cpus) {
        Ok((size, bases)) => (
            Some(size),
            cpus.iter()
                .zip(bases)
                .map(|(&c, b)| stack(c, b, true))
                .collect(),
        ),
        Err(e) => {
            problems.push(format!("IRQ stacks: {e}"));
            (None, Vec::new())
        }
    };
    let exception_stacks = match machine::exception_stacks(prog, &cpus) {
        Ok(v) => v
            .into_iter()
            .map(|e| MachExceptionStacks {
                name: e.name.map(str::to_string),
                size: e.size,
                stacks: cpus
                    .iter()
                    .zip(e.bases)
                    .map(|(&c, (b, ok))| stack(c, b, ok))
                    .collect(),
            })
            .collect(),
        Err(e) => {
            problems.push(format!("exception stacks: {e}"));
            Vec::new()
        }
    };
    if let Err(e) = &layout {
        problems.push(format!("address-space layout: {e}"));
    }
    let layout = layout.ok();
    Ok(Box::new(Mach {
        machine: uts.map(|u| u.machine),
        memory_bytes,
        cpus: ncpus,
        offline_cpus: cpus.iter().filter(|c| !online.contains(c)).count() as u32,
        hypervisor: machine::hypervisor(prog),
        cpu_mhz,
        hz,
        page_size: s.dump().kernel_page_size(),
        kernel_virtual_base: layout.map(|l| l.page_offset),
        vmalloc_base: layout.map(|l| l.vmalloc_start),
        vmemmap_base: layout.and_then(|l| l.vmemmap),
        kernel_start_map: machine::START_KERNEL_MAP,
        modules_base: layout.map(|l| l.modules),
        kernel_stack_size,
        irq_stack_size,
        irq_stacks,
        exception_stacks,
        problems,
    }))
}

/// crash's name of an E820 type.
fn e820_name(kind: u32) -> String {
    match kind {
        1 => "E820_RAM".into(),
        2 => "E820_RESERVED".into(),
        3 => "E820_ACPI".into(),
        4 => "E820_NVS".into(),
        5 => "E820_UNUSABLE".into(),
        12 => "E820_PRAM".into(),
        128 => "E820_RESERVED_KERN".into(),
        0 => "(invalid type)".into(),
        n => format!("type {n}"),
    }
}

fn write_stack(w: &mut dyn Write, st: &MachStack) -> io::Result<()> {
    write!(w, "{:>22}: {:016x}", format!("CPU {}", st.cpu), st.base)?;
    if !st.available {
        write!(w, " [unavailable]")?;
    }
    if st.offline {
        write!(w, " [OFFLINE]")?;
    }
    writeln!(w)
}

impl Report for Mach {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        let unknown = "(unknown)".to_string();
        let hex = |v: Option<u64>| v.map_or_else(|| unknown.clone(), |v| format!("{v:x}"));
        let num = |v: Option<u64>| v.map_or_else(|| unknown.clone(), |v| v.to_string());
        let line = |w: &mut dyn Write, k: &str, v: String| writeln!(w, "{k:>22}: {v}");
        line(
            w,
            "MACHINE TYPE",
            self.machine.clone().unwrap_or(unknown.clone()),
        )?;
        line(
            w,
            "MEMORY SIZE",
            self.memory_bytes.map_or(unknown.clone(), memory_size),
        )?;
        let offline = if self.offline_cpus > 0 {
            format!(" [OFFLINE: {}]", self.offline_cpus)
        } else {
            String::new()
        };
        line(w, "CPUS", format!("{}{offline}", self.cpus))?;
        if let Some(h) = &self.hypervisor {
            line(w, "HYPERVISOR", h.clone())?;
        }
        line(
            w,
            "PROCESSOR SPEED",
            self.cpu_mhz
                .filter(|&m| m > 0)
                .map_or(unknown.clone(), |m| format!("{m} Mhz")),
        )?;
        line(w, "HZ", num(self.hz))?;
        line(w, "PAGE SIZE", self.page_size.to_string())?;
        line(w, "KERNEL VIRTUAL BASE", hex(self.kernel_virtual_base))?;
        line(w, "KERNEL VMALLOC BASE", hex(self.vmalloc_base))?;
        if let Some(v) = self.vmemmap_base {
            line(w, "KERNEL VMEMMAP BASE", format!("{v:x}"))?;
        }
        line(
            w,
            "KERNEL START MAP",
            format!("{:x}", self.kernel_start_map),
        )?;
        line(w, "KERNEL MODULES BASE", hex(self.modules_base))?;
        line(w, "KERNEL STACK SIZE", num(self.kernel_stack_size))?;
        line(w, "IRQ STACK SIZE", num(self.irq_stack_size))?;
        writeln!(w, "{:>22}:", "IRQ STACKS")?;
        for st in &self.irq_stacks {
            write_stack(w, st)?;
        }
        for e in &self.exception_stacks {
            let name = e.name.as_deref().unwrap_or("(unknown)");
            writeln!(w, "{name:>11} STACK SIZE: {}", e.size)?;
            writeln!(w, "{:>23}", format!("{name} STACKS:"))?;
            for st in &e.stacks {
                write_stack(w, st)?;
            }
        }
        for p in &self.problems {
            writeln!(w, "mach: {p}")?;
        }
        Ok(())
    }
}

impl Report for MachCpus {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        for (i, c) in self.cpus.iter().enumerate() {
            let sep = if i > 0 { "\n" } else { "" };
            match &c.cpuinfo {
                Some(v) => {
                    writeln!(w, "{sep}CPU {}:", c.cpu)?;
                    v.write_body(w)?;
                }
                None => writeln!(w, "{sep}CPU {}: [OFFLINE]", c.cpu)?,
            }
        }
        Ok(())
    }
}

impl Report for MachMemoryMap {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "      PHYSICAL ADDRESS RANGE         TYPE")?;
        for r in &self.ranges {
            writeln!(w, "{:016x} - {:016x}  {}", r.start, r.end, r.kind)?;
        }
        Ok(())
    }
}
