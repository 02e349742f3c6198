"""What a kernel address is (drgn's ``drgn.helpers.linux.common``): the identities
:func:`~kdive.helpers.common.memory.identify_address_all` yields for a Linux kernel."""
import dataclasses
import os
from typing import Any

from ..._kdive import FaultError, Object

__all__ = ()


def _task_name(task):
    return "%d (%s)" % (task.pid.value_(), os.fsdecode(task.comm.string_()))


@dataclasses.dataclass
class IdentifiedTaskStruct:
    """An address in a ``struct task_struct``."""

    address: int
    task: Any

    def __str__(self):
        s = "task: " + _task_name(self.task)
        if self.address > self.task.value_():
            s += " +" + hex(self.address - self.task.value_())
        return s


@dataclasses.dataclass
class IdentifiedTaskStack:
    """An address in a task's kernel stack."""

    address: int
    task: Any

    def __str__(self):
        return "task stack: %s +%s" % (_task_name(self.task), hex(self.address - self.task.stack.value_()))


@dataclasses.dataclass
class IdentifiedSlabObject:
    """An address in a slab object (``slab_object_info`` says which, and whether allocated)."""

    address: int
    slab_object_info: Any

    def __str__(self):
        from ..common.format import escape_ascii_string

        info = self.slab_object_info
        name = escape_ascii_string(info.slab_cache.name.string_(), escape_backslash=True)
        state = "" if info.allocated else ("corrupted " if info.allocated is None else "free ")
        return "%sslab object: %s+%s" % (state, name, hex(self.address - info.address))


@dataclasses.dataclass
class IdentifiedVmap:
    """An address in a vmap or vmalloc area."""

    address: int
    vmap_area: Any
    vm_struct: Any

    def __str__(self):
        caller = ""
        at = self.vm_struct.caller.value_()
        try:
            sym = self.vm_struct.prog_.symbol(at)
        except LookupError:
            pass
        else:
            caller = " caller %s+%s" % (sym.name, hex(at - sym.address))
        return "vmap: %s-%s%s" % (hex(self.vmap_area.va_start.value_()), hex(self.vmap_area.va_end.value_()), caller)


@dataclasses.dataclass
class IdentifiedPage:
    """An address in a ``struct page``."""

    address: int
    page: Any
    pfn: int

    def __str__(self):
        s = "page: pfn %d" % self.pfn
        if self.address > self.page.value_():
            s += " +" + hex(self.address - self.page.value_())
        return s


def _cached(prog, key, make):
    try:
        return prog.cache[key]
    except KeyError:
        value = prog.cache[key] = make()
        return value


def _is_task_struct(prog, info):
    """The task an allocated ``task_struct`` cache object is, or ``None`` (a merged cache's
    object that no task owns)."""
    from .pid import find_task
    from .sched import idle_task, task_cpu

    cachep = _cached(prog, "task_struct_cachep", lambda: prog["task_struct_cachep"].read_())
    if info.slab_cache.value_() != cachep.value_():
        return None
    task = Object(prog, "struct task_struct *", info.address)
    if cachep.refcount.value_() > 1:
        pid = task.pid.value_()
        other = find_task(prog, pid) if pid else idle_task(prog, task_cpu(task))
        if other is None or other.value_() != task.value_():
            return None
    return task


def _stack_alloc(prog):
    """``True`` where kernel stacks are vmapped, the ``thread_stack_cache`` where they are slab
    objects, ``False`` where they come from the page allocator."""

    def find():
        if prog.type("struct task_struct").has_member("stack_vm_area"):
            return True
        return prog["thread_stack_cache"].read_() if "thread_stack_cache" in prog else False

    return _cached(prog, "stack_alloc_mode", find)


def _tasks_with_stacks(prog):
    from .cpumask import for_each_online_cpu
    from .pid import for_each_task
    from .sched import idle_task

    yield from for_each_task(prog)
    # the idle tasks of CPUs other than 0 (CPU 0's stack is the init_stack symbol)
    for cpu in for_each_online_cpu(prog):
        if cpu > 0:
            yield idle_task(prog, cpu)


def _identify_task_stack(prog, addr, cache):
    # a kernel stack is aligned to its size
    base = addr & ~(prog["THREAD_SIZE"].value_() - 1)
    if cache is None:
        cache = {}
    stacks = cache.get("stack_to_task")
    if stacks is None:
        stacks = {}
        for task in _tasks_with_stacks(prog):
            try:
                stacks[task.stack.value_()] = task
            except FaultError:
                pass
        cache["stack_to_task"] = stacks
    task = stacks.get(base)
    if task is not None:
        yield IdentifiedTaskStack(addr, task)


def _identify_page(prog, addr, cache):
    from .mm import for_each_valid_page_range

    if cache is None:
        cache = {}
    ranges = cache.get("valid_page_ranges")
    if ranges is None:
        ranges = cache["valid_page_ranges"] = list(for_each_valid_page_range(prog))
    size = prog.type("struct page").size
    for start, end, mem_map in ranges:
        first = mem_map.value_() + start * size
        if first <= addr < mem_map.value_() + end * size:
            index = (addr - first) // size
            return IdentifiedPage(addr, Object(prog, mem_map.type_, first + index * size), start + index)
    return None


def _identify_vmap(prog, addr, check_stack, cache):
    from .mm import find_vmap_area

    va = find_vmap_area(prog, addr)
    if not va:
        return
    vm = va.vm.read_()
    if not vm:
        return
    if check_stack and _stack_alloc(prog) is True:
        yield from _identify_task_stack(prog, addr, cache)
    yield IdentifiedVmap(addr, va, vm)


def _identify_kernel_symbol(prog, addr, symbol):
    """``init_task`` and ``init_stack`` are a task and a stack before they are symbols."""

    def ranges():
        task = prog["init_task"]
        stack = task.stack.value_()
        return (task.address_of_(), (task.address_, task.address_ + task.type_.size),
                (stack, stack + prog["THREAD_SIZE"].value_()))

    task, task_range, stack_range = _cached(prog, "init_task_ranges", ranges)
    if task_range[0] <= addr < task_range[1]:
        yield IdentifiedTaskStruct(addr, task)
    elif stack_range[0] <= addr < stack_range[1]:
        yield IdentifiedTaskStack(addr, task)


def _identify_kernel_address(prog, addr, symbol, cache):
    """Everything but symbols: for a direct-map address its slab object (and the task or stack
    it is), or a stack from the page allocator; else a ``struct page`` in ``vmemmap``, or a
    vmap area (and the stack in it). A symbol's address is only looked for in vmap areas."""
    from .mm import in_direct_map
    from .slab import _containing_slab, _Slub

    direct = not symbol and in_direct_map(prog, addr)
    if direct:
        found = _containing_slab(prog, addr)
        if found is not None:
            page, slab = found
            info = _Slub(slab.slab_cache).object_info(page, slab, addr)
            if info.allocated:
                task = _is_task_struct(prog, info)
                if task is not None:
                    yield IdentifiedTaskStruct(addr, task)
                else:
                    stacks = _stack_alloc(prog)
                    if isinstance(stacks, Object) and info.slab_cache.value_() == stacks.value_():
                        yield from _identify_task_stack(prog, addr, cache)
            yield IdentifiedSlabObject(addr, info)
        elif _stack_alloc(prog) is False:
            yield from _identify_task_stack(prog, addr, cache)
        return
    if not symbol:
        page = _identify_page(prog, addr, cache)
        if page is not None:
            yield page
            return
    yield from _identify_vmap(prog, addr, not symbol, cache)
