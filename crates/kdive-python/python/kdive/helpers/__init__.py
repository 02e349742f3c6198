"""Helpers, under drgn's module names: ``kdive.helpers.linux.*`` and ``kdive.helpers.common``."""


class ValidationError(Exception):
    """A validator (``validate_*``) found a data structure inconsistent: a broken invariant or
    corruption (drgn's ``drgn.helpers.ValidationError``). A bad memory access raises
    ``FaultError`` instead."""
