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
    # drgn's spellings: integer promotion, short integer names, a pointer followed
    t0 = kdive.find_task(prog, drgn["tasks"][0]["pid"])
    assert str(t0.pid + 1) == "(int)%d" % (t0.pid.value_() + 1), (fx, str(t0.pid + 1))
    assert str(prog["PAGE_SIZE"]) == "(unsigned long)4096", (fx, str(prog["PAGE_SIZE"]))
    assert str(t0).startswith("*(struct task_struct *)%#x = {\n" % t0.value_()), (fx, str(t0)[:80])
    # page frames through the direct map and vmemmap: the kernel's formulas, and the physical
    # address reads what the virtual one does
    from kdive.helpers.linux.mm import page_to_pfn, pfn_to_page, phys_to_virt, virt_to_pfn, virt_to_phys
    shift = prog["PAGE_SHIFT"].value_()
    for t in list(kdive.for_each_task(prog))[:10]:
        phys = virt_to_phys(prog, t).value_()
        assert phys_to_virt(prog, phys).value_() == t.value_(), fx
        assert virt_to_pfn(prog, t).value_() == phys >> shift, fx
        assert page_to_pfn(pfn_to_page(prog, phys >> shift)).value_() == phys >> shift, fx
        assert prog.read(phys, 64, True) == prog.read(t.value_(), 64), (fx, hex(phys))
    # a member read through a bad pointer is a fault at the member's address
    try:
        kdive.Object(prog, "struct task_struct *", 0x10).pid.value_()
        raise AssertionError("read through 0x10")
    except kdive.FaultError as e:
        assert e.address == 0x10 + kdive.offsetof(prog.type("struct task_struct"), "pid"), (fx, e.address)
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
    # local variables through DWARF locations, with the fixture's vmlinux
    meta_json = json.load(open(meta))
    vmlinux = os.path.join(os.path.expanduser(os.environ.get("KD_KERNELS", "~/.cache/kdive-fixtures/kernels")),
                           meta_json["kernel"]["release"], "vmlinux")
    if os.path.exists(vmlinux):
        dprog = kdive.open(dump, vmlinux)
        # a task asleep in __schedule has itself as `prev` (context_switch(rq, prev, next))
        slept = 0
        for t in list(kdive.for_each_task(dprog))[:40]:
            for f in dprog.stack_trace(t):
                if f.name in ("__schedule", "context_switch") and "prev" in f.locals():
                    prev = f["prev"]
                    if not prev.absent_:
                        assert prev.value_() == t.value_(), (fx, f.name, hex(prev.value_()), hex(t.value_()))
                        slept += 1
                    break
        assert slept > 0, fx
        trace = dprog.crashed_thread().stack_trace()
        try:
            trace[0]["no_such_local"]
            raise AssertionError("no_such_local found")
        except KeyError:
            pass
        assert "no_such_local" not in trace[0], fx
        if meta_json.get("scenario") == "A":
            frames = {f.name: f for f in trace}
            # panic(fmt, ...) formatted the message the log shows into its static `buf`
            dmesg = open(os.path.join(fx, "vmcore-dmesg.txt")).read()
            msg = dmesg.split("Kernel panic - not syncing: ")[1].splitlines()[0]
            assert frames["panic"]["buf"].string_().decode() == msg, fx
            # sysrq_handle_crash calls panic("sysrq triggered crash\n"): the format is the message
            assert frames["panic"]["fmt"].string_().decode() == msg + "\n", fx
            # `echo c > /proc/sysrq-trigger`: __handle_sysrq's key is 'c'
            assert frames["__handle_sysrq"]["key"].value_() == ord("c"), fx
            # sysrq_handle_crash's key is optimized out: drgn's absent object
            key = frames["sysrq_handle_crash"]["key"]
            assert key.absent_ and str(key) == "(int)<optimized out>", (fx, str(key))
            try:
                key.value_()
                raise AssertionError("absent key read")
            except kdive.ObjectAbsentError:
                pass
            # callee-saved registers of caller frames come back through .debug_frame
            assert "rbx" in frames["panic"].registers(), fx
            # drgn names the syscall entry frame after the sized symbol holding its pc
            assert trace[len(trace) - 2].name == "entry_SYSCALL_64", (fx, trace[len(trace) - 2].name)
        checked += 1
print("python: %d task facts agree with drgn" % checked)
sys.exit(0 if checked else 1)
