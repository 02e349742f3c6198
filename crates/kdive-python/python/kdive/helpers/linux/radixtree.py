"""Radix trees (drgn's ``drgn.helpers.linux.radixtree``): on kernels since 4.20 a radix tree is
an xarray."""
from .xarray import xa_for_each, xa_load

__all__ = ("radix_tree_for_each", "radix_tree_lookup")


def radix_tree_for_each(root):
    return xa_for_each(root)


def radix_tree_lookup(root, index):
    return xa_load(root, index)
