//! `swap`: the swap areas in use, with size, use, priority and file.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::center;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `swap` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Swap {
    pub areas: Vec<SwapRow>,
    pub problems: Vec<String>,
}

/// One swap area.
#[derive(Debug, Serialize, Deserialize)]
pub struct SwapRow {
    #[serde(with = "crate::hex")]
    pub swap_info_struct: u64,
    /// A block device (`PARTITION`) or a file.
    pub partition: bool,
    pub size_kb: u64,
    pub used_kb: u64,
    pub percent_used: u64,
    pub priority: i64,
    /// The file's path; null when it has none.
    pub filename: Option<String>,
}

/// Runs `swap`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::SWAP, args)?;
    let prog = s.kernel()?;
    let (areas, problems) =
        kdive_linux::swap::swap_areas(prog).map_err(|e| CommandError::Program {
            cmd: "swap",
            source: e,
        })?;
    let kib = s.dump().kernel_page_size() / 1024;
    Ok(Box::new(Swap {
        areas: areas
            .into_iter()
            .map(|a| {
                let size = a.pages.saturating_mul(kib);
                let used = a.used_pages.saturating_mul(kib);
                SwapRow {
                    swap_info_struct: a.addr,
                    partition: a.partition,
                    size_kb: size,
                    used_kb: used,
                    percent_used: used.saturating_mul(100).checked_div(size).unwrap_or(0),
                    priority: a.priority,
                    filename: a.path,
                }
            })
            .collect(),
        problems,
    }))
}

impl Report for Swap {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "SWAP_INFO_STRUCT    TYPE       SIZE       USED     PCT  PRI  FILENAME"
        )?;
        for a in &self.areas {
            writeln!(
                w,
                "{}  {} {} {} {} {:>4}  {}",
                center(&format!("{:x}", a.swap_info_struct), 16, false),
                if a.partition {
                    "PARTITION"
                } else {
                    "  FILE   "
                },
                center(&format!("{}k", a.size_kb), 10, true),
                center(&format!("{}k", a.used_kb), 10, true),
                center(&format!("{:2}%", a.percent_used), 4, true),
                a.priority,
                a.filename.as_deref().unwrap_or("(unknown)")
            )?;
        }
        for p in &self.problems {
            writeln!(w, "swap: {p}")?;
        }
        Ok(())
    }
}
