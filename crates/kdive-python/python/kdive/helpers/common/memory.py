"""What addresses are, and memory annotated with it (drgn's ``drgn.helpers.common.memory``)."""
import dataclasses
from typing import Any

from .prog import takes_program_or_default

__all__ = ("identify_address", "identify_address_all", "print_annotated_memory")


@dataclasses.dataclass
class IdentifiedSymbol:
    """An address in a symbol: ``object symbol: NAME+0xOFF``, ``function symbol: ...`` or
    ``symbol: ...``."""

    address: int
    symbol: Any

    def __str__(self):
        from ... import SymbolKind

        kind = {SymbolKind.FUNC: "function symbol", SymbolKind.OBJECT: "object symbol"}.get(self.symbol.kind, "symbol")
        return "%s: %s+%s" % (kind, self.symbol.name, hex(self.address - self.symbol.address))


@takes_program_or_default
def identify_address_all(prog, addr, *, cache=None):
    """Each identity of ``addr``, most specific first: a task, task stack, slab object, page or
    vmap area (:mod:`kdive.helpers.linux.common`'s classes) and the symbol it is in. ``cache``:
    a dict reused across calls to amortize lookups (not for long: results go stale)."""
    from ..linux.common import _identify_kernel_address, _identify_kernel_symbol

    addr = int(addr)
    try:
        symbol = prog.symbol(addr)
    except LookupError:
        symbol = None
    if symbol is not None:
        yield from _identify_kernel_symbol(prog, addr, symbol)
        yield IdentifiedSymbol(addr, symbol)
    yield from _identify_kernel_address(prog, addr, symbol is not None, cache)


@takes_program_or_default
def identify_address(prog, addr, *, cache=None):
    """What ``addr`` is, as text (``slab object: dentry+0x10``, ``task: 1 (systemd)``, ...), or
    ``None``: the first identity of :func:`identify_address_all`."""
    for identity in identify_address_all(prog, addr, cache=cache):
        return str(identity)
    return None


def _annotated_words(prog, start, data, cache):
    """``ADDRESS: VALUE [identity]`` of each 8-byte word of ``data`` read at ``start``."""
    for off in range(0, len(data) - len(data) % 8, 8):
        value = int.from_bytes(data[off:off + 8], "little")
        what = identify_address(prog, value, cache=cache)
        yield "%016x: %016x%s" % (start + off, value, " [%s]" % what if what is not None else "")


@takes_program_or_default
def print_annotated_memory(prog, address, size, physical=False):
    """Prints ``size`` bytes at ``address`` a word a line, each value that is an address with
    its :func:`identify_address`."""
    address = int(address)
    data = prog.read(address, int(size), physical)
    print("ADDRESS           VALUE")
    for line in _annotated_words(prog, address, data, {}):
        print(line)
