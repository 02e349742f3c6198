"""XArrays (drgn's ``drgn.helpers.linux.xarray``), walked by the library."""
from ... import _kdive
from ..._kdive import Object
from ._walk import walked

__all__ = ("xa_for_each", "xa_is_value", "xa_is_zero", "xa_load", "xa_to_value")


def _addr(xa):
    return xa.value_() if xa.type_.kind.name == "POINTER" else xa.address_


def xa_for_each(xa):
    """``(index, void *entry)`` of each entry of a ``struct xarray *``."""
    prog = xa.prog_
    for index, entry in walked(_kdive._xa_entries(prog, _addr(xa))):
        yield index, Object(prog, "void *", entry)


def xa_load(xa, index):
    for i, e in xa_for_each(xa):
        if i == index:
            return e
    return Object(xa.prog_, "void *", 0)


def xa_is_value(entry):
    return bool(entry.value_() & 1)


def xa_to_value(entry):
    return Object(entry.prog_, "unsigned long", entry.value_() >> 1)


def xa_is_zero(entry):
    return entry.value_() == 0x406
