"""Stack memory annotated, and registers printed as crash prints them (drgn's
``drgn.helpers.common.stack``)."""
from .memory import _annotated_words
from .prog import takes_program_or_default

__all__ = ("print_annotated_stack", "print_registers")

# a stack ends where the next frame's stack pointer falls, or jumps more than this above it
_MAX_STACK_JUMP = 128 << 20


def _frame_text(i, frame):
    """``#I at PC (SYMBOL+OFF/SIZE) in FUNCTION at FILE:LINE:COL (inlined)``, what is known of it."""
    s = "#%d at %#x" % (i, frame.pc)
    try:
        sym = frame.symbol()
    except LookupError:
        sym = None
    if sym is not None:
        s += " (%s+%#x/%#x)" % (sym.name, frame.pc - sym.address, sym.size)
    if frame.name:
        s += " in " + frame.name
    try:
        file, line, col = frame.source()
    except LookupError:
        pass
    else:
        s += " at %s:%d" % (file, line) + (":%d" % col if col else "")
    if frame.is_inline:
        s += " (inlined)"
    return s


def print_annotated_stack(trace):
    """Prints the stack memory of a stack trace a word a line, each value that is an address with
    its :func:`~kdive.helpers.common.memory.identify_address`, and each frame where its stack
    pointer points. A stack ends at an interrupted frame or where the stack pointer goes down or
    jumps up by more than 128 MiB."""
    from ... import FaultError

    prog = trace.prog
    frames = list(trace)
    print("STACK POINTER     VALUE")
    cache = {}
    start = 0
    while start < len(frames):
        end = start + 1
        while (end < len(frames) and not frames[end].interrupted
               and 0 <= frames[end].sp - frames[end - 1].sp <= _MAX_STACK_JUMP):
            end += 1
        group = list(range(start, end))
        first, last = frames[start].sp, frames[end - 1].sp + 8
        try:
            data = prog.read(first, last - first)
        except FaultError:
            for i in group:
                print("[stack frame %s]" % _frame_text(i, frames[i]))
            start = end
            continue
        lines = _annotated_words(prog, first, data, cache)
        k = 0
        for off, line in zip(range(0, len(data), 8), lines):
            while k < len(group) and frames[group[k]].sp == first + off:
                print("[stack frame %s]" % _frame_text(group[k], frames[group[k]]))
                k += 1
            print(line)
        start = end


# crash's register layout per architecture: rows of names, and widths other than the word's
_LAYOUTS = {
    "X86_64": ([("rip", "rsp", "rflags"), ("rax", "rbx", "rcx"), ("rdx", "rsi", "rdi"), ("rbp", "r8", "r9"),
                ("r10", "r11", "r12"), ("r13", "r14", "r15"), ("cs", "ss")], {"cs": 4, "ss": 4, "rflags": 8}),
    "AARCH64": ([("pc", "lr", "sp")] + [tuple("x%d" % (n - k) for k in range(3)) for n in range(29, 1, -3)], {}),
}


@takes_program_or_default
def print_registers(prog, regs, indent="    "):
    """Prints a register dump (names as ``StackFrame.registers()`` gives them) in crash's layout;
    a register ``regs`` lacks prints as ``?``s."""
    arch = getattr(prog.platform.arch, "name", str(prog.platform.arch))
    if arch not in _LAYOUTS:
        raise RuntimeError("Unsupported architecture: %s" % prog.platform.arch)
    rows, widths = _LAYOUTS[arch]
    for row in rows:
        cells = []
        for reg in row:
            width = widths.get(reg, 16)
            value = ("%0*x" % (width, regs[reg])) if reg in regs else "?" * width
            cells.append("%3s: %s" % (reg.upper(), value))
        print(indent + "  ".join(cells))
