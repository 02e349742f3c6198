"""``kdive VMCORE --script FILE [ARGS]`` and ``kdive VMCORE --python``: drgn's conventions.

The script runs with ``prog``, drgn's names (``Object``, ``cast``, ``container_of``...) and every
helper of ``kdive.helpers.common`` and ``kdive.helpers.linux`` in scope, ``sys.argv`` set as
drgn sets it, and ``import drgn`` resolving to kdive.
"""
import json
import os
import runpy
import sys


def _globals(prog):
    import kdive
    from kdive import _drgn

    _drgn.install()
    import drgn  # noqa: F401  (the alias, for scripts that use drgn.X)

    g = {"__name__": "__main__", "prog": prog, "drgn": drgn, "kdive": kdive}
    # drgn's names; kdive's own `open` would hide the builtin scripts use for files
    for name in dir(kdive):
        if not name.startswith("_") and name not in ("open", "helpers"):
            g[name] = getattr(kdive, name)
    import kdive.helpers.common as common
    import kdive.helpers.linux as linux

    for mod in (common, linux):
        for name in getattr(mod, "__all__", ()):
            g[name] = getattr(mod, name)
    return g


def main():
    """Runs what the kdive binary asked for (``KDIVE_RUN``, JSON): exit status of the run."""
    req = json.loads(os.environ.pop("KDIVE_RUN"))
    import kdive

    try:
        prog = kdive.open(*req["files"], snapshot=req.get("snapshot", False))
    except (ValueError, OSError) as e:
        print("kdive: %s" % e, file=sys.stderr)
        return 1
    kdive.set_default_prog(prog)
    g = _globals(prog)
    if req.get("script"):
        script = req["script"]
        sys.argv = [script] + req.get("args", [])
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
        try:
            runpy.run_path(script, init_globals=g, run_name="__main__")
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        return 0
    import code

    try:
        import readline
        import rlcompleter

        readline.set_completer(rlcompleter.Completer(g).complete)
        readline.parse_and_bind("tab: complete")
    except ImportError:
        pass
    sys.argv = [""]
    code.interact(banner="kdive %s\nFor help, type help(kdive)." % prog, local=g, exitmsg="")
    return 0
