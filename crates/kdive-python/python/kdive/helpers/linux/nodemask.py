"""NUMA node masks (drgn's ``drgn.helpers.linux.nodemask``)."""

from ._walk import prog_of

__all__ = (
    "for_each_node",
    "for_each_node_mask",
    "for_each_node_state",
    "for_each_online_node",
    "node_state",
    "nr_node_ids",
)


def for_each_node_mask(mask):
    bits = mask.bits
    for w in range(len(bits)):
        word = bits[w].value_()
        for b in range(64):
            if word >> b & 1:
                yield w * 64 + b


def _state(prog, name):
    t = prog.type("enum node_states")
    value = dict((e.name, e.value) for e in t.enumerators)[name]
    return prog["node_states"][value]


def for_each_node_state(prog, state):
    """The NUMA nodes in ``state`` (an ``enum node_states`` value, e.g. ``N_NORMAL_MEMORY``)."""
    state = state.value_() if hasattr(state, "value_") else int(state)
    return for_each_node_mask(prog_of(prog)["node_states"][state])


def for_each_node(prog):
    return for_each_node_mask(_state(prog, "N_POSSIBLE"))


def for_each_online_node(prog):
    return for_each_node_mask(_state(prog, "N_ONLINE"))


def node_state(node, state):
    return bool(state.bits[node // 64].value_() >> (node % 64) & 1)


def nr_node_ids(prog):
    """The bound on NUMA node ids (1 for a kernel without NUMA)."""
    try:
        return prog_of(prog)["nr_node_ids"].value_()
    except KeyError:
        return 1
