//! A small synthetic x86_64 kernel, complete enough for `sys`, `ps` and `log`: VMCOREINFO,
//! kallsyms tables, BTF, `init_task` and two more tasks on the task list, a runqueue, the
//! utsname, the timekeeper and a printk ring buffer with a panic message.
//!
//! Everything lives in the kernel image mapping (`0xffffffff81000000` + offset = physical offset,
//! through `NUMBER(phys_base)`), so no page tables are needed beyond an empty top-level table.
//! [`vmcore`] writes the memory as an ELF vmcore. The structure layouts are this crate's own,
//! described by the BTF it writes; what matters is that the kernel helpers find them through
//! the types, as they do on a real kernel.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use crate::btf::{BtfBuilder, INT_CHAR, INT_SIGNED};
use crate::elf::{core_aligned, load, note};
use crate::kallsyms::{sym, tables, Addresses};

/// Virtual address of physical 0.
pub const KBASE: u64 = 0xffff_ffff_8100_0000;
/// `__START_KERNEL_map`.
const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// `page_offset_base` (the direct map is never read: nothing lives there).
const DIRECT_MAP: u64 = 0xffff_8880_0000_0000;
const PF_KTHREAD: u32 = 0x0020_0000;

/// The synthetic kernel: its physical memory, VMCOREINFO, and where things are.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub phys: Vec<u8>,
    pub vmcoreinfo: String,
    /// Virtual addresses of the symbols.
    pub symbols: BTreeMap<&'static str, u64>,
    /// Physical range of the kernel data structures (tasks, printk, ...): what fuzz patches hit.
    pub data: Range<usize>,
    /// `task_struct` addresses: `init_task`, `init` (pid 1), `kthreadd` (pid 2).
    pub tasks: [u64; 3],
    /// Offset of `tasks` (the task-list `list_head`) in `struct task_struct`.
    pub tasks_offset: u64,
}

/// Byte layout of the structures, as the BTF describes them.
mod layout {
    pub const TASK_SIZE: u32 = 0xc0;
    pub const TASK_STATE: u32 = 0x00;
    pub const TASK_FLAGS: u32 = 0x04;
    pub const TASK_CPU: u32 = 0x08;
    pub const TASK_TASKS: u32 = 0x10;
    pub const TASK_MM: u32 = 0x20;
    pub const TASK_EXIT_STATE: u32 = 0x28;
    pub const TASK_PID: u32 = 0x2c;
    pub const TASK_TGID: u32 = 0x30;
    pub const TASK_PARENT: u32 = 0x38;
    pub const TASK_THREAD_GROUP: u32 = 0x40;
    pub const TASK_PID_LINKS: u32 = 0x50;
    pub const TASK_COMM: u32 = 0x90;
    pub const TASK_START: u32 = 0xa0;
    pub const TASK_SE: u32 = 0xa8;
    pub const TASK_UTIME: u32 = 0xb0;
    pub const TASK_STIME: u32 = 0xb8;
    pub const MM_SIZE: u32 = 0x28;
    pub const INFO_SIZE: u32 = 88;
    pub const DESC_SIZE: u32 = 24;
    pub const UTS_FIELD: u32 = 65;
}
use layout::*;

/// The BTF of the synthetic kernel.
pub fn btf() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let char_ = b.int("char", 1, INT_CHAR);
    let u8_ = b.int("unsigned char", 1, 0);
    let u16_ = b.int("short unsigned int", 2, 0);
    let int = b.int("int", 4, INT_SIGNED);
    let uint = b.int("unsigned int", 4, 0);
    let long = b.int("long int", 8, INT_SIGNED);
    let ulong = b.int("long unsigned int", 8, 0);
    let s64 = b.int("long long int", 8, INT_SIGNED);
    let u64_ = b.int("long long unsigned int", 8, 0);
    let bits = |n: u32| n * 8;
    let atomic = b.struct_("", 4, &[("counter", int, 0, 0)]);
    b.typedef("atomic_t", atomic);
    let atomic_long = b.struct_("", 8, &[("counter", long, 0, 0)]);
    let atomic_long_t = b.typedef("atomic_long_t", atomic_long);
    let comm = b.array(char_, int, 16);
    let uts_field = b.array(char_, int, UTS_FIELD);

    let task_fwd = b.fwd("task_struct", false);
    let task_ptr = b.ptr(task_fwd);
    let lh_fwd = b.fwd("list_head", false);
    let lh_ptr = b.ptr(lh_fwd);
    let list_head = b.struct_(
        "list_head",
        16,
        &[("next", lh_ptr, 0, 0), ("prev", lh_ptr, 64, 0)],
    );
    let hn_fwd = b.fwd("hlist_node", false);
    let hn_ptr = b.ptr(hn_fwd);
    let hn_pptr = b.ptr(hn_ptr);
    let hlist_node = b.struct_(
        "hlist_node",
        16,
        &[("next", hn_ptr, 0, 0), ("pprev", hn_pptr, 64, 0)],
    );
    let hlist_head = b.struct_("hlist_head", 8, &[("first", hn_ptr, 0, 0)]);
    let pid_links = b.array(hlist_node, int, 4);
    let se = b.struct_("sched_entity", 8, &[("sum_exec_runtime", u64_, 0, 0)]);
    let counts = b.array(atomic_long_t, int, 4);
    let rss = b.struct_("mm_rss_stat", 32, &[("count", counts, 0, 0)]);
    let mm = b.struct_(
        "mm_struct",
        MM_SIZE,
        &[("total_vm", ulong, 0, 0), ("rss_stat", rss, 64, 0)],
    );
    let mm_ptr = b.ptr(mm);
    b.struct_(
        "task_struct",
        TASK_SIZE,
        &[
            ("__state", uint, bits(TASK_STATE), 0),
            ("flags", uint, bits(TASK_FLAGS), 0),
            ("cpu", uint, bits(TASK_CPU), 0),
            ("tasks", list_head, bits(TASK_TASKS), 0),
            ("mm", mm_ptr, bits(TASK_MM), 0),
            ("exit_state", int, bits(TASK_EXIT_STATE), 0),
            ("pid", int, bits(TASK_PID), 0),
            ("tgid", int, bits(TASK_TGID), 0),
            ("real_parent", task_ptr, bits(TASK_PARENT), 0),
            ("thread_group", list_head, bits(TASK_THREAD_GROUP), 0),
            ("pid_links", pid_links, bits(TASK_PID_LINKS), 0),
            ("comm", comm, bits(TASK_COMM), 0),
            ("start_time", u64_, bits(TASK_START), 0),
            ("se", se, bits(TASK_SE), 0),
            ("utime", u64_, bits(TASK_UTIME), 0),
            ("stime", u64_, bits(TASK_STIME), 0),
        ],
    );
    b.struct_(
        "rq",
        16,
        &[("curr", task_ptr, 0, 0), ("idle", task_ptr, 64, 0)],
    );
    let names = [
        "sysname",
        "nodename",
        "release",
        "version",
        "machine",
        "domainname",
    ];
    let fields: Vec<(&str, u32, u32, u32)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, uts_field, bits(i as u32 * UTS_FIELD), 0))
        .collect();
    let new_uts = b.struct_("new_utsname", 6 * UTS_FIELD, &fields);
    b.struct_("uts_namespace", 392, &[("name", new_uts, 0, 0)]);
    let tkr = b.struct_(
        "tk_read_base",
        24,
        &[
            ("base", s64, 0, 0),
            ("shift", uint, 64, 0),
            ("xtime_nsec", u64_, 128, 0),
        ],
    );
    let tk = b.struct_(
        "timekeeper",
        40,
        &[
            ("tkr_mono", tkr, 0, 0),
            ("xtime_sec", u64_, 192, 0),
            ("offs_boot", s64, 256, 0),
        ],
    );
    b.struct_(
        "tk_data",
        48,
        &[("seq", uint, 0, 0), ("timekeeper", tk, 64, 0)],
    );
    let void_ptr = b.ptr(0);
    let xarray = b.struct_(
        "xarray",
        16,
        &[("xa_lock", uint, 0, 0), ("xa_head", void_ptr, 64, 0)],
    );
    let idr = b.struct_(
        "idr",
        24,
        &[("idr_rt", xarray, 0, 0), ("idr_base", uint, 128, 0)],
    );
    b.struct_("pid_namespace", 32, &[("idr", idr, 0, 0)]);
    let slots = b.array(void_ptr, int, 64);
    b.struct_(
        "xa_node",
        0x228,
        &[("shift", u8_, 0, 0), ("slots", slots, bits(0x28), 0)],
    );
    let pid_tasks = b.array(hlist_head, int, 4);
    b.struct_(
        "pid",
        48,
        &[("count", uint, 0, 0), ("tasks", pid_tasks, 128, 0)],
    );
    b.struct_("pglist_data", 16, &[("node_present_pages", ulong, 0, 0)]);

    let lpos = b.struct_(
        "prb_data_blk_lpos",
        16,
        &[("begin", ulong, 0, 0), ("next", ulong, 64, 0)],
    );
    b.struct_(
        "prb_desc",
        DESC_SIZE,
        &[
            ("state_var", atomic_long_t, 0, 0),
            ("text_blk_lpos", lpos, 64, 0),
        ],
    );
    let subsystem = b.array(char_, int, 16);
    let device = b.array(char_, int, 48);
    let dev_info = b.struct_(
        "dev_printk_info",
        64,
        &[("subsystem", subsystem, 0, 0), ("device", device, 128, 0)],
    );
    b.struct_(
        "printk_info",
        INFO_SIZE,
        &[
            ("seq", u64_, 0, 0),
            ("ts_nsec", u64_, 64, 0),
            ("text_len", u16_, 128, 0),
            ("facility", u8_, 144, 0),
            ("flags", u8_, 152, 5),
            ("level", u8_, 157, 3),
            ("caller_id", uint, 160, 0),
            ("dev_info", dev_info, 192, 0),
        ],
    );
    let desc_fwd = b.fwd("prb_desc", false);
    let info_fwd = b.fwd("printk_info", false);
    let (desc_ptr, info_ptr, char_ptr) = (b.ptr(desc_fwd), b.ptr(info_fwd), b.ptr(char_));
    let desc_ring = b.struct_(
        "prb_desc_ring",
        40,
        &[
            ("count_bits", uint, 0, 0),
            ("descs", desc_ptr, 64, 0),
            ("infos", info_ptr, 128, 0),
            ("head_id", atomic_long_t, 192, 0),
            ("tail_id", atomic_long_t, 256, 0),
        ],
    );
    let data_ring = b.struct_(
        "prb_data_ring",
        16,
        &[("size_bits", uint, 0, 0), ("data", char_ptr, 64, 0)],
    );
    b.struct_(
        "printk_ringbuffer",
        64,
        &[
            ("desc_ring", desc_ring, 0, 0),
            ("text_data_ring", data_ring, 320, 0),
            ("fail", atomic_long_t, 448, 0),
        ],
    );
    b.build()
}

/// Physical memory being laid out: a bump allocator that names what it places.
struct Image {
    phys: Vec<u8>,
    symbols: BTreeMap<&'static str, u64>,
}

impl Image {
    fn alloc(&mut self, size: usize, align: usize) -> usize {
        let at = self.phys.len().next_multiple_of(align);
        self.phys.resize(at + size, 0);
        at
    }
    /// Places a named object; returns its physical offset.
    fn global(&mut self, name: &'static str, size: usize) -> usize {
        let at = self.alloc(size, 64);
        self.symbols.insert(name, KBASE + at as u64);
        at
    }
    fn put(&mut self, at: usize, bytes: &[u8]) {
        self.phys[at..at + bytes.len()].copy_from_slice(bytes);
    }
    fn u64(&mut self, at: usize, v: u64) {
        self.put(at, &v.to_le_bytes());
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.put(at, &v.to_le_bytes());
    }
}

fn va(phys: usize) -> u64 {
    KBASE + phys as u64
}

/// The synthetic kernel, built once.
pub fn kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| build(0))
}

/// The synthetic kernel with `extra` more kernel threads (pids 3, 4, ... named `worker/N`) on
/// the task list after `kthreadd`, counted by `nr_threads`: a big machine's task count in a
/// small image (192 bytes a task).
pub fn kernel_with_threads(extra: usize) -> Kernel {
    build(extra)
}

fn build(extra: usize) -> Kernel {
    let mut m = Image {
        phys: vec![0; 0x1000],
        symbols: BTreeMap::new(),
    };
    m.symbols.insert("_stext", KBASE);
    let data_start = m.phys.len();

    // Tasks: init_task (idle), init (pid 1, with an mm), kthreadd (pid 2).
    let t0 = m.global("init_task", TASK_SIZE as usize);
    let t1 = m.alloc(TASK_SIZE as usize, 64);
    let t2 = m.alloc(TASK_SIZE as usize, 64);
    let workers: Vec<usize> = (0..extra)
        .map(|_| m.alloc(TASK_SIZE as usize, 64))
        .collect();
    let mm = m.alloc(MM_SIZE as usize, 64);
    let tasks = [t0, t1, t2];
    let mut specs: Vec<(usize, i32, String, u32, usize)> = vec![
        (t0, 0, "swapper/0".into(), PF_KTHREAD, 0),
        (t1, 1, "init".into(), 0, mm),
        (t2, 2, "kthreadd".into(), PF_KTHREAD, 0),
    ];
    specs.extend(
        workers
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as i32 + 3, format!("worker/{i}"), PF_KTHREAD, 0)),
    );
    let list: Vec<usize> = specs.iter().map(|s| s.0).collect();
    for (i, &(t, pid, ref comm, flags, mm)) in specs.iter().enumerate() {
        m.u32(t + TASK_STATE as usize, if pid == 1 { 0 } else { 1 });
        m.u32(t + TASK_FLAGS as usize, flags);
        m.u32(t + TASK_PID as usize, pid as u32);
        m.u32(t + TASK_TGID as usize, pid as u32);
        m.u64(t + TASK_MM as usize, if mm == 0 { 0 } else { va(mm) });
        m.u64(t + TASK_PARENT as usize, va(t0));
        let next = list[(i + 1) % list.len()] + TASK_TASKS as usize;
        let prev = list[(i + list.len() - 1) % list.len()] + TASK_TASKS as usize;
        m.u64(t + TASK_TASKS as usize, va(next));
        m.u64(t + TASK_TASKS as usize + 8, va(prev));
        let tg = va(t + TASK_THREAD_GROUP as usize);
        m.u64(t + TASK_THREAD_GROUP as usize, tg);
        m.u64(t + TASK_THREAD_GROUP as usize + 8, tg);
        m.put(t + TASK_COMM as usize, comm.as_bytes());
        m.u64(t + TASK_START as usize, 1_000_000 * pid as u64);
        m.u64(t + TASK_SE as usize, 5_000_000 + pid as u64);
        m.u64(t + TASK_UTIME as usize, 2_000_000);
        m.u64(t + TASK_STIME as usize, 3_000_000);
    }
    m.u64(mm, 1000); // total_vm
    m.u64(mm + 8, 40); // MM_FILEPAGES
    m.u64(mm + 16, 60); // MM_ANONPAGES

    let rq = m.global("runqueues", 16);
    m.u64(rq, va(t1));
    m.u64(rq + 8, va(t0));
    let pco = m.global("__per_cpu_offset", 8);
    m.u64(pco, 0);
    for name in [
        "__cpu_possible_mask",
        "__cpu_online_mask",
        "__cpu_present_mask",
    ] {
        let at = m.global(name, 8);
        m.u64(at, 1);
    }
    let nr = m.global("nr_cpu_ids", 4);
    m.u32(nr, 1);
    let nr = m.global("nr_threads", 4);
    m.u32(nr, 2 + extra as u32);
    m.global("init_pid_ns", 32);
    let pm = m.global("pid_max", 4);
    m.u32(pm, 32768);

    let uts = m.global("init_uts_ns", 392);
    let fields = [
        "Linux",
        "synth",
        "6.1.0-synthetic",
        "#1 SMP PREEMPT_DYNAMIC",
        "x86_64",
        "(none)",
    ];
    for (i, f) in fields.iter().enumerate() {
        m.put(uts + i * UTS_FIELD as usize, f.as_bytes());
    }
    let tk = m.global("tk_core", 48) + 8;
    m.u64(tk, 7_000_000_000); // tkr_mono.base
    m.u64(tk + 24, 1_700_000_000); // xtime_sec
    let avenrun = m.global("avenrun", 24);
    for (i, v) in [2048u64, 1024, 512].into_iter().enumerate() {
        m.u64(avenrun + 8 * i, v);
    }
    let khz = m.global("cpu_khz", 4);
    m.u32(khz, 2_000_000);
    let pg = m.global("contig_page_data", 16);
    m.u64(pg, 0x8000);
    let hm = m.global("high_memory", 8);
    m.u64(hm, DIRECT_MAP + (128 << 20));
    let pob = m.global("page_offset_base", 8);
    m.u64(pob, DIRECT_MAP);
    m.global("tainted_mask", 8);
    m.global("panic_cpu", 4);

    printk(&mut m);
    let data = data_start..m.phys.len();

    let blob = btf();
    let at = m.global("__start_BTF", blob.len());
    m.put(at, &blob);
    m.symbols.insert("__stop_BTF", va(at + blob.len()));
    let mut vmcoreinfo = format!(
        "OSRELEASE=6.1.0-synthetic\nPAGESIZE=4096\nSYMBOL(init_top_pgt)={KBASE:x}\nNUMBER(phys_base)={}\n\
         NUMBER(pgtable_l5_enabled)=0\nKERNELOFFSET=0\n",
        -((KBASE - START_KERNEL_MAP) as i64)
    );
    vmcoreinfo += &kallsyms(&mut m);
    Kernel {
        symbols: m.symbols,
        phys: m.phys,
        vmcoreinfo,
        data,
        tasks: tasks.map(va),
        tasks_offset: TASK_TASKS as u64,
    }
}

/// The printk ring buffer (`prb`): 16 descriptors, a 1 KiB text ring, four records.
fn printk(m: &mut Image) {
    const COUNT_BITS: u32 = 4;
    const SIZE_BITS: u32 = 10;
    const FINALIZED: u64 = 2 << 62;
    let texts = [
        "Linux version 6.1.0-synthetic (kdive) #1 SMP PREEMPT_DYNAMIC",
        "Command line: console=ttyS0",
        "sysrq: Trigger a crash",
        "Kernel panic - not syncing: synthetic crash",
    ];
    let descs = m.alloc((DESC_SIZE << COUNT_BITS) as usize, 64);
    let infos = m.alloc((INFO_SIZE << COUNT_BITS) as usize, 64);
    let ring = m.alloc(1 << SIZE_BITS, 64);
    let mut lpos = 0usize;
    for (id, text) in texts.iter().enumerate() {
        let d = descs + id * DESC_SIZE as usize;
        let next = lpos + (8 + text.len()).next_multiple_of(8);
        m.u64(d, FINALIZED | id as u64);
        m.u64(d + 8, lpos as u64);
        m.u64(d + 16, next as u64);
        let i = infos + id * INFO_SIZE as usize;
        m.u64(i, id as u64);
        m.u64(i + 8, 1_000_000 * (id as u64 + 1));
        m.put(i + 16, &(text.len() as u16).to_le_bytes());
        m.put(i + 19, &[if id == 3 { 0 } else { 6 << 5 }]);
        m.u64(ring + lpos, id as u64);
        m.put(ring + lpos + 8, text.as_bytes());
        lpos = next;
    }
    let rb = m.alloc(64, 64);
    m.u32(rb, COUNT_BITS);
    m.u64(rb + 8, va(descs));
    m.u64(rb + 16, va(infos));
    m.u64(rb + 24, texts.len() as u64 - 1); // head_id
    m.u64(rb + 32, 0); // tail_id
    m.u32(rb + 40, SIZE_BITS);
    m.u64(rb + 48, va(ring));
    let prb = m.global("prb", 8);
    m.u64(prb, va(rb));
}

/// Writes the kallsyms tables (relative offsets) for every symbol placed so far; returns their
/// VMCOREINFO lines.
fn kallsyms(m: &mut Image) -> String {
    let syms: Vec<_> = m
        .symbols
        .iter()
        .map(|(&name, &addr)| {
            let local = name.starts_with('_') && name != "_stext";
            sym(name, if local { 'd' } else { 'D' }, addr)
        })
        .collect();
    let len = tables(&syms, 0, Addresses::Relative, false).bytes.len();
    let at = m.alloc(len, 8);
    let t = tables(&syms, va(at), Addresses::Relative, false);
    m.put(at, &t.bytes);
    t.vmcoreinfo
}

/// An ELF64 x86_64 vmcore: one `PT_NOTE` with the VMCOREINFO note, one `PT_LOAD` of `phys` at
/// physical address 0 (virtual [`KBASE`]), its data page-aligned in the file.
pub fn vmcore(phys: &[u8], vmcoreinfo: &str) -> Vec<u8> {
    let mut image = load(0, phys.to_vec());
    image.vaddr = KBASE;
    core_aligned(
        &note("VMCOREINFO", 0, vmcoreinfo.as_bytes()),
        &[image],
        4096,
    )
}

/// A machine without `/proc/kcore` whose memory is read through a device, under `root`:
/// `dev/NAME` holds the synthetic kernel's physical memory (file offset = physical address)
/// then, on the page after it, the VMCOREINFO note; `proc/iomem` lists that as one
/// `System RAM` range with a nested line, and a reserved range after it; and
/// `sys/kernel/vmcoreinfo` gives the note's physical address and size as the kernel prints
/// them (`"%lx %x"`). Returns the device's path and the note's physical address.
pub fn memory_device_root(
    root: &std::path::Path,
    name: &str,
    phys: &[u8],
    vmcoreinfo: &str,
) -> std::io::Result<(std::path::PathBuf, u64)> {
    let note_at = phys.len().next_multiple_of(4096);
    let n = note("VMCOREINFO", 0, vmcoreinfo.as_bytes());
    let mut mem = phys.to_vec();
    mem.resize(note_at, 0);
    mem.extend_from_slice(&n);
    mem.resize(mem.len().next_multiple_of(4096), 0);
    for d in ["dev", "proc", "sys/kernel"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let dev = root.join("dev").join(name);
    std::fs::write(&dev, &mem)?;
    std::fs::write(
        root.join("proc/iomem"),
        format!(
            "00000000-{:08x} : System RAM\n  00001000-00001fff : Kernel code\n{:08x}-{:08x} : Reserved\n",
            mem.len() - 1,
            mem.len(),
            mem.len() + 0xf_ffff
        ),
    )?;
    std::fs::write(
        root.join("sys/kernel/vmcoreinfo"),
        // as the kernel prints it: "%pa %x"
        format!("{note_at:#018x} {:x}\n", n.len()),
    )?;
    Ok((dev, note_at as u64))
}

/// `/proc/kcore` of the synthetic kernel, laid out as `fs/proc/kcore.c` writes it: notes
/// `CORE`/`NT_PRSTATUS` (all zeros: no CPU stopped), `CORE`/`NT_PRPSINFO` (`vmlinux`, the
/// command line), `CORE`/`NT_TASKSTRUCT` (the reading task's `task_struct`) and `VMCOREINFO`;
/// then `PT_LOAD`s for the kernel text (`KCORE_TEXT`, physical address `__pa_symbol`), a vmalloc
/// area (`KCORE_VMALLOC`, no physical address) and RAM in the direct map (`KCORE_RAM`), each
/// data page-aligned in the file.
pub fn kcore(phys: &[u8], vmcoreinfo: &str, task: &[u8]) -> Vec<u8> {
    use crate::elf::{core_aligned, Load};
    let mut psinfo = vec![0u8; 136];
    psinfo[1] = b'R'; // pr_sname
    psinfo[40..47].copy_from_slice(b"vmlinux");
    let cmdline = b"console=ttyS0 root=/dev/vda";
    psinfo[56..56 + cmdline.len()].copy_from_slice(cmdline);
    let mut notes = note("CORE", 1, &[0u8; 336]);
    notes.extend(note("CORE", 3, &psinfo));
    notes.extend(note("CORE", 4, task));
    notes.extend(note("VMCOREINFO", 0, vmcoreinfo.as_bytes()));
    let ram_len = phys.len().next_multiple_of(4096);
    let mut ram = phys.to_vec();
    ram.resize(ram_len, 0);
    let segment = |vaddr: u64, paddr: u64, data: Vec<u8>| Load {
        paddr,
        vaddr,
        memsz: data.len() as u64,
        data,
    };
    core_aligned(
        &notes,
        &[
            segment(KBASE, 0, ram.clone()),
            segment(0xffff_c900_0000_0000, u64::MAX, vec![0u8; 4096]),
            segment(DIRECT_MAP, 0, ram),
        ],
        4096,
    )
}
