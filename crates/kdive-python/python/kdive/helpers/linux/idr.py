"""IDRs (drgn's ``drgn.helpers.linux.idr``), walked through their xarray."""
from ..._kdive import Object
from .xarray import xa_for_each

__all__ = ("idr_find", "idr_for_each", "idr_for_each_entry")


def idr_for_each(idr):
    base = idr.idr_base.value_() if idr.type_.kind.name != "POINTER" or True else 0
    for index, entry in xa_for_each(idr.idr_rt.address_of_()):
        yield index + base, entry


def idr_for_each_entry(idr, type):
    for index, entry in idr_for_each(idr):
        yield index, Object(idr.prog_, type + " *" if isinstance(type, str) else idr.prog_.pointer_type(type), entry.value_())


def idr_find(idr, id):
    for index, entry in idr_for_each(idr):
        if index == id:
            return entry
    return Object(idr.prog_, "void *", 0)
