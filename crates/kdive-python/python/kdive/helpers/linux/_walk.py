"""Shared plumbing: yield what a library walk found, then raise what stopped it."""


def walked(result):
    items, error = result
    yield from items
    if error is not None:
        raise error


def prog_of(x):
    return x.prog_ if hasattr(x, "prog_") else x
