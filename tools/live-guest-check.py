#!/usr/bin/env python3
"""Compares what kdive said about a running guest (its --json lines on the serial console,
between KDIVE-BEGIN and KDIVE-END) with the guest's own /proc (GUEST-* lines)."""
import json
import re
import sys

text = open(sys.argv[1], errors="replace").read().replace("\r", "")
guest = dict(re.findall(r"^GUEST-(\w+) ?(.*)$", text, re.M))
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
sys.exit(1 if failures else 0)
