"""Helpers that do not depend on the kernel (drgn's ``drgn.helpers.common``): every helper of its
modules is importable from here too."""
from .format import *  # noqa: F401,F403
from .memory import *  # noqa: F401,F403
from .prog import *  # noqa: F401,F403
from .stack import *  # noqa: F401,F403
from .type import *  # noqa: F401,F403
from . import format as _format, memory as _memory, prog as _prog, stack as _stack, type as _type

__all__ = [n for m in (_format, _memory, _prog, _stack, _type) for n in m.__all__]
