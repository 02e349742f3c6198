//! The printk safe buffers of kernels 4.11 to 5.14: per-CPU buffers (`nmi_print_seq`,
//! `safe_print_seq`) that NMI and printk-recursion contexts wrote into, flushed to the log later.

use kdive_program::{Program, Result};

/// The printk safe buffers (`nmi_print_seq`, `safe_print_seq`) of kernels that have
/// `struct printk_safe_seq_buf` (Linux 4.11 to 5.14): per CPU, the bytes not yet flushed to the
/// log. `None` when the kernel has no such buffers.
pub fn printk_safe_buffers(prog: &Program, cpus: &[u32]) -> Result<Option<Vec<SafeBuffer>>> {
    if prog.type_("struct printk_safe_seq_buf").is_err() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for name in ["nmi_print_seq", "safe_print_seq"] {
        if prog.symbols().address_of(name).is_none() {
            continue;
        }
        for &cpu in cpus {
            let addr = crate::percpu::per_cpu_address(prog, name, cpu)?;
            let b = prog.object("struct printk_safe_seq_buf", addr)?;
            let len = b.member("len.counter")?.read_i64()?;
            let lost = b.member("message_lost.counter")?.read_i64()?;
            let mut bytes = b.member("buffer")?.read_bytes()?;
            bytes.truncate(len.clamp(0, i64::MAX) as usize);
            out.push(SafeBuffer {
                name,
                cpu,
                addr,
                len,
                message_lost: lost,
                bytes,
            });
        }
    }
    Ok(Some(out))
}

/// One CPU's printk safe buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeBuffer {
    /// `nmi_print_seq` or `safe_print_seq`.
    pub name: &'static str,
    pub cpu: u32,
    pub addr: u64,
    /// Bytes written (`len`); the buffer holds at most its size.
    pub len: i64,
    pub message_lost: i64,
    /// The bytes held, each message starting with the kernel's SOH and level characters.
    pub bytes: Vec<u8>,
}
