"""The kernel log (drgn's ``drgn.helpers.linux.printk``), read by the library."""
from collections import namedtuple

from ... import _kdive

__all__ = ("PrintkRecord", "get_dmesg", "get_printk_records", "print_dmesg")

PrintkRecord = namedtuple(
    "PrintkRecord",
    ["text", "facility", "level", "seq", "timestamp", "caller_tid", "caller_cpu", "continuation", "context"],
)


def get_printk_records(prog):
    """Every record of the log, in sequence order."""
    out = []
    for seq, ts, level, facility, caller, text, d in _kdive._printk_records(prog):
        tid = cpu = None
        if caller is not None:
            if caller & 0x80000000:
                cpu = caller & 0x7FFFFFFF
            else:
                tid = caller
        out.append(PrintkRecord(
            text=text.encode(), facility=facility, level=level, seq=seq, timestamp=ts,
            caller_tid=tid, caller_cpu=cpu, continuation=False,
            context={k.encode(): v.encode() for k, v in d}))
    return out


def get_dmesg(prog):
    """The log as ``dmesg`` prints it (``[    1.234567] text`` lines), as bytes."""
    lines = []
    for r in get_printk_records(prog):
        stamp = b"[% 5d.%06d] " % (r.timestamp // 1000000000, r.timestamp % 1000000000 // 1000)
        for line in r.text.split(b"\n"):
            lines.append(stamp + line)
    return b"\n".join(lines) + b"\n"


def print_dmesg(prog):
    import sys

    sys.stdout.buffer.write(get_dmesg(prog))
