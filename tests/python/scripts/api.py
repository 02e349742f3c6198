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
# an aggregate read whole is a value holding the bytes memory held; its members are values
root = t.fs.root
v = root.read_()
assert v.address_ is None and v.to_bytes_() == prog.read(root.address_, sizeof(v))
assert v.mnt.address_ is None and v.mnt.value_() == root.mnt.value_()
assert v.value_() == {"mnt": root.mnt.value_(), "dentry": root.dentry.value_()}
assert repr(v) == "Object(prog, 'struct path', value=%r)" % v.value_()
try:
    v.address_of_(); raise SystemExit("address of a value")
except ValueError:
    pass
try:
    v == v; raise SystemExit("struct comparison")
except TypeError:
    pass
# a value built from a mapping: members left out are zero, a union's members share bytes
q = Object(prog, "struct qstr", value={"hash": 5, "len": 3})
assert q.hash_len.value_() == (3 << 32) | 5 and q.name.value_() == 0
a = Object(prog, "int [3]", value=[1, 2])
assert [e.value_() for e in a] == [1, 2, 0] and a.value_() == [1, 2, 0] and str(a) == "(int [3]){ 1, 2 }"
assert t.comm.read_().string_() == b"swapper/0" and t.comm == t.comm
from drgn import reinterpret
assert reinterpret("unsigned long", v).value_() == root.mnt.value_()
from drgn.helpers.linux.fs import path_lookup
assert path_lookup(prog, "/").dentry == root.dentry
print(repr(t.pid), repr(p))
print("api ok")
