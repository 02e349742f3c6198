"""Scheduler helpers (drgn's ``drgn.helpers.linux.sched``)."""
from ... import _kdive
from ..._kdive import Object
from .percpu import per_cpu

__all__ = (
    "cpu_curr",
    "cpu_rq",
    "idle_task",
    "loadavg",
    "task_cpu",
    "task_on_cpu",
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
