"""Block devices (drgn's ``drgn.helpers.linux.block``)."""

__all__ = ("bdev_partno", "disk_devt", "disk_name", "for_each_disk", "part_devt", "part_name")


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


def for_each_disk(prog):
    """Each ``struct gendisk *`` (from the block class's devices)."""
    from ..._kdive import Object, container_of
    from .list import list_for_each_entry

    klass = prog["block_class"]
    subsys = klass.p.subsys if hasattr(klass, "p") else None
    if subsys is None:
        raise NotImplementedError("for_each_disk: this kernel's class layout is not supported yet")
    for kobj in list_for_each_entry("struct kobject", subsys.list.address_of_(), "entry"):
        dev = container_of(kobj, "struct device", "kobj")
        if dev.type == prog["disk_type"].address_of_():
            yield Object(prog, "struct gendisk *", container_of(dev, "struct gendisk", "part0").value_())
