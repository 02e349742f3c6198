//! `dev`: the character and block device majors, as crash lists them.
//!
//! crash reads only the first `blk_major_name` of each `major_names[]` bucket; kdive follows the
//! whole chain (the same output unless two block majors share a bucket).

use kdive_linux::dev::{block_devices, char_devices};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::symbol;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `dev` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Dev {
    pub chrdevs: Vec<DevRow>,
    pub blkdevs: Vec<DevRow>,
    pub problems: Vec<String>,
    /// False when something could not be read: the lists may miss devices.
    pub complete: bool,
}

/// One major: a character device region (`object` = its cdev) or a block major (`object` = a
/// gendisk of it); `object` and `operations` are null when none was found.
#[derive(Debug, Serialize, Deserialize)]
pub struct DevRow {
    pub major: u32,
    pub name: String,
    #[serde(with = "crate::hex_opt")]
    pub object: Option<u64>,
    #[serde(with = "crate::hex_opt")]
    pub operations: Option<u64>,
    /// The operations' symbol (`tty_fops`, `name+off`), as crash prints it.
    pub operations_symbol: Option<String>,
    /// Why `object` is unknown (rather than none), when the lookup could not finish.
    pub lookup_error: Option<String>,
}

/// `dev -d` / `-D`: each disk's requests in flight.
#[derive(Debug, Serialize, Deserialize)]
pub struct DevDisks {
    pub disks: Vec<DiskRow>,
    pub problems: Vec<String>,
}

/// One disk.
#[derive(Debug, Serialize, Deserialize)]
pub struct DiskRow {
    pub major: u32,
    #[serde(with = "crate::hex")]
    pub gendisk: u64,
    pub name: String,
    #[serde(with = "crate::hex")]
    pub request_queue: u64,
    /// Requests in flight: reads and writes (null when they could not be counted).
    pub read: Option<u64>,
    pub write: Option<u64>,
}

/// `dev -p`: the PCI buses and devices.
#[derive(Debug, Serialize, Deserialize)]
pub struct DevPci {
    pub root_buses: Vec<PciBusRow>,
    pub problems: Vec<String>,
}

/// A PCI bus with its devices and child buses.
#[derive(Debug, Serialize, Deserialize)]
pub struct PciBusRow {
    #[serde(with = "crate::hex")]
    pub pci_bus: u64,
    pub name: String,
    #[serde(with = "crate::hex")]
    pub parent: u64,
    /// The bridge leading to it, if any.
    pub bridge: Option<PciDeviceRow>,
    pub devices: Vec<PciDeviceRow>,
    pub children: Vec<PciBusRow>,
}

/// A PCI device.
#[derive(Debug, Serialize, Deserialize)]
pub struct PciDeviceRow {
    #[serde(with = "crate::hex")]
    pub pci_dev: u64,
    /// `DDDD:BB:SS.F`.
    pub name: String,
    /// Base class and subclass, `0600`.
    pub class: String,
    /// `vendor:device` in hex.
    pub pci_id: String,
    /// The PCI Express device/port type (`ENDPOINT`, `ROOT_PORT`...); null for a conventional
    /// PCI device.
    pub pcie_type: Option<String>,
    pub bridge: bool,
}

fn pci_device(d: &kdive_linux::pci::PciDevice) -> PciDeviceRow {
    PciDeviceRow {
        pci_dev: d.addr,
        name: d.name.clone(),
        class: format!("{:04x}", d.class),
        pci_id: format!("{:x}:{:x}", d.vendor, d.device),
        pcie_type: d.pcie_type.map(|t| pcie_type_name(t).to_string()),
        bridge: d.bridge,
    }
}

fn pci_bus(b: &kdive_linux::pci::PciBus) -> PciBusRow {
    PciBusRow {
        pci_bus: b.addr,
        name: b.name.clone(),
        parent: b.parent,
        bridge: b.bridge.as_ref().map(pci_device),
        devices: b.devices.iter().map(pci_device).collect(),
        children: b.children.iter().map(pci_bus).collect(),
    }
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "dev",
        source: e,
    }
}

/// Runs `dev`: the majors; `-d`/`-D` the disks' I/O in flight; `-p` the PCI devices; `-i` the
/// I/O port and memory resource trees; `-V`/`-v` the dump's device dumps.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::DEV, args)?;
    if f.has('V') || f.has('v') {
        return device_dumps(s, &f);
    }
    if !f.positional.is_empty() {
        return Err(CommandError::Usage(format!(
            "dev: a FILE goes only with -v INDEX\nusage: {}",
            table::DEV.synopsis()
        )));
    }
    let prog = s.kernel()?;
    if f.has('i') {
        return Ok(Box::new(resources(s, prog)?));
    }
    if f.has('d') || f.has('D') {
        let (disks, mut problems) =
            kdive_linux::block::disks(prog, s.walk_limit).map_err(program_error)?;
        let mut rows = Vec::new();
        for d in disks {
            let io = kdive_linux::block::in_flight(prog, d.queue, d.gendisk);
            if let Err(e) = &io {
                problems.push(format!("{}: requests in flight: {e}", d.name));
            }
            let io = io.ok();
            if f.has('D') && io.is_some_and(|(r, w)| r + w == 0) {
                continue;
            }
            rows.push(DiskRow {
                major: d.major,
                gendisk: d.gendisk,
                name: d.name,
                request_queue: d.queue,
                read: io.map(|x| x.0),
                write: io.map(|x| x.1),
            });
        }
        return Ok(Box::new(DevDisks {
            disks: rows,
            problems,
        }));
    }
    if f.has('p') {
        let (root_buses, problems) =
            kdive_linux::pci::pci_root_buses(prog, s.walk_limit).map_err(program_error)?;
        return Ok(Box::new(DevPci {
            root_buses: root_buses.iter().map(pci_bus).collect(),
            problems,
        }));
    }
    let err = program_error;
    let (chr, mut problems) = char_devices(prog, s.walk_limit).map_err(err)?;
    let (blk, p2) = block_devices(prog, s.walk_limit).map_err(err)?;
    problems.extend(p2);
    let row = |major, name, object: u64, fops: u64, lookup_error| DevRow {
        major,
        name,
        object: (fops != 0).then_some(object),
        operations: (fops != 0).then_some(fops),
        operations_symbol: (fops != 0).then(|| symbol(prog, fops)),
        lookup_error,
    };
    Ok(Box::new(Dev {
        chrdevs: chr
            .into_iter()
            .map(|c| row(c.major, c.name, c.cdev, c.fops, c.lookup_error))
            .collect(),
        blkdevs: blk
            .into_iter()
            .map(|b| row(b.major, b.name, b.gendisk, b.fops, b.lookup_error))
            .collect(),
        complete: problems.is_empty(),
        problems,
    }))
}

/// One listing line: major, name (an empty block major name as `(unknown)`, as crash), then
/// the object and operations or `(none)`.
fn line(d: &DevRow, block: bool) -> String {
    let name = if block && d.name.is_empty() {
        "(unknown)"
    } else {
        &d.name
    };
    let head = format!(" {:>3}      {:<13} ", d.major, name);
    match (d.object, &d.operations_symbol) {
        (Some(o), Some(sym)) => format!("{head} {o:16x}  {sym}\n"),
        _ if d.lookup_error.is_some() => format!("{head}    (unknown)     \n"),
        _ => format!("{head}      (none)     \n"),
    }
}

impl Report for Dev {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "CHRDEV    NAME                 CDEV        OPERATIONS      "
        )?;
        for d in &self.chrdevs {
            out.write_all(line(d, false).as_bytes())?;
        }
        writeln!(
            out,
            "\nBLKDEV    NAME                GENDISK      OPERATIONS      "
        )?;
        for d in &self.blkdevs {
            out.write_all(line(d, true).as_bytes())?;
        }
        for p in &self.problems {
            writeln!(out, "dev: {p}")?;
        }
        if !self.complete {
            writeln!(out, "dev: these lists are incomplete")?;
        }
        Ok(())
    }
}

impl Report for DevDisks {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "MAJOR GENDISK            NAME       REQUEST_QUEUE      TOTAL  READ WRITE "
        )?;
        for d in &self.disks {
            let n = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
            let total = d.read.zip(d.write).map(|(r, w)| r + w);
            writeln!(
                out,
                "{:>5} {:<16x}   {:<10} {:<16x}   {:>5} {:>5} {:>5} ",
                d.major,
                d.gendisk,
                d.name,
                d.request_queue,
                n(total),
                n(d.read),
                n(d.write)
            )?;
        }
        for p in &self.problems {
            writeln!(out, "dev: {p}")?;
        }
        Ok(())
    }
}

/// The PCI Express device/port types crash names.
fn pcie_type_name(t: u8) -> &'static str {
    match t {
        0 => "ENDPOINT",
        1 => "LEG_END",
        4 => "ROOT_PORT",
        5 => "UPSTREAM",
        6 => "DOWNSTREAM",
        7 => "PCI_BRIDGE",
        8 => "PCIE_BRIDGE",
        9 => "RC_END",
        10 => "RC_EC",
        _ => "",
    }
}

fn device_line(d: &PciDeviceRow) -> String {
    use crate::format::center;
    // crash reads the Express type of every device, and so calls conventional PCI devices
    // (no PCI Express capability, type bits 0) ENDPOINT; only Express devices get a type here
    let mut kind = d.pcie_type.clone().unwrap_or_default();
    if d.bridge {
        kind += " [BRIDGE]";
    }
    format!(
        "  {:<16x} {} {} {} {}",
        d.pci_dev,
        center(&d.name, 12, false),
        center(&d.class, 6, false),
        center(&d.pci_id, 9, false),
        center(&kind, 10, false)
    )
}

fn device_header() -> String {
    use crate::format::center;
    format!(
        "  {} {} {} {} {}",
        center("PCI DEV", 16, false),
        center("DO:BU:SL.FN", 12, false),
        center("CLASS", 6, false),
        center("PCI_ID", 9, false),
        center("TYPE", 10, false)
    )
}

fn write_bus_devices(out: &mut dyn Write, b: &PciBusRow) -> io::Result<()> {
    writeln!(out, "{}", device_header())?;
    if let Some(d) = &b.bridge {
        writeln!(out, "{}", device_line(d))?;
    }
    for d in &b.devices {
        writeln!(out, "{}", device_line(d))?;
    }
    Ok(())
}

fn write_child_buses(out: &mut dyn Write, b: &PciBusRow) -> io::Result<()> {
    use crate::format::center;
    for c in &b.children {
        writeln!(
            out,
            "  {} {}",
            center("PCI BUS", 16, false),
            center("PARENT BUS", 16, false)
        )?;
        writeln!(out, "  {:<16x} {:<16x}", c.pci_bus, c.parent)?;
        write_bus_devices(out, c)?;
        writeln!(out)?;
        write_child_buses(out, c)?;
    }
    Ok(())
}

impl Report for DevPci {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        use crate::format::center;
        for b in &self.root_buses {
            writeln!(
                out,
                "{} {}",
                center("ROOT BUS", 16, false),
                center("BUSNAME", 7, false)
            )?;
            writeln!(out, "{:<16x} {}", b.pci_bus, center(&b.name, 7, false))?;
            write_bus_devices(out, b)?;
            write_child_buses(out, b)?;
            writeln!(out)?;
        }
        for p in &self.problems {
            writeln!(out, "dev: {p}")?;
        }
        Ok(())
    }
}

/// `dev -i`: the I/O port and I/O memory resource trees.
#[derive(Debug, Serialize, Deserialize)]
pub struct DevResources {
    pub ioport: ResourceList,
    pub iomem: ResourceList,
    pub problems: Vec<String>,
}

/// One tree (`ioport_resource` or `iomem_resource`), root first, depth first.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResourceList {
    /// Hex digits of each bound as crash pads them: 4 when the root ends at or below 0xffff,
    /// else 8 (wider values are shown whole).
    pub digits: usize,
    pub resources: Vec<ResourceRow>,
}

/// One `struct resource`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResourceRow {
    #[serde(with = "crate::hex")]
    pub resource: u64,
    #[serde(with = "crate::hex")]
    pub start: u64,
    #[serde(with = "crate::hex")]
    pub end: u64,
    /// Null when the name could not be read (shown `(unknown)`).
    pub name: Option<String>,
    /// 0 for the root, 1 for its children...
    pub depth: usize,
}

fn resource_list(tree: kdive_linux::resource::ResourceTree) -> (ResourceList, Vec<String>) {
    let root_end = tree.resources.first().map_or(0, |r| r.end);
    let list = ResourceList {
        digits: if root_end > 0xffff { 8 } else { 4 },
        resources: tree
            .resources
            .into_iter()
            .map(|r| ResourceRow {
                resource: r.addr,
                start: r.start,
                end: r.end,
                name: r.name,
                depth: r.depth,
            })
            .collect(),
    };
    (list, tree.problems)
}

fn resources(s: &Session, prog: &kdive_program::Program) -> Result<DevResources, CommandError> {
    let read = |root| kdive_linux::resource::resource_tree(prog, root, s.walk_limit);
    let (ioport, mut problems) = resource_list(read("ioport_resource").map_err(program_error)?);
    let (iomem, p2) = resource_list(read("iomem_resource").map_err(program_error)?);
    problems.extend(p2);
    Ok(DevResources {
        ioport,
        iomem,
        problems,
    })
}

/// Splits a name that would pass column 80 after `wrap` columns at its last space that leaves
/// the head short enough, as crash does; `None` when it fits or has no such space.
fn wrap_name(name: &str, wrap: usize) -> (&str, Option<&str>) {
    let len = name.len();
    if wrap + len <= 80 {
        return (name, None);
    }
    let over = wrap + len - 80;
    // crash looks from the end, never at the first character
    let cut = name
        .char_indices()
        .skip(1)
        .filter(|&(i, c)| c == ' ' && len - 1 - i >= over)
        .map(|(i, _)| i)
        .last();
    match cut {
        Some(i) => (&name[..i], Some(&name[i + 1..])),
        None => (name, None),
    }
}

fn write_resources(out: &mut dyn Write, list: &ResourceList) -> io::Result<()> {
    use crate::format::center;
    let d = list.digits;
    writeln!(
        out,
        "{}  {}  NAME",
        center("RESOURCE", 16, false),
        center("RANGE", d * 2 + 1, false)
    )?;
    let wrap = 16 + 2 + (d * 2 + 1) + 2;
    for r in &list.resources {
        let name = r.name.as_deref().unwrap_or("(unknown)");
        let (head, rest) = wrap_name(name, wrap);
        writeln!(
            out,
            "{:8x}  {:0d$x}-{:0d$x}  {head}",
            r.resource, r.start, r.end
        )?;
        if let Some(rest) = rest {
            writeln!(out, "{}{rest}", " ".repeat(wrap))?;
        }
    }
    Ok(())
}

impl Report for DevResources {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        write_resources(out, &self.ioport)?;
        writeln!(out)?;
        write_resources(out, &self.iomem)?;
        for p in &self.problems {
            writeln!(out, "dev: {p}")?;
        }
        Ok(())
    }

    fn incomplete(&self) -> Option<String> {
        (!self.problems.is_empty()).then(|| "dev: the resource trees are incomplete".to_string())
    }
}

/// `dev -V`: the device dumps (vmcoredd notes) the dump carries.
#[derive(Debug, Serialize, Deserialize)]
pub struct DevDumps {
    pub device_dumps: Vec<DeviceDumpRow>,
}

/// One device dump.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeviceDumpRow {
    pub index: usize,
    /// Where its data starts in the dump file.
    #[serde(with = "crate::hex")]
    pub offset: u64,
    /// Bytes of data.
    pub size: u64,
    pub name: String,
}

impl Report for DevDumps {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        use crate::format::center;
        if self.device_dumps.is_empty() {
            return writeln!(out, "dev: no device dumps found in this dumpfile");
        }
        writeln!(out, "INDEX  {:<16}   {:<16} NAME", "OFFSET", "SIZE")?;
        for d in &self.device_dumps {
            writeln!(
                out,
                "{}  0x{:<16x} {:<16} {}",
                center(&d.index.to_string(), 5, false),
                d.offset,
                d.size,
                d.name
            )?;
        }
        Ok(())
    }
}

/// `dev -v INDEX [FILE]`: one device dump, shown as 64-bit words (file offsets on the left) or
/// written raw to FILE.
#[derive(Debug, Serialize, Deserialize)]
pub struct DevDump {
    pub name: String,
    #[serde(with = "crate::hex")]
    pub offset: u64,
    pub size: u64,
    /// The file the data was written to, if one was named.
    pub file: Option<String>,
    /// The data in hexadecimal, when no file was named.
    pub data: Option<String>,
    #[serde(skip)]
    bytes: Vec<u8>,
    #[serde(skip)]
    order: Option<crate::rd::ByteOrder>,
}

impl Report for DevDump {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "DEVICE: {}", self.name)?;
        if let Some(f) = &self.file {
            return writeln!(out, "{} bytes copied to {f}", self.size);
        }
        // crash shows whole 64-bit words: the last one padded with zeros
        let mut bytes = self.bytes.clone();
        bytes.resize(bytes.len().next_multiple_of(8), 0);
        let opts = crate::rd::RdOptions {
            size: 8,
            radix: crate::rd::Radix::Hex,
            ascii_column: true,
            symbols: Default::default(),
            network_order: false,
        };
        let order = self.order.unwrap_or(crate::rd::ByteOrder::Little);
        let values = crate::rd::values(&bytes, 8, order);
        crate::rd::write_words(out, self.offset, &values, &[], opts, order)
    }
}

fn device_dumps(s: &Session, f: &Flags) -> Result<Box<dyn Report>, CommandError> {
    let all = &s.dump().meta().device_dumps;
    let Some(v) = f.value('v') else {
        return Ok(Box::new(DevDumps {
            device_dumps: all
                .iter()
                .enumerate()
                .map(|(index, d)| DeviceDumpRow {
                    index,
                    offset: d.offset,
                    size: d.data.len() as u64,
                    name: d.name.clone(),
                })
                .collect(),
        }));
    };
    let index: usize = v
        .parse()
        .map_err(|_| CommandError::Usage(format!("dev: invalid device dump index: {v}")))?;
    if all.is_empty() {
        return Err(CommandError::Unavailable(
            "dev: no device dumps found in this dumpfile".into(),
        ));
    }
    let d = all.get(index).ok_or_else(|| {
        CommandError::Unavailable(format!("dev: no device dump found at index: {index}"))
    })?;
    let file = f.positional.first().cloned();
    if let Some(path) = &file {
        std::fs::write(path, &d.data).map_err(|source| CommandError::Io {
            path: path.into(),
            source,
        })?;
    }
    Ok(Box::new(DevDump {
        name: d.name.clone(),
        offset: d.offset,
        size: d.data.len() as u64,
        data: file
            .is_none()
            .then(|| d.data.iter().map(|b| format!("{b:02x}")).collect()),
        file,
        bytes: d.data.clone(),
        order: Some(s.dump().meta().endian.into()),
    }))
}

#[cfg(test)]
mod tests {
    use super::wrap_name;

    #[test]
    fn long_names_wrap_at_column_80() {
        // 8-digit bounds: names start at column 16 + 2 + 17 + 2 = 37, 43 columns left
        let wrap = 37;
        let fits = "a".repeat(43);
        assert_eq!(wrap_name(&fits, wrap), (fits.as_str(), None));
        // 52 columns: 9 too many, cut at the last space leaving at least 9 after it
        let long = "Intel Corporation 82371SB PIIX3 ISA Natoma/Triton II";
        assert_eq!(long.len(), 52);
        assert_eq!(
            wrap_name(long, wrap),
            (
                "Intel Corporation 82371SB PIIX3 ISA",
                Some("Natoma/Triton II")
            )
        );
        // no space to cut at: printed whole
        let solid = "x".repeat(60);
        assert_eq!(wrap_name(&solid, wrap), (solid.as_str(), None));
    }
}
