"""kernfs (drgn's ``drgn.helpers.linux.kernfs``)."""
import os

from ..._kdive import Object

__all__ = (
    "kernfs_children", "kernfs_name", "kernfs_parent", "kernfs_path", "kernfs_root", "kernfs_walk",
)

# a kernfs_node's type is the low bits of its flags (KERNFS_TYPE_MASK)
_TYPE_MASK = 0x000F
# bound on symlink hops while following a chain of links
_MAX_LINKS = 40


def kernfs_parent(kn):
    return kn.parent if hasattr(kn, "parent") else kn.__parent


def kernfs_name(kn):
    """A node's name; ``/`` for a root (no parent) as the kernel's ``kernfs_name()`` says."""
    if not kn:
        return b"(null)"
    return kn.name.string_() if kernfs_parent(kn) else b"/"


def kernfs_path(kn):
    parts = []
    n = 0
    while kn and n < 4096:
        parent = kernfs_parent(kn)
        if not parent:
            break
        parts.append(kn.name.string_())
        kn = parent
        n += 1
    return b"/" + b"/".join(reversed(parts))


def kernfs_root(kn):
    """The ``struct kernfs_root *`` a node belongs to (its parent's, a directory, where it has
    one)."""
    parent = kernfs_parent(kn)
    if parent:
        kn = parent
    return kn.dir.root.read_()


def _is_type(kn, name):
    return kn.flags.value_() & _TYPE_MASK == kn.prog_.constant(name).value_()


def _follow(kn):
    hops = 0
    while _is_type(kn, "KERNFS_LINK"):
        if hops == _MAX_LINKS:
            raise ValueError("kernfs: more than %d symbolic links in a chain" % _MAX_LINKS)
        kn = kn.symlink.target_kn.read_()
        hops += 1
    return kn


def kernfs_children(kn):
    """Each child ``struct kernfs_node *`` of a directory node, in the kernel's (hash, name)
    order; ``ValueError`` for a node that is not a directory."""
    from .rbtree import rbtree_inorder_for_each_entry

    if not _is_type(kn, "KERNFS_DIR"):
        raise ValueError("not a directory")
    return rbtree_inorder_for_each_entry("struct kernfs_node", kn.dir.children.address_of_(), "rb")


def kernfs_walk(parent, path, follow_symlinks=True):
    """The node at ``path`` below ``parent`` (a NULL ``struct kernfs_node *`` when absent),
    following the symbolic links on the way and, with ``follow_symlinks``, the last one.
    Namespaced nodes are not matched."""
    from .rbtree import rbtree_inorder_for_each_entry

    kind = parent.type_
    for name in os.fsencode(path).split(b"/"):
        if not name:
            continue
        parent = _follow(parent)
        for child in rbtree_inorder_for_each_entry(kind.type, parent.dir.children.address_of_(), "rb"):
            if child.name.string_() == name and not child.ns:
                parent = child
                break
        else:
            return Object(parent.prog_, kind, 0)
    return _follow(parent) if follow_symlinks else parent
