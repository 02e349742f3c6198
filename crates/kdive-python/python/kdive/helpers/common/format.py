"""Formatting helpers (drgn's ``drgn.helpers.common.format``)."""

import collections
import collections.abc
import re

__all__ = (
    "CellFormat", "RowOptions", "decode_enum_type_flags", "decode_flags", "double_quote_ascii_string",
    "escape_ascii_character", "escape_ascii_string", "number_in_binary_units", "print_table",
)


def escape_ascii_character(c, escape_single_quote=False, escape_double_quote=False, escape_backslash=False):
    """An ASCII code as a printable character or escape sequence."""
    if c == 0:
        return r"\0"
    table = {7: r"\a", 8: r"\b", 9: r"\t", 10: r"\n", 11: r"\v", 12: r"\f", 13: r"\r"}
    if c in table:
        return table[c]
    if c == 39 and escape_single_quote:
        return r"\'"
    if c == 34 and escape_double_quote:
        return r"\""
    if c == 92 and escape_backslash:
        return r"\\"
    if 32 <= c <= 126:
        return chr(c)
    return "\\x%02x" % c


def escape_ascii_string(buffer, escape_single_quote=False, escape_double_quote=False, escape_backslash=False):
    """A byte string with non-printable characters escaped."""
    return "".join(escape_ascii_character(c, escape_single_quote, escape_double_quote, escape_backslash) for c in buffer)


def decode_flags(value, flags, bit_numbers=True, aliases=True):
    """``FLAG_A|FLAG_B|0x10`` for a value, from ``(name, bit or mask)`` pairs: every name whose
    bits are all set (only the first of names sharing bits when ``aliases`` is false), then the
    bits no name covers in hex; ``0`` for zero."""
    value = int(value)
    if not value:
        return "0"
    parts = []
    covered = 0
    for name, bit in flags:
        mask = 1 << bit if bit_numbers else bit
        if not mask or value & mask != mask:
            continue
        if not aliases and covered & mask == mask:
            continue
        parts.append(name)
        covered |= mask
    if value & ~covered:
        parts.append(hex(value & ~covered))
    return "|".join(parts)


def decode_enum_type_flags(value, type, bit_numbers=True):
    """:func:`decode_flags` with the enumerators of an enum ``type`` as the flags."""
    return decode_flags(value, [(e.name, e.value) for e in type.enumerators], bit_numbers)


def number_in_binary_units(n, precision=1):
    """``n`` with a binary unit suffix (``1.5K``, ``2M``)."""
    n = float(n)
    for unit in ("", "K", "M", "G", "T", "P", "E", "Z"):
        if abs(n) < 1024 or unit == "Z":
            if unit == "" or n == int(n):
                return "%d%s" % (n, unit)
            return "%.*f%s" % (precision, n, unit)
        n /= 1024


def double_quote_ascii_string(buffer):
    """A byte string as a double-quoted C string literal (``"a\\"b\\n"``)."""
    return '"' + escape_ascii_string(buffer, escape_double_quote=True, escape_backslash=True) + '"'


def _group(row):
    return row._group if isinstance(row, RowOptions) else 0


def print_table(rows, *, sep="  ", file=None):
    """Prints rows of cells as aligned columns: each column as wide as its widest cell among the
    rows of its group (:class:`RowOptions`); numbers right-aligned, other values left-aligned
    (``format``'s defaults), unless wrapped in a :class:`CellFormat`; the last cell unpadded."""
    widths = collections.defaultdict(list)
    for row in rows:
        w = widths[_group(row)]
        for i, value in enumerate(row):
            n = len(str(value))
            if i < len(w):
                w[i] = max(w[i], n)
            else:
                w.append(n)
    for row in rows:
        w = widths[_group(row)]
        cells = list(row)
        text = [format(v, str(w[i]) if w[i] else "") for i, v in enumerate(cells)]
        if text:
            text[-1] = text[-1].rstrip(" ")
        print(*text, sep=sep, file=file)


class CellFormat:
    """A value for :func:`print_table` with its own format specification (no width: the
    table's column sets it), e.g. ``CellFormat(10, "<x")``."""

    _SPEC = re.compile(r"(?P<options>(?:.?[<>=^])?[-+ ]?z?#?0?)(?P<width>[0-9]+)?"
                       r"(?P<rest>[,_]?(?:\.[0-9])?[bcdeEfFgGnosxX%]?)")

    def __init__(self, value, format_spec):
        match = self._SPEC.fullmatch(format_spec)
        if not match:
            raise ValueError("invalid format_spec %r" % format_spec)
        if match.group("width"):
            raise ValueError("format_spec must not have width")
        self._value = value
        self._options = match.group("options")
        self._rest = match.group("rest")

    def __str__(self):
        return format(self._value, self._options + self._rest)

    def __format__(self, width):
        return format(self._value, self._options + width + self._rest)


class RowOptions(collections.abc.Sequence):
    """A row for :func:`print_table` aligned only with the rows of its ``group`` (default 0)."""

    def __init__(self, row, *, group=0):
        self._seq = row
        self._group = group

    def __getitem__(self, index):
        return self._seq[index]

    def __len__(self):
        return len(self._seq)
