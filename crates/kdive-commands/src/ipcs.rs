//! `ipcs`: System V shared memory segments, semaphore arrays and message queues of an IPC
//! namespace (the initial one, or a task's with `-n`).

use std::io::{self, Write};

use kdive_linux::ipc::{ipc_namespace, ipc_objects, IpcKind, IpcObject};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::tasks::resolve;
use crate::{CommandError, Report, Session, TextOptions};

/// What `ipcs` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ipcs {
    /// The IPC namespace looked at.
    #[serde(with = "crate::hex")]
    pub namespace: u64,
    /// Each kind asked for (null: not asked for).
    pub shared_memory: Option<Vec<IpcRow>>,
    pub semaphores: Option<Vec<IpcRow>>,
    pub message_queues: Option<Vec<IpcRow>>,
    pub options: IpcsOptions,
    pub problems: Vec<String>,
}

/// How `ipcs` prints.
#[derive(Debug, Serialize, Deserialize)]
pub struct IpcsOptions {
    /// `-M`: each segment's pages and inode under it.
    pub verbose: bool,
    /// IDs or addresses asked for: each object printed with its own header.
    pub selected: bool,
}

/// One IPC object.
#[derive(Debug, Serialize, Deserialize)]
pub struct IpcRow {
    /// Its `shmid_kernel`, `sem_array` or `msg_queue`.
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub key: i32,
    pub id: i32,
    pub uid: u32,
    /// Permission bits, `0o777` of the mode.
    pub perms: u32,
    /// Segment bytes, semaphores, or bytes queued.
    pub size: u64,
    /// Attaches or messages.
    pub count: u64,
    /// Shared memory only: destroyed when the last user detaches, or locked in memory.
    pub dest: bool,
    pub locked: bool,
    /// Shared memory with `-M`.
    #[serde(with = "crate::hex_opt")]
    pub inode: Option<u64>,
    pub pages_allocated: Option<u64>,
    pub pages_resident: Option<u64>,
    pub pages_swapped: Option<u64>,
}

/// `SHM_DEST` and `SHM_LOCKED` in a segment's mode.
const SHM_DEST: u32 = 0o1000;
const SHM_LOCKED: u32 = 0o2000;

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "ipcs",
        source: e,
    }
}

/// Runs `ipcs`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::IPCS, args)?;
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let task = match f.value('n') {
        Some(w) => resolve("ipcs", &tasks.infos, w)?[0].addr,
        None => tasks.list.idle.get(&0).copied().ok_or_else(|| {
            CommandError::Unavailable("ipcs: the idle task of CPU 0 is unknown".into())
        })?,
    };
    let ns = ipc_namespace(prog, task).map_err(program_error)?;
    let verbose = f.has('M');
    let (mut shm, mut sem, mut msg) = (f.has('m') || verbose, f.has('s'), f.has('q'));
    if !shm && !sem && !msg {
        (shm, sem, msg) = (true, true, true);
    }
    let wanted: Vec<u64> = f
        .positional
        .iter()
        .map(|w| {
            let hex = w.strip_prefix("0x");
            match hex {
                Some(h) => u64::from_str_radix(h, 16),
                None => w.parse::<u64>().or_else(|_| u64::from_str_radix(w, 16)),
            }
            .map_err(|_| CommandError::Usage(format!("ipcs: invalid id or address: {w}")))
        })
        .collect::<Result<_, _>>()?;
    let page = s.dump().kernel_page_size();
    let mut problems = Vec::new();
    let mut get = |kind: IpcKind| -> Result<Vec<IpcRow>, CommandError> {
        let (objs, p) = ipc_objects(prog, ns, kind, s.walk_limit).map_err(program_error)?;
        problems.extend(p);
        Ok(objs
            .into_iter()
            .filter(|o| {
                wanted.is_empty() || wanted.iter().any(|&w| w == o.id as u64 || w == o.addr)
            })
            .map(|o| row(kind, o, verbose, page))
            .collect())
    };
    let shared_memory = shm.then(|| get(IpcKind::SharedMemory)).transpose()?;
    let semaphores = sem.then(|| get(IpcKind::Semaphores)).transpose()?;
    let message_queues = msg.then(|| get(IpcKind::MessageQueues)).transpose()?;
    Ok(Box::new(Ipcs {
        namespace: ns,
        shared_memory,
        semaphores,
        message_queues,
        options: IpcsOptions {
            verbose,
            selected: !wanted.is_empty(),
        },
        problems,
    }))
}

fn row(kind: IpcKind, o: IpcObject, verbose: bool, page: u64) -> IpcRow {
    let shm = kind == IpcKind::SharedMemory;
    IpcRow {
        address: o.addr,
        key: o.key,
        id: o.id,
        uid: o.uid,
        perms: o.mode & 0o777,
        size: o.size,
        count: o.count,
        dest: shm && o.mode & SHM_DEST != 0,
        locked: shm && o.mode & SHM_LOCKED != 0,
        inode: o.inode.filter(|_| verbose),
        pages_allocated: (shm && verbose).then(|| o.size.div_ceil(page.max(1))),
        pages_resident: o.resident_pages.filter(|_| verbose),
        pages_swapped: o.swapped_pages.filter(|_| verbose),
    }
}

const SHM_HEADER: &str =
    "SHMID_KERNEL     KEY      SHMID      UID   PERMS BYTES      NATTCH STATUS";
const SEM_HEADER: &str = "SEM_ARRAY        KEY      SEMID      UID   PERMS NSEMS     ";
const MSG_HEADER: &str =
    "MSG_QUEUE        KEY      MSQID      UID   PERMS USED-BYTES   MESSAGES    ";

impl Ipcs {
    /// One kind: its header and rows, `(none allocated)` without any; under `-M` or when
    /// objects were named, a header above each object instead.
    fn write_kind(
        &self,
        w: &mut dyn Write,
        header: &str,
        rows: &[IpcRow],
        shm: bool,
    ) -> io::Result<()> {
        let each = self.options.selected || (shm && self.options.verbose);
        if !each {
            writeln!(w, "{header}")?;
        }
        for r in rows {
            if each {
                writeln!(w, "{header}")?;
            }
            let start = format!(
                "{:<16} {:08x} {:<10} {:<5} {:<5o}",
                format!("{:x}", r.address),
                r.key,
                r.id,
                r.uid,
                r.perms
            );
            if shm {
                let status = format!(
                    "{} {}",
                    if r.dest { "dest" } else { "" },
                    if r.locked { "locked" } else { "" }
                );
                writeln!(w, "{start} {:<10} {:<6} {status}", r.size, r.count)?;
                if self.options.verbose {
                    let n = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
                    writeln!(
                        w,
                        "PAGES ALLOCATED/RESIDENT/SWAPPED: {}/{}/{}",
                        n(r.pages_allocated),
                        n(r.pages_resident),
                        n(r.pages_swapped)
                    )?;
                    writeln!(w, "INODE: {:x}", r.inode.unwrap_or(0))?;
                }
            } else if header == MSG_HEADER {
                writeln!(w, "{start} {:<12} {:<12}", r.size, r.count)?;
            } else {
                writeln!(w, "{start} {:<10}", r.size)?;
            }
            if each {
                writeln!(w)?;
            }
        }
        if !each {
            if rows.is_empty() {
                writeln!(w, "(none allocated)")?;
            }
            writeln!(w)?;
        } else if rows.is_empty() && !self.options.selected {
            writeln!(w, "{header}")?;
            writeln!(w, "(none allocated)\n")?;
        }
        Ok(())
    }
}

impl Report for Ipcs {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        if let Some(rows) = &self.shared_memory {
            self.write_kind(w, SHM_HEADER, rows, true)?;
        }
        if let Some(rows) = &self.semaphores {
            self.write_kind(w, SEM_HEADER, rows, false)?;
        }
        if let Some(rows) = &self.message_queues {
            self.write_kind(w, MSG_HEADER, rows, false)?;
        }
        if self.options.selected
            && [&self.shared_memory, &self.semaphores, &self.message_queues]
                .iter()
                .all(|k| k.as_ref().is_none_or(|r| r.is_empty()))
        {
            writeln!(w, "ipcs: no such id or address")?;
        }
        for p in &self.problems {
            writeln!(w, "ipcs: {p}")?;
        }
        Ok(())
    }
}
