"""Filesystems (drgn's ``drgn.helpers.linux.fs``): paths and mounts from the library."""
import os

from ... import _kdive
from ..._kdive import Object, container_of
from ..common.prog import takes_object_or_program_or_default
from ._walk import prog_of
from ..._kdive import container_of as _container_of
from .list import hlist_for_each_entry as _hlist_entries, list_for_each_entry as _list_entries

# most parents followed up from a dentry (a corrupted, looping tree)
_MAX_DEPTH = 4096

__all__ = (
    "address_space_for_each_page", "d_path", "decode_file_type", "dentry_path", "fget", "for_each_file",
    "for_each_mount", "inode_for_each_page", "inode_path", "inode_paths", "mount_dst", "mount_fstype",
    "mount_src", "path_lookup", "print_files", "print_mounts", "super_block_for_each_mount",
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
    """The path of a dentry from the root of its filesystem, as bytes, without a leading ``/``
    (``b""`` for the root), as drgn gives it."""
    parts = []
    for _ in range(_MAX_DEPTH):
        parent = dentry.d_parent.read_()
        if parent.value_() == dentry.value_():
            break
        parts.append(dentry.d_name.name.string_())
        dentry = parent
    else:
        raise ValueError("dentry %#x: more than %d parents (a loop?)" % (dentry.value_(), _MAX_DEPTH))
    return b"/".join(reversed(parts))


def inode_path(inode):
    """A path of an inode from the root of its filesystem (through its first dentry), or ``None``
    for an inode without one."""
    for path in inode_paths(inode):
        return path
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
    """``(fd, struct file *)`` of each open file of a task: the descriptors set in its file
    table's ``open_fds``."""
    files = task.files.read_()
    if not files:
        return
    fdt = files.fdt.read_()
    bits = 8 * fdt.open_fds.type_.type.size
    for i in range((fdt.max_fds.value_() + bits - 1) // bits):
        word = fdt.open_fds[i].value_()
        for j in range(bits):
            if word >> j & 1:
                fd = i * bits + j
                yield fd, fdt.fd[fd].read_()


def _d_alias(prog):
    """Where a dentry links into its inode's alias list: ``d_alias``, in the ``d_u`` union
    until that union became anonymous."""
    return "d_alias" if prog.type("struct dentry").has_member("d_alias") else "d_u.d_alias"


def inode_paths(inode):
    """Each path of an inode from the root of its filesystem (one per dentry), as bytes."""
    from .list import hlist_for_each_entry

    for dentry in hlist_for_each_entry("struct dentry", inode.i_dentry.address_of_(), _d_alias(inode.prog_)):
        yield dentry_path(dentry)


def address_space_for_each_page(mapping):
    """``(index, struct page *)`` of each page cached in a ``struct address_space *`` (shadow
    entries of evicted pages left out)."""
    from .xarray import xa_for_each, xa_is_value

    t = mapping.type_.type
    pages = mapping.i_pages if t.has_member("i_pages") else mapping.page_tree
    for index, entry in xa_for_each(pages.address_of_()):
        if not xa_is_value(entry):
            yield index, Object(mapping.prog_, "struct page *", entry.value_())


def inode_for_each_page(inode):
    """``(index, struct page *)`` of each page cached for an inode."""
    return address_space_for_each_page(inode.i_mapping.read_())


def super_block_for_each_mount(sb):
    """Each ``struct mount *`` of a ``struct super_block *``: its ``s_mounts`` list, or the
    chain through ``mnt_next_for_sb`` where ``s_mounts`` is a pointer."""
    from .list import list_for_each_entry

    mounts = sb.s_mounts
    if mounts.type_.kind.name != "POINTER":
        yield from list_for_each_entry("struct mount", mounts.address_of_(), "mnt_instance")
        return
    seen = set()
    mnt = mounts.read_()
    while mnt:
        if mnt.value_() in seen:
            raise ValueError("super_block %#x: mount %#x reached twice (cycle)" % (sb.value_(), mnt.value_()))
        seen.add(mnt.value_())
        yield mnt
        mnt = mnt.mnt_next_for_sb.read_()


def fget(task, fd):
    """The ``struct file *`` of a task's file descriptor ``fd``."""
    return task.files.fdt.fd[int(fd)]


def print_files(task):
    """Prints a task's open files: ``FD PATH (struct file *)ADDRESS``."""
    from ..common.format import escape_ascii_string

    for fd, file in for_each_file(task):
        path = escape_ascii_string(d_path(file.f_path), escape_backslash=True)
        print("%d %s (%s)0x%x" % (fd, path, file.type_.type_name(), file.value_()))


# file types of a mode's S_IFMT bits (include/uapi/linux/stat.h)
_S_IFMT = 0o170000
_FILE_TYPES = {0o140000: "SOCK", 0o120000: "LNK", 0o100000: "REG", 0o060000: "BLK", 0o040000: "DIR",
               0o020000: "CHR", 0o010000: "FIFO"}


def decode_file_type(mode):
    """A mode's file type (``REG``, ``DIR``, ``CHR``...), or its type bits in octal if unknown."""
    fmt = int(mode) & _S_IFMT
    return _FILE_TYPES.get(fmt, "%06o" % fmt)


del container_of


# most mounts stacked on one directory followed
_MAX_STACKED = 64


def _children(dentry):
    """Each child ``struct dentry *`` of a directory in the dentry cache: an hlist through
    ``d_sib`` where the dentry has ``d_children``, else a list through ``d_child``."""
    if dentry.prog_.type("struct dentry").has_member("d_children"):
        return _hlist_entries("struct dentry", dentry.d_children.address_of_(), "d_sib")
    return _list_entries("struct dentry", dentry.d_subdirs.address_of_(), "d_child")


def _covering(mnt, dentry):
    """Where a walk arriving at ``dentry`` of mount ``mnt`` stands: the root of the topmost
    mount over it (the kernel's mount crossing), or where it is.

    Every child mount is asked whether it is mounted on ``dentry``, rather than the dentry's
    DCACHE_MOUNTED flag first: the flag is a macro whose value changed between kernels, which
    the types cannot tell."""
    for _ in range(_MAX_STACKED):
        for child in _list_entries("struct mount", mnt.mnt_mounts.address_of_(), "mnt_child"):
            if child.mnt_mountpoint == dentry:
                mnt, dentry = child, child.mnt.mnt_root.read_()
                break
        else:
            return mnt, dentry
    return mnt, dentry


def _dotdot(mnt, dentry, root_mnt, root_dentry):
    """``..`` of ``dentry`` in mount ``mnt``: its parent directory, through the mount point at
    the root of a mount; the root stays the root."""
    for _ in range(_MAX_DEPTH):
        if dentry == root_dentry and mnt == root_mnt:
            break
        parent = dentry.d_parent.read_()
        if parent != dentry:
            dentry = parent
            break
        # the root of a mount: up to where it is mounted, whose parent is asked next
        up = mnt.mnt_parent.read_()
        if up == mnt:
            break
        mnt, dentry = up, mnt.mnt_mountpoint.read_()
    return _covering(mnt, dentry)


@takes_object_or_program_or_default
def path_lookup(prog, root, path, *, allow_negative=False):
    """The ``struct path`` (a value) of ``path`` as the dentry cache holds it, from ``root`` (a
    ``struct path`` or ``struct path *``; the initial task's root by default), crossing mounts
    and following ``..``; symbolic links are not followed. Raises ``Exception`` for a path the
    dentry cache does not hold, or whose dentry is negative unless ``allow_negative``."""
    if root is None:
        root = prog["init_task"].fs.root
    mnt = root_mnt = _container_of(root.mnt.read_(), "struct mount", "mnt")
    dentry = root_dentry = root.dentry.read_()
    parts = os.fsencode(path).split(b"/")
    for i, name in enumerate(parts):
        if name in (b"", b"."):
            continue
        if name == b"..":
            mnt, dentry = _dotdot(mnt, dentry, root_mnt, root_dentry)
            continue
        for child in _children(dentry):
            if child.d_name.name.string_() == name:
                break
        else:
            raise Exception("could not find %r in dcache" % os.fsdecode(b"/".join(parts[: i + 1])))
        mnt, dentry = _covering(mnt, child)
    if not allow_negative and not dentry.d_inode:
        raise Exception("%r dentry is negative" % os.fsdecode(path))
    return Object(prog, "struct path", value={"mnt": mnt.mnt.address_of_(), "dentry": dentry})
