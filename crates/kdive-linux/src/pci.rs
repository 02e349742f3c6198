//! PCI: the root buses (`pci_root_buses`), their devices and child buses.

use kdive_program::{Program, Result};

use crate::list::list_entries;

/// Deepest bus nesting followed.
const MAX_DEPTH: usize = 32;

/// A PCI device.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PciDevice {
    /// Its `struct pci_dev`.
    pub addr: u64,
    /// `DDDD:BB:SS.F`, the device's own name.
    pub name: String,
    /// Class code (base class and subclass, the programming interface left out).
    pub class: u32,
    pub vendor: u16,
    pub device: u16,
    /// The PCI Express capability's device/port type, when the device is PCI Express.
    pub pcie_type: Option<u8>,
    /// A PCI-to-PCI or CardBus bridge.
    pub bridge: bool,
}

/// A PCI bus with its devices and child buses.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PciBus {
    pub addr: u64,
    pub name: String,
    /// The parent bus (0 for a root bus).
    pub parent: u64,
    /// The bridge device leading to it (`self`), if any.
    pub bridge: Option<PciDevice>,
    pub devices: Vec<PciDevice>,
    pub children: Vec<PciBus>,
}

fn kobject_name(o: &kdive_program::Object<'_>) -> Result<String> {
    o.member("dev.kobj.name")?.read_string(64)
}

fn read_device(prog: &Program, addr: u64) -> Result<PciDevice> {
    let d = prog.object("struct pci_dev", addr)?;
    let pcie_cap = d.member("pcie_cap")?.read_u64()?;
    let flags = d.member("pcie_flags_reg")?.read_u64()?;
    let hdr = d.member("hdr_type")?.read_u64()?;
    Ok(PciDevice {
        addr,
        name: kobject_name(&d)?,
        class: (d.member("class")?.read_u64()? >> 8) as u32,
        vendor: d.member("vendor")?.read_u64()? as u16,
        device: d.member("device")?.read_u64()? as u16,
        pcie_type: (pcie_cap != 0).then_some(((flags & 0xf0) >> 4) as u8),
        bridge: hdr == 1 || hdr == 2,
    })
}

fn read_bus(
    prog: &Program,
    addr: u64,
    depth: usize,
    limit: usize,
    problems: &mut Vec<String>,
) -> Result<PciBus> {
    let b = prog.object("struct pci_bus", addr)?;
    let self_dev = b.member("self")?.read_u64()?;
    let devices_head = b.member("devices")?.address().unwrap_or(0);
    let (devs, err) = list_entries(prog, devices_head, "struct pci_dev", "bus_list", limit)?;
    if let Some(e) = err {
        problems.push(format!("devices of PCI bus {addr:#x}: {e}"));
    }
    let mut devices = Vec::new();
    for d in devs {
        match read_device(prog, d) {
            Ok(x) => devices.push(x),
            Err(e) => problems.push(format!("pci_dev {d:#x}: {e}")),
        }
    }
    let mut children = Vec::new();
    if depth < MAX_DEPTH {
        let head = b.member("children")?.address().unwrap_or(0);
        let (kids, err) = list_entries(prog, head, "struct pci_bus", "node", limit)?;
        if let Some(e) = err {
            problems.push(format!("child buses of PCI bus {addr:#x}: {e}"));
        }
        for k in kids {
            match read_bus(prog, k, depth + 1, limit, problems) {
                Ok(c) => children.push(c),
                Err(e) => problems.push(format!("pci_bus {k:#x}: {e}")),
            }
        }
    }
    Ok(PciBus {
        addr,
        name: kobject_name(&b)?,
        parent: b.member("parent")?.read_u64()?,
        bridge: (self_dev != 0)
            .then(|| read_device(prog, self_dev))
            .transpose()?,
        devices,
        children,
    })
}

/// The root buses with everything under them, and what could not be read.
pub fn pci_root_buses(prog: &Program, limit: usize) -> Result<(Vec<PciBus>, Vec<String>)> {
    let head = prog.symbol_address("pci_root_buses")?;
    let (roots, err) = list_entries(prog, head, "struct pci_bus", "node", limit)?;
    let mut problems: Vec<String> = err.iter().map(|e| format!("pci_root_buses: {e}")).collect();
    let mut out = Vec::new();
    for r in roots {
        match read_bus(prog, r, 0, limit, &mut problems) {
            Ok(b) => out.push(b),
            Err(e) => problems.push(format!("pci_bus {r:#x}: {e}")),
        }
    }
    Ok((out, problems))
}
