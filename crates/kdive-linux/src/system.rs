//! System-wide facts: utsname, time, load, memory size, CPUs, the panic message.

use std::io::Read as _;

use kdive_program::{object::offset_of, Program, Result};

use crate::read_counter;

pub use kdive_dump::Utsname as Uts;

/// Reads `init_uts_ns.name`.
pub fn utsname(prog: &Program) -> Result<Uts> {
    let name = prog
        .variable("init_uts_ns", "struct uts_namespace")?
        .member("name")?;
    let f = |m: &str| name.member(m).and_then(|o| o.read_string(65));
    Ok(Uts {
        sysname: f("sysname")?,
        nodename: f("nodename")?,
        release: f("release")?,
        version: f("version")?,
        machine: f("machine")?,
        domainname: f("domainname")?,
    })
}

/// Clock readings from the timekeeper at the time of the dump.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Clocks {
    /// Wall-clock seconds since the epoch (`xtime_sec`).
    pub realtime_sec: i64,
    /// Nanoseconds since boot, suspend included, as of the last tick (`ktime_get_coarse_boottime`).
    pub boottime_ns: u64,
}

/// Address of the live `struct timekeeper`: `tk_core.timekeeper`. `tk_core` is an anonymous
/// struct on older kernels (`struct tk_data` on newer ones), so its layout is asked of the types.
fn timekeeper_addr(prog: &Program) -> Result<u64> {
    let tk_core = prog.symbol_address("tk_core")?;
    if let Ok(td) = prog.type_("struct tk_data") {
        return Ok(tk_core + offset_of(prog, td, "timekeeper")?);
    }
    let seq = prog
        .type_("seqcount_raw_spinlock_t")
        .and_then(|t| Ok(prog.types().size_of(t)?))
        .unwrap_or(4);
    Ok(tk_core + seq.div_ceil(8) * 8)
}

/// Reads the timekeeper.
pub fn clocks(prog: &Program) -> Result<Clocks> {
    let tk = prog.object("struct timekeeper", timekeeper_addr(prog)?)?;
    let realtime_sec = tk.member("xtime_sec")?.read_i64()?;
    // the coarse clock: base + the nanoseconds accumulated since it (`ktime_get_coarse_*`)
    let base = tk.member("tkr_mono.base")?.read_i64()?;
    let shift = tk.member("tkr_mono.shift")?.read_u64()?.min(63);
    let nsec = (tk.member("tkr_mono.xtime_nsec")?.read_u64()? >> shift) as i64;
    let boot = tk.member("offs_boot")?.read_i64()?;
    Ok(Clocks {
        realtime_sec,
        boottime_ns: base.saturating_add(nsec).saturating_add(boot).max(0) as u64,
    })
}

/// The three load averages as the kernel's fixed-point `avenrun[]` (FSHIFT 11).
pub fn avenrun(prog: &Program) -> Result<[u64; 3]> {
    let a = prog.symbol_address("avenrun")?;
    Ok([
        prog.read_u64(a)?,
        prog.read_u64(a + 8)?,
        prog.read_u64(a + 16)?,
    ])
}

/// `avenrun` value as text with two decimals, rounded as /proc/loadavg and crash do.
pub fn load_text(v: u64) -> String {
    const FSHIFT: u64 = 11;
    const FIXED_1: u64 = 1 << FSHIFT;
    let v = v.saturating_add(FIXED_1 / 200);
    format!(
        "{}.{:02}",
        v >> FSHIFT,
        ((v & (FIXED_1 - 1)) * 100) >> FSHIFT
    )
}

/// CPU clock in MHz (`cpu_khz / 1000`), x86.
pub fn cpu_mhz(prog: &Program) -> Result<u64> {
    Ok(prog.mem().read_u32(prog.symbol_address("cpu_khz")?)? as u64 / 1000)
}

/// Entries of `node_data[]` looked at (nodes beyond are not expected in dumps we read).
const MAX_NODES_SCANNED: u64 = 64;

/// Pages of memory present in all nodes (`node_present_pages`), the machine's memory size.
pub fn present_pages(prog: &Program) -> Result<u64> {
    let pgdat_ty = "struct pglist_data";
    // NUMA kernels keep `node_data[]` (pointers); others the single `contig_page_data`.
    let nodes: Vec<u64> = match prog.symbol_address("node_data") {
        Ok(a) => {
            // `node_data[]` has MAX_NUMNODES slots (4 on some arm64 configurations): past
            // `nr_node_ids` lies other data
            let nodes = prog
                .symbol_address("nr_node_ids")
                .and_then(|n| Ok(prog.mem().read_u32(n)?))
                .map_or(MAX_NODES_SCANNED, |n| {
                    u64::from(n).clamp(1, MAX_NODES_SCANNED)
                });
            let mut v = Vec::new();
            for i in 0..nodes {
                match prog.read_u64(a + 8 * i) {
                    Ok(0) => {}
                    Ok(p) => v.push(p),
                    Err(e) if v.is_empty() => return Err(e),
                    Err(_) => break,
                }
            }
            v
        }
        Err(_) => vec![prog.symbol_address("contig_page_data")?],
    };
    let mut total = 0;
    for n in nodes {
        let pages = prog
            .object(pgdat_ty, n)?
            .member("node_present_pages")?
            .read_u64()?;
        total = u64::saturating_add(total, pages);
    }
    Ok(total)
}

/// Pages below `high_memory`: the end of the direct map's RAM, as a page count. This is what
/// crash divides a task's RSS by for `ps` `%MEM`.
pub fn high_memory_pages(prog: &Program, page_size: u64) -> Result<u64> {
    let high = prog.read_u64(prog.symbol_address("high_memory")?)?;
    // x86_64 randomizes the direct map's base into a variable; elsewhere the memory layer
    // knows where the linear map starts
    let base = match prog.symbol_address("page_offset_base") {
        Ok(a) => prog.read_u64(a)?,
        Err(e) => match prog.kernel_memory().and_then(|m| m.direct_map_base()) {
            Some(b) => b,
            None => return Err(e),
        },
    };
    Ok(high.saturating_sub(base) / page_size.max(1))
}

/// `totalram_pages()`: pages the page allocator manages.
pub fn totalram_pages(prog: &Program) -> Result<u64> {
    let addr = prog.symbol_address("_totalram_pages")?;
    Ok(read_counter(&prog.object("atomic_long_t", addr)?)?.max(0) as u64)
}

/// The kernel's taint mask.
pub fn tainted_mask(prog: &Program) -> Result<u64> {
    prog.read_u64(prog.symbol_address("tainted_mask")?)
}

/// The CPU that called panic(), if any (`panic_cpu`, -1 when there was no panic).
pub fn panic_cpu(prog: &Program) -> Result<Option<u32>> {
    let v = read_counter(&prog.object("atomic_t", prog.symbol_address("panic_cpu")?)?)?;
    Ok((v >= 0).then_some(v as u32))
}

/// How a panic message was found in the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum PanicMessage {
    /// A `Kernel panic - not syncing: ...` line.
    Panic(String),
    /// No panic line, but an oops (`Oops: ...`) or BUG line: the dump came from an oops.
    Oops(String),
    /// Neither: the dump was taken without a panic.
    None,
}

/// Finds the panic message in log texts (last panic line wins; an oops line if there is none).
pub fn panic_message<'a>(lines: impl Iterator<Item = &'a str>) -> PanicMessage {
    let mut panic = None;
    let mut oops = None;
    for l in lines {
        let l = l.trim_end();
        if let Some(i) = l.find("Kernel panic - not syncing") {
            // the `---[ end Kernel panic - not syncing: ... ]---` marker of a kernel left
            // running after the panic (no kdump) repeats the message
            let msg = &l[i..];
            let msg = match l[..i].ends_with("---[ end ") {
                true => msg.strip_suffix(" ]---").unwrap_or(msg),
                false => msg,
            };
            panic = Some(msg.to_string());
        } else if oops.is_none() {
            if let Some(i) = l.find("Oops: ") {
                oops = Some(l[i..].to_string());
            } else if l.starts_with("kernel BUG at ") {
                oops = Some(l.to_string());
            }
        }
    }
    match (panic, oops) {
        (Some(p), _) => PanicMessage::Panic(p),
        (None, Some(o)) => PanicMessage::Oops(o),
        (None, None) => PanicMessage::None,
    }
}

/// One entry of the system call table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Syscall {
    pub nr: u64,
    /// The handler's address and symbol (`None` when no symbol holds it).
    pub handler: u64,
    pub symbol: Option<String>,
}

/// Most system calls read (x86_64 has about 460).
const MAX_SYSCALLS: u64 = 4096;

/// The system call table (`sys_call_table[]`), as long as its symbol (the vmlinux's size, or the
/// room before the next symbol).
pub fn syscalls(prog: &Program) -> Result<Vec<Syscall>> {
    let sym = prog
        .symbols()
        .by_name("sys_call_table")
        .ok_or_else(|| kdive_program::ProgramError::NoSymbol("sys_call_table".into()))?;
    let n = sym.size.map_or(512, |s| s / 8).min(MAX_SYSCALLS);
    let mut table = vec![0u8; n as usize * 8];
    prog.read(sym.addr, &mut table)?;
    // without the vmlinux's symbol size the table runs to the next symbol: every real entry
    // points somewhere (`sys_ni_syscall` at least), so trailing zeros are padding
    while table.len() >= 8 && table[table.len() - 8..].iter().all(|&b| b == 0) {
        table.truncate(table.len() - 8);
    }
    Ok(table
        .chunks_exact(8)
        .enumerate()
        .map(|(i, w)| {
            let handler = u64::from_le_bytes(w.try_into().unwrap_or_default());
            let symbol = prog
                .symbols()
                .by_addr(handler)
                .filter(|(_, off)| *off == 0)
                .map(|(s, _)| first_alias(prog, &s.name, handler));
            Syscall {
                nr: i as u64,
                handler,
                symbol,
            }
        })
        .collect())
}

/// A handler without arguments is one function under three names (`__do_sys_pause`,
/// `__ia32_sys_pause`, `__x64_sys_pause`): of those at `addr`, the first by name, as a
/// symbol table sorted by address and name (and crash) gives it.
fn first_alias(prog: &Program, name: &str, addr: u64) -> String {
    let Some(base) = ["__x64_sys_", "__ia32_sys_", "__do_sys_"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
    else {
        return name.to_string();
    };
    ["__do_sys_", "__ia32_sys_", "__x64_sys_"]
        .iter()
        .map(|p| format!("{p}{base}"))
        .find(|n| prog.symbols().address_of(n) == Some(addr))
        .unwrap_or_else(|| name.to_string())
}

/// Most bytes of compressed configuration read.
const MAX_IKCONFIG: u64 = 1 << 20;

/// The kernel's built-in configuration (`CONFIG_IKCONFIG`): the gzip data between
/// `kernel_config_data` and `kernel_config_data_end`, unpacked. `Ok(None)` when the kernel
/// was built without it.
pub fn ikconfig(prog: &Program) -> Result<Option<String>> {
    let Ok(start) = prog.symbol_address("kernel_config_data") else {
        return Ok(None);
    };
    let end = prog.symbol_address("kernel_config_data_end")?;
    let len = end.saturating_sub(start).min(MAX_IKCONFIG);
    let mut data = vec![0u8; len as usize];
    prog.read(start, &mut data)?;
    // the gzip stream sits between the markers IKCFG_ST and IKCFG_ED
    let body = data.strip_prefix(b"IKCFG_ST").unwrap_or(&data);
    let body = body.strip_suffix(b"IKCFG_ED").unwrap_or(body);
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(body).take(16 << 20),
        &mut text,
    )
    .map_err(|e| kdive_program::ProgramError::Walk {
        what: "kernel_config_data".into(),
        why: format!("not a gzip stream: {e}"),
    })?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_message_from_the_end_marker() {
        // the log of the aarch64 fixture: the kernel printed its end marker after the panic
        let log = [
            "Kernel panic - not syncing: sysrq triggered crash",
            "CPU: 0 UID: 0 PID: 639 Comm: sh Not tainted 6.12.118+deb12-cloud-arm64 #1",
            "---[ end Kernel panic - not syncing: sysrq triggered crash ]---",
        ];
        assert_eq!(
            panic_message(log.into_iter()),
            PanicMessage::Panic("Kernel panic - not syncing: sysrq triggered crash".into())
        );
    }
}

/// The DMI (SMBIOS) strings the kernel kept (`dmi_ident[]`, indexed by `enum dmi_field`): each
/// field's enumerator name and string (none when the firmware gave none), in the enum's order.
/// `dmi_ident` has `DMI_STRING_MAX` entries.
pub fn dmi_ident(prog: &Program) -> Result<Vec<(String, Option<String>)>> {
    let base = prog.symbol_address("dmi_ident")?;
    let ty = prog.type_("enum dmi_field")?;
    let kdive_debuginfo::TypeKind::Enum { values, .. } = &prog.types().resolve(ty)?.1.kind else {
        return Ok(Vec::new());
    };
    let max = values
        .iter()
        .find(|(n, _)| &**n == "DMI_STRING_MAX")
        .map_or(0, |(_, v)| *v);
    let mut out = Vec::new();
    for (name, v) in values.iter().filter(|(_, v)| (0..max).contains(v)) {
        let p = prog.read_u64(base + 8 * (*v as u64))?;
        let text = (p != 0).then(|| prog.mem().read_cstr(p, 256)).transpose()?;
        out.push((name.to_string(), text));
    }
    Ok(out)
}
