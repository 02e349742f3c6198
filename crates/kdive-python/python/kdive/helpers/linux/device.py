"""Devices and buses (drgn's ``drgn.helpers.linux.device``)."""
from ..._kdive import Object
from .list import list_for_each_entry

__all__ = ("MAJOR", "MINOR", "MKDEV", "bus_to_subsys")

_MINORBITS = 20


def MAJOR(dev):
    return int(dev) >> _MINORBITS


def MINOR(dev):
    return int(dev) & ((1 << _MINORBITS) - 1)


def MKDEV(major, minor):
    return (int(major) << _MINORBITS) | int(minor)


def bus_to_subsys(bus):
    """The ``struct subsys_private *`` of a ``struct bus_type *``: the registered bus (on
    ``bus_kset``) whose ``bus`` it is, or ``NULL``."""
    prog = bus.prog_
    head = prog["bus_kset"].list.address_of_()
    for sp in list_for_each_entry("struct subsys_private", head, "subsys.kobj.entry"):
        if sp.bus == bus:
            return sp
    return Object(prog, "struct subsys_private *", 0)
