# crash's `bt` (the panic task), as drgn: the crashed thread's stack (a dump without a panic:
# CPU 0's current task).   drgn -q -c DUMP -s VMLINUX bt.py
from drgn.helpers.linux.sched import cpu_curr

try:
    t = prog.crashed_thread()
    print("PID: %d" % t.tid)
    print(t.stack_trace())
except Exception as e:
    print("no crashed thread (%s); CPU 0's current task:" % type(e).__name__)
    print(prog.stack_trace(cpu_curr(prog, 0)))
