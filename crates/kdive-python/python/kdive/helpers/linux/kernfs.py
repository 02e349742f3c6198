"""kernfs (drgn's ``drgn.helpers.linux.kernfs``)."""

__all__ = ("kernfs_name", "kernfs_path", "kernfs_parent")


def kernfs_parent(kn):
    return kn.parent if hasattr(kn, "parent") else kn.__parent


def kernfs_name(kn):
    return kn.name.string_() if kn else b"(null)"


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
