"""Decorators for helpers whose program argument may be left out (drgn's
``drgn.helpers.common.prog``): the default program (``kdive.get_default_prog()``) stands in."""
import functools
import inspect

__all__ = ("takes_object_or_program_or_default", "takes_program_or_default")


def _classes():
    from ... import Object, Program, get_default_prog

    return Object, Program, get_default_prog


def takes_program_or_default(f):
    """Wraps ``f(prog, ...)`` so that ``prog`` may be left out: a first argument that is an
    ``Object`` gives its program, anything else the default program."""
    params = iter(inspect.signature(f).parameters.values())
    if next(params).name != "prog":
        raise TypeError("first parameter must be prog: Program")
    second = next((p.name for p in params
                   if p.kind not in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)), None)

    @functools.wraps(f)
    def wrapper(*args, **kwds):
        Object, Program, get_default_prog = _classes()
        if args and isinstance(args[0], Program) or "prog" in kwds:
            return f(*args, **kwds)
        if args and isinstance(args[0], Object):
            return f(args[0].prog_, *args, **kwds)
        if not args and second is not None and isinstance(kwds.get(second), Object):
            return f(kwds[second].prog_, **kwds)
        return f(get_default_prog(), *args, **kwds)

    return wrapper


def takes_object_or_program_or_default(f):
    """Wraps ``f(prog, obj, ...)`` (``obj`` an optional ``Object``) so that it takes a program,
    an object, or neither (the default program, ``obj`` ``None``). Its other positional
    parameters may not have defaults (which would make a call ambiguous)."""
    params = list(inspect.signature(f).parameters.values())
    if params[0].name != "prog":
        raise TypeError("first parameter must be prog: Program")
    obj_name = params[1].name
    extra = []
    for p in params[2:]:
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD):
            break
        if p.default is not inspect.Parameter.empty:
            raise ValueError("%s using @takes_object_or_program_or_default can't have positional parameters with "
                             "defaults due to ambiguity" % getattr(f, "__name__", f))
        extra.append(p.name)

    @functools.wraps(f)
    def wrapper(*args, **kwds):
        Object, Program, get_default_prog = _classes()
        if args:
            # the first argument is the program or object when the others are all there too
            first_is_target = not extra or len(args) > len(extra) or extra[len(args) - 1] in kwds
            if first_is_target:
                if isinstance(args[0], Program):
                    return f(args[0], None, *args[1:], **kwds)
                return f(args[0].prog_, *args, **kwds)
            if isinstance(args[0], Object):
                return f(args[0].prog_, None, *args, **kwds)
        elif obj_name in kwds:
            return f(kwds[obj_name].prog_, **kwds)
        elif "prog" in kwds:
            kwds[obj_name] = None
            return f(**kwds)
        elif extra and isinstance(kwds.get(extra[0]), Object):
            return f(kwds[extra[0]].prog_, None, **kwds)
        return f(get_default_prog(), None, *args, **kwds)

    return wrapper
