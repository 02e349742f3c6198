"""Slab caches (drgn's ``drgn.helpers.linux.slab``)."""
from .list import list_for_each_entry

__all__ = (
    "find_slab_cache", "for_each_slab_cache", "slab_cache_is_merged", "slab_cache_objects_per_slab",
    "slab_cache_order", "slab_cache_pages_per_slab",
)

# SLUB packs a slab's page order and object count in kmem_cache.oo (mm/slub.c: OO_SHIFT)
_OO_SHIFT = 16
_OO_MASK = (1 << _OO_SHIFT) - 1


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


def slab_cache_objects_per_slab(slab_cache):
    """How many objects each slab of a cache holds (SLUB's ``oo``, SLAB's ``num``)."""
    try:
        return slab_cache.oo.x.value_() & _OO_MASK
    except AttributeError:
        pass
    try:
        return slab_cache.num.value_()
    except AttributeError:
        raise ValueError("SLOB is not supported") from None


def slab_cache_order(slab_cache):
    """The page allocation order of each slab of a cache (SLUB's ``oo``, SLAB's ``gfporder``)."""
    try:
        return slab_cache.oo.x.value_() >> _OO_SHIFT
    except AttributeError:
        pass
    try:
        return slab_cache.gfporder.value_()
    except AttributeError:
        raise ValueError("SLOB is not supported") from None


def slab_cache_pages_per_slab(slab_cache):
    """How many pages each slab of a cache spans."""
    return 1 << slab_cache_order(slab_cache)
