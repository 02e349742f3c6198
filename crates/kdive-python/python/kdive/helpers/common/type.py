"""Type helpers (drgn's ``drgn.helpers.common.type``)."""
import enum
import re

__all__ = ("enum_type_to_class", "member_at_offset", "typeof_member")


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


def _unaliased(t):
    while t.kind.name == "TYPEDEF":
        t = t.type
    return t


def typeof_member(type, member):
    """The type of ``member`` of a struct, union or class type (the kernel's ``typeof_member()``):
    ``member`` may name nested members and subscript arrays (``a.b[2].c``). A type given by name
    is looked up in the default program. ``TypeError`` for a type that has no members,
    ``LookupError`` for a member it lacks."""
    if isinstance(type, str):
        from ... import get_default_prog

        type = get_default_prog().type(type)
    if _unaliased(type).kind.name not in ("STRUCT", "UNION", "CLASS"):
        raise TypeError("%s is not a structure, union, or class" % type.type_name())
    t = type
    for name, _ in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)|(\[[^]]*\])", member):
        u = _unaliased(t)
        if name:
            if u.kind.name not in ("STRUCT", "UNION", "CLASS"):
                raise TypeError("%s is not a structure, union, or class" % t.type_name())
            if not u.has_member(name):
                raise LookupError("%s has no member %r" % (t.type_name(), name))
            t = u.member(name).type
        else:
            if u.kind.name not in ("ARRAY", "POINTER"):
                raise TypeError("%s is not an array" % t.type_name())
            t = u.type
    return t
