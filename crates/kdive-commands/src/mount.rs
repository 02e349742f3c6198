//! `mount`: the mounts of the initial mount namespace, or of a task's (`-n`), as crash lists
//! them.

use kdive_linux::fs::{mount_namespace, mounts, mounts_of, MountInfo};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::tasks::resolve;
use crate::{CommandError, Report, Session, TextOptions};

/// What `mount` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Mount {
    /// `-n`: the task whose mount namespace is listed; null for the initial namespace.
    #[serde(with = "crate::hex_opt")]
    pub task: Option<u64>,
    pub mounts: Vec<MountRow>,
    pub problems: Vec<String>,
}

/// One mount.
#[derive(Debug, Serialize, Deserialize)]
pub struct MountRow {
    #[serde(with = "crate::hex")]
    pub mount: u64,
    #[serde(with = "crate::hex")]
    pub superblock: u64,
    pub fstype: String,
    pub devname: String,
    pub dirname: String,
}

/// Runs `mount`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::MOUNT, args)?;
    let prog = s.kernel()?;
    let program = |e| CommandError::Program {
        cmd: "mount",
        source: e,
    };
    let task = match f.value('n') {
        Some(w) => Some(resolve("mount", &s.tasks()?.infos, w)?[0].addr),
        None => None,
    };
    let (list, problems) = match task {
        Some(t) => {
            let ns = mount_namespace(prog, t).map_err(program)?;
            mounts_of(prog, ns, s.walk_limit)
        }
        None => mounts(prog, s.walk_limit),
    }
    .map_err(program)?;
    let rows = list
        .into_iter()
        .map(|m: MountInfo| MountRow {
            mount: m.addr,
            superblock: m.sb,
            fstype: m.fstype,
            devname: m.devname,
            dirname: m.dirname,
        })
        .collect();
    Ok(Box::new(Mount {
        task,
        mounts: rows,
        problems,
    }))
}

impl Report for Mount {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "     MOUNT           SUPERBLK     TYPE   DEVNAME   DIRNAME"
        )?;
        for m in &self.mounts {
            // crash's columns start at fixed places; a long value pushes the next one along by
            // its overflow, keeping one blank
            let mut line = format!("{:016x} {:016x} ", m.mount, m.superblock);
            for (value, next) in [(&m.fstype, 41usize), (&m.devname, 51)] {
                line += value;
                line += &" ".repeat(next.saturating_sub(line.len()).max(1));
            }
            writeln!(out, "{line}{:<10}", m.dirname)?;
        }
        for p in &self.problems {
            writeln!(out, "mount: {p}")?;
        }
        Ok(())
    }
}
