"""Memory management (drgn's ``drgn.helpers.linux.mm``): the parts that need no page walk."""

__all__ = ("for_each_vma", "for_each_vmap_area", "task_rss", "totalram_pages")


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
