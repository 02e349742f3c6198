"""Type helpers (drgn's ``drgn.helpers.common.type``)."""
import enum

__all__ = ("enum_type_to_class", "member_at_offset")


def enum_type_to_class(type, name, exclude=(), prefix=""):
    """A Python ``IntEnum`` of an enum type's enumerators."""
    return enum.IntEnum(
        name,
        [(e.name[len(prefix):], e.value) for e in type.enumerators if e.name not in exclude and e.name.startswith(prefix)],
    )


def member_at_offset(type, offset):
    """The name of the member at byte ``offset`` of a struct type (``a.b`` for nesting)."""
    bit = offset * 8
    t = type
    path = []
    while t.kind.name in ("STRUCT", "UNION") or t.kind.name == "TYPEDEF":
        while t.kind.name == "TYPEDEF":
            t = t.type
        found = None
        for m in t.members or ():
            size = (m.type.size or 0) * 8 if m.bit_field_size is None else m.bit_field_size
            if m.bit_offset <= bit < m.bit_offset + max(size, 1):
                found = m
                break
        if found is None:
            break
        if found.name:
            path.append(found.name)
        bit -= found.bit_offset
        t = found.type
        while t.kind.name == "TYPEDEF":
            t = t.type
        if t.kind.name not in ("STRUCT", "UNION"):
            break
    if not path:
        return "<unknown>"
    rest = bit // 8
    return ".".join(path) + ("+%d" % rest if rest else "")
