"""Memory management (drgn's ``drgn.helpers.linux.mm``): processes' memory and arguments, page
frame conversions through the direct map and ``vmemmap``, VMAs, vmap areas, RSS."""
from ... import _kdive
from ..._kdive import Object, cast
from ._walk import prog_of

__all__ = (
    "PFN_PHYS",
    "PHYS_PFN",
    "PageActive",
    "PageChecked",
    "PageCompound",
    "PageDirty",
    "PageDoubleMap",
    "PageError",
    "PageForeign",
    "PageHWPoison",
    "PageHasHWPoisoned",
    "PageHead",
    "PageIdle",
    "PageIsolated",
    "PageLRU",
    "PageLocked",
    "PageMappedToDisk",
    "PageMlocked",
    "PageOwnerPriv1",
    "PagePinned",
    "PagePrivate",
    "PagePrivate2",
    "PageReadahead",
    "PageReclaim",
    "PageReferenced",
    "PageReported",
    "PageReserved",
    "PageSavePinned",
    "PageSkipKASanPoison",
    "PageSlab",
    "PageSlobFree",
    "PageSwapBacked",
    "PageTail",
    "PageUncached",
    "PageUnevictable",
    "PageUptodate",
    "PageVmemmapSelfHosted",
    "PageWaiters",
    "PageWorkingset",
    "PageWriteback",
    "PageXenRemapped",
    "PageYoung",
    "access_process_vm",
    "access_remote_vm",
    "cmdline",
    "compound_head",
    "compound_nr",
    "compound_order",
    "decode_page_flags",
    "decode_page_flags_value",
    "environ",
    "for_each_vma",
    "for_each_vmap_area",
    "mm_cmdline",
    "mm_environ",
    "page_flags",
    "page_index",
    "page_size",
    "page_to_pfn",
    "page_to_phys",
    "page_to_virt",
    "pfn_to_page",
    "pfn_to_virt",
    "phys_to_page",
    "phys_to_virt",
    "task_rss",
    "task_vsize",
    "totalram_pages",
    "virt_to_page",
    "virt_to_pfn",
    "virt_to_phys",
)


def access_remote_vm(mm, address, size):
    """``size`` bytes at ``address`` in the user memory of ``mm`` (``struct mm_struct *``), read
    through its page tables; ``FaultError`` where they map nothing."""
    return _kdive._access_remote_vm(mm, int(address), int(size))


def access_process_vm(task, address, size):
    """``size`` bytes at ``address`` in the user memory of ``task`` (``struct task_struct *``)."""
    return access_remote_vm(task.mm, address, size)


def _strings(mm, start, end):
    mm = mm.read_()
    a = getattr(mm, start).value_()
    b = getattr(mm, end).value_()
    # NUL-terminated strings; the last NUL ends the list
    return access_remote_vm(mm, a, b - a).split(b"\0")[:-1]


def mm_cmdline(mm):
    """The command line arguments of a (non-NULL) ``struct mm_struct *``, as ``bytes``."""
    return _strings(mm, "arg_start", "arg_end")


def mm_environ(mm):
    """The environment of a (non-NULL) ``struct mm_struct *``, as ``bytes`` (``NAME=value``)."""
    return _strings(mm, "env_start", "env_end")


def cmdline(task):
    """The command line arguments of a task, or ``None`` for a kernel thread (no ``mm``)."""
    mm = task.mm.read_()
    return mm_cmdline(mm) if mm else None


def environ(task):
    """The environment of a task, or ``None`` for a kernel thread (no ``mm``)."""
    mm = task.mm.read_()
    return mm_environ(mm) if mm else None


def _page_shift(prog):
    return prog["PAGE_SHIFT"].value_()


def _page0(prog):
    """``vmemmap``: the ``struct page`` of page frame 0 (``CONFIG_SPARSEMEM_VMEMMAP``)."""
    return prog["vmemmap"].value_()


def _sizeof_page(prog):
    return _kdive.sizeof(prog.type("struct page"))


def PFN_PHYS(prog, pfn):
    """The physical address of page frame ``pfn`` (``phys_addr_t``)."""
    prog = prog_of(prog)
    return _kdive.Object(prog, "phys_addr_t", int(pfn) << _page_shift(prog))


def PHYS_PFN(prog, addr):
    """The page frame of physical address ``addr`` (``unsigned long``)."""
    prog = prog_of(prog)
    return _kdive.Object(prog, "unsigned long", int(addr) >> _page_shift(prog))


def page_to_pfn(page):
    """The page frame number of a ``struct page *``."""
    prog = page.prog_
    return _kdive.Object(prog, "unsigned long", (page.value_() - _page0(prog)) // _sizeof_page(prog))


def pfn_to_page(prog, pfn):
    """The ``struct page *`` of page frame ``pfn``."""
    prog = prog_of(prog)
    return _kdive.Object(prog, "struct page *", _page0(prog) + int(pfn) * _sizeof_page(prog))


def page_to_phys(page):
    """The physical address of a ``struct page *``."""
    return PFN_PHYS(page.prog_, page_to_pfn(page))


def phys_to_virt(prog, addr):
    """The direct map's virtual address of physical address ``addr`` (``void *``)."""
    prog = prog_of(prog)
    return _kdive.Object(prog, "void *", int(addr) + _kdive._direct_map_base(prog))


def virt_to_phys(prog, addr):
    """The physical address of a direct-map virtual address (``unsigned long``)."""
    prog = prog_of(prog)
    return _kdive.Object(prog, "unsigned long", int(addr) - _kdive._direct_map_base(prog))


def pfn_to_virt(prog, pfn):
    """The direct map's virtual address of page frame ``pfn``."""
    return phys_to_virt(prog, PFN_PHYS(prog, pfn))


def page_to_virt(page):
    """The direct map's virtual address of a ``struct page *``."""
    return pfn_to_virt(page.prog_, page_to_pfn(page))


def phys_to_page(prog, addr):
    """The ``struct page *`` of physical address ``addr``."""
    return pfn_to_page(prog, PHYS_PFN(prog, addr))


def virt_to_pfn(prog, addr):
    """The page frame of a direct-map virtual address."""
    return PHYS_PFN(prog, virt_to_phys(prog, addr))


def virt_to_page(prog, addr):
    """The ``struct page *`` of a direct-map virtual address."""
    return pfn_to_page(prog, virt_to_pfn(prog, addr))


def totalram_pages(prog):
    """Pages of RAM the kernel manages (``_totalram_pages``)."""
    try:
        return prog["_totalram_pages"].counter.value_()
    except (KeyError, LookupError, AttributeError):
        return prog["totalram_pages"].value_()


def for_each_vma(mm):
    """Each ``struct vm_area_struct *`` of an ``mm_struct`` (maple tree or linked list)."""
    from ..._kdive import Object

    if mm.type_.type.has_member("mmap"):
        vma = mm.mmap
        n = 0
        while vma and n < 1 << 20:
            yield vma
            vma = vma.vm_next
            n += 1
        return
    from .mapletree import mt_for_each

    for _, _, entry in mt_for_each(mm.mm_mt.address_of_()):
        yield Object(mm.prog_, "struct vm_area_struct *", entry.value_())


def task_rss(task):
    """The resident set of a task, in pages: file + anon + shmem."""
    mm = task.mm
    if not mm:
        return 0
    stat = mm.rss_stat
    try:
        return sum(stat.count[i].counter.value_() for i in range(3))
    except AttributeError:
        from .percpu import percpu_counter_sum

        return sum(percpu_counter_sum(stat[i]) for i in range(3))


def for_each_vmap_area(prog):
    """Each ``struct vmap_area *`` in use: from the per-node busy lists (Linux 6.9+), else from
    ``vmap_area_list``."""
    from .list import list_for_each_entry

    if "vmap_nodes" in prog:
        nodes = prog["vmap_nodes"]
        for i in range(prog["nr_vmap_nodes"].value_()):
            yield from list_for_each_entry("struct vmap_area", nodes[i].busy.head.address_of_(), "list")
    else:
        yield from list_for_each_entry("struct vmap_area", prog["vmap_area_list"].address_of_(), "list")


# the page flags drgn has a getter for (its generated list)
_FLAGS = (
    "Active",
    "Checked",
    "Dirty",
    "DoubleMap",
    "Error",
    "Foreign",
    "HWPoison",
    "HasHWPoisoned",
    "Idle",
    "Isolated",
    "LRU",
    "Locked",
    "MappedToDisk",
    "Mlocked",
    "OwnerPriv1",
    "Pinned",
    "Private",
    "Private2",
    "Readahead",
    "Reclaim",
    "Referenced",
    "Reported",
    "Reserved",
    "SavePinned",
    "SkipKASanPoison",
    "SlobFree",
    "SwapBacked",
    "Uncached",
    "Unevictable",
    "Uptodate",
    "VmemmapSelfHosted",
    "Waiters",
    "Workingset",
    "Writeback",
    "XenRemapped",
    "Young",
)


def page_flags(page):
    """A ``struct page *``'s flags (``unsigned long``; ``flags.f`` where the flags are a
    ``memdesc_flags_t``)."""
    try:
        return page.flags.f
    except AttributeError:
        return page.flags


def page_index(page):
    """A page's offset in its mapping, in pages (``__folio_index`` where it is so named)."""
    try:
        return page.__folio_index
    except AttributeError:
        return page.index


def _flag_getter(name):
    """``Page<Name>(page)``: whether flag ``PG_<name>`` is set; ``False`` where the kernel has
    no such flag."""
    bit = "PG_" + name.lower()

    def get(page):
        try:
            flag = page.prog_[bit].value_()
        except KeyError:
            return False
        return bool(page_flags(page).value_() & (1 << flag))

    get.__name__ = get.__qualname__ = "Page" + name
    get.__doc__ = "Whether ``" + bit + "`` is set on a ``struct page *``."
    return get


for _name in _FLAGS:
    globals()["Page" + _name] = _flag_getter(_name)
del _name


def PageSlab(page):
    """Whether a page belongs to the slab allocator: its page type (``_mapcount`` equal to
    VMCOREINFO's ``PAGE_SLAB_MAPCOUNT_VALUE``) where the kernel has one, else ``PG_slab``."""
    import re

    prog = page.prog_
    try:
        value = prog.cache["PAGE_SLAB_MAPCOUNT_VALUE"]
    except KeyError:
        info = prog["VMCOREINFO"].string_()
        found = re.search(rb"^NUMBER\(PAGE_SLAB_MAPCOUNT_VALUE\)=(-?[0-9]+)$", info, flags=re.M)
        value = prog.cache["PAGE_SLAB_MAPCOUNT_VALUE"] = int(found.group(1)) if found else None
    if value is not None:
        return page._mapcount.counter.value_() == value
    return bool(page_flags(page).value_() & (1 << prog["PG_slab"].value_()))


def _compound_member(prog):
    t = prog.type("struct page")
    for m in ("compound_info", "compound_head"):
        if t.has_member(m):
            return m
    return None


def PageHead(page):
    """Whether a page heads a compound page (``PG_head``)."""
    return bool(page_flags(page).value_() & (1 << page.prog_["PG_head"].value_()))


def PageTail(page):
    """Whether a page is a compound page's tail (bit 0 of ``compound_head``)."""
    member = _compound_member(page.prog_)
    if member is None:
        return bool(page_flags(page).value_() & (1 << page.prog_["PG_tail"].value_()))
    return bool(page.member_(member).value_() & 1)


def PageCompound(page):
    """Whether a page is part of a compound page: its head or a tail."""
    return PageHead(page) or PageTail(page)


def _next_page(page):
    """The ``struct page *`` after ``page`` in the memory map (a compound page's first tail)."""
    prog = page.prog_
    return Object(prog, page.type_, page.value_() + prog.type("struct page").size)


def compound_head(page):
    """The head of the compound page ``page`` (``struct page *``) is a tail of, else ``page``."""
    prog = page.prog_
    page = page.read_()
    member = _compound_member(prog)
    if member is None:
        # the head was in page->first_page before compound_head() was made robust (v4.4)
        return page.first_page.read_() if PageTail(page) else page
    info = page.member_(member).value_()
    if info & 1:
        # a power-of-two struct page with per-zone vmemmap tails keeps a mask in compound_info
        if member == "compound_info" and _compound_info_is_mask(prog):
            return Object(prog, page.type_, page.value_() & info)
        return Object(prog, page.type_, info - 1)
    # a fake head (HugeTLB vmemmap optimisation): a PG_head page whose next page says it is a tail
    if member == "compound_head" and PageHead(page):
        head = _next_page(page).compound_head.value_()
        if head & 1:
            return Object(prog, page.type_, head - 1)
    return page


def _compound_info_is_mask(prog):
    size = prog.type("struct page").size
    return size & (size - 1) == 0 and prog.type("struct zone").has_member("vmemmap_tails")


def compound_order(page):
    """The allocation order (``unsigned int``) of a compound page's head, 0 for any other page.

    The order is where the kernel keeps it: the low byte of ``struct folio::_flags_1``,
    ``struct folio::_folio_order``, or the first tail page's ``compound_order``."""
    prog = page.prog_
    if not PageHead(page):
        return Object(prog, "unsigned int", 0)
    try:
        folio = prog.type("struct folio")
    except LookupError:
        folio = None
    # kernels with _folio_order (v6.1 to v6.5) have a _flags_1 too, not holding the order
    if folio is not None and folio.has_member("_folio_order"):
        return Object(prog, "unsigned int", cast("struct folio *", page)._folio_order.value_())
    if folio is not None and folio.has_member("_flags_1"):
        return Object(prog, "unsigned int", cast("struct folio *", page)._flags_1.value_() & 0xFF)
    return Object(prog, "unsigned int", _next_page(page).compound_order.value_())


def compound_nr(page):
    """How many pages (``unsigned long``) the compound page headed by ``page`` spans; 1 otherwise."""
    return Object(page.prog_, "unsigned long", 1 << compound_order(page).value_())


def page_size(page):
    """How many bytes (``unsigned long``) the compound page headed by ``page`` spans."""
    prog = page.prog_
    return Object(prog, "unsigned long", prog["PAGE_SIZE"].value_() << compound_order(page).value_())


def decode_page_flags_value(prog, flags):
    """The names of the page flags set in ``flags``, ``|``-separated (``PG_uptodate|PG_lru``)."""
    from ..common.format import decode_enum_type_flags

    nr = prog_of(prog)["__NR_PAGEFLAGS"]
    return decode_enum_type_flags(int(flags) & ((1 << nr.value_()) - 1), nr.type_)


def decode_page_flags(page):
    """The names of the flags set on a ``struct page *``."""
    return decode_page_flags_value(page.prog_, page_flags(page))


def task_vsize(task):
    """A task's virtual memory size in bytes (``total_vm`` pages); 0 for a kernel thread."""
    mm = task.mm.read_()
    if not mm:
        return 0
    return mm.total_vm.value_() << _page_shift(task.prog_)
