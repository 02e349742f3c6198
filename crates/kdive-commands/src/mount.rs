//! `mount`: the mounts of the initial mount namespace, or of a task's (`-n`), as crash lists
//! them.

use std::collections::HashMap;

use kdive_linux::fs::{
    dirty_inodes, inode_superblock, mount_namespace, mounts, mounts_of, open_files, MountInfo,
};
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
    /// `-f`: the open files of its filesystem (null without `-f`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_files: Option<Vec<MountFile>>,
    /// `-i`: the dirty inodes of its superblock (null without `-i`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty_inodes: Option<Vec<crate::Hex>>,
}

/// An open file of a filesystem (`mount -f`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountFile {
    #[serde(with = "crate::hex")]
    pub dentry: u64,
    #[serde(with = "crate::hex")]
    pub inode: u64,
    /// crash's type: `REG`, `DIR`, `CHR`...
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
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
            open_files: None,
            dirty_inodes: None,
        })
        .collect::<Vec<_>>();
    let mut problems = problems;
    let mut rows = rows;
    if f.has('f') {
        let by_sb = open_files_by_superblock(s, &mut problems)?;
        for r in &mut rows {
            r.open_files = Some(by_sb.get(&r.superblock).cloned().unwrap_or_default());
        }
    }
    if f.has('i') {
        for r in &mut rows {
            match dirty_inodes(prog, r.superblock, s.walk_limit) {
                Ok((v, p)) => {
                    r.dirty_inodes = Some(v.into_iter().map(crate::Hex).collect());
                    problems.extend(p);
                }
                Err(e) => problems.push(format!("superblock {:x}: {e}", r.superblock)),
            }
        }
    }
    Ok(Box::new(Mount {
        task,
        mounts: rows,
        problems,
    }))
}

/// Every task's open files, by the superblock of their inode, each dentry once; the kernel
/// keeps no per-superblock list of open files since Linux 3.13 (`s_files`), so they are
/// gathered from the tasks' descriptor tables.
fn open_files_by_superblock(
    s: &Session,
    problems: &mut Vec<String>,
) -> Result<HashMap<u64, Vec<MountFile>>, CommandError> {
    let prog = s.kernel()?;
    let mut tasks: Vec<_> = s.tasks()?.infos.iter().collect();
    tasks.sort_by_key(|t| (t.pid, t.addr));
    let mut seen = std::collections::HashSet::new();
    let mut sb_of = HashMap::new();
    let mut out: HashMap<u64, Vec<MountFile>> = HashMap::new();
    for t in tasks {
        let files = match open_files(prog, t.addr) {
            Ok((files, _)) => files,
            Err(e) => {
                problems.push(format!("open files of task {:x}: {e}", t.addr));
                continue;
            }
        };
        for f in files {
            if f.inode == 0 || !seen.insert(f.dentry) {
                continue;
            }
            let sb = match sb_of.get(&f.inode) {
                Some(&sb) => sb,
                None => match inode_superblock(prog, f.inode) {
                    Ok(sb) => *sb_of.entry(f.inode).or_insert(sb),
                    Err(e) => {
                        problems.push(format!("inode {:x}: {e}", f.inode));
                        continue;
                    }
                },
            };
            out.entry(sb).or_default().push(MountFile {
                dentry: f.dentry,
                inode: f.inode,
                kind: crate::files::type_name(f.mode).to_string(),
                path: f.path,
            });
        }
    }
    Ok(out)
}

const HEADER: &str = "     MOUNT           SUPERBLK     TYPE   DEVNAME   DIRNAME";

impl Report for Mount {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let sections = self
            .mounts
            .iter()
            .any(|m| m.open_files.is_some() || m.dirty_inodes.is_some());
        if !sections {
            writeln!(out, "{HEADER}")?;
        }
        for m in &self.mounts {
            // with -f or -i crash heads each mount with the header and ends it with a blank line
            if sections {
                writeln!(out, "{HEADER}")?;
            }
            // crash's columns start at fixed places; a long value pushes the next one along by
            // its overflow, keeping one blank
            let mut line = format!("{:016x} {:016x} ", m.mount, m.superblock);
            for (value, next) in [(&m.fstype, 41usize), (&m.devname, 51)] {
                line += value;
                line += &" ".repeat(next.saturating_sub(line.len()).max(1));
            }
            writeln!(out, "{line}{:<10}", m.dirname)?;
            if let Some(files) = &m.open_files {
                writeln!(out, "   OPEN FILES   ")?;
                if files.is_empty() {
                    writeln!(out, "No open files found")?;
                } else {
                    writeln!(out, "     DENTRY            INODE        TYPE  PATH")?;
                }
                for f in files {
                    writeln!(
                        out,
                        "{:016x}  {:016x}  {:<4}  {}",
                        f.dentry, f.inode, f.kind, f.path
                    )?;
                }
            }
            if let Some(dirty) = &m.dirty_inodes {
                writeln!(out, "DIRTY INODES")?;
                if dirty.is_empty() {
                    writeln!(out, "No dirty inodes found")?;
                }
                for i in dirty {
                    writeln!(out, "{:x}", i.0)?;
                }
            }
            if sections {
                writeln!(out)?;
            }
        }
        for p in &self.problems {
            writeln!(out, "mount: {p}")?;
        }
        Ok(())
    }
}
