"""Boot facts (drgn's ``drgn.helpers.linux.boot``)."""

__all__ = ("kaslr_offset", "pgtable_l5_enabled")


def kaslr_offset(prog):
    """The kernel's KASLR offset: where ``_text`` is against where it was linked."""
    # x86_64 links _text at 0xffffffff81000000 (the default CONFIG_PHYSICAL_START)
    sym = prog.symbol("_text")
    return sym.address - 0xFFFFFFFF81000000


def pgtable_l5_enabled(prog):
    try:
        return bool(prog["__pgtable_l5_enabled"].value_())
    except (KeyError, LookupError):
        return False
