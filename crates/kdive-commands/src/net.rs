//! `net`: the network devices of the initial namespace and their addresses, as crash lists them.

use kdive_linux::net::net_devices;
use kdive_linux::task::TaskInfo;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::reference::Reference;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `net` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Net {
    pub devices: Vec<NetRow>,
    pub problems: Vec<String>,
    /// False when something could not be read: the list may miss devices or addresses.
    pub complete: bool,
}

/// One network device.
#[derive(Debug, Serialize, Deserialize)]
pub struct NetRow {
    #[serde(with = "crate::hex")]
    pub net_device: u64,
    pub name: String,
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
}

/// `net -a`: the IPv4 neighbour (ARP) cache.
#[derive(Debug, Serialize, Deserialize)]
pub struct NetArp {
    pub neighbours: Vec<ArpRow>,
    pub problems: Vec<String>,
}

/// One neighbour.
#[derive(Debug, Serialize, Deserialize)]
pub struct ArpRow {
    #[serde(with = "crate::hex")]
    pub neighbour: u64,
    pub ip_address: String,
    /// `ETHER`, ... or `UNKNOWN` (crash's names of `ARPHRD_*`).
    pub hw_type: String,
    /// The hardware address as crash writes it for the type.
    pub hw_address: String,
    pub device: String,
    /// The `NUD_*` state names joined by `|`.
    pub state: String,
}

/// `net -s` / `net -S` (and `foreach net`): each task's open sockets.
#[derive(Debug, Serialize, Deserialize)]
pub struct NetSockets {
    pub tasks: Vec<TaskSockets>,
    pub options: NetSocketOptions,
}

/// How `net -s`/`-S` prints.
#[derive(Debug, Serialize, Deserialize)]
pub struct NetSocketOptions {
    /// `-S`: each socket's `struct socket` and `struct inet_sock` in full.
    pub full: bool,
    /// A note printed first (`foreach net` without -s or -S assumes -s, as crash says).
    pub warning: Option<String>,
    /// `-R REF`: the reference; only the tasks and sockets that refer to it are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// One task's sockets.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskSockets {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    pub sockets: Vec<SocketRow>,
    pub problems: Vec<String>,
}

/// One open socket.
#[derive(Debug, Serialize, Deserialize)]
pub struct SocketRow {
    pub fd: u64,
    #[serde(with = "crate::hex")]
    pub socket: u64,
    #[serde(with = "crate::hex")]
    pub sock: u64,
    /// `UNIX:STREAM`, `INET:DGRAM `... as crash writes them.
    pub family_type: String,
    /// `127.0.0.1-48088` (IPv6: `a:b:...:h-port`); null for other families.
    pub source: Option<String>,
    pub destination: Option<String>,
    /// With -S: the `struct socket` and the `struct inet_sock`.
    pub structs: Vec<crate::structs::StructValue>,
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "net",
        source: e,
    }
}

/// Runs `net`: the devices, `-a` the ARP cache, `-s`/`-S` tasks' sockets, `-N` an address.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::NET, args)?;
    let prog = s.kernel()?;
    if let Some(v) = f.value('N') {
        let n = v
            .strip_prefix("0x")
            .map_or_else(|| v.parse::<u64>(), |h| u64::from_str_radix(h, 16))
            .map_err(|_| CommandError::Usage(format!("net: invalid address: {v}")))?;
        return Ok(Box::new(NetAddress {
            value: n,
            address: std::net::Ipv4Addr::from((n as u32).to_le_bytes()).to_string(),
        }));
    }
    if f.has('s') && f.has('S') {
        return Err(CommandError::Usage(
            "net: only one -s or -S option allowed".into(),
        ));
    }
    if f.value('R').is_some() && !f.has('s') && !f.has('S') {
        return Err(CommandError::Usage("net: -R needs -s or -S".into()));
    }
    if f.has('s') || f.has('S') {
        let tasks = crate::tasks::tasks_named(s, "net", &f.positional)?;
        return sockets_of(s, &crate::tasks::as_refs(&tasks), &f, None);
    }
    if f.has('a') {
        let (neighbours, problems) =
            kdive_linux::net::arp_cache(prog, s.walk_limit).map_err(program_error)?;
        return Ok(Box::new(NetArp {
            neighbours: neighbours.into_iter().map(arp_row).collect(),
            problems,
        }));
    }
    let (devices, problems) = if f.has('n') {
        let task = crate::tasks::tasks_named(s, "net", &f.positional)?[0].addr;
        let ns = kdive_linux::net::task_net_namespace(prog, task).map_err(program_error)?;
        kdive_linux::net::namespace_devices(prog, ns, s.walk_limit).map_err(program_error)?
    } else {
        if let Some(w) = f.positional.first() {
            return Err(CommandError::Usage(format!(
                "net: unexpected argument {w} (a task is given with -n, -s or -S)"
            )));
        }
        net_devices(prog, s.walk_limit).map_err(program_error)?
    };
    let devices = devices
        .into_iter()
        .map(|d| NetRow {
            net_device: d.addr,
            name: d.name,
            ipv4: d.ipv4,
            ipv6: d.ipv6,
        })
        .collect();
    Ok(Box::new(Net {
        devices,
        complete: problems.is_empty(),
        problems,
    }))
}

impl Report for Net {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "   NET_DEVICE     NAME       IP ADDRESS(ES)")?;
        for d in &self.devices {
            let addrs: Vec<&str> = d.ipv4.iter().chain(&d.ipv6).map(String::as_str).collect();
            writeln!(
                out,
                "{:016x}  {:<10} {}",
                d.net_device,
                d.name,
                addrs.join(", ")
            )?;
        }
        for p in &self.problems {
            writeln!(out, "net: {p}")?;
        }
        if !self.complete {
            writeln!(out, "net: this list is incomplete")?;
        }
        Ok(())
    }
}

/// `net -N`: a 32-bit value as an IPv4 address, in the kernel's (network) byte order.
#[derive(Debug, Serialize, Deserialize)]
pub struct NetAddress {
    #[serde(with = "crate::hex")]
    pub value: u64,
    pub address: String,
}

impl Report for NetAddress {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.address)
    }
}

/// Runs `net -s` for the tasks `foreach` chose (crash assumes -s when neither is given).
pub fn for_tasks(
    s: &Session,
    tasks: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report>, CommandError> {
    let warning = (!f.has('s') && !f.has('S'))
        .then(|| "WARNING: net command requires -s or -S option".to_string());
    sockets_of(s, tasks, f, warning)
}

fn sockets_of(
    s: &Session,
    tasks: &[&TaskInfo],
    f: &Flags,
    warning: Option<String>,
) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let full = f.has('S');
    let opts = crate::structs::options(f);
    let reference = f.value('R').map(Reference::new);
    let mut out = Vec::new();
    for t in tasks {
        let (socks, mut problems) = match kdive_linux::net::task_sockets(prog, t.addr) {
            Ok(v) => v,
            Err(e) => (Vec::new(), vec![e.to_string()]),
        };
        let max_fds = match &reference {
            Some(_) => crate::files::max_fds(prog, t.addr).unwrap_or(0),
            None => 0,
        };
        let mut sockets = Vec::new();
        for k in socks {
            // crash's `sym_socket_dump`: the descriptor, the `struct socket` or the `sock`
            if let Some(r) = &reference {
                if !r.descriptor(max_fds, k.fd, &[k.socket, k.sock]) {
                    continue;
                }
            }
            let mut structs = Vec::new();
            if full {
                for (spec, at) in [("struct socket", k.socket), ("struct inet_sock", k.sock)] {
                    match prog
                        .object(spec, at)
                        .and_then(|o| crate::structs::struct_value(&o, None, opts, None))
                    {
                        Ok(v) => structs.push(v),
                        Err(e) => problems.push(format!("{spec} at {at:#x}: {e}")),
                    }
                }
            }
            sockets.push(socket_row(k, structs));
        }
        if reference.is_some() && sockets.is_empty() && problems.is_empty() {
            continue;
        }
        out.push(TaskSockets {
            pid: t.pid,
            task: t.addr,
            cpu: t.cpu,
            comm: t.comm.clone(),
            sockets,
            problems,
        });
    }
    Ok(Box::new(NetSockets {
        tasks: out,
        options: NetSocketOptions {
            full,
            warning,
            reference: f.value('R').map(str::to_string),
        },
    }))
}

/// crash's names of address families.
fn family_name(f: u16) -> String {
    let n = match f {
        0 => "UNSPEC",
        1 => "UNIX",
        2 => "INET",
        3 => "AX25",
        4 => "IPX",
        5 => "APPLETALK",
        6 => "NETROM",
        7 => "BRIDGE",
        8 => "ATMPVC",
        9 => "X25",
        10 => "INET6",
        11 => "ROSE",
        12 => "DECnet",
        13 => "NETBEUI",
        14 => "SECURITY/KEY",
        16 => "NETLINK/ROUTE",
        17 => "PACKET",
        18 => "ASH",
        19 => "ECONET",
        20 => "ATMSVC",
        22 => "SNA",
        23 => "IRDA",
        24 => "PPPOX",
        _ => return f.to_string(),
    };
    n.to_string()
}

/// crash's names of socket types (`DGRAM` with a trailing space, as crash pads it).
fn type_name(t: u16) -> String {
    let n = match t {
        1 => "STREAM",
        2 => "DGRAM ",
        3 => "RAW",
        4 => "RDM",
        5 => "SEQPACKET",
        10 => "PACKET",
        _ => return t.to_string(),
    };
    n.to_string()
}

fn endpoint(family: u16, (ip, port): &(Vec<u8>, u16)) -> String {
    if family == kdive_linux::net::AF_INET6 {
        let g: Vec<String> = ip
            .chunks_exact(2)
            .map(|c| format!("{:x}", u16::from_be_bytes([c[0], c[1]])))
            .collect();
        format!("{}-{port}", g.join(":"))
    } else {
        let b: [u8; 4] = ip
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 4]);
        format!("{}-{port}", std::net::Ipv4Addr::from(b))
    }
}

fn socket_row(k: kdive_linux::net::Socket, structs: Vec<crate::structs::StructValue>) -> SocketRow {
    SocketRow {
        fd: k.fd,
        socket: k.socket,
        sock: k.sock,
        family_type: format!("{}:{}", family_name(k.family), type_name(k.kind)),
        source: k.local.as_ref().map(|e| endpoint(k.family, e)),
        destination: k.remote.as_ref().map(|e| endpoint(k.family, e)),
        structs,
    }
}

/// crash's names of hardware types (`ARPHRD_*`).
fn hw_type_name(t: u16) -> &'static str {
    match t {
        1 => "ETHER",
        0 => "NETROM",
        2 => "EETHER",
        3 => "AX25",
        4 => "PRONET",
        5 => "CHAOS",
        6 => "IEEE802",
        7 => "ARCNET",
        8 => "APPLETLK",
        15 => "DLCI",
        23 => "METRICOM",
        _ => "UNKNOWN",
    }
}

fn arp_row(n: kdive_linux::net::Neighbour) -> ArpRow {
    let hw_address = if n.hw_type == 1 {
        let parts: Vec<String> = n.hw.iter().map(|b| format!("{b:02x}")).collect();
        format!("{} ", parts.join(":"))
    } else {
        n.hw.iter().map(|b| format!("{b:02x} ")).collect()
    };
    const STATES: [(u8, &str); 8] = [
        (0x01, "INCOMPLETE"),
        (0x02, "REACHABLE"),
        (0x04, "STALE"),
        (0x08, "DELAY"),
        (0x10, "PROBE"),
        (0x20, "FAILED"),
        (0x40, "NOARP"),
        (0x80, "PERMANENT"),
    ];
    let state: Vec<&str> = STATES
        .iter()
        .filter(|(b, _)| n.state & b != 0)
        .map(|(_, s)| *s)
        .collect();
    ArpRow {
        neighbour: n.addr,
        ip_address: std::net::Ipv4Addr::from(n.ip).to_string(),
        hw_type: hw_type_name(n.hw_type).to_string(),
        hw_address,
        device: n.device,
        state: state.join("|"),
    }
}

impl Report for NetArp {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if !self.neighbours.is_empty() {
            writeln!(
                out,
                "NEIGHBOUR        IP ADDRESS      HW TYPE    HW ADDRESS         DEVICE  STATE"
            )?;
        }
        for n in &self.neighbours {
            writeln!(
                out,
                "{:<16x} {:<16}{:<10} {} {:<6}  {}",
                n.neighbour, n.ip_address, n.hw_type, n.hw_address, n.device, n.state
            )?;
        }
        for p in &self.problems {
            writeln!(out, "net: {p}")?;
        }
        Ok(())
    }
}

impl SocketRow {
    /// crash's FAMILY:TYPE and endpoints column.
    fn info(&self) -> String {
        let mut s = format!("{} ", self.family_type);
        match (&self.source, &self.destination) {
            (Some(a), Some(b)) if self.family_type.starts_with("INET6:") => {
                s += &format!("{a:>12} ");
                s += &crate::format::center(b, a.len(), false);
            }
            (Some(a), Some(b)) => s += &format!(" {a} {b}"),
            _ => {}
        }
        s
    }
}

impl Report for NetSockets {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if let Some(w) = &self.options.warning {
            writeln!(out, "{w}\n")?;
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(
                out,
                "{}",
                crate::format::task_header(t.pid, t.task, t.cpu, &t.comm)
            )?;
            if t.sockets.is_empty() && self.options.reference.is_none() {
                writeln!(out, "No open sockets.")?;
            }
            for (j, k) in t.sockets.iter().enumerate() {
                if self.options.full {
                    if j > 0 {
                        writeln!(out)?;
                    }
                    writeln!(
                        out,
                        "FD  {}  {}",
                        crate::format::center("SOCKET", 16, false),
                        crate::format::center("SOCK", 16, false)
                    )?;
                    writeln!(out, "{:2}  {:016x}  {:016x}\n", k.fd, k.socket, k.sock)?;
                    for v in &k.structs {
                        v.write_body(out)?;
                    }
                } else {
                    if j == 0 {
                        writeln!(
                            out,
                            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT"
                        )?;
                    }
                    writeln!(
                        out,
                        "{:2} {:016x} {:016x} {}",
                        k.fd,
                        k.socket,
                        k.sock,
                        k.info()
                    )?;
                }
            }
            for p in &t.problems {
                writeln!(out, "net: {p}")?;
            }
        }
        Ok(())
    }
}
