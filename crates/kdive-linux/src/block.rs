//! Disks: the gendisks of the block class, and the requests in flight on their queues.

use kdive_program::object::{container_of, offset_of};
use kdive_program::{Object, Program, ProgramError, Result};

use crate::list::list_entries;

/// `MQ_RQ_IN_FLIGHT`: a request's `state` while the driver has it.
const MQ_RQ_IN_FLIGHT: u64 = 1;

/// A disk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Disk {
    pub gendisk: u64,
    pub major: u32,
    pub name: String,
    /// Its `struct request_queue`.
    pub queue: u64,
}

/// The `subsys_private` of the block class: `block_class.p` before 6.4, then the entry of
/// `class_kset` named `block`.
fn block_subsys(prog: &Program, limit: usize) -> Result<u64> {
    let class = prog.object("struct class", prog.symbol_address("block_class")?)?;
    if let Ok(p) = class.member("p") {
        return p.read_u64();
    }
    let kset = prog.read_u64(prog.symbol_address("class_kset")?)?;
    let head = prog
        .object("struct kset", kset)?
        .member("list")?
        .address()
        .unwrap_or(0);
    let (kobjs, _) = list_entries(prog, head, "struct kobject", "entry", limit)?;
    for k in kobjs {
        let name = prog
            .object("struct kobject", k)?
            .member("name")?
            .read_string(64)?;
        if name == "block" {
            // the kobject is `subsys.kobj` of a `struct subsys_private`
            let kset_obj = container_of(prog, k, "struct kset", "kobj")?;
            let sp = container_of(
                prog,
                kset_obj.address().unwrap_or(0),
                "struct subsys_private",
                "subsys",
            )?;
            return Ok(sp.address().unwrap_or(0));
        }
    }
    Err(ProgramError::Walk {
        what: "class_kset".into(),
        why: "no class named block".into(),
    })
}

/// The whole disks of the block class (its devices of type `disk_type`), in class order; the
/// `ram` and `loop` disks left out as crash leaves them out; and what could not be read.
pub fn disks(prog: &Program, limit: usize) -> Result<(Vec<Disk>, Vec<String>)> {
    let sp = prog.object("struct subsys_private", block_subsys(prog, limit)?)?;
    let head = sp.member("klist_devices.k_list")?.address().unwrap_or(0);
    let (nodes, err) = list_entries(prog, head, "struct klist_node", "n_node", limit)?;
    let mut problems: Vec<String> = err.iter().map(|e| format!("block class: {e}")).collect();
    let disk_type = prog.symbol_address("disk_type")?;
    let knode_off = offset_of(prog, prog.type_("struct device_private")?, "knode_class")?;
    let mut out = Vec::new();
    for n in nodes {
        let read = || -> Result<Option<Disk>> {
            // a dead klist node has the low bit of its klist pointer set
            if prog
                .object("struct klist_node", n)?
                .member("n_klist")?
                .read_u64()?
                & 1
                == 1
            {
                return Ok(None);
            }
            let dev = prog
                .object("struct device_private", n.wrapping_sub(knode_off))?
                .member("device")?
                .read_u64()?;
            let d = prog.object("struct device", dev)?;
            if d.member("type")?.read_u64()? != disk_type {
                return Ok(None);
            }
            let bdev = container_of(prog, dev, "struct block_device", "bd_device")?;
            let g = bdev.member("bd_disk")?.deref()?;
            Ok(Some(Disk {
                gendisk: g.address().unwrap_or(0),
                major: g.member("major")?.read_u64()? as u32,
                name: g.member("disk_name")?.read_string(32)?,
                queue: g.member("queue")?.read_u64()?,
            }))
        };
        match read() {
            Ok(Some(d)) if !d.name.starts_with("ram") && !d.name.starts_with("loop") => out.push(d),
            Ok(_) => {}
            Err(e) => problems.push(format!("block device {n:#x}: {e}")),
        }
    }
    Ok((out, problems))
}

/// Requests in flight (read, write) on the queue at `q`: for a multi-queue device, the
/// requests of its hardware queues' tags that the driver holds; for a bio-based one, the
/// per-CPU counts of its whole-disk `block_device`.
pub fn in_flight(prog: &Program, q: u64, gendisk: u64) -> Result<(u64, u64)> {
    let queue = prog.object("struct request_queue", q)?;
    if queue.member("mq_ops")?.read_u64()? == 0 {
        return bio_in_flight(prog, gendisk);
    }
    let mut counts = (0, 0);
    for tags in queue_tags(prog, &queue)? {
        count_tags(prog, q, tags, &mut counts)?;
    }
    Ok(counts)
}

/// The `struct blk_mq_tags` of a multi-queue request queue: its tag set's shared tags, or each
/// hardware queue's (0 for a hardware queue without tags).
pub fn queue_tags(prog: &Program, queue: &Object<'_>) -> Result<Vec<u64>> {
    let set = queue.member("tag_set")?.deref()?;
    // a tag set shared by all hardware queues (BLK_MQ_F_TAG_HCTX_SHARED) is the only one
    // that has `shared_tags` allocated
    let shared = set
        .member("shared_tags")
        .and_then(|t| t.read_u64())
        .unwrap_or(0);
    if shared != 0 {
        return Ok(vec![shared]);
    }
    hw_queues(prog, queue)?
        .into_iter()
        .map(|hctx| {
            prog.object("struct blk_mq_hw_ctx", hctx)?
                .member("tags")?
                .read_u64()
        })
        .collect()
}

/// The hardware contexts of a multi-queue request queue: the `hctx_table` xarray (5.18+) or
/// the `queue_hw_ctx` array.
fn hw_queues(prog: &Program, queue: &Object<'_>) -> Result<Vec<u64>> {
    if let Ok(t) = queue.member("hctx_table") {
        let walk = crate::xarray::xa_entries(prog, t.address().unwrap_or(0), 4096)?;
        return Ok(walk.entries.iter().map(|e| e.value).collect());
    }
    let n = queue.member("nr_hw_queues")?.read_u64()?.min(4096);
    let arr = queue.member("queue_hw_ctx")?.read_u64()?;
    (0..n).map(|i| prog.read_u64(arr + 8 * i)).collect()
}

/// Counts the in-flight requests of `q` among the tags at `tags` (reserved ones first).
fn count_tags(prog: &Program, q: u64, tags: u64, counts: &mut (u64, u64)) -> Result<()> {
    if tags == 0 {
        return Ok(());
    }
    let t = prog.object("struct blk_mq_tags", tags)?;
    let reserved = t.member("nr_reserved_tags")?.read_u64()?;
    let rqs = t.member("rqs")?.read_u64()?;
    // the bitmaps are embedded since 5.16, pointers before
    let bitmap = |m: &str| crate::sbitmap::member_queue(prog, &t, m);
    let mut sets = vec![(bitmap("bitmap_tags")?, reserved)];
    if reserved > 0 {
        sets.insert(0, (bitmap("breserved_tags")?, 0));
    }
    for (sbq, base) in sets {
        for bit in set_bits(prog, sbq)? {
            let rq = prog.read_u64(rqs + 8 * (bit + base))?;
            if rq == 0 {
                continue;
            }
            let r = prog.object("struct request", rq)?;
            if r.member("q")?.read_u64()? == q && r.member("state")?.read_u64()? == MQ_RQ_IN_FLIGHT
            {
                // REQ_OP_* with the low bit set write (op_is_write)
                if r.member("cmd_flags")?.read_u64()? & 1 == 1 {
                    counts.1 += 1;
                } else {
                    counts.0 += 1;
                }
            }
        }
    }
    Ok(())
}

/// The bits set (and not cleared) of the `struct sbitmap_queue` at `sbq`.
fn set_bits(prog: &Program, sbq: u64) -> Result<Vec<u64>> {
    let sb = prog.object("struct sbitmap_queue", sbq)?.member("sb")?;
    Ok(crate::sbitmap::Sbitmap::read(prog, &sb)?.set_bits())
}

/// A bio-based disk's in-flight counts: the per-CPU `disk_stats.in_flight[]` of its whole-disk
/// `block_device`, summed.
fn bio_in_flight(prog: &Program, gendisk: u64) -> Result<(u64, u64)> {
    let stats = prog
        .object("struct gendisk", gendisk)?
        .member("part0")?
        .deref()?
        .member("bd_stats")?
        .read_u64()?;
    let off = offset_of(prog, prog.type_("struct disk_stats")?, "in_flight")?;
    let (mut r, mut w) = (0i64, 0i64);
    for cpu in crate::percpu::possible_cpus(prog)? {
        let at = stats
            .wrapping_add(crate::percpu::per_cpu_offset(prog, cpu)?)
            .wrapping_add(off);
        r += prog.read_u64(at)? as i64;
        w += prog.read_u64(at + 8)? as i64;
    }
    Ok((r.max(0) as u64, w.max(0) as u64))
}
