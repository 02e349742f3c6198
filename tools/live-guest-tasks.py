"""Run in the live guest as `kdive /proc/kcore --script live-guest-tasks.py`: one line with the
kernel's release and the (pid, comm) of every task, in drgn's names only, for
tools/live-guest-check.py to compare with the guest's uname -r and /proc/<pid>/stat."""
import json

from drgn import Object
from drgn.helpers.linux.pid import for_each_task

tasks = [(t.pid.value_(), t.comm.string_().decode()) for t in for_each_task(prog)]
how = "typed"
try:
    uts = prog["init_uts_ns"]
except KeyError:
    how = "symbol"
    # without the vmlinux's DWARF the kernel's BTF types no global variable but per-CPU ones:
    # the symbol's address with its type named, as a drgn script does for a BTF-only kernel
    uts = Object(prog, "struct uts_namespace", address=prog.symbol("init_uts_ns").address)
release = uts.name.release.string_().decode()
print("SCRIPT " + json.dumps({"release": release, "init_uts_ns": how, "tasks": tasks}))
