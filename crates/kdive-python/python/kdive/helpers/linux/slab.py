"""Slab caches (drgn's ``drgn.helpers.linux.slab``)."""
from .list import list_for_each_entry

__all__ = ("find_slab_cache", "for_each_slab_cache", "slab_cache_is_merged")


def for_each_slab_cache(prog):
    """Each ``struct kmem_cache *`` on ``slab_caches``."""
    return list_for_each_entry("struct kmem_cache", prog["slab_caches"].address_of_(), "list")


def find_slab_cache(prog, name):
    """The ``struct kmem_cache *`` named ``name``, or ``None``."""
    if isinstance(name, str):
        name = name.encode()
    for s in for_each_slab_cache(prog):
        if s.name.string_() == name:
            return s
    return None


def slab_cache_is_merged(slab_cache):
    return slab_cache.refcount.value_() > 1
