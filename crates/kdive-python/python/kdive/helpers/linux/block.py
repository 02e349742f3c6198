"""Block devices (drgn's ``drgn.helpers.linux.block``)."""

from ..._kdive import Object
from ._walk import prog_of

__all__ = (
    "bdev_partno",
    "blk_mq_rq_from_pdu",
    "blk_mq_rq_to_pdu",
    "blk_rq_bytes",
    "blk_rq_pos",
    "disk_devt",
    "disk_name",
    "for_each_disk",
    "for_each_partition",
    "nr_blockdev_pages",
    "op_is_write",
    "part_devt",
    "part_name",
    "print_disks",
    "print_partitions",
    "req_op",
    "request_queue_busy_iter",
    "rq_data_dir",
)


def bdev_partno(bdev):
    """A ``struct block_device *``'s partition number (``u8``): the low byte of ``__bd_flags``
    where the kernel keeps it there, else ``bd_partno``."""
    from ..._kdive import Object

    if bdev.type_.type.has_member("__bd_flags"):
        return Object(bdev.prog_, "u8", bdev.__bd_flags.counter.value_() & 0xFF)
    return bdev.bd_partno.read_()


def disk_devt(disk):
    """A ``struct gendisk *``'s device number (``dev_t``): its major and first minor."""
    from .device import MKDEV

    return Object(disk.prog_, "dev_t", MKDEV(disk.major.value_(), disk.first_minor.value_()))


def disk_name(disk):
    return disk.disk_name.string_()


def part_devt(part):
    """A partition's device number (``dev_t``): a ``struct block_device *``'s ``bd_dev``, or a
    ``struct hd_struct *``'s device's (before Linux 5.11)."""
    if part.type_.type.has_member("bd_dev"):
        return part.bd_dev.read_()
    return part.__dev.devt.read_()


def part_name(part):
    """A partition's name (``sda1``): its device's kobject's."""
    if part.type_.type.has_member("bd_device"):
        return part.bd_device.kobj.name.string_()
    return part.__dev.kobj.name.string_()


def _class_subsys(prog, klass):
    """The ``struct subsys_private *`` of a ``struct class``: ``class->p`` where the class still
    points at it, else the entry of ``class_kset`` whose ``class`` is this one (as the kernel's
    ``class_to_subsys()`` finds it)."""
    from ..._kdive import container_of
    from .list import list_for_each_entry

    if klass.type_.has_member("p"):
        return klass.p
    want = klass.address_of_().value_()
    for kobj in list_for_each_entry("struct kobject", prog["class_kset"].list.address_of_(), "entry"):
        sp = container_of(kobj, "struct subsys_private", "subsys.kobj")
        if sp.member_("class").value_() == want:
            return sp
    return None


def _block_devices(prog):
    """Each ``struct block_device *`` of the block class, in the class's device order."""
    from ..._kdive import container_of
    from .list import list_for_each_entry

    sp = _class_subsys(prog, prog["block_class"])
    if sp is None:
        return
    for node in list_for_each_entry("struct klist_node", sp.klist_devices.k_list.address_of_(), "n_node"):
        priv = container_of(node, "struct device_private", "knode_class")
        yield container_of(priv.device, "struct block_device", "bd_device")


def for_each_disk(prog):
    """Each ``struct gendisk *``: the whole-disk block devices (partition 0) of the block class."""
    for bdev in _block_devices(prog):
        if not bdev_partno(bdev).value_():
            yield bdev.bd_disk


def for_each_partition(prog):
    """Each ``struct block_device *`` of the block class, disks and their partitions."""
    yield from _block_devices(prog)



def print_disks(prog):
    """Prints each disk: ``MAJOR:MINOR NAME (struct gendisk *)ADDRESS``."""
    from ..common.format import escape_ascii_string

    for disk in for_each_disk(prog_of(prog)):
        name = escape_ascii_string(disk_name(disk), escape_backslash=True)
        print("%d:%d %s (%s)0x%x" % (disk.major.value_(), disk.first_minor.value_(), name,
                                     disk.type_.type_name(), disk.value_()))


def print_partitions(prog):
    """Prints each partition: ``MAJOR:MINOR NAME (struct block_device *)ADDRESS``."""
    from ..common.format import escape_ascii_string
    from .device import MAJOR, MINOR

    for part in for_each_partition(prog_of(prog)):
        devt = part_devt(part).value_()
        name = escape_ascii_string(part_name(part), escape_backslash=True)
        print("%d:%d %s (%s)0x%x" % (MAJOR(devt), MINOR(devt), name, part.type_.type_name(), part.value_()))


def nr_blockdev_pages(prog):
    """Pages of block device buffers: the page caches of the bdev filesystem's inodes."""
    from .list import list_for_each_entry

    prog = prog_of(prog)
    head = prog["blockdev_superblock"].s_inodes.address_of_()
    return sum(i.i_mapping.nrpages.value_() for i in list_for_each_entry("struct inode", head, "i_sb_list"))


def _op_encoding(prog):
    """``(enum type, op of cmd_flags, is write)``: the operation is cmd_flags' low byte and odd
    operations write since ``enum rq_flag_bits`` was renamed (v4.10); before, the top 3 bits and
    any operation but a read writes."""
    def find():
        try:
            prog.type("enum rq_flag_bits")
        except LookupError:
            try:
                t = prog.type("enum req_op")
            except LookupError:
                t = prog.type("enum req_opf")
            return t, lambda flags: flags & 0xFF, lambda op: bool(op & 1)
        return prog.type("enum req_op"), lambda flags: flags >> 61, bool

    try:
        return prog.cache["req_op_encoding"]
    except KeyError:
        found = prog.cache["req_op_encoding"] = find()
        return found


def req_op(rq):
    """A ``struct request *``'s operation (``enum req_op``, ``enum req_opf`` in v4.10 to v6.0)."""
    t, op, _ = _op_encoding(rq.prog_)
    return Object(rq.prog_, t, op(rq.cmd_flags.value_()))


def op_is_write(op):
    """Whether a request operation writes (sends data out)."""
    return _op_encoding(op.prog_)[2](op.value_())


def rq_data_dir(rq):
    """1 for a request that writes, else 0."""
    return int(op_is_write(req_op(rq)))


def blk_rq_pos(rq):
    """A request's current sector (``sector_t``)."""
    return rq.member_("__sector")


def blk_rq_bytes(rq):
    """Bytes left in a request (``unsigned int``)."""
    return rq.member_("__data_len")


def blk_mq_rq_to_pdu(rq):
    """A request's driver data (``void *``), which follows the ``struct request``."""
    return Object(rq.prog_, "void *", rq.value_() + rq.prog_.type("struct request").size)


def blk_mq_rq_from_pdu(pdu):
    """The ``struct request *`` whose driver data ``pdu`` is."""
    return Object(pdu.prog_, "struct request *", pdu.value_() - pdu.prog_.type("struct request").size)


def _sbitmap_set_bits(sb):
    """The set bits of a ``struct sbitmap``, less each word's ``cleared`` bits (v5.0+)."""
    depth, shift, nr = sb.depth.value_(), sb.shift.value_(), sb.map_nr.value_()
    for i in range(nr):
        word_map = sb.map[i]
        start = i << shift
        width = (1 << shift) if i < nr - 1 else depth - start
        word = word_map.word.value_()
        if word_map.type_.has_member("cleared"):
            word &= ~word_map.cleared.value_()
        for j in range(width):
            if word >> j & 1:
                yield start + j


def _hw_contexts(q):
    """A queue's ``struct blk_mq_hw_ctx *``: its array, or its xarray (v5.18 to v6.18)."""
    if q.type_.type.has_member("queue_hw_ctx"):
        for i in range(q.nr_hw_queues.value_()):
            yield q.queue_hw_ctx[i].read_()
        return
    from .xarray import xa_for_each

    for _, entry in xa_for_each(q.hctx_table.address_of_()):
        yield Object(q.prog_, "struct blk_mq_hw_ctx *", entry.value_())


def _tags_requests(tags, rqs, keep):
    """The requests of a ``struct blk_mq_tags *`` whose tags are taken (reserved ones first),
    from ``rqs``, where ``keep(rq, tag)`` (or no ``keep``) says so."""
    reserved = tags.nr_reserved_tags.value_()
    # the kernel's bt_iter(): reserved tags are their bits, the others follow them (drgn 0.3.0
    # offsets the reserved bits instead, which reads the wrong requests when there are any)
    bitmaps = [(tags.bitmap_tags.sb, reserved)]
    if reserved:
        bitmaps.insert(0, (tags.breserved_tags.sb, 0))
    for sb, base in bitmaps:
        for bit in _sbitmap_set_bits(sb):
            rq = rqs[bit + base].read_()
            if keep is None or keep(rq, bit + base):
                yield rq


def request_queue_busy_iter(q, tags=None):
    """Each busy ``struct request *`` of a ``struct request_queue *`` (blk-mq): with a driver tag
    (``tags="driver"``) or a scheduler tag (``"sched"``); by default the scheduler's when the
    queue has an I/O scheduler, else the driver's. A bio-based queue has none."""
    prog = q.prog_
    q = q.read_()
    tag_set = q.tag_set.read_()
    if not tag_set:
        return
    shared = "BLK_MQ_F_TAG_HCTX_SHARED" in prog and bool(
        tag_set.flags.value_() & prog["BLK_MQ_F_TAG_HCTX_SHARED"].value_())
    if tags != "driver":
        if q.elevator:
            if shared and q.type_.type.has_member("sched_shared_tags"):
                st = q.sched_shared_tags.read_()
                yield from _tags_requests(st, st.static_rqs.read_(), None)
                return
            for hctx in _hw_contexts(q):
                st = hctx.sched_tags.read_()
                keep = (lambda rq, tag: bool(rq.ref.refs.counter.value_())) if shared else None
                yield from _tags_requests(st, st.static_rqs.read_(), keep)
            return
        if tags is not None:
            return
    if shared and tag_set.type_.type.has_member("__bitmap_tags"):
        for hctx in _hw_contexts(q):
            t = hctx.tags.read_()
            yield from _tags_requests(t, t.rqs.read_(), lambda rq, tag, hctx=hctx: bool(rq) and rq.tag.value_() == tag
                                      and rq.mq_hctx.value_() == hctx.value_())
        return
    for i in range(1 if shared else tag_set.nr_hw_queues.value_()):
        t = tag_set.tags[i].read_()
        yield from _tags_requests(t, t.rqs.read_(), lambda rq, tag: bool(rq) and rq.tag.value_() == tag
                                  and rq.q.value_() == q.value_())
