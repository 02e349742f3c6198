"""Maple trees: not walked from Python yet (the library's walk is not exposed)."""

__all__ = ()


def mt_for_each(mt):
    raise NotImplementedError("maple tree walks are not exposed to Python yet")
