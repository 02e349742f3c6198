"""The report drgn users write first: kernel banner, uptime, the task on each CPU, tasks in D
state. drgn's API and names only; the banner and uptime need the globals' types (a vmlinux, or
BTF that types every global)."""
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import cpu_curr, task_state_to_char

try:
    print(prog["linux_banner"].string_().decode().strip())
    print("uptime: %d s" % prog["tk_core"].timekeeper.ktime_sec.value_())
except LookupError as e:
    print("banner and uptime: %s" % e)
for cpu in for_each_online_cpu(prog):
    task = cpu_curr(prog, cpu)
    print("CPU %d: PID %d %s" % (cpu, task.pid.value_(), task.comm.string_().decode()))
blocked = sorted((t.pid.value_(), t.comm.string_().decode()) for t in for_each_task(prog) if task_state_to_char(t) == "D")
print("D state: %d" % len(blocked))
for pid, comm in blocked:
    print("  %d %s" % (pid, comm))
