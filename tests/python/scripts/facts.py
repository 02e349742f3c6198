"""Facts a drgn user asks of a dump, printed as one JSON line with drgn's API and names only:
run unchanged by `drgn -c DUMP -s VMLINUX` and `kdive DUMP VMLINUX --script`."""
import json

from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.fs import for_each_mount, mount_dst, mount_fstype, mount_src
from drgn.helpers.linux.mm import (
    PageCompound, PageHead, PageLRU, PageReserved, PageSlab, PageTail, decode_page_flags, page_flags,
    page_index, task_vsize, PFN_PHYS, PHYS_PFN, cmdline, environ, page_to_phys, page_to_pfn, page_to_virt, pfn_to_page,
    pfn_to_virt, phys_to_page, phys_to_virt, virt_to_page, virt_to_pfn, virt_to_phys)
from drgn.helpers.linux.cpumask import cpu_online_mask, cpu_possible_mask, cpu_present_mask, cpumask_weight
from drgn.helpers.linux.module import for_each_module
from drgn.helpers.linux.nodemask import nr_node_ids
from drgn.helpers.linux.percpu import percpu_counter_sum_positive
from drgn.helpers.linux.sched import thread_group_leader
from drgn.helpers.linux.user import find_user, for_each_user, kuid_val
from drgn.helpers.linux.percpu import per_cpu
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.printk import get_printk_records
from drgn.helpers.linux.sched import task_state_to_char
from drgn.helpers.linux.slab import for_each_slab_cache
from drgn.helpers.linux.cpumask import cpumask_of, for_each_cpu, for_each_possible_cpu
from drgn.helpers.linux.list import validate_list_count_nodes
from drgn.helpers.linux.mm import compound_head, compound_nr, compound_order, page_size
from drgn.helpers.linux.module import address_to_module, module_address_regions, module_taints
from drgn.helpers.linux.pid import for_each_task_in_group
from drgn.helpers.linux.block import disk_name, for_each_disk, for_each_partition
from drgn.helpers.linux.sched import (
    cfs_rq_for_each_entity, cpu_rq, get_task_state, rq_for_each_fair_task, rq_for_each_rt_task, sched_entity_is_task,
    sched_entity_to_task, task_group_name, task_group_sched_entity, task_rq)
from drgn.helpers.linux.kernfs import kernfs_children, kernfs_name, kernfs_path, kernfs_root, kernfs_walk
from drgn.helpers.linux.block import bdev_partno
from drgn.helpers.linux.list import list_for_each_entry
from drgn import container_of
from drgn.helpers.linux.nodemask import for_each_node_state
from drgn.helpers.linux.slab import slab_cache_objects_per_slab, slab_cache_order, slab_cache_pages_per_slab
from drgn.helpers.linux.rbtree import rbtree_preorder_for_each, rbtree_preorder_for_each_entry


def attempt(f):
    try:
        return f()
    except Exception as e:  # a fact one side cannot give is compared as its error's class
        return "error: " + type(e).__name__


out = {}
out["tasks"] = attempt(lambda: sorted(
    [t.pid.value_(), t.comm.string_().decode(), task_state_to_char(t)] for t in for_each_task(prog)))
out["crashed_thread_frames"] = attempt(lambda: [f.name for f in prog.crashed_thread().stack_trace()])


def frame_locals(task):
    """Each kernel-text frame's locals: name, type, and where or what the value is."""
    text = (prog.symbol("_stext").address, prog.symbol("_etext").address)
    frames = []
    for f in prog.stack_trace(task):
        if not text[0] <= f.pc < text[1]:
            continue
        vals = []
        for n in f.locals():
            o = f[n]
            if o.absent_:
                vals.append([n, o.type_.type_name(), "absent"])
            elif o.address_ is not None:
                vals.append([n, o.type_.type_name(), "at", o.address_])
            else:
                vals.append([n, o.type_.type_name(), o.value_()])
        frames.append([f.name, vals])
    return frames


# local variables and parameters from DWARF locations, every task's frames
out["frame_locals"] = attempt(lambda: sorted(
    [t.pid.value_(), t.value_(), attempt(lambda: frame_locals(t))] for t in for_each_task(prog)))
out["printk"] = attempt(lambda: [[r.seq, r.timestamp, r.text.decode(errors="replace")] for r in get_printk_records(prog)])
out["mounts"] = attempt(lambda: [
    [mount_src(m).decode(), mount_dst(m).decode(), mount_fstype(m).decode()] for m in for_each_mount(prog)])
out["modules"] = attempt(lambda: [m.name.string_().decode() for m in for_each_module(prog)])
out["slab_caches"] = attempt(lambda: [s.name.string_().decode() for s in for_each_slab_cache(prog)])
out["runqueue_lengths"] = attempt(lambda: [
    [cpu, per_cpu(prog["runqueues"], cpu).nr_running.value_()] for cpu in for_each_online_cpu(prog)])
out["linux_objects"] = attempt(lambda: [
    str(prog[n]) for n in ("PAGE_SHIFT", "PAGE_SIZE", "PAGE_MASK", "THREAD_SIZE", "vmemmap")])
# every task_struct is in the direct map: its frame, page and physical address, both ways
out["page_conversions"] = attempt(lambda: sorted([
    t.pid.value_(), str(virt_to_phys(prog, t)), str(virt_to_pfn(prog, t)),
    page_to_pfn(virt_to_page(prog, t)).value_(), page_to_phys(pfn_to_page(prog, virt_to_pfn(prog, t))).value_(),
    page_to_virt(virt_to_page(prog, t)).value_(), pfn_to_virt(prog, virt_to_pfn(prog, t)).value_(),
    phys_to_page(prog, virt_to_phys(prog, t)).value_(), phys_to_virt(prog, virt_to_phys(prog, t)).value_(),
    str(PFN_PHYS(prog, 1)), str(PHYS_PFN(prog, 8192))] for t in for_each_task(prog)))
# user memory: a dump filtered of user pages answers with FaultError, on both sides
out["cmdlines"] = attempt(lambda: sorted(
    [t.pid.value_(), attempt(lambda: [a.decode(errors="replace") for a in cmdline(t)] if t.mm else None),
     attempt(lambda: len(environ(t)) if t.mm else None)] for t in for_each_task(prog)))
out["users"] = attempt(lambda: sorted(
    [kuid_val(u.uid), u.value_(), find_user(prog, u.uid).value_(), find_user(prog, kuid_val(u.uid) + 100000).value_()]
    for u in for_each_user(prog)))
out["masks_and_leaders"] = attempt(lambda: [
    [cpumask_weight(m(prog)) for m in (cpu_online_mask, cpu_possible_mask, cpu_present_mask)],
    nr_node_ids(prog), percpu_counter_sum_positive(prog["vm_committed_as"].address_of_()),
    sorted(t.pid.value_() for t in for_each_task(prog) if thread_group_leader(t))])
# the page under each task_struct (a slab page): its flags, decoded, and its kind
out["task_pages"] = attempt(lambda: sorted(
    [t.pid.value_(), page_flags(p).value_(), decode_page_flags(p), PageSlab(p), PageHead(p), PageTail(p),
     PageCompound(p), PageLRU(p), PageReserved(p), task_vsize(t)]
    for t in for_each_task(prog) for p in [virt_to_page(prog, t)]))
# each task's page's compound head and the head's order, pages and bytes
out["compound_pages"] = attempt(lambda: sorted(
    [t.pid.value_(), h.value_(), compound_order(p).value_(), compound_order(h).value_(),
     compound_nr(h).value_(), page_size(h).value_(), compound_nr(p).value_()]
    for t in for_each_task(prog) for p in [virt_to_page(prog, t)] for h in [compound_head(p)]))
out["thread_groups"] = attempt(lambda: sorted(
    [t.pid.value_(), sorted(o.pid.value_() for o in for_each_task_in_group(t)),
     len(list(for_each_task_in_group(t, include_self=True)))] for t in for_each_task(prog)))
out["cpumask_of"] = attempt(lambda: [
    [cpu, cpumask_of(prog, cpu).value_(), list(for_each_cpu(cpumask_of(prog, cpu)))]
    for cpu in list(for_each_possible_cpu(prog)) + [64, 65]])


def module_facts(m):
    regions = [r for r in module_address_regions(m) if r[1]]
    return [m.name.string_().decode(), module_address_regions(m), module_taints(m),
            [[address_to_module(prog, a).value_() for a in (s, s + n - 1, s + n)] for s, n in regions]]


out["module_helpers"] = attempt(lambda: [
    validate_list_count_nodes(prog["modules"].address_of_()), address_to_module(prog, 0).value_(),
    [module_facts(m) for m in for_each_module(prog)]])
# the free vmap areas' tree, each node before its children
out["rbtree_preorder"] = attempt(lambda: [
    [n.value_() for n in rbtree_preorder_for_each(prog["free_vmap_area_root"].address_of_())],
    [[v.va_start.value_(), v.va_end.value_()] for v in rbtree_preorder_for_each_entry(
        "struct vmap_area", prog["free_vmap_area_root"].address_of_(), "rb_node")]])
out["task_sched"] = attempt(lambda: sorted(
    [t.pid.value_(), get_task_state(t), task_rq(t).cpu.value_(), sched_entity_is_task(t.se.address_of_()),
     sched_entity_to_task(t.se.address_of_()).value_() == t.value_(),
     attempt(lambda: task_group_name(t.sched_task_group).decode()),
     attempt(lambda: [task_group_sched_entity(t.sched_task_group, c).value_() for c in for_each_online_cpu(prog)])]
    for t in for_each_task(prog)))
# each online CPU's queued fair and real-time tasks, and its fair entity hierarchy
out["runqueue_tasks"] = attempt(lambda: [
    [cpu, sorted(t.pid.value_() for t in rq_for_each_fair_task(rq)), [t.pid.value_() for t in rq_for_each_rt_task(rq)],
     [[se.value_(), depth, is_curr, is_task, sched_entity_to_task(se).pid.value_() if is_task else None]
      for se, depth, is_curr, is_task in cfs_rq_for_each_entity(rq.cfs.address_of_())]]
    for cpu in for_each_online_cpu(prog) for rq in [cpu_rq(prog, cpu)]])


def kernfs_facts(root, d):
    """``d``'s children below ``root``, each found again by its path, through links and not."""
    kids = []
    for c in kernfs_children(kernfs_walk(root, d)):
        p = d + "/" + c.name.string_().decode()
        kids.append([kernfs_name(c).decode(), kernfs_path(c).decode(), kernfs_root(c).value_(),
                     kernfs_walk(root, p).value_(), kernfs_walk(root, p, follow_symlinks=False).value_() == c.value_()])
    return [kernfs_name(root).decode(), kernfs_walk(root, d + "/no-such-node").value_(), kids]


out["kernfs"] = attempt(lambda: [attempt(lambda: kernfs_facts(prog["sysfs_root_kn"], d)) for d in ("block", "kernel", "class/net")])
out["slab_geometry"] = attempt(lambda: [
    [s.name.string_().decode(), slab_cache_objects_per_slab(s), slab_cache_order(s), slab_cache_pages_per_slab(s)]
    for s in for_each_slab_cache(prog)])
out["node_states"] = attempt(lambda: [
    list(for_each_node_state(prog, e.value)) for e in prog.type("enum node_states").enumerators if e.name != "NR_NODE_STATES"])
# every block device (the bdev filesystem's inodes): its number and partition number
out["bdev_partnos"] = attempt(lambda: sorted(
    [b.bd_dev.value_(), bdev_partno(b).value_()] for i in list_for_each_entry(
        "struct inode", prog["blockdev_superblock"].s_inodes.address_of_(), "i_sb_list")
    for b in [container_of(i, "struct bdev_inode", "vfs_inode").bdev.address_of_()]))
# the block class's devices: each disk's name, each partition's device number, in class order
out["disks"] = attempt(lambda: [disk_name(d).decode() for d in for_each_disk(prog)])
out["partitions"] = attempt(lambda: [p.bd_dev.value_() for p in for_each_partition(prog)])
print(json.dumps(out))
