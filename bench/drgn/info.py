# kdive's `info`, as far as drgn tells it: the dump's architecture and page size, the kernel's
# utsname, CPUs, memory size. drgn has no count of the dump's page states; this is its open
# plus these facts.   drgn -q -c DUMP -s VMLINUX info.py
from drgn.helpers.linux.cpumask import for_each_possible_cpu
from drgn.helpers.linux.mm import totalram_pages

u = prog["init_uts_ns"].name
print("     MACHINE: %s, page size %d, %d page frames" % (prog.platform.arch.name, prog["PAGE_SIZE"].value_(), prog["max_pfn"].value_()))
print("     UTSNAME: %s %s %s" % (u.release.string_().decode(), u.version.string_().decode(), u.machine.string_().decode()))
print("        CPUS: %d" % len(list(for_each_possible_cpu(prog))))
print("       PAGES: %d RAM" % totalram_pages(prog))
