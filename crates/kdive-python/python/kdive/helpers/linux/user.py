"""Users (drgn's ``drgn.helpers.linux.user``)."""

__all__ = ("task_uid", "task_euid")


def task_uid(task):
    return task.cred.uid.val.value_()


def task_euid(task):
    return task.cred.euid.val.value_()
