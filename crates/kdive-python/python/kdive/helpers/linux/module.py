"""Kernel modules (drgn's ``drgn.helpers.linux.module``), listed by the library."""
from ... import _kdive
from ..._kdive import Object
from ._walk import prog_of

__all__ = ("find_module", "for_each_module", "module_percpu_region")


def for_each_module(prog):
    """Each loaded ``struct module *``, in the kernel's list order."""
    prog = prog_of(prog)
    for addr, _name in _kdive._modules(prog):
        yield Object(prog, "struct module *", addr)


def find_module(prog, name):
    """The ``struct module *`` named ``name``, or ``None``."""
    if isinstance(name, bytes):
        name = name.decode()
    for addr, n in _kdive._modules(prog_of(prog)):
        if n == name:
            return Object(prog_of(prog), "struct module *", addr)
    return None


def module_percpu_region(mod):
    """``(start, size)`` of a module's per-CPU area."""
    return mod.percpu.value_(), mod.percpu_size.value_()
