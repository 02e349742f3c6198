//! The audit records the kernel holds that the audit daemon has not read yet: the netlink
//! `sk_buff`s queued on the audit subsystem's `sk_buff_head` queues.

use kdive_program::object::offset_of;
use kdive_program::{Program, Result};

/// The queues, oldest first, as the kernel names them: `audit_hold_queue`,
/// `audit_retry_queue` and `audit_queue` since Linux 4.11, `audit_skb_hold_queue` and
/// `audit_skb_queue` before.
const QUEUES: [&[&str]; 2] = [
    &["audit_hold_queue", "audit_retry_queue", "audit_queue"],
    &["audit_skb_hold_queue", "audit_skb_queue"],
];

/// One queued audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The queue it waits on (`audit_queue`...).
    pub queue: &'static str,
    /// The `sk_buff` holding it.
    pub skb: u64,
    /// The netlink message type (`AUDIT_SYSCALL` = 1300...).
    pub msg_type: u16,
    /// The record's text, after its netlink header.
    pub text: String,
}

/// The records of every audit queue, or `None` when the kernel has no audit queues (built
/// without audit). Walks at most `limit` buffers a queue; a walk that stops early says why in
/// the returned problems.
pub fn queued_records(
    prog: &Program,
    limit: usize,
) -> Result<Option<(Vec<AuditRecord>, Vec<String>)>> {
    let syms = prog.symbols();
    let Some(names) = QUEUES
        .iter()
        .find(|q| syms.address_of(q[q.len() - 1]).is_some())
    else {
        return Ok(None);
    };
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for &name in *names {
        let Some(head) = syms.address_of(name) else {
            continue;
        };
        if let Err(e) = queue(prog, name, head, limit, &mut records) {
            problems.push(format!("{name}: {e}"));
        }
    }
    Ok(Some((records, problems)))
}

/// The records of one `sk_buff_head` at `head`, appended to `out`.
fn queue(
    prog: &Program,
    name: &'static str,
    head: u64,
    limit: usize,
    out: &mut Vec<AuditRecord>,
) -> Result<()> {
    let h = prog.object("struct sk_buff_head", head)?;
    if h.member("qlen")?.read_u64()? == 0 {
        return Ok(());
    }
    // NLMSG_HDRLEN: the netlink header rounded up to NLMSG_ALIGNTO (4)
    let hdr_len = prog
        .object("struct nlmsghdr", 0)?
        .size()?
        .next_multiple_of(4);
    let type_off = offset_of(prog, prog.type_("struct nlmsghdr")?, "nlmsg_type")?;
    let mut skb = h.member("next")?.read_u64()?;
    let mut seen = std::collections::HashSet::new();
    while skb != head {
        if out.len() >= limit || !seen.insert(skb) {
            return Err(kdive_program::ProgramError::Walk {
                what: "the queue".to_string(),
                why: format!(
                    "the queue does not come back to its head after {} buffers",
                    seen.len()
                ),
            });
        }
        let b = prog.object("struct sk_buff", skb)?;
        let len = b.member("len")?.read_u64()?;
        let data = b.member("data")?.read_u64()?;
        let msg_type = prog.mem().read_u16(data.wrapping_add(type_off))?;
        // a record is at most a netlink page; a longer length is not one
        let mut buf = vec![0u8; len.saturating_sub(hdr_len).min(1 << 16) as usize];
        prog.read(data.wrapping_add(hdr_len), &mut buf)?;
        let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
        out.push(AuditRecord {
            queue: name,
            skb,
            msg_type,
            text: String::from_utf8_lossy(&buf[..end]).into_owned(),
        });
        skb = b.member("next")?.read_u64()?;
    }
    Ok(())
}
