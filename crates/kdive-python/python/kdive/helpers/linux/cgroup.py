"""Control groups (drgn's ``drgn.helpers.linux.cgroup``)."""
from .kernfs import kernfs_name, kernfs_path

__all__ = ("cgroup_name", "cgroup_parent", "cgroup_path")


def cgroup_parent(cgrp):
    parent = cgrp.self.parent
    from ..._kdive import Object, container_of

    if not parent:
        return Object(cgrp.prog_, "struct cgroup *", 0)
    return container_of(parent, "struct cgroup", "self")


def cgroup_name(cgrp):
    return kernfs_name(cgrp.kn)


def cgroup_path(cgrp):
    return kernfs_path(cgrp.kn)
