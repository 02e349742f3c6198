"""Linux kernel helpers, under drgn's module names; every helper of every module is importable
from here too (``from kdive.helpers.linux import *``), as in drgn."""
import importlib as _importlib

_MODULES = (
    "bitops", "block", "boot", "cgroup", "cpumask", "device", "fs", "idr", "kconfig", "kernfs", "list",
    "mm", "module", "net", "nodemask", "percpu", "pid", "printk", "radixtree", "rbtree", "sched",
    "slab", "user", "xarray",
)
__all__ = []
for _name in _MODULES:
    _mod = _importlib.import_module("." + _name, __name__)
    for _attr in getattr(_mod, "__all__", ()):
        globals()[_attr] = getattr(_mod, _attr)
        __all__.append(_attr)
