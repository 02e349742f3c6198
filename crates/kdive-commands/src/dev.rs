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

/// Runs `dev` (the listing; crash's `-d`, `-D`, `-i`, `-p`, `-V`, `-v` are not supported).
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::DEV, args)?;
    let prog = s.kernel()?;
    let err = |e| CommandError::Program {
        cmd: "dev",
        source: e,
    };
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
