"""Doubly and singly linked lists (drgn's ``drgn.helpers.linux.list``), walked by the library
(bounded, cycle-checked)."""
from ... import _kdive
from ..._kdive import Object, container_of
from .. import ValidationError
from ._walk import walked

__all__ = (
    "hlist_empty", "hlist_for_each", "hlist_for_each_entry", "list_count_nodes", "list_empty",
    "list_first_entry", "list_first_entry_or_null", "list_for_each", "list_for_each_entry",
    "list_for_each_entry_reverse", "list_for_each_reverse", "list_is_singular", "list_last_entry",
    "list_next_entry", "list_prev_entry", "validate_list", "validate_list_for_each",
    "validate_list_count_nodes", "validate_list_for_each_entry",
)


def list_empty(head):
    """True if the list ``head`` (a ``struct list_head *``) is empty."""
    head = head.read_()
    return head.next == head


def list_is_singular(head):
    head = head.read_()
    n = head.next
    return n != head and n == head.prev


def list_count_nodes(head):
    return sum(1 for _ in list_for_each(head))


def list_for_each(head):
    """Each ``struct list_head *`` of the list ``head``, head excluded."""
    prog = head.prog_
    for a in walked(_kdive._list_nodes(head)):
        yield Object(prog, "struct list_head *", a)


def list_for_each_reverse(head):
    prog = head.prog_
    for a in walked(_kdive._list_nodes(head, True)):
        yield Object(prog, "struct list_head *", a)


def list_for_each_entry(type, head, member):
    """Each ``type *`` linked through ``member`` into the list ``head``."""
    for node in list_for_each(head):
        yield container_of(node, type, member)


def list_for_each_entry_reverse(type, head, member):
    for node in list_for_each_reverse(head):
        yield container_of(node, type, member)


def list_first_entry(head, type, member):
    return container_of(head.next, type, member)


def list_first_entry_or_null(head, type, member):
    head = head.read_()
    if head.next == head:
        return Object(head.prog_, head.prog_.pointer_type(type) if not isinstance(type, str) else type + " *", 0)
    return container_of(head.next, type, member)


def list_last_entry(head, type, member):
    return container_of(head.prev, type, member)


def list_next_entry(pos, member):
    return container_of(pos.member_(member).next, pos.type_.type, member)


def list_prev_entry(pos, member):
    return container_of(pos.member_(member).prev, pos.type_.type, member)


def validate_list(head):
    for _ in validate_list_for_each(head):
        pass


def validate_list_count_nodes(head):
    """:func:`list_count_nodes`, validating the list as :func:`validate_list` does."""
    return sum(1 for _ in validate_list_for_each(head))


def validate_list_for_each(head):
    """:func:`list_for_each`, checking each node's ``prev`` points back (``ValidationError``)."""
    prev = head.read_()
    for node in list_for_each(head):
        if node.prev != prev:
            raise ValidationError("%s: prev is %#x, expected %#x" % (node, node.prev.value_(), prev.value_()))
        prev = node
        yield node


def validate_list_for_each_entry(type, head, member):
    for node in validate_list_for_each(head):
        yield container_of(node, type, member)


def hlist_empty(head):
    return not head.first


def hlist_for_each(head):
    """Each ``struct hlist_node *`` of the hlist ``head`` (a ``struct hlist_head *``)."""
    prog = head.prog_
    for a in walked(_kdive._hlist_nodes(prog, head.first.value_())):
        yield Object(prog, "struct hlist_node *", a)


def hlist_for_each_entry(type, head, member):
    for node in hlist_for_each(head):
        yield container_of(node, type, member)
