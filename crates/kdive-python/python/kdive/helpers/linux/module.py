"""Kernel modules (drgn's ``drgn.helpers.linux.module``), listed by the library."""
import operator

from ... import _kdive
from ..._kdive import Object
from ._walk import prog_of

__all__ = (
    "address_to_module", "find_module", "for_each_module", "module_address_regions",
    "module_percpu_region", "module_taints",
)


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


def module_address_regions(mod):
    """Every ``(start, size)`` of a module's memory, its per-CPU area aside: one per
    ``struct module_memory`` where the module has them (``mem``), else its core and init
    layout (``(0, 0)`` once init memory is freed, listed all the same, as drgn does), else the
    ``module_core``/``module_init`` fields."""
    if mod.type_.type.has_member("mem"):
        return [(m.base.value_(), m.size.value_()) for m in mod.mem]
    if mod.type_.type.has_member("core_layout"):
        core = (mod.core_layout.base.value_(), mod.core_layout.size.value_())
        init = (mod.init_layout.base.value_(), mod.init_layout.size.value_())
    else:
        core = (mod.module_core.value_(), mod.core_size.value_())
        init = (mod.module_init.value_(), mod.init_size.value_())
    return [core, init]


def address_to_module(prog, addr):
    """The ``struct module *`` whose text or data holds ``addr``, else a NULL pointer.

    Each module's regions are searched in turn: the answer the kernel's module tree gives,
    without depending on ``CONFIG_MODULES_TREE_LOOKUP``."""
    prog = prog_of(prog)
    addr = operator.index(addr)
    for mod in for_each_module(prog):
        for start, size in module_address_regions(mod):
            if start <= addr < start + size:
                return mod
    return Object(prog, "struct module *", 0)


def module_taints(mod):
    """The letters of the taint flags a module set (``"O"``, ``"OE"``), ``""`` for none: bit
    ``i`` of ``taints`` is ``taint_flags[i].c_true`` (``tnts[].true`` at bit ``tnts[].bit``
    on kernels before ``taint_flags``)."""
    mask = mod.taints.value_()
    if not mask:
        return ""
    prog = mod.prog_
    try:
        flags = prog["taint_flags"]
    except KeyError:
        return "".join(chr(t.true.value_()) for t in prog["tnts"] if mask & (1 << t.bit.value_()))
    return "".join(chr(t.c_true.value_()) for i, t in enumerate(flags) if mask & (1 << i))
