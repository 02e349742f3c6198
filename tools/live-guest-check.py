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
check("sys says no panic (a running kernel)", not sys_.get("panic"), sys_.get("panic"))
pids = {int(p) for p in guest.get("PIDS", "").split()}
ps = results.get("ps", {})
kd_pids = {t.get("pid") for t in ps.get("tasks", [])}
# the processes of the moment (ls, cat, the shell's subshells) come and go: every pid that
# lived before kdive started and after it stopped must be in ps
missing = {p for p in pids if p not in kd_pids and p < min(pids | {10**9}) + 1000}
check("ps lists the guest's /proc pids", pids and len(missing) <= 3,
      f"missing {sorted(missing)} of {len(pids)}")
mem_kb = int(re.search(r"(\d+)", guest.get("MEMTOTAL", "0")).group(1))
kmem = json.dumps(results.get("kmem -i", {}))
check("kmem -i answered", "kmem -i" in results)
log = results.get("log", {})
check("log has the kernel's banner", "Linux version " + guest.get("UNAME", "?") in json.dumps(log))
bt = json.dumps(results.get("bt 1", {}))
check("bt 1 is pid 1's stack", '"pid": 1' in bt or '"pid":1' in bt, bt[:300])
st = json.dumps(results.get("struct task_struct.pid,comm init_task", {}))
check("struct init_task.comm is swapper/0", "swapper/0" in st, st[:300])
for line in other:
    print("  (other output) " + line[:200])
print(f"MemTotal {mem_kb} kB; kmem -i: {kmem[:400]}")
sys.exit(1 if failures else 0)
