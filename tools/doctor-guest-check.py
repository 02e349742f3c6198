#!/usr/bin/env python3
"""Checks what `kdive doctor` said in a guest (tools/doctor-guest): its text between
DOCTOR-TEXT-BEGIN and DOCTOR-TEXT-END STATUS, its --json between DOCTOR-JSON-BEGIN/END.
  armed: exit 0, every check passes or informs, the kdump checks pass.
  bare:  exit 1, crashkernel and the kdump service fail and the verdict line names both."""
import json
import re
import sys

mode, path = sys.argv[1], sys.argv[2]
text = open(path, errors="replace").read().replace("\r", "")


def between(tag):
    m = re.search(rf"^{tag}-BEGIN\n(.*?)^{tag}-END (\d+)$", text, re.M | re.S)
    return (m.group(1), int(m.group(2))) if m else (None, None)


out, status = between("DOCTOR-TEXT")
js, jstatus = between("DOCTOR-JSON")
if out is None or js is None:
    sys.exit(f"doctor-guest {mode}: doctor did not run to its end in the guest:\n" + text[-3000:])
print(f"--- {mode} guest: kdive doctor (exit {status})")
for line in re.findall(r"^GUEST-KEXEC .*$", text, re.M):
    print("  " + line)
print(out, end="")
failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + f"{mode}: {what}" + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


try:
    doc = json.loads(js.strip().splitlines()[-1])
except (ValueError, IndexError):
    doc = {}
check("--json is one document", doc.get("command") == "doctor", js[:200])
verdicts = {c["name"]: c["verdict"] for c in doc.get("checks", [])}
check("text and --json exit alike", status == jstatus, f"{status} vs {jstatus}")
verdict_line = (re.findall(r"^verdict: .*$", out, re.M) or [""])[-1]
if mode == "armed":
    check("exit 0", status == 0, str(status))
    check("verdict ready", doc.get("verdict") == "ready", verdict_line)
    for name in ("crashkernel", "capture kernel", "kdump service", "dump format", "dump target"):
        check(f"{name} passes", verdicts.get(name) == "pass", verdicts.get(name, "absent"))
    bad = {n: v for n, v in verdicts.items() if v not in ("pass", "info")}
    check("no check warns or fails", not bad, json.dumps(bad))
    check("tooling is kdump-tools", doc.get("tooling") == "kdump-tools", str(doc.get("tooling")))
else:
    check("exit 1 (not ready)", status == 1, str(status))
    for name in ("crashkernel", "kdump service"):
        check(f"{name} fails", verdicts.get(name) == "fail", verdicts.get(name, "absent"))
        check(f"verdict line names {name}", name in verdict_line, verdict_line)
    check("no tooling", doc.get("tooling") is None, str(doc.get("tooling")))
sys.exit(1 if failures else 0)
