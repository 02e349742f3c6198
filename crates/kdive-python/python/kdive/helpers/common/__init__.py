"""Helpers that do not depend on the kernel (drgn's ``drgn.helpers.common``)."""
from .format import *  # noqa: F401,F403
from .type import *  # noqa: F401,F403
