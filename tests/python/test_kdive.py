"""The kdive Python module on the fixture corpus, against drgn's references.

Run after `pip install .`: python3 tests/python/test_kdive.py [CORPUS]
Exits non-zero on the first disagreement; prints one summary line.
"""
import glob
import json
import os
import sys

import kdive

corpus = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
    "KDIVE_CORPUS", os.path.join(os.path.dirname(__file__), "../../../shared/fixtures/corpus"))
checked = 0
for meta in sorted(glob.glob(os.path.join(corpus, "*/metadata.json"))):
    fx = os.path.dirname(meta)
    dump = os.path.join(fx, "vmcore")
    if not os.path.exists(dump):
        continue
    drgn = json.load(open(os.path.join(fx, "reference/drgn.json")))
    prog = kdive.open(dump)
    # every task drgn lists, with its comm (drgn leaves out the idle tasks of other CPUs)
    got = {(t.pid.value_(), t.comm.string_().decode()) for t in kdive.for_each_task(prog)}
    want = {(t["pid"], t["comm"]) for t in drgn["tasks"]}
    assert {g for g in got if g[0] > 0} == want, (fx, got ^ want)
    # typed reads through members and pointers agree with drgn's per-task facts
    for t in drgn["tasks"][:20]:
        task = kdive.find_task(prog, t["pid"])
        # a `struct task_struct *`, as drgn returns it
        assert task is not None and task.value_() == int(t["task"], 16), (fx, t["pid"])
        assert task.tgid.value_() == t["tgid"], (fx, t["pid"])
        assert task.real_parent.tgid.value_() == t["ppid"] or t["pid"] == 0, (fx, t["pid"])
        # printed as crash's `struct` prints it: the same text as the command
        line = prog.command("struct task_struct.pid %s" % t["task"]).strip()
        task = task[0]
        assert line == "pid = %s," % task.pid.gdb_format_(), (fx, line, task.pid.gdb_format_())
        assert task.pid.gdb_format_(hex=True) == hex(t["pid"]), (fx, t["pid"])
        # drgn's syntax: the type, then the value
        assert str(task.pid) == "(pid_t)%d" % t["pid"], (fx, str(task.pid))
        checked += 1
    # commands, as text and structures
    assert "PANIC" in prog.command("sys")
    ps = prog.json("ps")
    assert len(ps["tasks"]) >= len(want), fx
    try:
        prog.read(0x10, 8)
        raise AssertionError("address 0x10 read")
    except kdive.FaultError as e:
        # drgn's FaultError: the address that could not be read, and the message
        assert e.address == 0x10, (fx, e.address)
        assert "0x10" in e.message, (fx, e.message)
    # a name no source has is a LookupError, as in drgn
    try:
        prog.object("struct no_such_struct", 0)
        raise AssertionError("struct no_such_struct found")
    except LookupError:
        pass
    # a command's error keeps its kind: reading unmapped memory is a fault
    try:
        prog.command("rd 0x10")
        raise AssertionError("rd 0x10 answered")
    except kdive.FaultError as e:
        assert e.address == 0x10, (fx, e.address)
print("python: %d task facts agree with drgn" % checked)
sys.exit(0 if checked else 1)
