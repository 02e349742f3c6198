"""Formatting helpers (drgn's ``drgn.helpers.common.format``)."""

__all__ = ("decode_enum_type_flags", "decode_flags", "escape_ascii_character", "escape_ascii_string", "number_in_binary_units")


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
