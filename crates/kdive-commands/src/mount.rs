//! `mount`: the mounts of the initial mount namespace, as crash lists them.

use kdive_linux::fs::{mounts, MountInfo};
use serde::Serialize;

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session};

/// What `mount` reports.
#[derive(Debug, Serialize)]
pub struct Mount {
    pub mounts: Vec<MountRow>,
    pub problems: Vec<String>,
}

/// One mount.
#[derive(Debug, Serialize)]
pub struct MountRow {
    #[serde(serialize_with = "crate::hex")]
    pub mount: u64,
    #[serde(serialize_with = "crate::hex")]
    pub superblock: u64,
    pub fstype: String,
    pub devname: String,
    pub dirname: String,
}

/// Runs `mount`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::MOUNT, args)?;
    let prog = s.kernel()?;
    let (list, problems) = mounts(prog, s.walk_limit).map_err(|e| CommandError::Program {
        cmd: "mount",
        source: e,
    })?;
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
        mounts: rows,
        problems,
    }))
}

impl Report for Mount {
    fn text(&self) -> String {
        let mut out = "     MOUNT           SUPERBLK     TYPE   DEVNAME   DIRNAME\n".to_string();
        for m in &self.mounts {
            // crash's columns start at fixed places; a long value pushes the next one along by
            // its overflow, keeping one blank
            let mut line = format!("{:016x} {:016x} ", m.mount, m.superblock);
            for (value, next) in [(&m.fstype, 41usize), (&m.devname, 51)] {
                line += value;
                line += &" ".repeat(next.saturating_sub(line.len()).max(1));
            }
            line += &format!("{:<10}", m.dirname);
            out += &line;
            out += "\n";
        }
        for p in &self.problems {
            out += &format!("mount: {p}\n");
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
