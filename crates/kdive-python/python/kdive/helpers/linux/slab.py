"""Slab caches (drgn's ``drgn.helpers.linux.slab``): caches, their geometry and usage, and the
objects they hold. Object-level helpers read SLUB (the only allocator since Linux 6.8); SLAB and
SLOB kernels get ``ValueError``."""
from typing import NamedTuple

from ..._kdive import FaultError, Object, cast, container_of
from .. import ValidationError
from ._walk import prog_of
from .list import list_for_each_entry, validate_list_for_each_entry

__all__ = (
    "find_containing_slab_cache", "find_slab_cache", "for_each_slab_cache", "get_slab_cache_aliases",
    "print_slab_caches", "slab_cache_for_each_allocated_object", "slab_cache_is_merged",
    "slab_cache_objects_per_slab", "slab_cache_order", "slab_cache_pages_per_slab", "slab_cache_usage",
    "slab_object_info", "slab_total_usage",
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


def get_slab_cache_aliases(prog):
    """``{name: merged name}`` for each cache merged into a cache of another name, read from the
    SLUB's sysfs links (``slab_kset``); ``LookupError`` without ``CONFIG_SLUB`` and ``CONFIG_SYSFS``."""
    import os

    from .rbtree import rbtree_inorder_for_each_entry

    prog = prog_of(prog)
    if "slab_kset" not in prog:
        raise LookupError("get_slab_cache_aliases() needs a kernel with CONFIG_SLUB and CONFIG_SYSFS (no slab_kset)")
    link = prog.constant("KERNFS_LINK").value_()
    aliases = {}
    children = prog["slab_kset"].kobj.sd.dir.children.address_of_()
    for child in rbtree_inorder_for_each_entry("struct kernfs_node", children, "rb"):
        if not child.flags.value_() & link:
            continue
        cache = container_of(cast("struct kobject *", child.symlink.target_kn.priv), "struct kmem_cache", "kobj")
        name, target = os.fsdecode(child.name.string_()), os.fsdecode(cache.name.string_())
        if name != target:
            aliases[name] = target
    return aliases


def print_slab_caches(prog):
    """Prints each slab cache's name and ``struct kmem_cache *``, one a line."""
    from ..common.format import escape_ascii_string

    for s in for_each_slab_cache(prog_of(prog)):
        name = escape_ascii_string(s.name.string_(), escape_backslash=True)
        print("%s (%s)0x%x" % (name, s.type_.type_name(), s.value_()))


class SlabCorruptionError(ValidationError):
    """A slab allocator structure is corrupted (or was being changed when the dump was taken)."""


class SlabFreelistCycleError(SlabCorruptionError):
    """A slab freelist loops."""


class SlabPartialListError(SlabCorruptionError):
    """A list of partial slabs is corrupted."""


class SlabCacheUsage(NamedTuple):
    """Slabs and objects of a cache (:func:`slab_cache_usage`)."""

    num_slabs: int
    num_objs: int
    free_objs: int

    @property
    def active_objs(self):
        return self.num_objs - self.free_objs


class SlabTotalUsage(NamedTuple):
    """Reclaimable and unreclaimable slab pages (:func:`slab_total_usage`)."""

    reclaimable_pages: int
    unreclaimable_pages: int

    @property
    def total_pages(self):
        return self.reclaimable_pages + self.unreclaimable_pages


class SlabObjectInfo:
    """Where an address sits in the slab allocator (:func:`slab_object_info`): its cache, its slab
    (``struct slab *``, or ``struct page *`` before Linux 5.17), the object's start address, and
    whether the object is allocated (``None`` when a corrupted freelist leaves it unknown)."""

    def __init__(self, slab_cache, slab, address, allocated):
        self.slab_cache = slab_cache
        self.slab = slab
        self.address = address
        self.allocated = allocated

    def __repr__(self):
        return "SlabObjectInfo(slab_cache=%r, slab=%r, address=%s, allocated=%s)" % (
            self.slab_cache, self.slab, hex(self.address), self.allocated)


def _slab_type(prog):
    """``struct slab *`` where the kernel split it from ``struct page`` (v5.17), else ``struct page *``."""
    try:
        prog.type("struct slab")
        return "struct slab *"
    except LookupError:
        return "struct page *"


def _cache_name(cache):
    try:
        return cache.name.string_().decode(errors="replace")
    except FaultError:
        return "slab cache"


class _Slub:
    """SLUB's bookkeeping of one cache: freelists (obfuscated under
    ``CONFIG_SLAB_FREELIST_HARDENED``), per-CPU slabs and partial lists, per-node counters."""

    def __init__(self, cache):
        self.prog = cache.prog_
        self.cache = cache.read_()
        if not self.cache.type_.type.has_member("offset") or self.cache.type_.type.has_member("cpu_sheaves"):
            raise ValueError("only SLUB without per-CPU sheaves is supported")
        self.size = self.cache.size.value_()
        self.offset = self.cache.offset.value_()
        t = self.cache.type_.type
        self.red_left_pad = self.cache.red_left_pad.value_() if t.has_member("red_left_pad") else 0
        self.random = self.cache.random.value_() if t.has_member("random") else None
        # whether the hardened pointer's address is byte-swapped (v5.7+); settled at the first pointer
        self.swab = None

    def _next(self, at):
        word = self.prog.read_word(at)
        if self.random is None:
            return word
        plain = word ^ self.random ^ at
        swapped = word ^ self.random ^ int.from_bytes(at.to_bytes(8, "little"), "big")
        if self.swab is None and swapped:
            try:
                self.prog.read_word(swapped)
                self.swab = True
            except FaultError:
                self.swab = False
        return swapped if self.swab or self.swab is None else plain

    def freelist(self, what, head):
        """The objects on a freelist; a loop raises ``SlabFreelistCycleError``, an unreadable
        pointer ``FaultError``, each carrying the objects found before it (``.freelist``)."""
        found = set()
        ptr = head.value_()
        while ptr:
            if ptr in found:
                e = SlabFreelistCycleError("%s %s freelist contains cycle; may be corrupted or in the middle of update"
                                           % (_cache_name(self.cache), what))
                e.freelist = found
                raise e
            found.add(ptr)
            try:
                ptr = self._next(ptr + self.offset)
            except FaultError as e:
                e.freelist = found
                raise
        return found

    def _cpu_slabs(self):
        from .cpumask import for_each_online_cpu
        from .percpu import per_cpu_ptr

        cpu_slab = self.cache.cpu_slab.read_()
        member = "slab" if cpu_slab.type_.type.has_member("slab") else "page"
        for cpu in for_each_online_cpu(self.prog):
            c = per_cpu_ptr(cpu_slab, cpu)
            yield cpu, c, c.member_(member).read_()

    def cpu_free(self, catch=False):
        """The objects on the per-CPU freelists, and the error that stopped reading them (when
        ``catch``)."""
        free = set()
        try:
            for cpu, c, slab in self._cpu_slabs():
                if slab and slab.slab_cache.value_() == self.cache.value_():
                    free |= self.freelist("cpu %d" % cpu, c.freelist)
        except (SlabCorruptionError, FaultError) as e:
            if not catch:
                raise
            return free, e
        return free, None

    def _cpu_partial_free(self, cpu, c):
        if not c.type_.type.has_member("partial"):
            return 0
        partial = c.partial.read_()
        member = "slabs" if partial.type_.type.has_member("slabs") else "pages"
        free = 0
        prev = None
        while partial:
            n = partial.member_(member).value_()
            # the count falls along the list; one that does not means a loop or corruption
            if prev is not None and n >= prev:
                raise SlabPartialListError("%s cpu %d partial slabs count not decreasing; may be corrupted or in the "
                                           "middle of update" % (_cache_name(self.cache), cpu))
            prev = n
            free += partial.objects.value_() - partial.inuse.value_()
            partial = partial.next.read_()
        return free

    def _nodes(self):
        from .nodemask import nr_node_ids

        return [self.cache.node[i] for i in range(nr_node_ids(self.prog))]

    def usage(self):
        free = 0
        for cpu, c, slab in self._cpu_slabs():
            if slab and slab.slab_cache.value_() == self.cache.value_():
                free += len(self.freelist("cpu %d" % cpu, c.freelist))
            free += self._cpu_partial_free(cpu, c)
        slab_t = self.prog.type(_slab_type(self.prog)).type
        link = "slab_list" if slab_t.has_member("slab_list") else "lru"
        slabs = objs = 0
        for node in self._nodes():
            if not node.type_.type.has_member("nr_slabs"):
                raise ValueError("slab_cache_usage() requires CONFIG_SLUB_DEBUG enabled in the kernel")
            slabs += node.nr_slabs.counter.value_()
            objs += node.total_objects.counter.value_()
            for slab in validate_list_for_each_entry(slab_t, node.partial.address_of_(), link):
                free += slab.objects.value_() - slab.inuse.value_()
        return SlabCacheUsage(num_slabs=slabs, num_objs=objs, free_objs=free)

    def first_object(self, page):
        from .mm import page_to_virt

        return page_to_virt(page).value_() + self.red_left_pad

    def allocated_objects(self, type):
        from .mm import PageSlab, for_each_page

        pointer = self.prog.pointer_type(self.prog.type(type))
        slab_t = _slab_type(self.prog)
        cpu_free, _ = self.cpu_free()
        me = self.cache.value_()
        for page in for_each_page(self.prog):
            try:
                if not PageSlab(page):
                    continue
                slab = cast(slab_t, page)
                if slab.slab_cache.value_() != me:
                    continue
            except FaultError:
                continue
            free = self.freelist("slab %#x" % slab.value_(), slab.freelist)
            addr = self.first_object(page)
            for i in range(slab.objects.value_()):
                a = addr + i * self.size
                if a not in free and a not in cpu_free:
                    yield Object(self.prog, pointer, a)

    def object_info(self, page, slab, addr):
        first = self.first_object(page)
        address = first + (addr - first) // self.size * self.size
        cpu_free, error = self.cpu_free(catch=True)
        if address in cpu_free:
            allocated = False
        else:
            try:
                free = self.freelist("slab %#x" % slab.value_(), slab.freelist)
            except (SlabCorruptionError, FaultError) as e:
                allocated = False if address in getattr(e, "freelist", ()) else None
            else:
                allocated = False if address in free else (None if error else True)
        return SlabObjectInfo(self.cache, slab, address, allocated)


def slab_cache_usage(slab_cache):
    """:class:`SlabCacheUsage` of a ``struct kmem_cache *``: its slabs and objects (SLUB's per-node
    counters, ``CONFIG_SLUB_DEBUG``) and its free objects (per-CPU freelists and partial lists,
    per-node partial lists)."""
    return _Slub(slab_cache).usage()


def slab_cache_for_each_allocated_object(slab_cache, type):
    """Each allocated object (``type *``) of a ``struct kmem_cache *``: every slab page of the
    cache, less the objects on its freelist and on the per-CPU freelists."""
    return _Slub(slab_cache).allocated_objects(type)


def _containing_slab(prog, addr):
    from .mm import PageSlab, compound_head, in_direct_map, virt_to_page

    if not in_direct_map(prog, addr):
        return None
    try:
        page = compound_head(virt_to_page(prog, addr))
        if not PageSlab(page):
            return None
    except FaultError:
        return None
    return page, cast(_slab_type(prog), page)


def slab_object_info(prog, addr):
    """:class:`SlabObjectInfo` of the slab object ``addr`` is in, or ``None`` where it is in none."""
    prog = prog_of(prog)
    found = _containing_slab(prog, int(addr))
    if found is None:
        return None
    page, slab = found
    return _Slub(slab.slab_cache).object_info(page, slab, int(addr))


def find_containing_slab_cache(prog, addr):
    """The ``struct kmem_cache *`` ``addr`` was allocated from, or ``NULL``."""
    prog = prog_of(prog)
    found = _containing_slab(prog, int(addr))
    if found is None:
        return Object(prog, "struct kmem_cache *", 0)
    return found[1].slab_cache.read_()


def slab_total_usage(prog):
    """:class:`SlabTotalUsage`: the node statistics ``NR_SLAB_[UN]RECLAIMABLE[_B]``, in pages."""
    prog = prog_of(prog)
    suffix = "_B" if "NR_SLAB_RECLAIMABLE_B" in prog else ""
    stat = prog["vm_node_stat"]

    def pages(item):
        return max(stat[prog[item + suffix].value_()].counter.value_(), 0)

    return SlabTotalUsage(reclaimable_pages=pages("NR_SLAB_RECLAIMABLE"),
                          unreclaimable_pages=pages("NR_SLAB_UNRECLAIMABLE"))
