//! `net`: the network devices of the initial namespace and their addresses, as crash lists them.

use kdive_linux::net::net_devices;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
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

/// Runs `net` (the device listing; crash's `-a`, `-s`, `-S`, `-n`, `-N` are not supported).
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::NET, args)?;
    let prog = s.kernel()?;
    let (devices, problems) =
        net_devices(prog, s.walk_limit).map_err(|e| CommandError::Program {
            cmd: "net",
            source: e,
        })?;
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
