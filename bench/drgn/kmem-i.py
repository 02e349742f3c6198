# crash's `kmem -i`, as drgn: total, free, used, buffers, cached, slab, swap, commit.
from drgn.helpers.linux.mm import totalram_pages

PAGE = prog["PAGE_SIZE"].value_()


def counters(enum_name, array):
    r = {}
    for name, val in prog.type("enum " + enum_name).enumerators:
        if not name.startswith("NR_VM_"):
            try:
                r[name] = max(array[val].counter.value_(), 0)
            except (IndexError, LookupError):
                pass
    return r


zone = counters("zone_stat_item", prog["vm_zone_stat"])
node = counters("node_stat_item", prog["vm_node_stat"])
total = totalram_pages(prog)
free = zone.get("NR_FREE_PAGES", 0)
buffers = 0  # crash sums block-device page caches; drgn has no helper: left 0
cached = node.get("NR_FILE_PAGES", 0) - node.get("NR_SWAPCACHE", 0)
slab = node.get("NR_SLAB_RECLAIMABLE_B", node.get("NR_SLAB_RECLAIMABLE", 0)) + \
    node.get("NR_SLAB_UNRECLAIMABLE_B", node.get("NR_SLAB_UNRECLAIMABLE", 0))
swap_total = prog["total_swap_pages"].value_()
swap_free = prog["nr_swap_pages"].counter.value_()
committed = prog["vm_committed_as"].count.value_()
rows = [("TOTAL MEM", total), ("FREE", free), ("USED", total - free),
        ("BUFFERS", buffers), ("CACHED", cached), ("SLAB", slab),
        ("TOTAL SWAP", swap_total), ("SWAP FREE", swap_free), ("COMMITTED", committed)]
print("                 PAGES        TOTAL      PERCENTAGE")
for name, pages in rows:
    print("%13s  %10d  %8d kB  %5.1f%% of TOTAL MEM" % (
        name, pages, pages * PAGE // 1024, 100.0 * pages / total if total else 0))
