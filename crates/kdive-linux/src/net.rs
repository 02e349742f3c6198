//! Network devices of the initial network namespace and their addresses.
//!
//! `init_net.dev_base_head` lists the `struct net_device`s (`dev_list`); IPv4 addresses hang off
//! `ip_ptr` (`struct in_device`, singly linked `ifa_list`/`ifa_next`), IPv6 ones off `ip6_ptr`
//! (`struct inet6_dev`, the list `addr_list` of `struct inet6_ifaddr` through `if_list`).

use std::net::Ipv4Addr;

use kdive_program::object::offset_of;
use kdive_program::{Program, Result};

use crate::list::{chain, list_entries};

/// One network device.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NetDevice {
    /// Address of its `struct net_device`.
    pub addr: u64,
    pub name: String,
    /// IPv4 addresses, dotted.
    pub ipv4: Vec<String>,
    /// IPv6 addresses, as `inet_ntop` writes them.
    pub ipv6: Vec<String>,
}

/// The devices of `init_net` in list order, and what could not be read (a device whose
/// addresses could not all be read is kept with those that could).
pub fn net_devices(prog: &Program, limit: usize) -> Result<(Vec<NetDevice>, Vec<String>)> {
    let net = match prog.symbol_address("init_net") {
        Ok(a) => a,
        // no symbol: the namespace of init_task
        Err(_) => task_net_namespace(prog, prog.symbol_address("init_task")?)?,
    };
    namespace_devices(prog, net, limit)
}

/// The network namespace a task is in (`nsproxy->net_ns`).
pub fn task_net_namespace(prog: &Program, task: u64) -> Result<u64> {
    prog.object("struct task_struct", task)?
        .member("nsproxy")?
        .deref()?
        .member("net_ns")?
        .read_u64()
}

/// The devices of the network namespace `net` (a `struct net`), as [`net_devices`].
pub fn namespace_devices(
    prog: &Program,
    net: u64,
    limit: usize,
) -> Result<(Vec<NetDevice>, Vec<String>)> {
    let head = net.wrapping_add(offset_of(prog, prog.type_("struct net")?, "dev_base_head")?);
    let (devs, err) = list_entries(prog, head, "struct net_device", "dev_list", limit)?;
    let mut problems = Vec::new();
    if let Some(e) = err {
        problems.push(format!("device list: {e}"));
    }
    let mut out = Vec::new();
    for addr in devs {
        let name = match prog
            .object("struct net_device", addr)
            .and_then(|d| d.member("name")?.read_string(16))
        {
            Ok(n) => n,
            Err(e) => {
                problems.push(format!("net_device at {addr:#x}: {e}"));
                continue;
            }
        };
        let mut d = NetDevice {
            addr,
            name,
            ipv4: Vec::new(),
            ipv6: Vec::new(),
        };
        if let Err(e) = ipv4(prog, addr, limit, &mut d.ipv4) {
            problems.push(format!("{} IPv4 addresses: {e}", d.name));
        }
        if let Err(e) = ipv6(prog, addr, limit, &mut d.ipv6) {
            problems.push(format!("{} IPv6 addresses: {e}", d.name));
        }
        out.push(d);
    }
    Ok((out, problems))
}

fn ipv4(prog: &Program, dev: u64, limit: usize, out: &mut Vec<String>) -> Result<()> {
    let ip = prog
        .object("struct net_device", dev)?
        .member("ip_ptr")?
        .read_u64()?;
    if ip == 0 {
        return Ok(());
    }
    let first = prog
        .object("struct in_device", ip)?
        .member("ifa_list")?
        .read_u64()?;
    let ifa = prog.type_("struct in_ifaddr")?;
    let (elems, err) = chain(
        prog,
        first,
        offset_of(prog, ifa, "ifa_next")?,
        limit,
        "in_ifaddr",
    );
    let addr_off = offset_of(prog, ifa, "ifa_address")?;
    for a in elems {
        let mut b = [0u8; 4];
        prog.read(a.wrapping_add(addr_off), &mut b)?;
        out.push(Ipv4Addr::from(b).to_string());
    }
    err.map_or(Ok(()), Err)
}

fn ipv6(prog: &Program, dev: u64, limit: usize, out: &mut Vec<String>) -> Result<()> {
    let ip6 = prog
        .object("struct net_device", dev)?
        .member("ip6_ptr")?
        .read_u64()?;
    if ip6 == 0 {
        return Ok(());
    }
    let head = prog
        .object("struct inet6_dev", ip6)?
        .member("addr_list")?
        .address()
        .unwrap_or(0);
    let (elems, err) = list_entries(prog, head, "struct inet6_ifaddr", "if_list", limit)?;
    let addr_off = offset_of(prog, prog.type_("struct inet6_ifaddr")?, "addr")?;
    for a in elems {
        let mut b = [0u8; 16];
        prog.read(a.wrapping_add(addr_off), &mut b)?;
        out.push(ipv6_text(&b));
    }
    err.map_or(Ok(()), Err)
}

/// An entry of the IPv4 neighbour (ARP) cache.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Neighbour {
    /// Its `struct neighbour`.
    pub addr: u64,
    pub ip: [u8; 4],
    /// The hardware address, as long as its device's addresses are.
    pub hw: Vec<u8>,
    pub device: String,
    /// The device's hardware type (`ARPHRD_*`).
    pub hw_type: u16,
    /// `NUD_*` state bits.
    pub state: u8,
}

/// The IPv4 neighbour cache (`arp_tbl`): every entry of every hash bucket, in bucket order;
/// and what could not be read.
pub fn arp_cache(prog: &Program, limit: usize) -> Result<(Vec<Neighbour>, Vec<String>)> {
    let tbl = prog.object("struct neigh_table", prog.symbol_address("arp_tbl")?)?;
    let nht = tbl.member("nht")?.deref()?;
    let shift = nht.member("hash_shift")?.read_u64()?.min(24);
    let n_ty = prog.type_("struct neighbour")?;
    // 6.13 made the buckets hlists through `hash`; before, chains through `next`
    let (buckets, link) = match nht.member("hash_heads") {
        Ok(h) => (h.read_u64()?, "hash"),
        Err(_) => (nht.member("hash_buckets")?.read_u64()?, "next"),
    };
    let link_off = offset_of(prog, n_ty, link)?;
    // chains of neighbours through `next`, or of their `hash` nodes (each node's `next` first)
    let (next_off, back) = if link == "hash" {
        (0, link_off)
    } else {
        (link_off, 0)
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for b in 0..1u64 << shift {
        let first = prog.read_u64(buckets.wrapping_add(8 * b))?;
        if first == 0 {
            continue;
        }
        let room = limit.saturating_sub(out.len());
        let (elems, err) = chain(prog, first, next_off, room, "neighbour");
        if let Some(e) = err {
            problems.push(format!("ARP bucket {b}: {e}"));
        }
        for a in elems.into_iter().map(|e| e.wrapping_sub(back)) {
            match read_neighbour(prog, a) {
                Ok(n) => out.push(n),
                Err(e) => problems.push(format!("neighbour at {a:#x}: {e}")),
            }
        }
    }
    Ok((out, problems))
}

fn read_neighbour(prog: &Program, addr: u64) -> Result<Neighbour> {
    let n = prog.object("struct neighbour", addr)?;
    let mut ip = [0u8; 4];
    prog.read(n.member("primary_key")?.address().unwrap_or(0), &mut ip)?;
    let dev = n.member("dev")?.deref()?;
    let len = (dev.member("addr_len")?.read_u64()? as usize).min(32);
    let mut hw = vec![0u8; len];
    prog.read(n.member("ha")?.address().unwrap_or(0), &mut hw)?;
    Ok(Neighbour {
        addr,
        ip,
        hw,
        device: dev.member("name")?.read_string(16)?,
        hw_type: dev.member("type")?.read_u64()? as u16,
        state: n.member("nud_state")?.read_u64()? as u8,
    })
}

/// An open socket of a task.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Socket {
    pub fd: u64,
    /// Its `struct socket` and `struct sock`.
    pub socket: u64,
    pub sock: u64,
    /// `AF_*` and `SOCK_*`.
    pub family: u16,
    pub kind: u16,
    /// IPv4: local and remote address with port; IPv6: the same in 16 bytes.
    pub local: Option<(Vec<u8>, u16)>,
    pub remote: Option<(Vec<u8>, u16)>,
}

/// `AF_INET`, `AF_INET6`.
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// The sockets among a task's open files, by descriptor; and what could not be read.
pub fn task_sockets(prog: &Program, task: u64) -> Result<(Vec<Socket>, Vec<String>)> {
    let (files, unreadable) = crate::fs::open_files(prog, task)?;
    let mut problems: Vec<String> = unreadable
        .iter()
        .map(|u| format!("fd {}: {}", u.fd, u.error))
        .collect();
    let mut out = Vec::new();
    for f in files {
        if f.mode & 0o170000 != 0o140000 {
            continue;
        }
        match read_socket(prog, f.fd, f.inode) {
            Ok(s) => out.push(s),
            Err(e) => problems.push(format!("fd {}: socket: {e}", f.fd)),
        }
    }
    Ok((out, problems))
}

fn read_socket(prog: &Program, fd: u64, inode: u64) -> Result<Socket> {
    // the inode is the `vfs_inode` of a `struct socket_alloc`, after its `socket`
    let alloc =
        kdive_program::object::container_of(prog, inode, "struct socket_alloc", "vfs_inode")?;
    let socket = alloc.member("socket")?;
    let sock = socket.member("sk")?.read_u64()?;
    let sk = prog.object("struct sock", sock)?;
    let common = sk.member("__sk_common")?;
    let family = common.member("skc_family")?.read_u64()? as u16;
    let kind = sk.member("sk_type")?.read_u64()? as u16;
    let port = |p: u64| u16::from_be(p as u16);
    let (local, remote) = match family {
        AF_INET => {
            let inet = prog.object("struct inet_sock", sock)?;
            let ip = |m: &str| -> Result<Vec<u8>> {
                Ok((common.member(m)?.read_u64()? as u32)
                    .to_le_bytes()
                    .to_vec())
            };
            (
                Some((
                    ip("skc_rcv_saddr")?,
                    port(inet.member("inet_sport")?.read_u64()?),
                )),
                Some((
                    ip("skc_daddr")?,
                    port(common.member("skc_dport")?.read_u64()?),
                )),
            )
        }
        AF_INET6 => {
            let inet = prog.object("struct inet_sock", sock)?;
            let ip = |m: &str| -> Result<Vec<u8>> {
                let mut b = vec![0u8; 16];
                prog.read(common.member(m)?.address().unwrap_or(0), &mut b)?;
                Ok(b)
            };
            (
                Some((
                    ip("skc_v6_rcv_saddr")?,
                    port(inet.member("inet_sport")?.read_u64()?),
                )),
                Some((
                    ip("skc_v6_daddr")?,
                    port(common.member("skc_dport")?.read_u64()?),
                )),
            )
        }
        _ => (None, None),
    };
    Ok(Socket {
        fd,
        socket: socket.address().unwrap_or(0),
        sock,
        family,
        kind,
        local,
        remote,
    })
}

/// An IPv6 address as glibc's `inet_ntop` writes it: lower-case hex groups, the first longest
/// run of two or more zero groups as `::`, and IPv4-compatible (`::a.b.c.d`) and IPv4-mapped
/// (`::ffff:a.b.c.d`) addresses with a dotted tail.
pub fn ipv6_text(b: &[u8; 16]) -> String {
    let w: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    // the first longest run of zero groups, if at least two long
    let (mut best, mut cur) = ((0usize, 0usize), (0usize, 0usize));
    for (i, &g) in w.iter().enumerate() {
        if g == 0 {
            if cur.1 == 0 {
                cur.0 = i;
            }
            cur.1 += 1;
            if cur.1 > best.1 {
                best = cur;
            }
        } else {
            cur.1 = 0;
        }
    }
    let run = (best.1 >= 2).then_some(best);
    let mut s = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some((start, len)) = run {
            if i == start {
                s += if i == 0 { "::" } else { ":" };
                i += len;
                continue;
            }
        }
        let v4_tail = i == 6
            && run.is_some_and(|(start, len)| {
                start == 0 && (len == 6 || (len == 5 && w[5] == 0xffff))
            });
        if v4_tail {
            s += &Ipv4Addr::new(b[12], b[13], b[14], b[15]).to_string();
            break;
        }
        s += &format!("{:x}", w[i]);
        if i < 7 {
            s.push(':');
        }
        i += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::ipv6_text;
    use std::net::Ipv6Addr;

    fn t(s: &str) -> String {
        ipv6_text(&s.parse::<Ipv6Addr>().unwrap().octets())
    }

    #[test]
    fn formats_like_inet_ntop() {
        assert_eq!(t("::1"), "::1");
        assert_eq!(t("::"), "::");
        assert_eq!(t("fe80::1"), "fe80::1");
        assert_eq!(t("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
        assert_eq!(t("2001:db8::1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(t("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
        assert_eq!(t("1:2:3:4:5:6:7:0"), "1:2:3:4:5:6:7:0");
        assert_eq!(t("1:2:3:4:5:6:0:0"), "1:2:3:4:5:6::");
        assert_eq!(t("::ffff:127.0.0.1"), "::ffff:127.0.0.1");
        assert_eq!(t("::1.2.3.4"), "::1.2.3.4");
    }
}
