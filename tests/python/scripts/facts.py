"""Facts a drgn user asks of a dump, printed as one JSON line with drgn's API and names only:
run unchanged by `drgn -c DUMP -s VMLINUX` and `kdive DUMP VMLINUX --script`."""
import json

from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.fs import for_each_mount, mount_dst, mount_fstype, mount_src
from drgn.helpers.linux.module import for_each_module
from drgn.helpers.linux.percpu import per_cpu
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.printk import get_printk_records
from drgn.helpers.linux.sched import task_state_to_char
from drgn.helpers.linux.slab import for_each_slab_cache


def attempt(f):
    try:
        return f()
    except Exception as e:  # a fact one side cannot give is compared as its error's class
        return "error: " + type(e).__name__


out = {}
out["tasks"] = attempt(lambda: sorted(
    [t.pid.value_(), t.comm.string_().decode(), task_state_to_char(t)] for t in for_each_task(prog)))
out["crashed_thread_frames"] = attempt(lambda: [f.name for f in prog.crashed_thread().stack_trace()])
out["printk"] = attempt(lambda: [[r.seq, r.timestamp, r.text.decode(errors="replace")] for r in get_printk_records(prog)])
out["mounts"] = attempt(lambda: [
    [mount_src(m).decode(), mount_dst(m).decode(), mount_fstype(m).decode()] for m in for_each_mount(prog)])
out["modules"] = attempt(lambda: [m.name.string_().decode() for m in for_each_module(prog)])
out["slab_caches"] = attempt(lambda: [s.name.string_().decode() for s in for_each_slab_cache(prog)])
out["runqueue_lengths"] = attempt(lambda: [
    [cpu, per_cpu(prog["runqueues"], cpu).nr_running.value_()] for cpu in for_each_online_cpu(prog)])
print(json.dumps(out))
