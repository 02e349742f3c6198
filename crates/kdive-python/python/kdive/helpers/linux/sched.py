"""Scheduler helpers (drgn's ``drgn.helpers.linux.sched``)."""
from ... import _kdive
from ..._kdive import Object, container_of
from .percpu import per_cpu

__all__ = (
    "cfs_rq_for_each_entity",
    "cpu_curr",
    "cpu_rq",
    "get_task_state",
    "idle_task",
    "loadavg",
    "rq_for_each_fair_task",
    "rq_for_each_rt_task",
    "sched_entity_is_task",
    "sched_entity_to_task",
    "task_cpu",
    "task_group_name",
    "task_group_sched_entity",
    "task_on_cpu",
    "task_rq",
    "task_since_last_arrival_ns",
    "task_state_to_char",
    "task_thread_info",
    "thread_group_leader",
)


def task_state_to_char(task):
    """The task's state as ``ps`` shows it (``R``, ``S``, ``D``, ``I``, ``Z``, ...)."""
    return _kdive._task_state_char(task)


def task_cpu(task):
    """The CPU the task is on, or last ran on."""
    try:
        return task.thread_info.cpu.value_()
    except AttributeError:
        return task.cpu.value_()


def task_thread_info(task):
    return task.thread_info.address_of_()


def cpu_rq(prog, cpu):
    """The ``struct rq`` of ``cpu``."""
    return _kdive._runqueue(prog, int(cpu))


def cpu_curr(prog, cpu):
    """The task running on ``cpu`` (``struct task_struct *``)."""
    return cpu_rq(prog, cpu).curr.read_()


def idle_task(prog, cpu):
    return cpu_rq(prog, cpu).idle.read_()


def task_on_cpu(task):
    return bool(task.on_cpu)


def task_since_last_arrival_ns(task):
    rq = cpu_rq(task.prog_, task_cpu(task))
    return rq.clock.value_() - task.sched_info.last_arrival.value_()


def loadavg(prog):
    """The 1, 5 and 15 minute load averages."""
    avenrun = prog["avenrun"]
    return tuple(avenrun[i].value_() / (1 << 11) for i in range(3))


del per_cpu, Object


def thread_group_leader(task):
    """Whether a task leads its thread group (``exit_signal >= 0``)."""
    return task.exit_signal.value_() >= 0

_STATE_NAMES = {
    "R": "R (running)", "S": "S (sleeping)", "D": "D (disk sleep)", "T": "T (stopped)",
    "t": "t (tracing stop)", "X": "X (dead)", "Z": "Z (zombie)", "P": "P (parked)", "I": "I (idle)",
}


def get_task_state(task):
    """The task's state as ``/proc/PID/status`` names it (``"S (sleeping)"``)."""
    c = task_state_to_char(task)
    return _STATE_NAMES.get(c, c)


def task_rq(task):
    """The runqueue of the CPU the task is on, or last ran on."""
    return cpu_rq(task.prog_, task_cpu(task))


def sched_entity_is_task(se):
    """Whether a ``struct sched_entity *`` is a task's (it owns no runqueue) rather than a
    task group's."""
    try:
        return not se.my_q
    except AttributeError:  # no group scheduling: every entity is a task
        return True


def sched_entity_to_task(se):
    """The ``struct task_struct *`` a task's scheduler entity is embedded in (unchecked)."""
    return container_of(se, "struct task_struct", "se")


def task_group_name(tg):
    """The cgroup name of a ``struct task_group *`` (bytes), ``b""`` when it has no cgroup."""
    from .cgroup import cgroup_name

    cgrp = tg.css.cgroup.read_()
    return cgroup_name(cgrp) if cgrp else b""


def task_group_sched_entity(tg, cpu):
    """The ``struct sched_entity *`` of a task group on ``cpu`` (NULL for the root group)."""
    return tg.se[int(cpu)].read_()


def rq_for_each_fair_task(rq):
    """Each ``struct task_struct *`` queued in the fair class of a runqueue: its ``cfs_tasks``
    list, else (no SMP) the tasks found walking its ``cfs`` tree."""
    from .list import list_for_each_entry

    try:
        tasks = rq.cfs_tasks
    except AttributeError:
        return (sched_entity_to_task(se)
                for se, _, _, is_task in cfs_rq_for_each_entity(rq.cfs.address_of_()) if is_task)
    return list_for_each_entry("struct task_struct", tasks.address_of_(), "se.group_node")


def rq_for_each_rt_task(rq):
    """Each ``struct task_struct *`` queued in the real-time class of a runqueue, by priority."""
    from .list import list_for_each_entry

    for queue in rq.rt.active.queue:
        yield from list_for_each_entry("struct task_struct", queue.address_of_(), "rt.run_list")


def _cfs_entities(cfs_rq):
    """A fair runqueue's current entity (``True``), then its queued ones in tree order."""
    from .rbtree import rbtree_inorder_for_each_entry

    curr = cfs_rq.curr.read_()
    if curr:
        yield curr, True
    root = cfs_rq.tasks_timeline
    try:  # a struct rb_root_cached
        root = root.rb_root
    except AttributeError:
        pass
    for se in rbtree_inorder_for_each_entry("struct sched_entity", root.address_of_(), "run_node"):
        yield se, False


def cfs_rq_for_each_entity(cfs_rq):
    """Each entity of a fair runqueue and, below each task group's, its group's runqueue's:
    ``(se, depth, is_curr, is_task)``, each group before its children.

    Walks kernels where each task group queues its entities on its own runqueue (those with
    ``cfs_rq.h_curr`` queue every task on the CPU's and are refused); a runqueue seen twice (a
    corrupted hierarchy) raises ``ValueError``."""
    if cfs_rq.type_.type.has_member("h_curr"):
        raise NotImplementedError("cfs_rq_for_each_entity: single-runqueue fair scheduler")
    seen = {cfs_rq.value_()}
    stack = [(_cfs_entities(cfs_rq.read_()), 0)]
    while stack:
        it, depth = stack[-1]
        try:
            se, is_curr = next(it)
        except StopIteration:
            stack.pop()
            continue
        try:
            my_q = se.my_q.read_()
        except AttributeError:
            my_q = None
        yield se, depth, is_curr, not my_q
        if my_q:
            if my_q.value_() in seen:
                raise ValueError("cfs_rq %#x reached twice (cycle)" % my_q.value_())
            seen.add(my_q.value_())
            stack.append((_cfs_entities(my_q), depth + 1))
