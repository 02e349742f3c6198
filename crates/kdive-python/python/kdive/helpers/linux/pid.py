"""Tasks and PIDs (drgn's ``drgn.helpers.linux.pid``), from the library's task walk."""
from ... import _kdive
from ._walk import prog_of

__all__ = ("find_pid", "find_task", "for_each_pid", "for_each_task", "for_each_task_in_group", "pid_task")


def for_each_task(prog_or_ns):
    """Every task (threads included), as ``struct task_struct *`` objects, as drgn lists them."""
    return iter(_kdive._tasks(prog_of(prog_or_ns)))


def find_task(prog_or_ns, pid):
    """The ``struct task_struct *`` with PID ``pid``, or ``None``."""
    return _kdive._find_task(prog_of(prog_or_ns), int(pid))


def pid_task(pid, pid_type):
    """The first task attached to a ``struct pid *`` for ``pid_type`` (``PIDTYPE_PID`` = 0)."""
    from ..._kdive import Object, container_of, sizeof

    prog = pid.prog_
    null = Object(prog, "struct task_struct *", 0)
    if not pid:
        return null
    first = pid.tasks[int(pid_type)].first
    if not first:
        return null
    # linked through pid_links[pid_type]: container_of pid_links[0], less the index's offset
    task = container_of(first, "struct task_struct", "pid_links")
    step = sizeof(prog.type("struct hlist_node"))
    return Object(prog, "struct task_struct *", task.value_() - int(pid_type) * step)


def find_pid(prog_or_ns, nr):
    """The ``struct pid *`` of PID ``nr``, or ``NULL``."""
    from ..._kdive import Object

    task = find_task(prog_or_ns, nr)
    prog = prog_of(prog_or_ns)
    if task is None:
        return Object(prog, "struct pid *", 0)
    return task.thread_pid


def for_each_pid(prog_or_ns):
    """Each ``struct pid *`` of the tasks."""
    for t in for_each_task(prog_or_ns):
        yield t.thread_pid


def for_each_task_in_group(task, include_self=False):
    """Each thread of ``task``'s thread group (``signal->thread_head``), ``task`` itself only
    with ``include_self``."""
    from .list import list_for_each_entry
    for other in list_for_each_entry("struct task_struct", task.signal.thread_head.address_of_(), "thread_node"):
        if other != task or include_self:
            yield other
