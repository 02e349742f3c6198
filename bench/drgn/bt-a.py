# crash's `bt -a`, as drgn: the stack of each online CPU's current task.
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.sched import cpu_curr

for cpu in for_each_online_cpu(prog):
    t = cpu_curr(prog, cpu)
    print("PID: %d  CPU: %d  COMMAND: %s" % (t.pid.value_(), cpu, t.comm.string_().decode()))
    try:
        print(prog.stack_trace(t))
    except Exception as e:
        print("  (%s: %s)" % (type(e).__name__, e))
    print()
