"""Per-CPU variables (drgn's ``drgn.helpers.linux.percpu``)."""
from ... import _kdive
from ..._kdive import Object

__all__ = (
    "per_cpu",
    "per_cpu_ptr",
    "percpu_counter_sum",
    "percpu_counter_sum_positive",
)


def per_cpu_ptr(ptr, cpu):
    """The address of a per-CPU pointer ``ptr`` for ``cpu``, as a pointer of the same type."""
    off = _kdive._per_cpu_offset(ptr.prog_, int(cpu))
    return Object(ptr.prog_, ptr.type_, ptr.value_() + off)


def per_cpu(var, cpu):
    """The per-CPU variable ``var`` (an object at its per-CPU address) for ``cpu``."""
    return per_cpu_ptr(var.address_of_(), cpu)[0]


def percpu_counter_sum(fbc):
    """The sum of a ``struct percpu_counter``: its count plus every CPU's part."""
    from .cpumask import for_each_possible_cpu

    total = fbc.count.value_()
    counters = fbc.counters
    for cpu in for_each_possible_cpu(fbc.prog_):
        total += per_cpu_ptr(counters, cpu)[0].value_()
    return total


def percpu_counter_sum_positive(fbc):
    """The sum of a per-CPU counter, or 0 when it is negative."""
    return max(percpu_counter_sum(fbc), 0)
