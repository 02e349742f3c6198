//! Character and block device majors, as `crash`'s `dev` lists them.
//!
//! Character majors hang in the hash `chrdevs[255]` of `struct char_device_struct` chains; a
//! major registered with `register_chrdev()` keeps its `cdev` there, others are found through
//! `cdev_map->probes[]` (the `kobj_map` that `cdev_add()` fills). Block majors hang in
//! `major_names[255]` (`struct blk_major_name`); their gendisk is found among the block-device
//! inodes of `blockdev_superblock` (Linux 5.11+; `bdev_map` probes before).

use std::collections::HashMap;
use std::sync::Arc;

use kdive_program::object::offset_of;
use kdive_program::{Program, ProgramError, Result};

use crate::list::chain;

/// Buckets of `chrdevs[]`, `major_names[]` and `kobj_map.probes[]` (`CHRDEV_MAJOR_HASH_SIZE`,
/// `BLKDEV_MAJOR_HASH_SIZE`, 255 in every kernel).
pub const MAJOR_HASH_SIZE: u64 = 255;

/// `MINORBITS` of a `dev_t`.
const MINORBITS: u32 = 20;

/// The 255 bucket heads of the hash array at `base` (`None` for one that cannot be read); one
/// problem line sums up the unreadable ones.
fn buckets(prog: &Program, base: u64, what: &str, problems: &mut Vec<String>) -> Vec<Option<u64>> {
    let mut bad = Vec::new();
    let heads = (0..MAJOR_HASH_SIZE)
        .map(|i| match prog.read_u64(base.wrapping_add(i * 8)) {
            Ok(h) => Some(h),
            Err(e) => {
                bad.push((i, e));
                None
            }
        })
        .collect();
    if let Some((i, e)) = bad.first() {
        problems.push(format!(
            "{what}[]: {} of {MAJOR_HASH_SIZE} buckets unreadable, the first [{i}]: {e}",
            bad.len()
        ));
    }
    heads
}

/// One registered character device region.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CharDev {
    pub major: u32,
    pub baseminor: u32,
    pub name: String,
    /// Address of the `struct char_device_struct`.
    pub addr: u64,
    /// The region's `struct cdev` (0: none found).
    pub cdev: u64,
    /// `cdev->ops` (0: none found).
    pub fops: u64,
    /// Why the cdev could not be looked for (`cdev` and `fops` are then 0 but unknown).
    pub lookup_error: Option<String>,
}

/// One registered block major.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlockDev {
    pub major: u32,
    pub name: String,
    /// A gendisk of this major with operations (0: none found).
    pub gendisk: u64,
    /// `gendisk->fops` (0: none found).
    pub fops: u64,
    /// Set when no gendisk was found but the search could not read every block device.
    pub lookup_error: Option<String>,
}

/// The character device regions in `chrdevs[]` order, and what could not be read.
pub fn char_devices(prog: &Program, limit: usize) -> Result<(Vec<CharDev>, Vec<String>)> {
    let base = prog.symbol_address("chrdevs")?;
    let ty = prog.type_("struct char_device_struct")?;
    let next_off = offset_of(prog, ty, "next")?;
    let mut problems = Vec::new();
    let probes = cdev_probes(prog);
    if let Err(e) = &probes {
        problems.push(format!("cdev_map: {e}"));
    }
    let mut out = Vec::new();
    // each `cdev_map` bucket is read once, however many regions look into it
    let mut probe_cache = HashMap::new();
    for (i, head) in buckets(prog, base, "chrdevs", &mut problems)
        .into_iter()
        .enumerate()
    {
        let Some(head) = head else { continue };
        let (elems, err) = chain(prog, head, next_off, limit, "char_device_struct");
        let mut last_ok = true;
        for a in elems {
            match read_chardev(prog, a, &probes, limit, &mut probe_cache) {
                Ok(d) => {
                    // an unreadable cdev_map is reported once, above
                    if let Some(e) = d.lookup_error.as_ref().filter(|_| probes.is_ok()) {
                        problems.push(format!("{} (major {}): {e}", d.name, d.major));
                    }
                    out.push(d);
                    last_ok = true;
                }
                Err(e) => {
                    problems.push(format!("char_device_struct at {a:#x}: {e}"));
                    last_ok = false;
                }
            }
        }
        // a chain broken at an unreadable element is already reported with it
        if let Some(e) = err.filter(|_| last_ok) {
            problems.push(format!("chrdevs[{i}]: {e}"));
        }
    }
    Ok((out, problems))
}

/// `cdev_map->probes[]` (address of the array), if the kernel has a `cdev_map`.
fn cdev_probes(prog: &Program) -> Result<Option<u64>> {
    let Ok(sym) = prog.symbol_address("cdev_map") else {
        return Ok(None);
    };
    let map = prog.read_u64(sym)?;
    if map == 0 {
        return Ok(None);
    }
    let ty = prog.type_("struct kobj_map")?;
    Ok(Some(map.wrapping_add(offset_of(prog, ty, "probes")?)))
}

fn read_chardev(
    prog: &Program,
    a: u64,
    probes: &Result<Option<u64>>,
    limit: usize,
    cache: &mut HashMap<u64, ProbeBucket>,
) -> Result<CharDev> {
    let c = prog.object("struct char_device_struct", a)?;
    let major = c.member("major")?.read_u64()? as u32;
    let baseminor = c.member("baseminor")?.read_u64()? as u32;
    let name = c.member("name")?.read_string(64)?;
    let mut cdev = match c.member("cdev") {
        Ok(m) => m.read_u64()?,
        Err(_) => 0,
    };
    let mut fops = if cdev != 0 {
        prog.object("struct cdev", cdev)?
            .member("ops")?
            .read_u64()?
    } else {
        0
    };
    let mut lookup_error = None;
    if fops == 0 {
        match probes {
            Ok(Some(probes)) => match probe_cdev(prog, *probes, major, baseminor, limit, cache) {
                Ok(Some((c, f))) => (cdev, fops) = (c, f),
                Ok(None) => {}
                Err(e) => lookup_error = Some(format!("cdev_map probes: {e}")),
            },
            Ok(None) => {}
            Err(e) => lookup_error = Some(format!("cdev_map: {e}")),
        }
    }
    Ok(CharDev {
        major,
        baseminor,
        name,
        addr: a,
        cdev,
        fops,
        lookup_error,
    })
}

/// One `cdev_map->probes[]` bucket as read: the `dev` of each `struct probe` in chain order (with
/// the probe's address), up to where the chain or a `dev` could not be read (`stop`, the error).
#[derive(Debug, Clone)]
struct ProbeBucket {
    probes: Vec<(u32, u64)>,
    stop: Option<Arc<ProgramError>>,
}

/// Reads one bucket's chain (once: `char_devices` asks for a bucket per region, and a corrupt
/// dump can hang many regions on one long chain).
fn probe_bucket(prog: &Program, probes: u64, bucket: u64, limit: usize) -> Result<ProbeBucket> {
    let ty = prog.type_("struct probe")?;
    let first = prog.read_u64(probes.wrapping_add(bucket * 8))?;
    let (elems, err) = chain(prog, first, offset_of(prog, ty, "next")?, limit, "probe");
    let mut out = ProbeBucket {
        probes: Vec::with_capacity(elems.len()),
        stop: None,
    };
    for p in elems {
        let dev = prog
            .object("struct probe", p)
            .and_then(|o| o.member("dev")?.read_u64());
        match dev {
            Ok(dev) => out.probes.push((dev as u32, p)),
            Err(e) => {
                out.stop = Some(Arc::new(e));
                return Ok(out);
            }
        }
    }
    out.stop = err.map(Arc::new);
    Ok(out)
}

/// The cdev added for exactly `major:minor` (a `struct probe` of `cdev_map`) and its ops.
fn probe_cdev(
    prog: &Program,
    probes: u64,
    major: u32,
    minor: u32,
    limit: usize,
    cache: &mut HashMap<u64, ProbeBucket>,
) -> Result<Option<(u64, u64)>> {
    let bucket = u64::from(major) % MAJOR_HASH_SIZE;
    let b = match cache.get(&bucket) {
        Some(b) => b,
        None => {
            let b = probe_bucket(prog, probes, bucket, limit)?;
            cache.entry(bucket).or_insert(b)
        }
    };
    let found = b
        .probes
        .iter()
        .find(|&&(dev, _)| dev >> MINORBITS == major && dev & ((1 << MINORBITS) - 1) == minor);
    if let Some(&(_, p)) = found {
        let read = || -> Result<(u64, u64)> {
            let data = prog.object("struct probe", p)?.member("data")?.read_u64()?;
            let ops = prog
                .object("struct cdev", data)?
                .member("ops")?
                .read_u64()?;
            Ok((data, ops))
        };
        return read().map(Some);
    }
    match &b.stop {
        Some(e) => Err(ProgramError::Shared(e.clone())),
        None => Ok(None),
    }
}

/// The block majors in `major_names[]` order (each bucket's chain followed), and what could not
/// be read.
pub fn block_devices(prog: &Program, limit: usize) -> Result<(Vec<BlockDev>, Vec<String>)> {
    let base = prog.symbol_address("major_names")?;
    let ty = prog.type_("struct blk_major_name")?;
    let next_off = offset_of(prog, ty, "next")?;
    let mut problems = Vec::new();
    let (disks, disks_complete) = match gendisks(prog, limit) {
        Ok((d, errs)) => {
            let complete = errs.is_empty();
            problems.extend(errs);
            (d, complete)
        }
        Err(e) => {
            problems.push(format!("block device inodes: {e}"));
            (Vec::new(), false)
        }
    };
    // the first gendisk found of each major
    let by_major: HashMap<u32, (u64, u64)> = disks.iter().map(|d| (d.0, (d.1, d.2))).collect();
    let mut out = Vec::new();
    for (i, head) in buckets(prog, base, "major_names", &mut problems)
        .into_iter()
        .enumerate()
    {
        let Some(head) = head else { continue };
        let (elems, err) = chain(prog, head, next_off, limit, "blk_major_name");
        let mut last_ok = true;
        for a in elems {
            let read = || -> Result<(u32, String)> {
                let o = prog.object("struct blk_major_name", a)?;
                Ok((
                    o.member("major")?.read_u64()? as u32,
                    o.member("name")?.read_string(16)?,
                ))
            };
            match read() {
                Ok((major, name)) => {
                    let (gendisk, fops) = by_major.get(&major).copied().unwrap_or((0, 0));
                    let lookup_error = (fops == 0 && !disks_complete)
                        .then(|| "not every block device could be read".to_string());
                    out.push(BlockDev {
                        major,
                        name,
                        gendisk,
                        fops,
                        lookup_error,
                    });
                    last_ok = true;
                }
                Err(e) => {
                    problems.push(format!("blk_major_name at {a:#x}: {e}"));
                    last_ok = false;
                }
            }
        }
        if let Some(e) = err.filter(|_| last_ok) {
            problems.push(format!("major_names[{i}]: {e}"));
        }
    }
    Ok((out, problems))
}

/// A gendisk with operations: (major, gendisk, fops).
type Disk = (u32, u64, u64);

/// The first gendisk with operations of each major behind the inodes of `blockdev_superblock`,
/// in inode-list order; and the inodes that could not be read.
fn gendisks(prog: &Program, limit: usize) -> Result<(Vec<Disk>, Vec<String>)> {
    let (inodes, err) = crate::fs::block_device_inodes(prog, limit)?;
    let mut problems = Vec::new();
    if let Some(e) = err {
        problems.push(format!("block device inodes: {e}"));
    }
    // the inode sits after its block_device in `struct bdev_inode`
    let bdev_off = match prog.type_("struct bdev_inode") {
        Ok(t) => offset_of(prog, t, "vfs_inode")?,
        Err(_) => prog.types().size_of(prog.type_("struct block_device")?)?,
    };
    let mut out: Vec<Disk> = Vec::new();
    let mut majors = std::collections::HashSet::new();
    for inode in inodes {
        let read = || -> Result<Option<Disk>> {
            let bdev = prog.object("struct block_device", inode.wrapping_sub(bdev_off))?;
            let disk = bdev.member("bd_disk")?.read_u64()?;
            if disk == 0 {
                return Ok(None);
            }
            let g = prog.object("struct gendisk", disk)?;
            let major = g.member("major")?.read_u64()? as u32;
            let fops = g.member("fops")?.read_u64()?;
            Ok((fops != 0).then_some((major, disk, fops)))
        };
        match read() {
            Ok(Some(d)) => {
                if majors.insert(d.0) {
                    out.push(d);
                }
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("block device inode {inode:#x}: {e}")),
        }
    }
    Ok((out, problems))
}
