//! The VFS: paths of dentries (`d_path`) and the mounts of a mount namespace.
//!
//! Mount namespaces list their mounts either on `mnt_ns->list` (`mount.mnt_list`) or, since
//! Linux 6.8, in the red-black tree `mnt_ns->mounts` (`mount.mnt_node`); the types say which.

use std::collections::HashSet;

use kdive_program::object::offset_of;
use kdive_program::{Program, ProgramError, Result};

use crate::list::list_entries;
use crate::rbtree::inorder;

/// Most path components followed (deeper paths are cut with a leading `...`).
const MAX_COMPONENTS: usize = 256;
/// Longest name component read.
const NAME_MAX: usize = 255;

/// The path of `dentry` as seen through the mount whose `struct vfsmount` is at `vfsmnt`:
/// components up to the mount's root, then through the mount points of its parents to the root
/// of the namespace (the kernel's `d_path`). A dentry outside any tree (pipes, sockets) is
/// `[fstype]`, as drgn names it, rather than the kernel's `d_dname` pseudo names.
pub fn d_path(prog: &Program, vfsmnt: u64, dentry: u64) -> Result<String> {
    let mount_ty = prog.type_("struct mount")?;
    let mnt_off = offset_of(prog, mount_ty, "mnt")?;
    let mut mnt = vfsmnt.wrapping_sub(mnt_off);
    let mut dentry = dentry;
    let mut parts: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..MAX_COMPONENTS * 4 {
        if !seen.insert((mnt, dentry)) {
            return Err(ProgramError::Walk {
                what: format!("path of dentry {dentry:#x}"),
                why: "the parent chain loops".into(),
            });
        }
        let m = prog.object("struct mount", mnt)?;
        let root = m.member("mnt")?.member("mnt_root")?.read_u64()?;
        if dentry == root {
            let parent = m.member("mnt_parent")?.read_u64()?;
            if parent == mnt || parent == 0 {
                break;
            }
            dentry = m.member("mnt_mountpoint")?.read_u64()?;
            mnt = parent;
            continue;
        }
        let d = prog.object("struct dentry", dentry)?;
        let d_parent = d.member("d_parent")?.read_u64()?;
        if d_parent == dentry || d_parent == 0 {
            if parts.is_empty() {
                // a dentry of its own, outside any tree (pipes, sockets, anonymous inodes):
                // named after its filesystem, as drgn does
                return Ok(format!("[{}]", fs_name(prog, dentry)?));
            }
            break;
        }
        if parts.len() == MAX_COMPONENTS {
            parts.push("...".into());
            break;
        }
        parts.push(dentry_name(prog, dentry)?);
        dentry = d_parent;
    }
    if parts.is_empty() {
        return Ok("/".into());
    }
    parts.reverse();
    Ok(parts.iter().map(|p| format!("/{p}")).collect())
}

/// The name of the filesystem type a dentry belongs to (`d_sb->s_type->name`).
pub fn fs_name(prog: &Program, dentry: u64) -> Result<String> {
    prog.object("struct dentry", dentry)?
        .member("d_sb")?
        .deref()?
        .member("s_type")?
        .deref()?
        .member("name")?
        .read_string(64)
}

/// A dentry's own name (`d_name`).
pub fn dentry_name(prog: &Program, dentry: u64) -> Result<String> {
    let q = prog.object("struct dentry", dentry)?.member("d_name")?;
    let name = q.member("name")?.read_u64()?;
    Ok(prog.mem().read_cstr(name, NAME_MAX)?)
}

/// One mount of a namespace.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MountInfo {
    /// Address of its `struct mount`.
    pub addr: u64,
    /// Its superblock.
    pub sb: u64,
    pub fstype: String,
    pub devname: String,
    pub dirname: String,
}

/// The mounts of the namespace of `init_task` (the initial one), in the kernel's order, and what
/// could not be read.
pub fn mounts(prog: &Program, limit: usize) -> Result<(Vec<MountInfo>, Vec<String>)> {
    let init = prog.symbol_address("init_task")?;
    mounts_of(prog, mount_namespace(prog, init)?, limit)
}

/// The mount namespace (`struct mnt_namespace`) of the task at `task`, through its `nsproxy`;
/// an exited task has none.
pub fn mount_namespace(prog: &Program, task: u64) -> Result<u64> {
    let nsproxy = prog
        .object("struct task_struct", task)?
        .member("nsproxy")?
        .read_u64()?;
    if nsproxy == 0 {
        return Err(kdive_program::ProgramError::Unsupported(format!(
            "task {task:x} has no namespaces (nsproxy is NULL: it has exited)"
        )));
    }
    prog.object("struct nsproxy", nsproxy)?
        .member("mnt_ns")?
        .read_u64()
}

/// The mounts of the mount namespace at `ns`, in the kernel's order, and what could not be
/// read.
pub fn mounts_of(prog: &Program, ns: u64, limit: usize) -> Result<(Vec<MountInfo>, Vec<String>)> {
    let ns_obj = prog.object("struct mnt_namespace", ns)?;
    let ns_ty = prog.type_("struct mnt_namespace")?;
    let mut problems = Vec::new();
    // `mounts` is the tree since 6.8; before, a member of that name counted the mounts
    let tree = prog.types().has_member(ns_ty, "mounts")
        && ns_obj
            .member("mounts")
            .is_ok_and(|m| m.member("rb_node").is_ok());
    let addrs = if tree {
        let root = ns_obj.member("mounts")?.member("rb_node")?.read_u64()?;
        let node_off = offset_of(prog, prog.type_("struct mount")?, "mnt_node")?;
        let (nodes, err) = inorder(prog, root, limit)?;
        if let Some(e) = err {
            problems.push(format!("mount tree: {e}"));
        }
        nodes
            .into_iter()
            .map(|n| n.wrapping_sub(node_off))
            .collect()
    } else {
        let head = ns_obj.member("list")?.address().unwrap_or(0);
        let (v, err) = list_entries(prog, head, "struct mount", "mnt_list", limit)?;
        if let Some(e) = err {
            problems.push(format!("mount list: {e}"));
        }
        v
    };
    let mut out = Vec::new();
    for a in addrs {
        match read_mount(prog, a) {
            Ok(m) => out.push(m),
            Err(e) => problems.push(format!("struct mount at {a:#x}: {e}")),
        }
    }
    Ok((out, problems))
}

fn read_mount(prog: &Program, addr: u64) -> Result<MountInfo> {
    let m = prog.object("struct mount", addr)?;
    let vfs = m.member("mnt")?;
    let sb = vfs.member("mnt_sb")?.read_u64()?;
    let fstype = prog
        .object("struct super_block", sb)?
        .member("s_type")?
        .deref()?
        .member("name")?
        .read_string(64)?;
    let devname = m.member("mnt_devname")?.read_string(256)?;
    let root = vfs.member("mnt_root")?.read_u64()?;
    let dirname = d_path(prog, vfs.address().unwrap_or(0), root)?;
    Ok(MountInfo {
        addr,
        sb,
        fstype,
        devname,
        dirname,
    })
}

/// A dentry with its inode, superblock and path.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DentryInfo {
    pub inode: u64,
    pub superblock: u64,
    /// `i_mode` of the inode (0 without one).
    pub mode: u32,
    /// Its path through the last mount of its superblock in the initial namespace, or through
    /// the pipe or socket pseudo mount; `None` when none mounts it.
    pub path: Option<String>,
}

/// The inode, superblock and path of the dentry at `dentry`.
pub fn dentry_info(prog: &Program, dentry: u64, limit: usize) -> Result<DentryInfo> {
    let d = prog.object("struct dentry", dentry)?;
    let inode = d.member("d_inode")?.read_u64()?;
    let (superblock, mode) = if inode == 0 {
        (d.member("d_sb")?.read_u64()?, 0)
    } else {
        let i = prog.object("struct inode", inode)?;
        (
            i.member("i_sb")?.read_u64()?,
            i.member("i_mode")?.read_u64()? as u32,
        )
    };
    let mnt_off = offset_of(prog, prog.type_("struct mount")?, "mnt")?;
    let (mounts, _) = mounts(prog, limit)?;
    let mut vfsmnt = mounts
        .iter()
        .rev()
        .find(|m| m.sb == superblock)
        .map(|m| m.addr.wrapping_add(mnt_off));
    // pipes and sockets live on kernel-internal mounts that no namespace lists
    for name in ["pipe_mnt", "sock_mnt"] {
        if vfsmnt.is_some() {
            break;
        }
        let Ok(p) = prog.symbol_address(name) else {
            continue;
        };
        let vfs = prog.read_u64(p)?;
        let sb = prog
            .object("struct vfsmount", vfs)?
            .member("mnt_sb")?
            .read_u64()?;
        if sb == superblock && superblock != 0 {
            vfsmnt = Some(vfs);
        }
    }
    let path = vfsmnt.map(|v| d_path(prog, v, dentry)).transpose()?;
    Ok(DentryInfo {
        inode,
        superblock,
        mode,
        path,
    })
}

/// One open file of a task.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenFile {
    pub fd: u64,
    /// `struct file` address.
    pub file: u64,
    pub dentry: u64,
    pub inode: u64,
    /// `i_mode` of the inode (0 when there is none).
    pub mode: u32,
    pub path: String,
    /// For a socket: its protocol's name (`sk->sk_prot->name`: `TCP`, `UNIX-STREAM`...).
    pub protocol: Option<String>,
}

/// An open descriptor whose `struct file` (or what it points to) could not be read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnreadableFd {
    pub fd: u64,
    /// `struct file` address.
    pub file: u64,
    pub error: String,
}

/// Most descriptors looked at in one table.
const MAX_FDS: u64 = 1 << 20;

/// A task's root and working directory (`task->fs`), as paths.
pub fn root_and_cwd(prog: &Program, task: u64) -> Result<(String, String)> {
    let fs = prog
        .object("struct task_struct", task)?
        .member("fs")?
        .deref()?;
    let path = |name: &str| -> Result<String> {
        let p = fs.member(name)?;
        d_path(
            prog,
            p.member("mnt")?.read_u64()?,
            p.member("dentry")?.read_u64()?,
        )
    };
    Ok((path("root")?, path("pwd")?))
}

/// The open files of a task (`task->files->fdt`), with what could not be read.
pub fn open_files(prog: &Program, task: u64) -> Result<(Vec<OpenFile>, Vec<UnreadableFd>)> {
    let files = prog
        .object("struct task_struct", task)?
        .member("files")?
        .read_u64()?;
    if files == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let fdt = prog
        .object("struct files_struct", files)?
        .member("fdt")?
        .deref()?;
    let max = u64::from(fdt.member("max_fds")?.read_u64()? as u32).min(MAX_FDS);
    let fd_array = fdt.member("fd")?.read_u64()?;
    let open_fds = fdt.member("open_fds")?.read_u64()?;
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    let words = max.div_ceil(64);
    for w in 0..words {
        let bits = prog.read_u64(open_fds.wrapping_add(w.wrapping_mul(8)))?;
        for b in 0..64 {
            if bits & (1 << b) == 0 {
                continue;
            }
            let fd = w * 64 + b;
            let file = prog.read_u64(fd_array.wrapping_add(fd.wrapping_mul(8)))?;
            // reserved by get_unused_fd_flags() and not installed yet
            if file == 0 {
                continue;
            }
            match read_file(prog, fd, file) {
                Ok(f) => out.push(f),
                Err(e) => unreadable.push(UnreadableFd {
                    fd,
                    file,
                    error: e.to_string(),
                }),
            }
        }
    }
    Ok((out, unreadable))
}

/// `S_IFSOCK`, and the mask of the file type bits of `i_mode`.
const S_IFMT: u32 = 0o170000;
const S_IFSOCK: u32 = 0o140000;

fn read_file(prog: &Program, fd: u64, file: u64) -> Result<OpenFile> {
    let f = prog.object("struct file", file)?;
    let path = f.member("f_path")?;
    let mnt = path.member("mnt")?.read_u64()?;
    let dentry = path.member("dentry")?.read_u64()?;
    let inode = prog
        .object("struct dentry", dentry)?
        .member("d_inode")?
        .read_u64()?;
    let mode = if inode == 0 {
        0
    } else {
        prog.object("struct inode", inode)?
            .member("i_mode")?
            .read_u64()? as u32
    };
    let protocol = if mode & S_IFMT == S_IFSOCK {
        socket_protocol(prog, &f).ok()
    } else {
        None
    };
    Ok(OpenFile {
        fd,
        file,
        dentry,
        inode,
        mode,
        path: d_path(prog, mnt, dentry)?,
        protocol,
    })
}

/// `((struct socket *)file->private_data)->sk->sk_prot->name`.
fn socket_protocol(prog: &Program, f: &kdive_program::Object<'_>) -> Result<String> {
    let sock = f.member("private_data")?.read_u64()?;
    prog.object("struct socket", sock)?
        .member("sk")?
        .deref()?
        .member("__sk_common")?
        .member("skc_prot")?
        .deref()?
        .member("name")?
        .read_string(32)
}

/// The inodes of the block devices (`blockdev_superblock->s_inodes`), with the error that cut
/// the walk short, if one did.
pub fn block_device_inodes(
    prog: &Program,
    limit: usize,
) -> Result<(Vec<u64>, Option<kdive_program::ProgramError>)> {
    let sb = prog.read_u64(prog.symbol_address("blockdev_superblock")?)?;
    let head = prog
        .object("struct super_block", sb)?
        .member("s_inodes")?
        .address()
        .unwrap_or(0);
    crate::list::list_entries(prog, head, "struct inode", "i_sb_list", limit)
}

/// An inode's page cache: its `i_mapping`, that address space's `nrpages`, and the pages (or
/// folios) its `i_pages` xarray holds, by index.
#[derive(Debug, Default)]
pub struct InodePages {
    pub i_mapping: u64,
    pub nrpages: u64,
    /// `(index, struct page)` in index order; shadow entries (value entries left by evicted
    /// pages) are not pages and are left out.
    pub pages: Vec<(u64, u64)>,
    /// Xarray nodes that could not be read.
    pub errors: Vec<kdive_program::ProgramError>,
}

/// The pages in the page cache of the inode at `inode`, walking at most `limit` entries.
pub fn inode_pages(prog: &Program, inode: u64, limit: usize) -> Result<InodePages> {
    let i_mapping = prog
        .object("struct inode", inode)?
        .member("i_mapping")?
        .read_u64()?;
    let space = prog.object("struct address_space", i_mapping)?;
    let nrpages = space.member("nrpages")?.read_u64()?;
    let xa = space.member("i_pages")?.address().unwrap_or(0);
    let walk = crate::xarray::xa_entries(prog, xa, limit)?;
    Ok(InodePages {
        i_mapping,
        nrpages,
        // xa_is_value(): bit 0 tags an integer, not a pointer
        pages: walk
            .entries
            .iter()
            .filter(|e| e.value & 1 == 0)
            .map(|e| (e.index, e.value))
            .collect(),
        errors: walk.errors,
    })
}

/// The writeback lists of a `struct bdi_writeback` that hold dirty inodes, linked through
/// `inode.i_io_list`: dirtied, queued for writeback, and waiting for another pass.
const WB_DIRTY_LISTS: [&str; 3] = ["b_dirty", "b_io", "b_more_io"];

/// The dirty inodes of the superblock at `sb`, and why a walk stopped. Old kernels keep them
/// on the superblock's own `s_dirty` list; newer ones on the writeback lists of its backing
/// device (`s_bdi`): its `wb`, and with cgroup writeback every `bdi_writeback` of its `wb_list`,
/// each list holding the inodes of every superblock on that device, so only `sb`'s are kept.
pub fn dirty_inodes(prog: &Program, sb: u64, limit: usize) -> Result<(Vec<u64>, Vec<String>)> {
    let sb_ty = prog.type_("struct super_block")?;
    let sb_obj = prog.object("struct super_block", sb)?;
    let mut problems = Vec::new();
    if prog.types().has_member(sb_ty, "s_dirty") {
        let head = sb_obj.member("s_dirty")?.address().unwrap_or(0);
        let (v, err) = list_entries(prog, head, "struct inode", "i_list", limit)?;
        if let Some(e) = err {
            problems.push(format!("s_dirty: {e}"));
        }
        return Ok((v, problems));
    }
    let bdi = sb_obj.member("s_bdi")?.read_u64()?;
    if bdi == 0 {
        return Ok((Vec::new(), problems));
    }
    let bdi_obj = prog.object("struct backing_dev_info", bdi)?;
    let bdi_ty = prog.type_("struct backing_dev_info")?;
    let wbs = if prog.types().has_member(bdi_ty, "wb_list") {
        let head = bdi_obj.member("wb_list")?.address().unwrap_or(0);
        let (v, err) = list_entries(prog, head, "struct bdi_writeback", "bdi_node", limit)?;
        if let Some(e) = err {
            problems.push(format!("wb_list: {e}"));
        }
        v
    } else {
        vec![bdi_obj.member("wb")?.address().unwrap_or(0)]
    };
    let i_sb = offset_of(prog, prog.type_("struct inode")?, "i_sb")?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for wb in wbs {
        let wb_obj = prog.object("struct bdi_writeback", wb)?;
        for name in WB_DIRTY_LISTS {
            let head = wb_obj.member(name)?.address().unwrap_or(0);
            let (v, err) = list_entries(prog, head, "struct inode", "i_io_list", limit)?;
            if let Some(e) = err {
                problems.push(format!("{name} of bdi_writeback {wb:#x}: {e}"));
            }
            for inode in v {
                match prog.read_u64(inode.wrapping_add(i_sb)) {
                    Ok(s) if s == sb && seen.insert(inode) => out.push(inode),
                    Ok(_) => {}
                    Err(e) => problems.push(format!("inode {inode:#x}: {e}")),
                }
            }
        }
    }
    Ok((out, problems))
}

/// The inode's superblock (`i_sb`).
pub fn inode_superblock(prog: &Program, inode: u64) -> Result<u64> {
    prog.object("struct inode", inode)?
        .member("i_sb")?
        .read_u64()
}
