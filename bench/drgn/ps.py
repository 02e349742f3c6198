# crash's `ps`, as drgn: PID PPID CPU TASK ST %MEM VSZ RSS COMM for every task.
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.mm import task_rss, totalram_pages
from drgn.helpers.linux.percpu import per_cpu
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_cpu, task_state_to_char

PAGE_KB = prog["PAGE_SIZE"].value_() // 1024
total = totalram_pages(prog)
tasks = [per_cpu(prog["runqueues"], c).idle for c in for_each_online_cpu(prog)]
tasks += list(for_each_task(prog))
# One RSS per mm: on kernels before 6.2 task_rss() sums every thread's cached counters,
# so calling it for each thread would make this script quadratic in threads per process.
rss_of = {}
print("   PID    PPID  CPU       TASK        ST  %MEM     VSZ    RSS  COMM")
for t in tasks:
    rss = vsz = 0
    mm = t.mm.value_()
    if mm:
        if mm not in rss_of:
            rss_of[mm] = task_rss(prog, t).total
        rss = rss_of[mm]
        vsz = t.mm.total_vm.value_() * PAGE_KB
    print("%6d %7d %4d  %x  %s %5.1f %7d %6d  %s" % (
        t.pid.value_(), t.real_parent.pid.value_(), task_cpu(t), t.value_(),
        task_state_to_char(t), 100.0 * rss / total, vsz, rss * PAGE_KB,
        t.comm.string_().decode(errors="replace")))
