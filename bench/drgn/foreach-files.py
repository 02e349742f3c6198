# crash's `foreach files`, as drgn: every task's open files with their paths.
from drgn.helpers.linux.fs import d_path, for_each_file
from drgn.helpers.linux.pid import for_each_task

for t in for_each_task(prog):
    print("PID: %d  TASK: %x  COMMAND: %s" % (t.pid.value_(), t.value_(), t.comm.string_().decode()))
    if not t.files:
        print("No open files\n")
        continue
    print(" FD       FILE            PATH")
    for fd, f in for_each_file(t):
        if not f:
            continue  # reserved fd, not installed (crash skips it too)
        try:
            p = d_path(f.f_path).decode(errors="replace")
        except Exception as e:
            p = "(%s)" % type(e).__name__
        print("%3d  %x  %s" % (fd, f.value_(), p))
    print()
