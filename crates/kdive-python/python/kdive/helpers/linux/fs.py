"""Filesystems (drgn's ``drgn.helpers.linux.fs``): paths and mounts from the library."""
from ... import _kdive
from ..._kdive import Object, container_of
from ._walk import prog_of

__all__ = (
    "d_path", "dentry_path", "for_each_file", "for_each_mount", "inode_path", "mount_dst", "mount_fstype",
    "mount_src", "print_mounts",
)


def d_path(path_or_vfsmnt, dentry=None):
    """The path of a ``struct path *`` (or of ``vfsmnt`` and ``dentry``), as bytes."""
    if dentry is None:
        p = path_or_vfsmnt
        vfsmnt, dentry = p.mnt, p.dentry
    else:
        vfsmnt = path_or_vfsmnt
    prog = vfsmnt.prog_
    return _kdive._d_path(prog, vfsmnt.value_(), dentry.value_()).encode()


def dentry_path(dentry):
    """The path of a dentry from the root of its filesystem, as bytes."""
    parts = []
    seen = 0
    while seen < 4096:
        seen += 1
        parent = dentry.d_parent
        if parent == dentry:
            break
        parts.append(dentry.d_name.name.string_())
        dentry = parent
    return b"/" + b"/".join(reversed(parts))


def inode_path(inode):
    """A path of an inode (through its first dentry), or ``None``."""
    from .list import hlist_for_each_entry

    for dentry in hlist_for_each_entry("struct dentry", inode.i_dentry.address_of_(), "d_u.d_alias"):
        return dentry_path(dentry)
    return None


def for_each_mount(prog, src=None, dst=None, fstype=None):
    """Each ``struct mount *`` of the initial mount namespace, filtered by source, mount point
    or filesystem type (``str`` or ``bytes``)."""
    prog = prog_of(prog)

    def b(x):
        return x.encode() if isinstance(x, str) else x

    for addr, devname, dirname, fs in _kdive._mounts(prog):
        if src is not None and devname.encode() != b(src):
            continue
        if dst is not None and dirname.encode() != b(dst):
            continue
        if fstype is not None and fs.encode() != b(fstype):
            continue
        yield Object(prog, "struct mount *", addr)


def mount_src(mnt):
    return mnt.mnt_devname.string_()


def mount_dst(mnt):
    return d_path(mnt.mnt.address_of_(), mnt.mnt.mnt_root)


def mount_fstype(mnt):
    sb = mnt.mnt.mnt_sb
    name = sb.s_type.name.string_()
    sub = sb.s_subtype
    if sub:
        name += b"." + sub.string_()
    return name


def print_mounts(prog, src=None, dst=None, fstype=None):
    for mnt in for_each_mount(prog, src, dst, fstype):
        print("%s %s %s (struct mount *)%#x" % (
            mount_src(mnt).decode(errors="replace"), mount_dst(mnt).decode(errors="replace"),
            mount_fstype(mnt).decode(errors="replace"), mnt.value_()))


def for_each_file(task):
    """``(fd, struct file *)`` of each open file of a task."""
    fdt = task.files.fdt
    for i in range(fdt.max_fds.value_()):
        f = fdt.fd[i]
        if f:
            yield i, f


del container_of
