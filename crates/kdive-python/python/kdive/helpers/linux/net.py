"""Networking (drgn's ``drgn.helpers.linux.net``)."""
import ipaddress

from ..._kdive import Object, cast, container_of
from ._walk import prog_of
from .list import hlist_for_each_entry, list_for_each_entry

__all__ = (
    "SOCKET_I", "SOCK_INODE", "for_each_net", "for_each_netdev", "get_net_ns_by_fd", "get_net_ns_by_inode",
    "is_pp_page", "neigh_table_for_each_neighbor", "netdev_for_each_tx_queue", "netdev_get_by_index",
    "netdev_get_by_name", "netdev_ipv4_addrs", "netdev_ipv6_addrs", "netdev_name", "netdev_priv", "sk_fullsock",
    "sk_nulls_for_each", "skb_shinfo",
)

# include/uapi/linux/stat.h, include/uapi/linux/sched.h
_S_IFMT = 0o170000
_S_IFSOCK = 0o140000
_CLONE_NEWNET = 0x40000000
# NETDEV_HASHBITS (include/linux/netdevice.h), NETDEV_ALIGN - 1
_NETDEV_HASHENTRIES = 1 << 8
_NETDEV_ALIGN_MASK = 31
# most entries of a nulls list walked (a corrupted list's loop)
_MAX_NULLS = 1 << 20


def for_each_net(prog):
    """Each ``struct net *`` of ``net_namespace_list``."""
    prog = prog_of(prog)
    return list_for_each_entry("struct net", prog["net_namespace_list"].address_of_(), "list")


def _net(x):
    """The ``struct net *`` a Program (``init_net``) or a namespace stands for."""
    if hasattr(x, "dev_base_head"):
        return x
    return x["init_net"].address_of_()


def for_each_netdev(net):
    """Each ``struct net_device *`` of a network namespace (``init_net`` for a Program)."""
    return list_for_each_entry("struct net_device", _net(net).dev_base_head.address_of_(), "dev_list")


def netdev_name(dev):
    return dev.name.string_()


def netdev_get_by_name(net, name):
    """The ``struct net_device *`` named ``name`` in a namespace, or ``NULL``."""
    if isinstance(name, str):
        name = name.encode()
    net = _net(net)
    for dev in for_each_netdev(net):
        if dev.name.string_() == name:
            return dev
    return Object(net.prog_, "struct net_device *", 0)


def netdev_get_by_index(net, ifindex):
    """The ``struct net_device *`` of interface index ``ifindex`` in a namespace (its bucket of
    ``dev_index_head``), or ``NULL``."""
    net = _net(net)
    ifindex = int(ifindex)
    head = net.dev_index_head[ifindex & (_NETDEV_HASHENTRIES - 1)].address_of_()
    for dev in hlist_for_each_entry("struct net_device", head, "index_hlist"):
        if dev.ifindex.value_() == ifindex:
            return dev
    return Object(net.prog_, "struct net_device *", 0)


def netdev_for_each_tx_queue(dev):
    """Each ``struct netdev_queue *`` a device transmits on."""
    size = dev.prog_.type("struct netdev_queue").size
    base = dev._tx.value_()
    for i in range(dev.num_tx_queues.value_()):
        yield Object(dev.prog_, "struct netdev_queue *", base + i * size)


def netdev_priv(dev, type="void"):
    """A device's private data (``type *``): after the ``struct net_device``, aligned to 32."""
    prog = dev.prog_
    offset = (prog.type("struct net_device").size + _NETDEV_ALIGN_MASK) & ~_NETDEV_ALIGN_MASK
    return Object(prog, prog.pointer_type(prog.type(type) if isinstance(type, str) else type), dev.value_() + offset)


def SOCKET_I(inode):
    """The ``struct socket *`` of a socket's inode; ``ValueError`` for another inode."""
    if inode.i_mode.value_() & _S_IFMT != _S_IFSOCK:
        raise ValueError("not a socket inode")
    return container_of(inode, "struct socket_alloc", "vfs_inode").socket.address_of_()


def SOCK_INODE(sock):
    """The ``struct inode *`` of a ``struct socket *``."""
    return container_of(sock, "struct socket_alloc", "socket").vfs_inode.address_of_()


def get_net_ns_by_inode(inode):
    """The ``struct net *`` of a network namespace's nsfs inode (``/proc/PID/ns/net``);
    ``ValueError`` for another inode."""
    prog = inode.prog_
    if inode.i_fop.value_() != prog["ns_file_operations"].address_of_().value_():
        raise ValueError("not a namespace inode")
    ns = cast("struct ns_common *", inode.i_private)
    kind = ns.ns_type if ns.type_.type.has_member("ns_type") else ns.ops.type
    if kind.value_() != _CLONE_NEWNET:
        raise ValueError("not a network namespace inode")
    return container_of(ns, "struct net", "ns")


def get_net_ns_by_fd(task, fd):
    """The ``struct net *`` of a task's file descriptor on a network namespace's nsfs inode."""
    from .fs import fget

    return get_net_ns_by_inode(fget(task, fd).f_inode)


def sk_fullsock(sk):
    """Whether a ``struct sock *`` is a full socket (not a time-wait or request socket)."""
    prog = sk.prog_
    state = sk.__sk_common.skc_state.value_()
    return state not in (prog["TCP_SYN_RECV"].value_(), prog["TCP_TIME_WAIT"].value_())


def sk_nulls_for_each(head):
    """Each ``struct sock *`` of a ``struct hlist_nulls_head *`` (a list that ends in a "nulls"
    marker, an odd pointer)."""
    prog = head.prog_
    node = head.first.value_()
    n = 0
    while not node & 1:
        n += 1
        if n > _MAX_NULLS:
            raise ValueError("hlist_nulls %#x: more than %d entries (a loop?)" % (head.value_(), _MAX_NULLS))
        yield container_of(Object(prog, "struct hlist_nulls_node *", node), "struct sock", "__sk_common.skc_nulls_node")
        node = prog.read_word(node)


def skb_shinfo(skb):
    """A ``struct sk_buff *``'s ``struct skb_shared_info *``: at ``head + end`` on 64-bit
    kernels (where ``end`` is an offset), at ``end`` otherwise."""
    prog = skb.prog_
    end = skb.end.value_()
    if prog.type("long").size > 4:
        end += skb.head.value_()
    return Object(prog, "struct skb_shared_info *", end)


def _poison_pointer_delta(prog):
    """``POISON_POINTER_DELTA``, from a static timer's entry (``TIMER_ENTRY_STATIC`` is the
    delta + 0x300 since v4.5)."""
    try:
        return prog.cache["POISON_POINTER_DELTA"]
    except KeyError:
        delta = prog.cache["POISON_POINTER_DELTA"] = prog["poll_spurious_irq_timer"].entry.next.value_() - 0x300
        return delta


def is_pp_page(page):
    """Whether a ``struct page *`` belongs to a page pool: its page type (``PGTY_netpp``) where
    the kernel has one, else its ``pp_magic`` signature; ``NotImplementedError`` where neither
    tells (Linux 4.18 to 5.13)."""
    prog = page.prog_
    if "PGTY_netpp" in prog:
        return page.page_type.value_() >> 24 == prog["PGTY_netpp"].value_()
    if page.type_.type.has_member("pp_magic"):
        signature = (_poison_pointer_delta(prog) + 0x40) & 0xFFFFFFFFFFFFFFFF
        return page.pp_magic.value_() & ~0x3 == signature
    try:
        prog.type("struct page_pool")
    except LookupError:
        return False
    raise NotImplementedError("page_pool pages cannot be identified before Linux 5.14")


def netdev_ipv4_addrs(dev):
    """A device's IPv4 addresses (``ipaddress.IPv4Address``), in its list's order."""
    prog = dev.prog_
    ips = []
    idev = dev.ip_ptr.read_()
    if idev:
        ifa = idev.ifa_list.read_()
        while ifa and len(ips) < _MAX_NULLS:
            ips.append(ipaddress.IPv4Address(prog.read(ifa.ifa_address.address_, 4)))
            ifa = ifa.ifa_next.read_()
    return ips


def netdev_ipv6_addrs(dev):
    """A device's IPv6 addresses (``ipaddress.IPv6Address``), in its list's order."""
    prog = dev.prog_
    ips = []
    idev = dev.ip6_ptr.read_()
    if idev:
        for a in list_for_each_entry("struct inet6_ifaddr", idev.addr_list.address_of_(), "if_list"):
            ips.append(ipaddress.IPv6Address(prog.read(a.addr.in6_u.u6_addr8.address_, 16)))
    return ips


def neigh_table_for_each_neighbor(table):
    """Each ``struct neighbour *`` of a ``struct neigh_hash_table *``: its buckets' hlists
    (``hash_heads``), or their ``next`` chains before those."""
    n = 1 << table.hash_shift.value_()
    if table.type_.type.has_member("hash_heads"):
        for i in range(n):
            yield from hlist_for_each_entry("struct neighbour", table.hash_heads[i].address_of_(), "hash")
        return
    for i in range(n):
        neigh = table.hash_buckets[i].read_()
        count = 0
        while neigh and count < _MAX_NULLS:
            yield neigh
            neigh = neigh.next.read_()
            count += 1
