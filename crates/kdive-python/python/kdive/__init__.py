"""kdive: Linux kernel crash dumps from Python, in drgn's shape.

``prog = kdive.open("vmcore")`` gives a :class:`Program`; ``prog["init_task"]`` an
:class:`Object`; helpers live under drgn's module names (``kdive.helpers.linux.pid`` ...).
Inside ``kdive VMCORE --script FILE.py`` ``import drgn`` resolves to this module.
"""
import enum as _enum
import os as _os
import typing as _typing

from ._kdive import (  # noqa: F401
    FaultError,
    MissingDebugInfoError,
    Object,
    ObjectAbsentError,
    OutOfBoundsError,
    Program,
    StackFrame,
    StackTrace,
    Symbol,
    Thread,
    Type,
    TypeEnumerator,
    TypeKind,
    TypeMember,
    TypeParameter,
    cast,
    container_of,
    find_task,
    for_each_task,
    offsetof,
    open,
    reinterpret,
    sizeof,
)


#: Anything usable as an integer: ``int``, or an ``Object`` of integer type (drgn's alias).
IntegerLike = _typing.Union[int, "_typing.SupportsIndex"]
#: A filesystem path (drgn's alias).
Path = _typing.Union[str, bytes, "_os.PathLike"]


class ProgramFlags(_enum.Flag):
    """What kind of program: kdive reads Linux kernels."""

    IS_LINUX_KERNEL = 1
    IS_LIVE = 2
    IS_LOCAL = 4


class PlatformFlags(_enum.Flag):
    IS_64_BIT = 1
    IS_LITTLE_ENDIAN = 2


class Architecture(_enum.Enum):
    X86_64 = 1
    AARCH64 = 4
    UNKNOWN = 0


class _SourceLocationBase(_typing.NamedTuple):
    filename: str
    line: int
    column: int


class SourceLocation(_SourceLocationBase):
    """A place in the source: ``(filename, line, column)`` (drgn's ``SourceLocation``), with
    the function there as :meth:`name`; ``str()`` is ``NAME at FILE:LINE:COLUMN``."""

    def __new__(cls, filename, line, column, name=None):
        self = super().__new__(cls, filename, line, column)
        self._name = name
        return self

    def name(self):
        """The function at this location, or ``None``."""
        return self._name

    def __str__(self):
        where = "%s:%d" % (self.filename, self.line)
        if self.column:
            where += ":%d" % self.column
        return where if self._name is None else "%s at %s" % (self._name, where)


class SymbolBinding(_enum.Enum):
    """A symbol's binding (drgn's numbers: ELF's ``STB_*`` plus one)."""

    UNKNOWN = 0
    LOCAL = 1
    GLOBAL = 2
    WEAK = 3
    UNIQUE = 11


class SymbolKind(_enum.Enum):
    """What a symbol names (ELF's ``STT_*``)."""

    UNKNOWN = 0
    OBJECT = 1
    FUNC = 2
    SECTION = 3
    FILE = 4
    COMMON = 5
    TLS = 6
    IFUNC = 10


class Qualifiers(_enum.Flag):
    NONE = 0
    CONST = 1
    VOLATILE = 2
    RESTRICT = 4
    ATOMIC = 8


class Platform:
    """A dump's architecture and flags (drgn's ``Platform``)."""

    def __init__(self, arch, flags=None):
        self.arch = arch
        self.flags = flags if flags is not None else PlatformFlags.IS_64_BIT | PlatformFlags.IS_LITTLE_ENDIAN

    def __repr__(self):
        return "Platform(%s, %s)" % (self.arch, self.flags)


def _platform(arch_name):
    return Platform(Architecture.__members__.get(arch_name, Architecture.UNKNOWN))


def NULL(prog, type):
    """A NULL pointer of ``type`` (drgn's ``NULL``)."""
    return Object(prog, type, 0)


def program_from_core_dump(path):
    """drgn's name for :func:`open`."""
    return open(path)


class Language:
    C = "C"


class NoDefaultProgramError(Exception):
    """No default program was set (:func:`set_default_prog`)."""


_default_prog = None


def get_default_prog():
    """The program helpers use when none is passed (drgn's default program argument): the one
    ``kdive --script`` and ``--python`` opened, or the last :func:`set_default_prog`."""
    if _default_prog is None:
        raise NoDefaultProgramError("no default program has been set")
    return _default_prog


def set_default_prog(prog):
    """Sets (or, with ``None``, clears) the default program."""
    global _default_prog
    _default_prog = prog


def execscript(path, *args):
    """Run a script in the caller's globals (drgn's ``execscript``), with ``sys.argv`` set."""
    import inspect
    import runpy
    import sys

    caller = inspect.stack()[1].frame.f_globals
    old = sys.argv
    sys.argv = [path] + list(args)
    try:
        out = runpy.run_path(path, init_globals=caller, run_name="__main__")
    finally:
        sys.argv = old
    caller.update(out)
