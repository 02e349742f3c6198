"""The same drgn scripts under kdive (`--script`) and drgn 0.3.0, on every fixture dump with its
vmlinux; their outputs compared fact by fact.

    python3 tests/python/compare_drgn.py [CORPUS]   (KD_DRGN: drgn's binary; KD_BIN: kdive's)

`scripts/facts.py` is compared fact by fact; `scripts/crash_info.py` and, with KD_DRGN_CONTRIB
set to a drgn checkout's `contrib/` directory, drgn's own contrib scripts (not copied here:
they are drgn's), by their whole output. Skips, saying so, when drgn or a fixture's vmlinux is
absent. Exits non-zero when anything differs.
"""
import glob
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "../shared/fixtures/corpus")
drgn = os.environ.get("KD_DRGN", "/work/drgn-venv/bin/drgn")
kdive = os.environ.get("KD_BIN", os.path.join(root, "target/release/kdive"))
kernels = os.path.expanduser(os.environ.get("KD_KERNELS", "~/.cache/kdive-fixtures/kernels"))
script = os.path.join(here, "scripts/facts.py")
whole = [os.path.join(here, "scripts/crash_info.py")]
contrib = os.environ.get("KD_DRGN_CONTRIB")
if contrib:
    # drgn's contrib scripts that read only what every fixture has
    whole += [os.path.join(contrib, n + ".py") for n in ("lsmod", "mount", "slabinfo", "vmstat", "kcore_list", "vmallocinfo")]


def run_text(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout, r.stderr[-300:]

if not os.path.exists(drgn):
    print("compare: drgn not found at %s: skipped" % drgn)
    sys.exit(0)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        return None, r.stderr[-300:]
    return json.loads(lines[-1]), None


equal = differ = 0
for meta in sorted(glob.glob(os.path.join(corpus, "*/metadata.json"))):
    fx = os.path.dirname(meta)
    release = json.load(open(meta))["kernel"]["release"]
    vmlinux = os.path.join(kernels, release, "vmlinux")
    dumps = [d for d in ("vmcore", "vmcore.kdump-zlib", "vmcore.kdump-zlib-d31") if os.path.exists(os.path.join(fx, d))]
    if not dumps or not os.path.exists(vmlinux):
        print("%-28s skipped: no plain dump or no vmlinux" % os.path.basename(fx))
        continue
    dump = os.path.join(fx, dumps[0])
    # the fixture's out-of-tree modules, given to both
    kos = sorted(glob.glob(os.path.join(fx, "*.ko")))
    ours, err = run([kdive, dump, vmlinux] + kos + ["--script", script])
    if ours is None:
        print("%-28s kdive failed: %s" % (os.path.basename(fx), err))
        differ += 1
        continue
    theirs, err = run([drgn, "-q", "-c", dump, "-s", vmlinux] + sum((["-s", k] for k in kos), []) + [script])
    if theirs is None:
        print("%-28s drgn failed: %s" % (os.path.basename(fx), err))
        continue
    for w in whole:
        args = ["-q", "-c", dump, "-s", vmlinux] + sum((["-s", k] for k in kos), [])
        kc, kout, kerr = run_text([kdive, dump, vmlinux] + kos + ["--script", w])
        dc, dout, derr = run_text([drgn] + args + [w])
        same = kc == dc == 0 and kout == dout
        equal += same
        differ += not same
        print("%-28s %-22s %s (%d lines)" % (os.path.basename(fx), os.path.basename(w), "equal" if same else "DIFFERS", dout.count("\n")))
        if not same and os.environ.get("KD_VERBOSE"):
            print("   kdive:", kc, kerr.replace("\n", " ")[-200:])
    for key in theirs:
        same = ours.get(key) == theirs[key]
        equal += same
        differ += not same
        what = "equal" if same else "DIFFERS"
        n = len(theirs[key]) if isinstance(theirs[key], list) else theirs[key]
        print("%-28s %-22s %s (%s)" % (os.path.basename(fx), key, what, n))
        if not same and os.environ.get("KD_VERBOSE"):
            a, b = ours.get(key), theirs[key]
            if isinstance(a, list) and isinstance(b, list):
                print("   kdive only:", [x for x in a if x not in b][:5])
                print("   drgn only: ", [x for x in b if x not in a][:5])
            else:
                print("   kdive:", str(a)[:300])
                print("   drgn: ", str(b)[:300])
print("compare: %d facts equal drgn's, %d differ" % (equal, differ))
sys.exit(1 if differ else 0)
