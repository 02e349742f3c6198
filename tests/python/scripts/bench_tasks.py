"""Every task's pid, comm and state, read 5 times over; prints the best pass in ms (drgn's API)."""
import time

from drgn.helpers.linux.pid import for_each_task

best = None
for _ in range(5):
    t0 = time.perf_counter()
    n = 0
    for t in for_each_task(prog):
        t.pid.value_()
        t.comm.string_()
        t.__state.value_()
        n += 1
    dt = time.perf_counter() - t0
    best = dt if best is None or dt < best else best
print("%d tasks: %.3f ms" % (n, best * 1000))
