"""Users (drgn's ``drgn.helpers.linux.user``): UIDs and the kernel's per-user structures."""
from ... import _kdive
from ._walk import prog_of

__all__ = (
    "find_user",
    "for_each_user",
    "kuid_val",
    "task_euid",
    "task_uid",
)


def task_uid(task):
    return task.cred.uid.val.value_()


def task_euid(task):
    return task.cred.euid.val.value_()


def kuid_val(uid):
    """The number of a ``kuid_t`` (an integer is its own value)."""
    if isinstance(uid, _kdive.Object) and uid.type_.kind != _kdive.TypeKind.INT:
        uid = uid.val
    return int(uid)


def _uidhash_table(prog):
    return prog["uidhash_table"]


def for_each_user(prog):
    """Every ``struct user_struct *`` in the kernel's UID hash table."""
    from .list import hlist_for_each_entry

    table = _uidhash_table(prog_of(prog))
    for i in range(len(table)):
        yield from hlist_for_each_entry("struct user_struct", table[i].address_of_(), "uidhash_node")


def find_user(prog, uid):
    """The ``struct user_struct *`` of ``uid`` (``kuid_t`` or integer), ``NULL`` if none."""
    from .list import hlist_for_each_entry

    prog = prog_of(prog)
    table = _uidhash_table(prog)
    size = len(table)
    bits = size.bit_length() - 1
    uid = kuid_val(uid)
    # the kernel's __uidhashfn
    bucket = ((uid >> bits) + uid) & (size - 1)
    for user in hlist_for_each_entry("struct user_struct", table[bucket].address_of_(), "uidhash_node"):
        if user.uid.val.value_() == uid:
            return user
    return _kdive.Object(prog, "struct user_struct *", 0)
