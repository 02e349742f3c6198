//! The log without a kernel view: a program that knows the printk buffer from VMCOREINFO alone,
//! as makedumpfile's `--dump-dmesg` does. Its symbols are VMCOREINFO's `SYMBOL()` lines; its
//! types are the printk structures laid out by the `SIZE()`/`OFFSET()`/`LENGTH()` lines (the
//! lockless `printk_ringbuffer` of 5.10+, or `struct printk_log` before). The members VMCOREINFO
//! leaves out (`facility`, `flags`, `level`) sit in the bytes after `text_len`/`dict_len` in
//! every kernel that has these structures.

use std::collections::HashMap;
use std::sync::Arc;

use kdive_debuginfo::table::TypeTable;
use kdive_debuginfo::{Member, Symbol, SymbolSource, Symbols, TypeId, Types};
use kdive_dump::{Dump, VmcoreInfo};
use kdive_memory::{KernelMemory, MemError};
use kdive_program::{Program, ProgramBuilder};

/// Why VMCOREINFO does not describe the kernel log well enough to read it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VmcoreinfoLogError {
    #[error("the dump carries no VMCOREINFO")]
    NoVmcoreinfo,
    #[error("no SIZE({0})")]
    NoSize(String),
    #[error("no OFFSET({0})")]
    NoOffset(String),
    #[error("VMCOREINFO names neither prb nor log_buf")]
    NoLogBuffer,
    #[error(transparent)]
    Memory(#[from] MemError),
}

/// Builds the table from VMCOREINFO; a missing line fails the build with its key.
struct Builder<'a> {
    t: TypeTable,
    vi: &'a VmcoreInfo,
}

type Spec<'s> = (&'s str, TypeId, u64, Option<(u64, u32)>);

impl Builder<'_> {
    fn size(&self, s: &str) -> Result<u64, VmcoreinfoLogError> {
        self.vi
            .size(s)
            .ok_or_else(|| VmcoreinfoLogError::NoSize(s.into()))
    }
    fn off(&self, path: &str) -> Result<u64, VmcoreinfoLogError> {
        self.vi
            .offset(path)
            .ok_or_else(|| VmcoreinfoLogError::NoOffset(path.into()))
    }
    /// `struct name` of `SIZE(name)` bytes; members `(member, type, OFFSET(name.member))`.
    fn strukt(
        &mut self,
        name: &str,
        members: &[(&str, TypeId)],
    ) -> Result<TypeId, VmcoreinfoLogError> {
        let specs: Vec<Spec> = members
            .iter()
            .map(|&(m, ty)| Ok((m, ty, self.off(&format!("{name}.{m}"))?, None)))
            .collect::<Result<_, VmcoreinfoLogError>>()?;
        let size = self.size(name)?;
        Ok(self.strukt_at(name, size, &specs))
    }
    fn strukt_at(&mut self, name: &str, size: u64, members: &[Spec]) -> TypeId {
        let members = members
            .iter()
            .map(|&(n, ty, off, bf)| match bf {
                Some((bit, width)) => Member::bitfield(n, ty, off * 8 + bit, width),
                None => Member::at(n, ty, off),
            })
            .collect();
        self.t.struct_(name, size, members)
    }
}

/// The printk types of the kernel VMCOREINFO describes.
fn printk_types(vi: &VmcoreInfo) -> Result<TypeTable, VmcoreinfoLogError> {
    let mut b = Builder {
        t: TypeTable::new(0),
        vi,
    };
    let word = vi.size("atomic_long_t").unwrap_or(8) as u32;
    let char_ = b.t.int("char", 1, true);
    let u8_ = b.t.int("u8", 1, false);
    let u16_ = b.t.int("u16", 2, false);
    let u32_ = b.t.int("u32", 4, false);
    let u64_ = b.t.int("u64", 8, false);
    let uint = b.t.int("unsigned int", 4, false);
    let ulong = b.t.int("unsigned long", word, false);
    let long = b.t.int("long", word, true);
    let ptr = |b: &mut Builder, target| b.t.pointer(target);
    let arr = |b: &mut Builder, elem, len| b.t.array(elem, len);
    if vi.symbol("prb").is_some() {
        let counter_off = b.vi.offset("atomic_long_t.counter").unwrap_or(0);
        let counter = b.t.struct_(
            "",
            u64::from(word),
            vec![Member::at("counter", long, counter_off)],
        );
        let atomic = b.t.typedef("atomic_long_t", counter);
        let lpos = b.strukt("prb_data_blk_lpos", &[("begin", ulong), ("next", ulong)])?;
        let desc = b.strukt(
            "prb_desc",
            &[("state_var", atomic), ("text_blk_lpos", lpos)],
        )?;
        let sub_len = vi.length("printk_info_subsystem").unwrap_or(16);
        let dev_len = vi.length("printk_info_device").unwrap_or(48);
        let sub = arr(&mut b, char_, sub_len);
        let dev = arr(&mut b, char_, dev_len);
        let devinfo = b.strukt("dev_printk_info", &[("subsystem", sub), ("device", dev)])?;
        let text_len = b.off("printk_info.text_len")?;
        let info_members = [
            ("seq", u64_, b.off("printk_info.seq")?, None),
            ("ts_nsec", u64_, b.off("printk_info.ts_nsec")?, None),
            ("text_len", u16_, text_len, None),
            ("facility", u8_, text_len + 2, None),
            ("flags", u8_, text_len + 3, Some((0, 5))),
            ("level", u8_, text_len + 3, Some((5, 3))),
            ("caller_id", u32_, b.off("printk_info.caller_id")?, None),
            ("dev_info", devinfo, b.off("printk_info.dev_info")?, None),
        ];
        let info_size = b.size("printk_info")?;
        let info = b.strukt_at("printk_info", info_size, &info_members);
        let (desc_p, info_p, char_p) = (ptr(&mut b, desc), ptr(&mut b, info), ptr(&mut b, char_));
        let desc_ring = b.strukt(
            "prb_desc_ring",
            &[
                ("count_bits", uint),
                ("descs", desc_p),
                ("infos", info_p),
                ("head_id", atomic),
                ("tail_id", atomic),
            ],
        )?;
        let data_ring = b.strukt(
            "prb_data_ring",
            &[
                ("size_bits", uint),
                ("data", char_p),
                ("head_lpos", atomic),
                ("tail_lpos", atomic),
            ],
        )?;
        b.strukt(
            "printk_ringbuffer",
            &[
                ("desc_ring", desc_ring),
                ("text_data_ring", data_ring),
                ("fail", atomic),
            ],
        )?;
    } else if vi.symbol("log_buf").is_some() {
        let dict_len = b.off("printk_log.dict_len")?;
        let mut members = vec![
            ("ts_nsec", u64_, b.off("printk_log.ts_nsec")?, None),
            ("len", u16_, b.off("printk_log.len")?, None),
            ("text_len", u16_, b.off("printk_log.text_len")?, None),
            ("dict_len", u16_, dict_len, None),
            ("facility", u8_, dict_len + 2, None),
            ("flags", u8_, dict_len + 3, Some((0, 5))),
            ("level", u8_, dict_len + 3, Some((5, 3))),
        ];
        if let Ok(off) = b.off("printk_log.caller_id") {
            members.push(("caller_id", u32_, off, None));
        }
        let size = b.size("printk_log")?;
        b.strukt_at("printk_log", size, &members);
    } else {
        return Err(VmcoreinfoLogError::NoLogBuffer);
    }
    Ok(b.t)
}

/// VMCOREINFO's `SYMBOL(name)=address` lines.
struct VmcoreSymbols(HashMap<String, u64>);

impl SymbolSource for VmcoreSymbols {
    fn by_name(&self, name: &str) -> Option<Symbol> {
        self.0.get(name).map(|&addr| Symbol {
            name: name.into(),
            addr,
            size: None,
            kind: 'D',
            module: None,
        })
    }
    fn by_addr(&self, _addr: u64) -> Option<Symbol> {
        None
    }
}

/// A program over the dump's memory that can read the kernel log and nothing else.
pub fn printk_program(dump: Arc<Dump>) -> Result<Program, VmcoreinfoLogError> {
    let vi = dump
        .vmcoreinfo()
        .cloned()
        .ok_or(VmcoreinfoLogError::NoVmcoreinfo)?;
    let table = printk_types(&vi)?;
    let syms = vi
        .entries()
        .keys()
        .filter_map(|k| k.strip_prefix("SYMBOL(")?.strip_suffix(')'))
        .filter_map(|n| Some((n.to_string(), vi.symbol(n)?)))
        .collect();
    let mem = Arc::new(KernelMemory::new(dump.clone())?);
    let mut types = Types::new();
    types.add_source(Arc::new(table));
    let mut symbols = Symbols::new();
    symbols.add_source(Arc::new(VmcoreSymbols(syms)));
    Ok(ProgramBuilder::new(mem.clone())
        .dump(dump, Some(mem))
        .types(types)
        .symbols(symbols)
        .build())
}
