"""Networking (drgn's ``drgn.helpers.linux.net``)."""
from .list import list_for_each_entry

__all__ = ("for_each_net", "for_each_netdev", "netdev_get_by_name", "netdev_name")


def for_each_net(prog):
    """Each ``struct net *`` of ``net_namespace_list``."""
    return list_for_each_entry("struct net", prog["net_namespace_list"].address_of_(), "list")


def for_each_netdev(net):
    """Each ``struct net_device *`` of a network namespace (``init_net`` for a Program)."""
    if not hasattr(net, "dev_base_head"):
        net = net["init_net"].address_of_()
    return list_for_each_entry("struct net_device", net.dev_base_head.address_of_(), "dev_list")


def netdev_name(dev):
    return dev.name.string_()


def netdev_get_by_name(net, name):
    if isinstance(name, str):
        name = name.encode()
    for dev in for_each_netdev(net):
        if dev.name.string_() == name:
            return dev
    return None
