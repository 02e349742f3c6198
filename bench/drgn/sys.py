# crash's `sys`, as drgn: kernel, CPUs, date, uptime, load average, tasks, node, release,
# version, machine, memory, panic.   drgn -q -c DUMP -s VMLINUX sys.py
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.mm import totalram_pages
from drgn.helpers.linux.panic import panic_message
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import loadavg
from drgn.helpers.linux.timekeeping import ktime_get_boottime_seconds, ktime_get_real_seconds

u = prog["init_uts_ns"].name
up = ktime_get_boottime_seconds(prog).value_()
print("        CPUS: %d" % len(list(for_each_online_cpu(prog))))
print("        DATE: %d" % ktime_get_real_seconds(prog).value_())
print("      UPTIME: %02d:%02d:%02d" % (up // 3600, up % 3600 // 60, up % 60))
print("LOAD AVERAGE: %.2f, %.2f, %.2f" % tuple(loadavg(prog)))
print("       TASKS: %d" % sum(1 for _ in for_each_task(prog)))
print("    NODENAME: %s" % u.nodename.string_().decode())
print("     RELEASE: %s" % u.release.string_().decode())
print("     VERSION: %s" % u.version.string_().decode())
print("     MACHINE: %s" % u.machine.string_().decode())
print("      MEMORY: %d MB" % (totalram_pages(prog) * prog["PAGE_SIZE"].value_() >> 20))
m = panic_message(prog)
print("       PANIC: %s" % ("" if m is None else m.decode(errors="replace")))
