"""Maple trees (drgn's ``drgn.helpers.linux.mapletree``), walked by the library."""
from ... import _kdive
from ..._kdive import Object
from ._walk import walked

__all__ = ("mt_for_each", "mtree_load")


def _address(mt):
    return mt.value_() if mt.type_.kind == _kdive.TypeKind.POINTER else mt.address_


def mt_for_each(mt, *, advanced=False):
    """``(first_index, last_index, entry)`` of each entry of a ``struct maple_tree *``, in index
    order, both indices inclusive; ``entry`` a ``void *``. The library's walk leaves out zero
    (reserved) entries, so ``advanced`` (drgn's flag to show them) changes nothing."""
    prog = mt.prog_
    for first, last, value in walked(_kdive._mt_entries(prog, _address(mt))):
        yield first, last, Object(prog, "void *", value)


def mtree_load(mt, index, *, advanced=False):
    """The entry (``void *``) of a ``struct maple_tree *`` covering ``index``, or ``NULL``."""
    index = int(index)
    for first, last, entry in mt_for_each(mt, advanced=advanced):
        if first <= index <= last:
            return entry
        if first > index:
            break
    return Object(mt.prog_, "void *", 0)
