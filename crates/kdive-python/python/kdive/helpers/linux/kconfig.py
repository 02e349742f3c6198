"""Kernel configuration (drgn's ``drgn.helpers.linux.kconfig``): needs ``CONFIG_IKCONFIG``."""
import gzip

__all__ = ("get_kconfig",)


def get_kconfig(prog):
    """The kernel's ``.config`` as a dict, from the ``kernel_config_data`` it carries."""
    start = prog.symbol("kernel_config_data").address
    end = prog.symbol("kernel_config_data_end").address
    data = prog.read(start, end - start)
    if data.startswith(b"IKCFG_ST"):
        data = data[8:]
    text = gzip.decompress(data).decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out
