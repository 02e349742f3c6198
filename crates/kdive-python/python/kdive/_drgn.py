"""``import drgn`` inside a kdive run: the names ``drgn`` and ``drgn.*`` resolve to ``kdive`` and
``kdive.*`` through an import hook (no package named drgn is installed)."""
import importlib
import importlib.abc
import importlib.util
import sys


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``drgn[.X]`` as ``kdive[.X]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "drgn" and not fullname.startswith("drgn."):
            return None
        real = "kdive" + fullname[len("drgn"):]
        try:
            real_spec = importlib.util.find_spec(real)
        except ImportError:
            return None
        if real_spec is None:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, is_package=real_spec.submodule_search_locations is not None)
        spec.loader_state = real
        return spec

    def create_module(self, spec):
        return importlib.import_module(spec.loader_state)

    def exec_module(self, module):
        pass


def install():
    """Make ``drgn`` an alias of ``kdive`` in this interpreter."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())
