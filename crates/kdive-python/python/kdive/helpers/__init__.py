"""Helpers, under drgn's module names: ``kdive.helpers.linux.*`` and ``kdive.helpers.common``."""
