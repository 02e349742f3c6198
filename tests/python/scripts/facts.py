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
from drgn.helpers.linux.pid import find_task, for_each_task
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
import contextlib
import io
import itertools
import re
from drgn import FaultError, Object, cast, reinterpret
from drgn.helpers import ValidationError
from drgn.helpers.common.format import CellFormat, RowOptions, double_quote_ascii_string, print_table
from drgn.helpers.common.memory import identify_address, print_annotated_memory
from drgn.helpers.common.prog import takes_object_or_program_or_default, takes_program_or_default
from drgn.helpers.common.stack import print_annotated_stack, print_registers
from drgn.helpers.common.type import typeof_member
from drgn.helpers.linux.block import (
    blk_mq_rq_from_pdu, blk_mq_rq_to_pdu, for_each_disk, nr_blockdev_pages, op_is_write, print_disks, print_partitions,
    request_queue_busy_iter)
from drgn.helpers.linux.cgroup import (
    cgroup_get_from_path, cgroup_path, css_for_each_child, css_for_each_descendant_pre)
from drgn.helpers.linux.fs import (
    decode_file_type, fget, for_each_file, inode_for_each_page, inode_paths, path_lookup, print_files,
    super_block_for_each_mount)
from drgn.helpers.linux.mm import (
    decode_memory_block_state, find_vmap_area, follow_phys, follow_pfn, follow_page, for_each_memory_block,
    for_each_valid_page_range, for_each_valid_pfn_and_page, in_direct_map, memory_block_size_bytes, vm_commit_limit,
    vm_memory_committed, vma_find, vma_name, vmalloc_to_page, vmalloc_to_pfn, for_each_vma)
from drgn.helpers.linux.net import (
    SOCK_INODE, SOCKET_I, for_each_netdev, is_pp_page, neigh_table_for_each_neighbor, netdev_for_each_tx_queue, netdev_get_by_index,
    netdev_ipv4_addrs, netdev_ipv6_addrs, netdev_priv, sk_fullsock, skb_shinfo)
from drgn.helpers.linux.rbtree import validate_rbtree
from drgn.helpers.linux.slab import (
    find_containing_slab_cache, find_slab_cache, get_slab_cache_aliases, print_slab_caches,
    slab_cache_for_each_allocated_object, slab_cache_usage, slab_object_info, slab_total_usage)


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

def printed(f):
    """What ``f()`` prints (a printer helper compared by its text)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        f()
    return out.getvalue()


tasks = sorted(for_each_task(prog), key=lambda t: t.pid.value_())
user_tasks = [t for t in tasks if t.mm][:4]


def vma_facts(t):
    """Each VMA of a task: found again by its first and last address, its name, and where its
    first page is (user pages may be filtered out of the dump: FaultError)."""
    return [[v.vm_start.value_(), v.vm_end.value_(), vma_find(t.mm, v.vm_start).value_() == v.value_(),
             vma_find(t.mm, v.vm_end - 1).value_() == v.value_(), attempt(lambda: vma_name(v).decode()),
             attempt(lambda: follow_phys(t.mm, v.vm_start).value_())]
            for v in itertools.islice(for_each_vma(t.mm), 40)] + [vma_find(t.mm, 0).value_()]


out["vmas"] = attempt(lambda: [[t.pid.value_(), attempt(lambda: vma_facts(t))] for t in user_tasks])
# kernel addresses: each task_struct is in the direct map, its stack in a vmap area
out["kernel_translations"] = attempt(lambda: [
    [t.pid.value_(), in_direct_map(prog, t), in_direct_map(prog, t.stack), in_direct_map(prog, prog["init_task"].address_),
     follow_phys(prog["init_mm"].address_of_(), t).value_(), follow_pfn(prog["init_mm"].address_of_(), t).value_(),
     follow_page(prog["init_mm"].address_of_(), t).value_(), attempt(lambda: vmalloc_to_pfn(prog, t.stack).value_()),
     attempt(lambda: vmalloc_to_page(prog, t.stack).value_()),
     [find_vmap_area(prog, t.stack + 8).va_start.value_(), find_vmap_area(prog, t.stack + 8).va_end.value_()],
     find_vmap_area(prog, t).value_()] for t in tasks[:20]])
out["vm_commit"] = attempt(lambda: [vm_commit_limit(prog), vm_memory_committed(prog)])
out["valid_pages"] = attempt(lambda: [
    [[a, b, m.value_()] for a, b, m in for_each_valid_page_range(prog)],
    [[pfn, p.value_()] for pfn, p in itertools.islice(for_each_valid_pfn_and_page(prog), 3)]])
out["memory_blocks"] = attempt(lambda: [
    memory_block_size_bytes(prog).value_(),
    [[m.start_section_nr.value_(), decode_memory_block_state(m)] for m in for_each_memory_block(prog)]])
out["slab_usage"] = attempt(lambda: [
    [s.name.string_().decode(), attempt(lambda: list(slab_cache_usage(s)) + [slab_cache_usage(s).active_objs])]
    for s in for_each_slab_cache(prog)])
out["slab_totals"] = attempt(lambda: list(slab_total_usage(prog)) + [slab_total_usage(prog).total_pages])
out["slab_aliases"] = attempt(lambda: sorted(get_slab_cache_aliases(prog).items()))
# each task_struct and its comm: the slab object they are in
out["slab_objects"] = attempt(lambda: [
    [t.pid.value_(), find_containing_slab_cache(prog, t.comm.address_).name.string_().decode(),
     [(i.slab_cache.value_(), i.slab.value_(), i.address, i.allocated) for i in [slab_object_info(prog, t.comm.address_)]],
     slab_object_info(prog, prog["init_task"].address_), find_containing_slab_cache(prog, 0).value_()]
    for t in tasks[1:]])
out["slab_allocated"] = attempt(lambda: sorted(
    o.value_() for o in slab_cache_for_each_allocated_object(find_slab_cache(prog, "task_struct"), "struct task_struct")))
out["slab_printed"] = attempt(lambda: printed(lambda: print_slab_caches(prog)))


def identities(t):
    """What each of a task's addresses is: the task, its comm, stack, page, a function and a
    variable, and addresses that are nothing."""
    page = virt_to_page(prog, t)
    return [identify_address(prog, a) for a in (
        t.value_(), t.comm.address_, t.stack.value_() + 64, page.value_() + 8, prog.symbol("schedule").address + 4,
        prog["init_nsproxy"].address_ + 8, prog["init_task"].address_ + 16, 0, 8)]


out["identify_address"] = attempt(lambda: [[t.pid.value_(), attempt(lambda: identities(t))] for t in tasks[:30]])
out["annotated_memory"] = attempt(lambda: printed(lambda: print_annotated_memory(prog, prog["init_task"].address_, 128)))


def stack_text(trace):
    """The annotated stack with each frame's line cut after its symbol and symbols unnamed: drgn
    and kdive differ in a frame's function and source file names (asm functions, line-table
    directories) and in which symbol (local labels such as .LC0, aliases) covers an address,
    which their own facts compare, not in what the printer does with them."""
    text = printed(lambda: print_annotated_stack(trace))
    text = re.sub(r"(?m)^(\[stack frame #\d+ at 0x[0-9a-f]+(?: \([^)]*\))?).*\]$", r"\1]", text)
    return re.sub(r"\[(object |function )?symbol: [^]]*\]", "[symbol]", text)


# init's stack: the crashed threads of the fixtures with a module run through its freed init code,
# whose symbol kdive knows and drgn does not
out["annotated_stack"] = attempt(lambda: stack_text(prog.stack_trace(find_task(prog, 1))))
out["registers"] = attempt(lambda: printed(lambda: print_registers(prog, prog.crashed_thread().stack_trace()[0].registers())))


@takes_program_or_default
def _prog_helper(prog, n):
    return [prog["PAGE_SIZE"].value_(), int(n)]


@takes_object_or_program_or_default
def _obj_helper(prog, obj, n):
    return [prog["PAGE_SIZE"].value_(), None if obj is None else obj.value_(), int(n)]


out["common_helpers"] = attempt(lambda: [
    double_quote_ascii_string(b'a"b\\c\n\x01\x7f'),
    printed(lambda: print_table([["NAME", "VALUE", "HEX"], ["a", 1, CellFormat(255, "x")],
                                 RowOptions(["other", "group"], group=1), ["bb", 22222, CellFormat(16, "<#x")]])),
    [typeof_member(prog.type("struct task_struct"), m).type_name() for m in ("comm", "se.avg", "comm[1]", "pid")],
    _prog_helper(prog, 3), _prog_helper(prog["init_task"].pid),
    _obj_helper(prog, 7), _obj_helper(prog["init_task"].address_of_(), 7), _obj_helper(prog["init_task"].pid)])
out["block_helpers"] = attempt(lambda: [
    nr_blockdev_pages(prog), printed(lambda: print_disks(prog)), printed(lambda: print_partitions(prog)),
    [[e.name, op_is_write(Object(prog, prog.type("enum req_op"), e.value))] for e in prog.type("enum req_op").enumerators],
    blk_mq_rq_to_pdu(Object(prog, "struct request *", 0x10000)).value_(),
    blk_mq_rq_from_pdu(Object(prog, "void *", 0x10000)).value_(),
    # each disk's busy requests, by default and by driver and scheduler tags
    [[[r.value_() for r in request_queue_busy_iter(d.queue, **kw)] for kw in ({}, {"tags": "driver"}, {"tags": "sched"})]
     for d in for_each_disk(prog)]])


def file_facts(t):
    files = list(for_each_file(t))[:12]
    return [[fd, fget(t, fd).value_(), decode_file_type(f.f_inode.i_mode), sorted(p.decode() for p in inode_paths(f.f_inode)),
             attempt(lambda: len(list(inode_for_each_page(f.f_inode)))),
             attempt(lambda: SOCK_INODE(SOCKET_I(f.f_inode)).value_() == f.f_inode.value_())] for fd, f in files]


out["files"] = attempt(lambda: [[t.pid.value_(), attempt(lambda: file_facts(t)), attempt(lambda: printed(lambda: print_files(t)))]
                                for t in user_tasks])
out["sb_mounts"] = attempt(lambda: [
    [m.value_(), sorted(x.value_() for x in super_block_for_each_mount(m.mnt.mnt_sb))] for m in for_each_mount(prog)])
out["file_types"] = [decode_file_type(m) for m in (0o140755, 0o120777, 0o100644, 0o060600, 0o040755, 0o020600,
                                                    0o010600, 0o170000, 0o030000, 0)]


def netdev_facts(d):
    return [d.name.string_().decode(), netdev_get_by_index(prog, d.ifindex).value_() == d.value_(),
            netdev_priv(d).value_(), [q.value_() for q in netdev_for_each_tx_queue(d)],
            [str(a) for a in netdev_ipv4_addrs(d)], [str(a) for a in netdev_ipv6_addrs(d)]]


out["netdevs"] = attempt(lambda: [[attempt(lambda: netdev_facts(d)) for d in for_each_netdev(prog)],
                                  netdev_get_by_index(prog, 99999).value_(),
                                  attempt(lambda: [n.value_() for n in neigh_table_for_each_neighbor(prog["arp_tbl"].nht)])])
out["pp_pages"] = attempt(lambda: [is_pp_page(virt_to_page(prog, t)) for t in tasks[:8]])
out["skb_shinfo"] = attempt(lambda: skb_shinfo(Object(prog, "struct sk_buff *", prog["init_task"].address_)).value_())
out["cgroups"] = attempt(lambda: [
    [cgroup_path(css.cgroup).decode(), cgroup_get_from_path(prog, cgroup_path(css.cgroup)).value_() == css.cgroup.value_(),
     sorted(c.value_() for c in css_for_each_child(css))]
    for css in css_for_each_descendant_pre(prog["cgrp_dfl_root"].cgrp.self.address_of_())])


def vmap_start_cmp(a, b):
    return (a.va_start.value_() > b.va_start.value_()) - (a.va_start.value_() < b.va_start.value_())


def validated(root):
    try:
        validate_rbtree("struct vmap_area", root, "rb_node", vmap_start_cmp, False)
        return "valid"
    except ValidationError:
        return "invalid"


# the free vmap areas' tree, and the busy one where the kernel keeps a single one (before 6.9)
out["rbtree_validate"] = attempt(lambda: [validated(prog["free_vmap_area_root"].address_of_()),
                                          validated(prog["vmap_area_root"].address_of_()) if "vmap_area_root" in prog else None])


def shown(f):
    """An object as drgn shows it (repr and str), or the class of the error making it."""
    return attempt(lambda: [repr(o), str(o)] if isinstance(o := f(), Object) else o.decode() if isinstance(o, bytes) else o)


# paths through the dentry cache: mounts crossed, `..` and `.` followed, absent names refused
out["path_lookup"] = attempt(lambda: [
    [repr(p), shown(lambda: path_lookup(prog, p)), shown(lambda: path_lookup(prog, p, allow_negative=True))]
    for p in ("/", "/proc", "/dev", "/sys/kernel", "/proc/..", "/./proc/.", "//proc/", "proc", "/..", "/proc/self",
              "/dev/../proc", "/nonexistent", "/proc/nonexistent", b"/proc")] + [
    shown(lambda: path_lookup(prog["init_task"].fs.root, "/proc")),
    shown(lambda: path_lookup(prog["init_task"].fs.root.address_of_(), "/proc")),
    shown(lambda: path_lookup(path_lookup(prog, "/proc"), "..")),
    shown(lambda: path_lookup(prog, "/proc").dentry.d_name.name.string_())])
# values held by the object: a struct, an array and a union read whole, their members, and
# values built from a mapping or a list
root = prog["init_task"].fs.root
out["aggregate_values"] = attempt(lambda: [
    shown(lambda: root.read_()), shown(lambda: root.read_().mnt), shown(lambda: root.read_().member_("dentry")),
    attempt(lambda: root.read_().value_()), attempt(lambda: root.read_().address_), attempt(lambda: root.read_().to_bytes_().hex()),
    shown(lambda: root.read_().read_()), shown(lambda: root.read_().dentry.d_name.name),
    attempt(lambda: root.read_().format_(type_name=False)), attempt(lambda: root.read_().format_(dereference=False)),
    shown(lambda: root.read_().address_of_()), shown(lambda: root.read_() == root.read_()), shown(lambda: root.read_() == 1),
    shown(lambda: bool(root.read_())), shown(lambda: int(root.read_())), shown(lambda: root.read_() == None),
    shown(lambda: prog["init_task"].tasks.read_()), shown(lambda: prog["init_task"].se.read_().load),
    shown(lambda: prog["init_task"].comm.read_()), shown(lambda: prog["init_task"].comm.read_()[1]),
    shown(lambda: prog["init_task"].comm.read_().string_()), attempt(lambda: len(prog["init_task"].comm.read_())),
    attempt(lambda: [c.value_() for c in prog["init_task"].comm.read_()]), shown(lambda: prog["init_task"].comm.read_()[16]),
    shown(lambda: prog["init_task"].comm == prog["init_task"].comm), shown(lambda: prog["init_task"].comm.read_() == prog["init_task"].comm),
    shown(lambda: root.dentry.d_u.read_()), shown(lambda: root.dentry.d_name.read_()),
    shown(lambda: Object(prog, "struct path", value={"mnt": 0, "dentry": root.dentry})),
    shown(lambda: Object(prog, "struct path", value={})), shown(lambda: Object(prog, "struct path", value={"nope": 1})),
    shown(lambda: Object(prog, "struct path", value=1)), shown(lambda: Object(prog, "struct path", value=root.read_())),
    shown(lambda: Object(prog, "struct qstr", value={"hash": 5, "len": 3, "name": 0})),
    shown(lambda: Object(prog, "struct qstr", value={"hash_len": (7 << 32) | 9})),
    shown(lambda: Object(prog, "int [3]", value=[1, 2])), shown(lambda: Object(prog, "int [3]", value=[1, 2, 3, 4])),
    shown(lambda: Object(prog, "struct path [2]", value=[{"mnt": 8}])), shown(lambda: Object(prog, "char [4]", value=b"ab")),
    shown(lambda: Object(prog, "struct list_head", value={"next": 1.9, "prev": True})),
    shown(lambda: cast("struct path", root.read_())), shown(lambda: cast("struct path", root)),
    shown(lambda: cast("unsigned long", prog["init_task"].comm)),
    shown(lambda: reinterpret("struct path", root.read_())), shown(lambda: reinterpret("unsigned long", root.read_())),
    shown(lambda: reinterpret("unsigned long [2]", root.read_())), shown(lambda: reinterpret("struct task_struct", root.read_())),
    shown(lambda: Object.from_bytes_(prog, "struct path", root.read_().to_bytes_())),
    shown(lambda: Object.from_bytes_(prog, "struct path", b"\x01" * 8)),
])


def symbol_facts(name):
    """A symbol by name, and what names its address, the byte after it and its last byte."""
    s = prog.symbol(name)
    return [repr(s)] + [attempt(lambda: repr(prog.symbol(a))) for a in (s.address, s.address + 1, s.address + max(s.size, 1) - 1)]


# aliases: a sized symbol names its address rather than a linker alias without a size
# (jiffies_64, not jiffies); per-CPU offsets are named by no address
out["symbol_aliases"] = attempt(lambda: [[n, attempt(lambda: symbol_facts(n))] for n in (
    "jiffies", "jiffies_64", "init_task", "_stext", "_text", "startup_64", "schedule", "linux_banner", "runqueues",
    "__per_cpu_start", "_etext", "_end", "__x64_sys_pause", "entry_SYSCALL_64_after_hwframe", "no_such_symbol")] + [
    attempt(lambda: identify_address(prog, prog.symbol("jiffies").address)),
    attempt(lambda: [repr(prog.symbol(f.pc)) for f in prog.crashed_thread().stack_trace()])])


def sources(trace):
    return [[f.name, attempt(lambda: list(f.source())), attempt(lambda: str(f.source())),
             attempt(lambda: f.source().name())] for f in trace]


# source locations as the line table names the files (no build directory before a relative one),
# on stacks both name alike (not the crashed threads that ran through a module's freed init code)
out["frame_sources"] = attempt(lambda: [sources(prog.stack_trace(find_task(prog, pid))) for pid in (1, 2, 3, 4)])
print(json.dumps(out))
