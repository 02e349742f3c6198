"""CPU masks (drgn's ``drgn.helpers.linux.cpumask``)."""
import operator

from ... import _kdive
from ..._kdive import Object
from ._walk import prog_of

__all__ = (
    "cpu_online_mask",
    "cpu_possible_mask",
    "cpu_present_mask",
    "cpumask_of",
    "cpumask_to_cpulist",
    "cpumask_weight",
    "for_each_cpu",
    "for_each_online_cpu",
    "for_each_possible_cpu",
    "for_each_present_cpu",
    "num_online_cpus",
    "num_possible_cpus",
    "num_present_cpus",
)


def _nr_cpu_ids(prog):
    try:
        return prog["nr_cpu_ids"].value_()
    except KeyError:
        return 1


def for_each_cpu(mask):
    """The CPUs set in a ``struct cpumask``, below ``nr_cpu_ids`` (the bits past it are not
    CPUs: :func:`cpumask_of` masks overlap the next rows of ``cpu_bit_bitmap``)."""
    limit = _nr_cpu_ids(mask.prog_)
    bits = mask.bits
    n = len(bits)
    for w in range(n):
        word = bits[w].value_()
        b = 0
        while word and w * 64 + b < limit:
            if word & 1:
                yield w * 64 + b
            word >>= 1
            b += 1


def for_each_online_cpu(prog):
    return iter(_kdive._cpus(prog_of(prog), "online"))


def for_each_possible_cpu(prog):
    return iter(_kdive._cpus(prog_of(prog), "possible"))


def for_each_present_cpu(prog):
    return iter(_kdive._cpus(prog_of(prog), "present"))


def num_online_cpus(prog):
    return len(_kdive._cpus(prog_of(prog), "online"))


def num_possible_cpus(prog):
    return len(_kdive._cpus(prog_of(prog), "possible"))


def num_present_cpus(prog):
    return len(_kdive._cpus(prog_of(prog), "present"))


def cpumask_to_cpulist(mask):
    """``0-3,5`` for a ``struct cpumask``."""
    cpus = list(for_each_cpu(mask))
    out = []
    i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else "%d-%d" % (cpus[i], cpus[j]))
        i = j + 1
    return ",".join(out)


def _mask(prog, which):
    prog = prog_of(prog)
    try:
        return prog["__cpu_%s_mask" % which].address_of_()
    except KeyError:
        return prog["cpu_%s_mask" % which]


def cpu_online_mask(prog):
    """The ``struct cpumask *`` of online CPUs."""
    return _mask(prog, "online")


def cpu_possible_mask(prog):
    """The ``struct cpumask *`` of possible CPUs."""
    return _mask(prog, "possible")


def cpu_present_mask(prog):
    """The ``struct cpumask *`` of present CPUs."""
    return _mask(prog, "present")


def cpumask_of(prog, cpu):
    """The ``struct cpumask *`` holding only ``cpu``: the kernel's ``get_cpu_mask()``, a window
    into ``cpu_bit_bitmap`` whose row ``1 + cpu % BITS_PER_LONG`` has that bit set, moved back
    ``cpu / BITS_PER_LONG`` words."""
    prog = prog_of(prog)
    word = prog.type("unsigned long").size
    cpu = operator.index(cpu)
    table = prog["cpu_bit_bitmap"]
    row = table[1 + cpu % (word * 8)]
    addr = row.address_ - (cpu // (word * 8)) * word
    return Object(prog, "struct cpumask *", addr)


def cpumask_weight(mask):
    """How many CPUs below ``nr_cpu_ids`` a ``struct cpumask *`` has set."""
    return sum(1 for _ in for_each_cpu(mask))
