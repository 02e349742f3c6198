"""Block devices (drgn's ``drgn.helpers.linux.block``)."""

__all__ = (
    "bdev_partno",
    "disk_devt",
    "disk_name",
    "for_each_disk",
    "for_each_partition",
    "part_devt",
    "part_name",
)


def bdev_partno(bdev):
    """A ``struct block_device *``'s partition number (``u8``): the low byte of ``__bd_flags``
    where the kernel keeps it there, else ``bd_partno``."""
    from ..._kdive import Object

    if bdev.type_.type.has_member("__bd_flags"):
        return Object(bdev.prog_, "u8", bdev.__bd_flags.counter.value_() & 0xFF)
    return bdev.bd_partno.read_()


def disk_devt(disk):
    return disk.part0.bd_dev.value_() if disk.part0.type_.kind.name == "POINTER" else disk.part0.__dev.devt.value_()


def disk_name(disk):
    return disk.disk_name.string_()


def part_devt(part):
    return part.bd_dev.value_()


def part_name(part):
    return part.bd_disk.disk_name.string_()


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

