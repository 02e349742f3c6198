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
    "decode_memory_block_state",
    "decode_memory_block_state_value",
    "decode_page_flags",
    "decode_page_flags_value",
    "environ",
    "find_vmap_area",
    "follow_page",
    "follow_pfn",
    "follow_phys",
    "for_each_memory_block",
    "for_each_page",
    "for_each_valid_page_range",
    "for_each_valid_pfn_and_page",
    "for_each_vma",
    "for_each_vmap_area",
    "in_direct_map",
    "memory_block_size_bytes",
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
    "vm_commit_limit",
    "vm_memory_committed",
    "vma_find",
    "vma_name",
    "vmalloc_to_page",
    "vmalloc_to_pfn",
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


def follow_phys(mm, addr):
    """The physical address (``phys_addr_t``) ``addr`` maps to through the page tables of ``mm``
    (``struct mm_struct *``); ``FaultError`` where they map nothing."""
    prog = mm.prog_
    return Object(prog, "phys_addr_t", _kdive._follow_phys(mm, int(addr)))


def follow_pfn(mm, addr):
    """The page frame (``unsigned long``) ``addr`` maps to in ``mm``."""
    return PHYS_PFN(mm.prog_, follow_phys(mm, addr))


def follow_page(mm, addr):
    """The ``struct page *`` ``addr`` maps to in ``mm``."""
    return phys_to_page(mm.prog_, follow_phys(mm, addr))


def vmalloc_to_page(prog, addr):
    """The ``struct page *`` of a vmalloc or vmap address (through ``init_mm``'s tables)."""
    prog = prog_of(prog)
    return follow_page(prog["init_mm"].address_of_(), addr)


def vmalloc_to_pfn(prog, addr):
    """The page frame (``unsigned long``) of a vmalloc or vmap address."""
    return page_to_pfn(vmalloc_to_page(prog, addr))


def _range_cmp(start, end):
    def cmp(addr, entry):
        if addr < getattr(entry, start).value_():
            return -1
        if addr >= getattr(entry, end).value_():
            return 1
        return 0

    return cmp


def find_vmap_area(prog, addr):
    """The ``struct vmap_area *`` containing ``addr``, or ``NULL``: searched in the per-node busy
    trees (Linux 6.9+), from the node the address hashes to on, else in ``vmap_area_root``."""
    from .rbtree import rb_find

    prog = prog_of(prog)
    addr = int(addr)
    cmp = _range_cmp("va_start", "va_end")
    if "vmap_nodes" not in prog:
        return rb_find("struct vmap_area", prog["vmap_area_root"].address_of_(), "rb_node", addr, cmp)
    nodes = prog["vmap_nodes"].read_()
    nr = prog["nr_vmap_nodes"].value_()
    i = first = (addr // prog["vmap_zone_size"].value_()) % nr
    while True:
        va = rb_find("struct vmap_area", nodes[i].busy.root.address_of_(), "rb_node", addr, cmp)
        if va:
            return va
        # an area may sit in another node than its start address's (the kernel loops too)
        i = (i + 1) % nr
        if i == first:
            return Object(prog, "struct vmap_area *", 0)


def vma_find(mm, addr):
    """The ``struct vm_area_struct *`` of ``mm`` containing ``addr``, or ``NULL``: from the maple
    tree (Linux 6.1+), else the red-black tree."""
    if not mm.type_.type.has_member("mm_mt"):
        from .rbtree import rb_find

        return rb_find("struct vm_area_struct", mm.mm_rb.address_of_(), "vm_rb", int(addr),
                       _range_cmp("vm_start", "vm_end"))
    from .mapletree import mtree_load

    return cast("struct vm_area_struct *", mtree_load(mm.mm_mt.address_of_(), addr))


def vma_name(vma):
    """What ``/proc/PID/maps`` names a ``struct vm_area_struct *``: its file's path, a special
    mapping's name, ``[heap]``, ``[stack]``, ``[vdso]``, ``[anon:NAME]``, ``[anon_shmem:NAME]``, or
    ``b""`` for anonymous memory."""
    from .fs import d_path

    prog = vma.prog_
    mm = vma.vm_mm.read_()
    has_anon_name = vma.type_.type.has_member("anon_name")
    vm_file = vma.vm_file.read_()
    if vm_file:
        # anon_name shares a union with `shared` before it got its own member (v5.17 to v6.1):
        # only a member of its own names a shared mapping
        if mm and has_anon_name and vma.anon_name.address_ != vma.shared.address_:
            anon = vma.anon_name.read_()
            if anon:
                return b"[anon_shmem:" + anon.name.string_() + b"]"
        return d_path(vm_file.f_path)
    ops = vma.vm_ops.read_()
    if ops and "special_mapping_name" in prog and ops.name.value_() == prog["special_mapping_name"].address_of_().value_():
        return cast("struct vm_special_mapping *", vma.vm_private_data).name.string_()
    if not mm:
        return b"[vdso]"
    start, end = vma.vm_start.value_(), vma.vm_end.value_()
    brk, start_brk = mm.brk.value_(), mm.start_brk.value_()
    if start_brk and brk and start <= brk and end >= start_brk:
        return b"[heap]"
    stack = mm.start_stack.value_()
    if stack and start <= stack <= end:
        return b"[stack]"
    if has_anon_name:
        anon = vma.anon_name.read_()
        if anon:
            return b"[anon:" + anon.name.string_() + b"]"
    return b""


def _hugetlb_total_pages(prog):
    """HugeTLB pages, in ``PAGE_SIZE`` units (0 without ``CONFIG_HUGETLBFS``)."""
    if "hstates" not in prog:
        return 0
    hstates = prog["hstates"]
    return sum(hstates[i].nr_huge_pages.value_() << hstates[i].order.value_()
               for i in range(prog["hugetlb_max_hstate"].value_()))


def vm_commit_limit(prog):
    """The limit on committed address space, in pages (the kernel's ``vm_commit_limit()``)."""
    prog = prog_of(prog)
    kbytes = prog["sysctl_overcommit_kbytes"].value_()
    if kbytes:
        allowed = kbytes >> (_page_shift(prog) - 10)
    else:
        allowed = ((totalram_pages(prog) - _hugetlb_total_pages(prog))
                   * prog["sysctl_overcommit_ratio"].value_() // 100)
    return allowed + prog["total_swap_pages"].value_()


def vm_memory_committed(prog):
    """The committed address space, in pages (``vm_committed_as``, never negative)."""
    from .percpu import percpu_counter_sum_positive

    return percpu_counter_sum_positive(prog_of(prog)["vm_committed_as"].address_of_())


def in_direct_map(prog, addr):
    """Whether ``addr`` is in the direct map of low memory (``min_low_pfn`` to ``max_low_pfn``)."""
    prog = prog_of(prog)
    addr = int(addr)
    start = pfn_to_virt(prog, prog["min_low_pfn"]).value_()
    end = pfn_to_virt(prog, prog["max_low_pfn"]).value_() + prog["PAGE_SIZE"].value_()
    return start <= addr < end


# SUBSECTION_SHIFT (include/linux/mmzone.h): sub-sections of 2 MiB
_SUBSECTION_SHIFT = 21
# section_mem_map's flags (include/linux/mmzone.h)
_SECTION_HAS_MEM_MAP = 1 << 1
_SECTION_IS_EARLY = 1 << 3


def for_each_valid_page_range(prog):
    """``(start_pfn, end_pfn, mem_map)`` of each run of valid page frames (end exclusive), where
    ``mem_map[pfn]`` is a frame's ``struct page``: SPARSEMEM's sections with a memory map, cut at
    the sub-sections a hot-plugged section lacks; FLATMEM's one range."""
    prog = prog_of(prog)
    mem_map = Object(prog, "struct page *", _page0(prog))
    if "mem_section" not in prog:
        start = prog["ARCH_PFN_OFFSET"].value_()
        yield start, start + prog["max_mapnr"].value_(), mem_map
        return
    section_bits, sections = _kdive._mem_sections(prog)
    page_shift = _page_shift(prog)
    per_section = 1 << (section_bits - page_shift)
    nr_subsections = 1 << (section_bits - _SUBSECTION_SHIFT)
    per_subsection = 1 << (_SUBSECTION_SHIFT - page_shift)
    has_usage = prog.type("struct mem_section").has_member("usage")
    start = end = None
    for nr, addr, raw in sections:
        if not raw & _SECTION_HAS_MEM_MAP:
            continue
        pfn = nr * per_section
        bits = None
        if has_usage and not raw & _SECTION_IS_EARLY:
            usage = Object(prog, "struct mem_section", address=addr).usage.read_()
            if usage and usage.type_.type.has_member("subsection_map"):
                from .bitops import for_each_set_bit

                bits = list(for_each_set_bit(usage.subsection_map, nr_subsections))
        runs = ([(pfn, pfn + per_section)] if bits is None
                else [(pfn + b * per_subsection, pfn + (b + 1) * per_subsection) for b in bits])
        for a, b in runs:
            if start is not None and a == end:
                end = b
                continue
            if start is not None:
                yield start, end, mem_map
            start, end = a, b
    if start is not None:
        yield start, end, mem_map


def for_each_valid_pfn_and_page(prog):
    """``(pfn, struct page *)`` of every valid page frame."""
    for start, end, mem_map in for_each_valid_page_range(prog):
        for pfn in range(start, end):
            yield pfn, mem_map + pfn


def for_each_page(prog):
    """Every valid ``struct page *``."""
    for start, end, mem_map in for_each_valid_page_range(prog):
        for pfn in range(start, end):
            yield mem_map + pfn


def for_each_memory_block(prog):
    """Each ``struct memory_block *`` (memory hot-plug blocks: the devices of ``memory_subsys``)."""
    from ..._kdive import container_of
    from .device import bus_to_subsys
    from .list import list_for_each_entry

    prog = prog_of(prog)
    sp = bus_to_subsys(prog["memory_subsys"].address_of_())
    for priv in list_for_each_entry("struct device_private", sp.klist_devices.k_list.address_of_(), "knode_bus.n_node"):
        yield container_of(priv.device.read_(), "struct memory_block", "dev")


# the MEM_* states before the kernel made them an enum (include/linux/memory.h)
_MEMORY_BLOCK_STATES = {
    1 << 0: "MEM_ONLINE",
    1 << 1: "MEM_GOING_OFFLINE",
    1 << 2: "MEM_OFFLINE",
    1 << 3: "MEM_GOING_ONLINE",
    1 << 4: "MEM_CANCEL_ONLINE",
    1 << 5: "MEM_CANCEL_OFFLINE",
    1 << 6: "MEM_PREPARE_ONLINE",
    1 << 7: "MEM_FINISH_OFFLINE",
}


def decode_memory_block_state_value(prog, state):
    """The name of a memory block state value (``MEM_ONLINE`` ...)."""
    prog = prog_of(prog)
    try:
        t = prog.type("enum memory_block_state")
    except LookupError:
        return _MEMORY_BLOCK_STATES[int(state)]
    for e in t.enumerators:
        if e.value == int(state):
            return e.name
    return "(enum memory_block_state)%d" % int(state)


def decode_memory_block_state(mem):
    """The name of a ``struct memory_block *``'s state."""
    return decode_memory_block_state_value(mem.prog_, mem.state)


def memory_block_size_bytes(prog):
    """The size of a memory hot-plug block in bytes (``unsigned long``)."""
    prog = prog_of(prog)
    section_bits, _ = _kdive._mem_sections(prog)
    return Object(prog, "unsigned long", prog["sections_per_block"].value_() << section_bits)
