#!/usr/bin/env python3
"""Compares what kdive said about a running guest (its --json lines on the serial console,
between KDIVE-BEGIN and KDIVE-END; a Python script's line between SCRIPT-BEGIN and SCRIPT-END)
with the guest's own /proc and /sys (GUEST-* lines), and says what kdive made of /dev/mem."""
import json
import re
import sys

text = open(sys.argv[1], errors="replace").read().replace("\r", "")
guest = dict(re.findall(r"^GUEST-(\w+) ?(.*)$", text, re.M))
# /proc/<pid>/stat: pid (comm) state ...; comm may hold spaces and parentheses
stat = {int(m[0]): m[1] for m in re.findall(r"^GUEST-STAT (\d+) \((.*)\) \S ", text, re.M)}
loop_syms = re.findall(r"^GUEST-LOOPSYM (\w+) (\w) (\S+)$", text, re.M)
begin, end = text.find("KDIVE-BEGIN"), text.find("KDIVE-END")
if begin < 0 or end < 0:
    sys.exit("live-guest: kdive did not run to its end in the guest:\n" + text[-3000:])
results, other = {}, []
for line in text[begin:end].splitlines()[1:]:
    try:
        doc = json.loads(line)
        results[doc["command"]] = doc
    except (ValueError, KeyError):
        other.append(line)
failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


for cmd, doc in results.items():
    check(f"{cmd}: answered", "error" not in doc, json.dumps(doc.get("error")))
sys_ = results.get("sys", {})
check("sys RELEASE is uname -r", sys_.get("release") == guest.get("UNAME"),
      f"{sys_.get('release')} vs {guest.get('UNAME')}")
check("sys NODENAME is uname -n", sys_.get("nodename") == guest.get("NODENAME"),
      f"{sys_.get('nodename')} vs {guest.get('NODENAME')}")
check("sys says no panic (a running kernel)", not sys_.get("panic"), sys_.get("panic"))
# the processes of the moment (ls, the shell's subshells) come and go: every pid there before
# kdive started and still there after it stopped must be in ps, and ps must list no other
# user-space process that /proc never showed
before = {int(p) for p in guest.get("PIDS", "").split()}
after = {int(p) for p in guest.get("PIDSAFTER", "").split()}
stable = before & after
ps = results.get("ps", {})
kd_pids = {t.get("pid") for t in ps.get("tasks", [])}
check("ps lists every pid of the guest's /proc", stable and stable <= kd_pids,
      f"missing {sorted(stable - kd_pids)} of {len(stable)}")
extra = [t for t in ps.get("tasks", []) if t.get("pid") not in before | after | {0}]
check("ps lists nothing /proc did not but kdive itself",
      all(t.get("comm") in ("kdive", "sh") for t in extra),
      json.dumps([(t.get("pid"), t.get("comm")) for t in extra]))
init = [t for t in ps.get("tasks", []) if t.get("pid") == 1]
check("ps pid 1 is init", bool(init) and init[0].get("comm") == "init", json.dumps(init)[:200])
mem_kb = int(re.search(r"(\d+)", guest.get("MEMTOTAL", "0")).group(1))
kmem = results.get("kmem -i", {})
check("kmem -i TOTAL MEM is /proc/meminfo MemTotal",
      kmem.get("total", 0) * kmem.get("page_size", 0) // 1024 == mem_kb,
      f"{kmem.get('total')} pages vs {mem_kb} kB")
log = results.get("log", {})
check("log has the kernel's banner", "Linux version " + guest.get("UNAME", "?") in json.dumps(log))
bt1 = (results.get("bt 1", {}).get("tasks") or [{}])[0]
frames = [f.get("function") or "" for f in bt1.get("frames", [])]
check("bt 1 is pid 1's saved stack, from the scheduler", bt1.get("pid") == 1
      and any("schedule" in f for f in frames), " < ".join(frames[:8]))
st = json.dumps(results.get("struct task_struct.pid,comm init_task", {}))
check("struct init_task.comm is swapper/0", "swapper/0" in st, st[:300])
for line in other:
    print("  (other output) " + line[:200])


def section(name):
    """The lines between NAME-BEGIN and NAME-END, and the exit status on the END line."""
    m = re.search(rf"^{name}-BEGIN$(.*?)^{name}-END (\d+)$", text, re.M | re.S)
    return (m.group(1).strip("\n").splitlines(), int(m.group(2))) if m else (None, None)


def transient(pid):
    """A process /proc never listed: one of the moment (kdive, its interpreter, the shell's)."""
    return pid not in before | after


# the loop module: its symbols as /proc/kallsyms lists them, its type from its BTF
mod = results.get("mod", {})
if guest.get("INSMOD") == "0":
    names = json.dumps(mod)
    check("mod lists the loop module", '"loop"' in names, names[:200])
    sym_m = results.get("sym -m loop", {})
    kd_syms = {(s.get("name"), int(s.get("addr") or "0", 16)) for s in sym_m.get("lines", [])}
    want = {(n, int(a, 16)) for a, t, n in loop_syms}
    missing = sorted(n for n, a in want - kd_syms)
    check("sym -m loop has every [loop] symbol of /proc/kallsyms at its address",
          bool(want) and not missing, f"{len(want)} in kallsyms, missing {missing[:8]}")
    st = results.get("struct loop_device", {})
    check("struct loop_device (the module's BTF) has lo_number",
          "lo_number" in json.dumps(st),
          f"/sys/kernel/btf/loop: {guest.get('MODBTF')}; " + json.dumps(st)[:200])
else:
    print(f"skip loop module checks: insmod {guest.get('INSMOD', 'not run')}")

lines, status = section("SCRIPT")
if lines is None:
    m = re.search(r"^SCRIPT-SKIPPED (.*)$", text, re.M)
    print("skip Python script: " + (m.group(1) if m else "it did not run to its end"))
    if not m:
        failures.append("script")
else:
    doc = next((json.loads(l[len("SCRIPT "):]) for l in lines if l.startswith("SCRIPT {")), None)
    check("script ran (exit 0, one SCRIPT line)", status == 0 and doc is not None,
          f"exit {status}, {len((doc or {}).get('tasks', []))} tasks, init_uts_ns "
          f"{(doc or {}).get('init_uts_ns')}" if doc else f"exit {status}: " + " | ".join(lines)[-600:])
    doc = doc or {}
    check("script: init_uts_ns.name.release is uname -r",
          doc.get("release") == guest.get("UNAME"), f"{doc.get('release')} vs {guest.get('UNAME')}")
    tasks = {pid: comm for pid, comm in doc.get("tasks", [])}
    stable_stat = {p: c for p, c in stat.items() if p in stable}
    missing = sorted(set(stable_stat) - set(tasks))
    check("script: for_each_task has every pid of /proc/<pid>/stat", bool(stable_stat)
          and not missing, f"{len(stable_stat)} pids, missing {missing[:10]}")
    # /proc shows a workqueue worker's comm with its work queue appended (kworker/0:1-events)
    # and a kernel thread's full name where task->comm cut it: the task's comm starts it
    wrong = [(p, tasks[p], c) for p, c in stable_stat.items()
             if p in tasks and not c.startswith(tasks[p])]
    check("script: each task's comm is the one /proc/<pid>/stat shows", not wrong, str(wrong[:5]))
    extra = [(p, c) for p, c in tasks.items() if transient(p) and p not in stat]
    check("script: no task /proc never showed but kdive's and its interpreter's",
          all(c.startswith(("kdive", "python", "sh")) for _, c in extra), str(extra[:10]))

lines, status = section("DEVMEM")
if lines is not None:
    # a kernel built with STRICT_DEVMEM lets /dev/mem read no RAM: kdive must say so and stop
    # (exit 1 or 3), never answer from pages it could not read
    print(f"info /dev/mem: exit {status}: " + " | ".join(lines)[:600])
    check("/dev/mem: an answer or an error, never a crash", status in (0, 1, 3), f"exit {status}")
sys.exit(1 if failures else 0)
