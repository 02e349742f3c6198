# crash's `foreach bt`, as drgn: the stack of every task (with each CPU's idle task, as crash).
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.percpu import per_cpu
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_cpu

tasks = [per_cpu(prog["runqueues"], c).idle for c in for_each_online_cpu(prog)]
tasks += list(for_each_task(prog))
for t in tasks:
    print("PID: %d  TASK: %x  CPU: %d  COMMAND: %s" % (
        t.pid.value_(), t.value_(), task_cpu(t), t.comm.string_().decode()))
    try:
        print(prog.stack_trace(t))
    except Exception as e:
        print("  (%s: %s)" % (type(e).__name__, e))
    print()
