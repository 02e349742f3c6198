"""Control groups (drgn's ``drgn.helpers.linux.cgroup``)."""
from ..._kdive import Object, cast, container_of
from ._walk import prog_of
from .kernfs import kernfs_name, kernfs_path

__all__ = (
    "cgroup_get_from_path", "cgroup_name", "cgroup_parent", "cgroup_path", "css_for_each_child",
    "css_for_each_descendant_pre", "css_next_child", "css_next_descendant_pre", "sock_cgroup_ptr",
)

# most positions a css walk visits before it gives up (a corrupted, looping hierarchy)
_MAX_CSS = 1 << 20


def _null_css(prog):
    return Object(prog, "struct cgroup_subsys_state *", 0)


def cgroup_parent(cgrp):
    """The parent ``struct cgroup *`` of a cgroup, or ``NULL`` for a root."""
    parent = cgrp.self.parent
    if not parent:
        return Object(cgrp.prog_, "struct cgroup *", 0)
    return container_of(parent, "struct cgroup", "self")


def cgroup_name(cgrp):
    return kernfs_name(cgrp.kn)


def cgroup_path(cgrp):
    return kernfs_path(cgrp.kn)


def sock_cgroup_ptr(skcd):
    """The ``struct cgroup *`` of a ``struct sock_cgroup_data *``: its ``cgroup`` member, or the
    pointer kept in ``val`` before that member existed."""
    if skcd.type_.type.has_member("cgroup"):
        return skcd.cgroup.read_()
    return cast("struct cgroup *", skcd.val)


def cgroup_get_from_path(prog, path):
    """The ``struct cgroup *`` at ``path`` of the default hierarchy, or ``NULL``."""
    from .kernfs import kernfs_walk

    prog = prog_of(prog)
    kn = kernfs_walk(prog["cgrp_dfl_root"].cgrp.kn, path)
    return Object(prog, "struct cgroup *", kn.priv.value_() if kn else 0)


def css_next_child(pos, parent):
    """The child of ``parent`` after ``pos`` (``NULL`` to start), or ``NULL`` after the last: the
    next sibling, or, where ``pos`` was released (off the list), the first child with a higher
    serial number, as the kernel's ``css_next_child()``."""
    from .list import list_for_each_entry

    prog = parent.prog_
    head = parent.children.address_of_().value_()
    if not pos:
        nxt = parent.children.next.value_()
    elif not pos.flags.value_() & prog["CSS_RELEASED"].value_():
        nxt = pos.sibling.next.value_()
    else:
        serial = pos.serial_nr.value_()
        for css in list_for_each_entry("struct cgroup_subsys_state", parent.children.address_of_(), "sibling"):
            if css.serial_nr.value_() > serial:
                return css
        return _null_css(prog)
    if nxt == head:
        return _null_css(prog)
    return container_of(Object(prog, "struct list_head *", nxt), "struct cgroup_subsys_state", "sibling")


def css_next_descendant_pre(pos, root):
    """The descendant of ``root`` after ``pos`` in pre-order (``NULL`` to start, giving ``root``),
    or ``NULL`` after the last."""
    if not pos:
        return root
    child = css_next_child(_null_css(pos.prog_), pos)
    if child:
        return child
    # no child: the next sibling of the nearest of pos and its ancestors below root that has one
    while pos.value_() != root.value_():
        nxt = css_next_child(pos, pos.parent)
        if nxt:
            return nxt
        pos = pos.parent.read_()
    return _null_css(root.prog_)


def _css_walk(step, css):
    pos = _null_css(css.prog_)
    for _ in range(_MAX_CSS):
        pos = step(pos, css)
        if not pos:
            return
        yield pos
    raise ValueError("css %#x: more than %d positions (a loop?)" % (css.value_(), _MAX_CSS))


def css_for_each_child(css):
    """Each child ``struct cgroup_subsys_state *`` of a css, offline ones included."""
    return _css_walk(css_next_child, css)


def css_for_each_descendant_pre(css):
    """``css`` and each of its descendants, in pre-order, offline ones included."""
    return _css_walk(css_next_descendant_pre, css)
