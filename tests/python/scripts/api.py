"""drgn API facts on a fixture with its vmlinux, run as `kdive DUMP VMLINUX --script api.py`:
init_task is PID 0 "swapper/0" (drgn's reference), PIDTYPE_TGID is 1 (the kernel's enum pid_type),
pointer arithmetic steps by the target's size, container_of/offsetof agree with member addresses."""
import drgn
from drgn import Object, cast, container_of, sizeof, offsetof, FaultError, ObjectAbsentError
t = prog["init_task"]
assert t.pid.value_() == 0 and t.comm.string_() == b"swapper/0"
p = t.address_of_()
assert (p + 1).value_() - p.value_() == sizeof(t.type_)
assert (p + 1) - p == 1
assert container_of(t.tasks.address_of_(), "struct task_struct", "tasks") == p
assert offsetof(prog.type("struct task_struct"), "tasks") == t.tasks.address_ - t.address_
assert cast("unsigned char", Object(prog, "int", 257)).value_() == 1
a = Object(prog, "int")
assert a.absent_
try:
    a.value_(); raise SystemExit("absent read")
except ObjectAbsentError:
    pass
try:
    prog.read(0x10, 8); raise SystemExit("read")
except FaultError as e:
    assert e.address == 0x10
assert prog.type("struct list_head").members[1].offset == 8
assert prog.constant("PIDTYPE_TGID").value_() == 1
assert prog["PIDTYPE_TGID"].value_() == 1
assert str(t.pid) == "(pid_t)0"
print(repr(t.pid), repr(p))
print("api ok")
