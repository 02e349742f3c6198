//! System V IPC: the shared memory segments, semaphore arrays and message queues of an IPC
//! namespace (`ipc_namespace.ids[]`, each an IDR of `struct kern_ipc_perm`).

use kdive_program::object::offset_of;
use kdive_program::{Object, Program, Result};

use crate::xarray::xa_entries;

/// The kinds of IPC object, in the order of `ipc_namespace.ids[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum IpcKind {
    Semaphores,
    MessageQueues,
    SharedMemory,
}

impl IpcKind {
    fn index(self) -> u64 {
        match self {
            IpcKind::Semaphores => 0,
            IpcKind::MessageQueues => 1,
            IpcKind::SharedMemory => 2,
        }
    }

    /// The structure holding the object, and its `kern_ipc_perm` member.
    fn container(self) -> (&'static str, &'static str) {
        match self {
            IpcKind::Semaphores => ("struct sem_array", "sem_perm"),
            IpcKind::MessageQueues => ("struct msg_queue", "q_perm"),
            IpcKind::SharedMemory => ("struct shmid_kernel", "shm_perm"),
        }
    }
}

/// One IPC object.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IpcObject {
    /// Its `shmid_kernel`, `sem_array` or `msg_queue`.
    pub addr: u64,
    pub key: i32,
    pub id: i32,
    pub uid: u32,
    pub mode: u32,
    /// Shared memory: segment size; message queues: bytes queued; semaphores: semaphores.
    pub size: u64,
    /// Shared memory: attaches; message queues: messages; semaphores: 0.
    pub count: u64,
    /// Shared memory: its shmem inode, pages resident and pages swapped out.
    pub inode: Option<u64>,
    pub resident_pages: Option<u64>,
    pub swapped_pages: Option<u64>,
}

/// The IPC namespace a task is in (`nsproxy->ipc_ns`).
pub fn ipc_namespace(prog: &Program, task: u64) -> Result<u64> {
    prog.object("struct task_struct", task)?
        .member("nsproxy")?
        .member("ipc_ns")?
        .read_u64()
}

/// The objects of one kind in the namespace at `ns`, by ID order; and what could not be read.
pub fn ipc_objects(
    prog: &Program,
    ns: u64,
    kind: IpcKind,
    limit: usize,
) -> Result<(Vec<IpcObject>, Vec<String>)> {
    let ids = prog
        .object("struct ipc_namespace", ns)?
        .member("ids")?
        .index(kind.index())?;
    let mut problems = Vec::new();
    if ids.member("in_use")?.read_u64()? as u32 == 0 {
        return Ok((Vec::new(), problems));
    }
    let idr = ids.member("ipcs_idr.idr_rt")?.address().unwrap_or(0);
    let walk = xa_entries(prog, idr, limit)?;
    problems.extend(walk.errors.iter().map(|e| format!("IPC IDR: {e}")));
    let (spec, perm_member) = kind.container();
    let off = offset_of(prog, prog.type_(spec)?, perm_member)?;
    let mut out = Vec::new();
    for e in walk.entries {
        let addr = e.value.wrapping_sub(off);
        match read_object(prog, kind, spec, addr) {
            Ok(Some(o)) => out.push(o),
            Ok(None) => {}
            Err(err) => problems.push(format!("{spec} at {addr:#x}: {err}")),
        }
    }
    Ok((out, problems))
}

fn read_object(prog: &Program, kind: IpcKind, spec: &str, addr: u64) -> Result<Option<IpcObject>> {
    let o = prog.object(spec, addr)?;
    let perm = o.member(kind.container().1)?;
    if perm.member("deleted")?.read_u64()? != 0 {
        return Ok(None);
    }
    let int = |p: &Object<'_>, m: &str| p.member(m).and_then(|v| v.read_i64());
    let mut obj = IpcObject {
        addr,
        key: int(&perm, "key")? as i32,
        id: int(&perm, "id")? as i32,
        uid: perm.member("uid.val")?.read_u64()? as u32,
        mode: perm.member("mode")?.read_u64()? as u32,
        size: 0,
        count: 0,
        inode: None,
        resident_pages: None,
        swapped_pages: None,
    };
    match kind {
        IpcKind::Semaphores => obj.size = o.member("sem_nsems")?.read_u64()?,
        IpcKind::MessageQueues => {
            obj.size = o.member("q_cbytes")?.read_u64()?;
            obj.count = o.member("q_qnum")?.read_u64()?;
        }
        IpcKind::SharedMemory => {
            obj.size = o.member("shm_segsz")?.read_u64()?;
            obj.count = o.member("shm_nattch")?.read_u64()?;
            let file = o.member("shm_file")?.read_u64()?;
            if file != 0 {
                let inode = prog
                    .object("struct file", file)?
                    .member("f_inode")?
                    .read_u64()?;
                obj.inode = Some(inode);
                obj.resident_pages = prog
                    .object("struct inode", inode)
                    .and_then(|i| i.member("i_mapping")?.member("nrpages")?.read_u64())
                    .ok();
                // the inode is the `vfs_inode` of a `struct shmem_inode_info`
                obj.swapped_pages = kdive_program::object::container_of(
                    prog,
                    inode,
                    "struct shmem_inode_info",
                    "vfs_inode",
                )
                .and_then(|s| s.member("swapped")?.read_u64())
                .ok();
            }
        }
    }
    Ok(Some(obj))
}
