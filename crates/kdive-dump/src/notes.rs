//! ELF notes a dump carries: VMCOREINFO and per-CPU register sets.
//!
//! The same note buffer format appears in ELF vmcores (`PT_NOTE`) and in kdump-compressed files
//! (`offset_note` of the sub-header), so [`parse_notes`] takes plain bytes and knows no container.

use crate::Endian;

/// `n_type` of `NT_PRSTATUS` (`CORE` notes).
pub const NT_PRSTATUS: u32 = 1;
/// `n_type` of `NT_PRPSINFO` (`CORE` notes; `/proc/kcore` has one).
pub const NT_PRPSINFO: u32 = 3;
/// `n_type` of `NT_TASKSTRUCT` (`CORE` notes; `/proc/kcore` has one).
pub const NT_TASKSTRUCT: u32 = 4;

/// `n_type` of a device dump note (`LINUX` name): a driver's dump of its device's state,
/// added to `/proc/vmcore` by `vmcore_add_device_dump()` (vmcoredd).
pub const NT_VMCOREDD: u32 = 0x700;
/// Bytes of the device's name at the start of an `NT_VMCOREDD` note's descriptor
/// (`VMCOREDD_MAX_NAME_BYTES`).
pub const VMCOREDD_NAME_BYTES: usize = 44;

/// One device dump (`NT_VMCOREDD` note).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceDump {
    /// The device's name, as its driver gave it.
    pub name: String,
    /// Where the dump's data starts: in the note buffer as parsed, in the file once the
    /// container has added the buffer's own offset.
    pub offset: u64,
    /// The dump's data (the descriptor after the name).
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// Where `struct elf_prstatus` keeps `pr_pid` and `pr_reg`, and the size of one register.
struct PrStatusLayout {
    pid: usize,
    reg: usize,
    /// `pr_fpvalid` and its padding after `pr_reg`.
    tail: usize,
    word: usize,
}

/// 64-bit machines (same on x86_64 and aarch64).
const PRSTATUS64: PrStatusLayout = PrStatusLayout {
    pid: 32,
    reg: 112,
    tail: 8,
    word: 8,
};
/// 32-bit machines (i386, arm): `long`s, 4-byte `struct timeval` halves.
const PRSTATUS32: PrStatusLayout = PrStatusLayout {
    pid: 24,
    reg: 72,
    tail: 4,
    word: 4,
};
/// Offset of `pr_pid` in the 64-bit `struct elf_prpsinfo`.
const PRPSINFO_PID: usize = 24;
/// Offset of `pr_fname[16]` in the 64-bit `struct elf_prpsinfo`, followed by `pr_psargs[80]`.
const PRPSINFO_FNAME: usize = 40;

/// One `NT_PRSTATUS` note: the registers of a CPU when the dump was taken.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PrStatus {
    /// `pr_pid`: the pid of the task that was running (0 for idle). QEMU writes the CPU
    /// number plus one here instead.
    pub pid: u32,
    /// General registers in the architecture's `elf_gregset_t` order
    /// (x86_64: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs;
    /// aarch64: x0..x30 sp pc pstate; i386: ebx ecx edx esi edi ebp eax ds es fs gs orig_eax eip
    /// cs eflags esp ss; arm: r0..r15 cpsr orig_r0). The count is `(descsz - 120) / 8` on
    /// 64-bit machines, `(descsz - 76) / 4` on 32-bit ones.
    pub regs: Vec<u64>,
}

/// One segment register as QEMU saves it (`QEMUCPUSegment`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QemuSegment {
    pub selector: u32,
    pub limit: u32,
    pub flags: u32,
    pub base: u64,
}

/// One QEMU CPU state note (`QEMU` name, type 0, `QEMUCPUState` of `target/i386/arch_dump.c`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct QemuCpuState {
    /// `QEMUCPUState.version` (1 so far).
    pub version: u32,
    /// `QEMUCPUState.size`: 432 without, 440 with `kernel_gs_base`.
    pub size: u32,
    /// General registers: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags.
    pub regs: Vec<u64>,
    pub cs: QemuSegment,
    pub ds: QemuSegment,
    pub es: QemuSegment,
    pub fs: QemuSegment,
    pub gs: QemuSegment,
    pub ss: QemuSegment,
    pub ldt: QemuSegment,
    pub tr: QemuSegment,
    /// Only `limit` and `base` are meaningful for the descriptor tables.
    pub gdt: QemuSegment,
    pub idt: QemuSegment,
    /// cr0, cr1, cr2, cr3, cr4.
    pub cr: [u64; 5],
    /// Base of the `gs` segment (the per-CPU area while in the kernel); same as `gs.base`.
    pub gs_base: u64,
    /// `MSR_KERNEL_GS_BASE` (the swapped-out gs base; the per-CPU area while in user mode),
    /// when the note is large enough to hold it (QEMU 5.0 and later).
    pub kernel_gs_base: Option<u64>,
}

/// The parts of `NT_PRPSINFO` that identify a core's producer.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PrPsInfo {
    pub pid: u32,
    /// `pr_fname` (`/proc/kcore` writes `vmlinux`).
    pub fname: String,
    /// `pr_psargs` (`/proc/kcore` writes the kernel command line).
    pub psargs: String,
}

/// A note the parser does not decode, kept for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OtherNote {
    pub name: String,
    pub n_type: u32,
    pub desc_len: usize,
}

/// What a walk over an ELF note buffer found.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    /// Text of the first `VMCOREINFO` note, trailing NULs removed.
    pub vmcoreinfo: Option<String>,
    /// `CORE`/`NT_PRSTATUS` notes in note order (one per CPU in vmcores).
    pub prstatus: Vec<PrStatus>,
    /// `QEMU` CPU state notes in note order.
    pub qemu_cpus: Vec<QemuCpuState>,
    /// `CORE`/`NT_PRPSINFO`, if any.
    pub prpsinfo: Option<PrPsInfo>,
    /// A `CORE`/`NT_TASKSTRUCT` note was present (`/proc/kcore`).
    pub task_struct: bool,
    /// `LINUX`/`NT_VMCOREDD` device dumps in note order.
    pub device_dumps: Vec<DeviceDump>,
    /// Notes not decoded above.
    pub other: Vec<OtherNote>,
    /// Bytes at the end of the buffer that were not a well-formed note (0 when the walk ended cleanly).
    pub trailing_garbage: usize,
}

/// Parses a buffer of little-endian ELF64 notes; see [`parse_notes_endian`].
pub fn parse_notes(data: &[u8]) -> Notes {
    parse_notes_endian(data, Endian::Little)
}

/// Parses a buffer of ELF notes of a 64-bit machine; see [`parse_notes_of`].
pub fn parse_notes_endian(data: &[u8], endian: Endian) -> Notes {
    parse_notes_of(data, endian, false)
}

/// Parses a buffer of ELF notes (`Elf64_Nhdr`/`Elf32_Nhdr` + name + desc, each padded to 4
/// bytes); `long32`: the dumped machine is a 32-bit one, whose `NT_PRSTATUS` has the 32-bit
/// layout. The buffer needs no alignment. Stops at the first malformed note and keeps what came
/// before; an all-zero header (the padding the kernel leaves after the last note) ends the walk
/// cleanly.
pub fn parse_notes_of(data: &[u8], endian: Endian, long32: bool) -> Notes {
    let rd = Rd { endian, long32 };
    let mut notes = Notes::default();
    let mut pos = 0usize;
    while pos < data.len() {
        let Some(note) = next_note(&rd, data, pos) else {
            let rest = &data[pos..];
            // Zero padding after the last note is normal, not garbage.
            if rest.iter().any(|&b| b != 0) {
                notes.trailing_garbage = rest.len();
            }
            break;
        };
        if trim_nul(note.name) == b"LINUX" && note.n_type == NT_VMCOREDD {
            notes
                .device_dumps
                .push(device_dump(note.desc, note.desc_at));
        } else {
            notes.add(&rd, note.name, note.n_type, note.desc);
        }
        pos = note.next;
    }
    notes
}

/// A device dump from its note's descriptor found at `desc_at` in the buffer: the name, then
/// the data.
fn device_dump(desc: &[u8], desc_at: usize) -> DeviceDump {
    let cut = desc.len().min(VMCOREDD_NAME_BYTES);
    DeviceDump {
        name: c_string(&desc[..cut]),
        offset: (desc_at + cut) as u64,
        data: desc[cut..].to_vec(),
    }
}

/// `NT_GNU_BUILD_ID`: the `GNU` note holding a build's identifier.
pub const NT_GNU_BUILD_ID: u32 = 3;

/// The build-id (lower-case hex) of the first `GNU`/`NT_GNU_BUILD_ID` note in a buffer of ELF
/// notes, such as `/sys/kernel/notes` (the running kernel's `.notes` section, native order).
pub fn gnu_build_id(data: &[u8], endian: Endian) -> Option<String> {
    let rd = Rd {
        endian,
        long32: false,
    };
    let mut pos = 0usize;
    // each note advances `pos` by at least its 12-byte header
    while let Some(note) = next_note(&rd, data, pos) {
        if trim_nul(note.name) == b"GNU" && note.n_type == NT_GNU_BUILD_ID && !note.desc.is_empty()
        {
            return Some(note.desc.iter().map(|b| format!("{b:02x}")).collect());
        }
        pos = note.next;
    }
    None
}

struct RawNote<'a> {
    name: &'a [u8],
    n_type: u32,
    desc: &'a [u8],
    /// Where `desc` starts in the buffer.
    desc_at: usize,
    next: usize,
}

fn next_note<'a>(rd: &Rd, data: &'a [u8], pos: usize) -> Option<RawNote<'a>> {
    let namesz = rd.u32(data, pos)? as usize;
    let descsz = rd.u32(data, pos + 4)? as usize;
    let n_type = rd.u32(data, pos + 8)?;
    if namesz == 0 && descsz == 0 && n_type == 0 {
        return None;
    }
    let name_at = pos + 12;
    let desc_at = name_at.checked_add(align4(namesz)?)?;
    let next = desc_at.checked_add(align4(descsz)?)?;
    let name = data.get(name_at..name_at + namesz)?;
    let desc = data.get(desc_at..desc_at.checked_add(descsz)?)?;
    // The padding of the last note may be missing at the very end of the buffer.
    Some(RawNote {
        name,
        n_type,
        desc,
        desc_at,
        next: next.min(data.len()),
    })
}

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|v| v & !3)
}

/// A note name without its terminating NUL(s).
fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

fn c_string(b: &[u8]) -> String {
    String::from_utf8_lossy(trim_nul(b)).into_owned()
}

impl Notes {
    /// Moves the device dumps' offsets from the buffer's start to the file's, for a buffer
    /// found at `base` in the file.
    pub fn locate_at(&mut self, base: u64) {
        for d in &mut self.device_dumps {
            d.offset = d.offset.saturating_add(base);
        }
    }

    /// Appends the notes of a later buffer (several `PT_NOTE` segments); the first VMCOREINFO and
    /// PRPSINFO win.
    pub fn extend(&mut self, later: Notes) {
        if self.vmcoreinfo.is_none() {
            self.vmcoreinfo = later.vmcoreinfo;
        }
        if self.prpsinfo.is_none() {
            self.prpsinfo = later.prpsinfo;
        }
        self.prstatus.extend(later.prstatus);
        self.qemu_cpus.extend(later.qemu_cpus);
        self.task_struct |= later.task_struct;
        self.device_dumps.extend(later.device_dumps);
        self.other.extend(later.other);
        self.trailing_garbage += later.trailing_garbage;
    }

    fn add(&mut self, rd: &Rd, name: &[u8], n_type: u32, desc: &[u8]) {
        let name = trim_nul(name);
        let decoded = match (name, n_type) {
            (b"CORE", NT_PRSTATUS) => parse_prstatus(rd, desc)
                .map(|p| self.prstatus.push(p))
                .is_some(),
            (b"CORE", NT_PRPSINFO) if self.prpsinfo.is_none() => {
                self.prpsinfo = parse_prpsinfo(rd, desc);
                self.prpsinfo.is_some()
            }
            (b"CORE", NT_TASKSTRUCT) => {
                self.task_struct = true;
                true
            }
            (b"QEMU", _) => parse_qemu(rd, desc)
                .map(|q| self.qemu_cpus.push(q))
                .is_some(),
            (b"VMCOREINFO", _) if self.vmcoreinfo.is_none() => {
                let text = String::from_utf8_lossy(desc);
                self.vmcoreinfo = Some(text.trim_end_matches('\0').to_string());
                true
            }
            _ => false,
        };
        if !decoded {
            self.other.push(OtherNote {
                name: String::from_utf8_lossy(name).into_owned(),
                n_type,
                desc_len: desc.len(),
            });
        }
    }
}

fn parse_prstatus(rd: &Rd, desc: &[u8]) -> Option<PrStatus> {
    let l = if rd.long32 { &PRSTATUS32 } else { &PRSTATUS64 };
    let pid = rd.u32(desc, l.pid)?;
    let nregs = desc.len().checked_sub(l.reg + l.tail)? / l.word;
    let regs = (0..nregs)
        .map(|i| {
            let at = l.reg + l.word * i;
            if rd.long32 {
                rd.u32(desc, at).map(u64::from)
            } else {
                rd.u64(desc, at)
            }
        })
        .collect::<Option<Vec<u64>>>()?;
    Some(PrStatus { pid, regs })
}

fn parse_prpsinfo(rd: &Rd, desc: &[u8]) -> Option<PrPsInfo> {
    let pid = rd.u32(desc, PRPSINFO_PID)?;
    let fname = c_string(desc.get(PRPSINFO_FNAME..PRPSINFO_FNAME + 16)?);
    let psargs = desc
        .get(PRPSINFO_FNAME + 16..)
        .map(|b| c_string(&b[..b.len().min(80)]))
        .unwrap_or_default();
    Some(PrPsInfo { pid, fname, psargs })
}

/// `QEMUCPUState` layout: version, size, 18 u64 registers, 10 segments of 24 bytes, cr[5],
/// then `kernel_gs_base` (QEMU 5.0+).
fn parse_qemu(rd: &Rd, desc: &[u8]) -> Option<QemuCpuState> {
    const REGS: usize = 8;
    const SEGS: usize = REGS + 18 * 8;
    const CR: usize = SEGS + 10 * 24;
    const KGS: usize = CR + 5 * 8;
    let version = rd.u32(desc, 0)?;
    let size = rd.u32(desc, 4)?;
    let regs = (0..18)
        .map(|i| rd.u64(desc, REGS + 8 * i))
        .collect::<Option<Vec<u64>>>()?;
    let seg = |i: usize| -> Option<QemuSegment> {
        let at = SEGS + 24 * i;
        Some(QemuSegment {
            selector: rd.u32(desc, at)?,
            limit: rd.u32(desc, at + 4)?,
            flags: rd.u32(desc, at + 8)?,
            base: rd.u64(desc, at + 16)?,
        })
    };
    let mut cr = [0u64; 5];
    for (i, c) in cr.iter_mut().enumerate() {
        *c = rd.u64(desc, CR + 8 * i)?;
    }
    let gs = seg(4)?;
    // Trust `size` only as far as the note really reaches.
    let kernel_gs_base = if (size as usize) >= KGS + 8 {
        rd.u64(desc, KGS)
    } else {
        None
    };
    Some(QemuCpuState {
        version,
        size,
        regs,
        cs: seg(0)?,
        ds: seg(1)?,
        es: seg(2)?,
        fs: seg(3)?,
        gs,
        ss: seg(5)?,
        ldt: seg(6)?,
        tr: seg(7)?,
        gdt: seg(8)?,
        idt: seg(9)?,
        cr,
        gs_base: gs.base,
        kernel_gs_base,
    })
}

/// Bounds-checked integer reads in the dump's byte order.
struct Rd {
    endian: Endian,
    /// A 32-bit machine's notes.
    long32: bool,
}

impl Rd {
    fn u32(&self, b: &[u8], at: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self.endian {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        })
    }
    fn u64(&self, b: &[u8], at: usize) -> Option<u64> {
        let a: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(match self.endian {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        })
    }
}

/// Builders for synthetic notes, shared by the unit tests of this crate.
#[cfg(test)]
mod tests {
    use super::*;
    use kdive_testdata::elf::{note, prstatus, prstatus32, qemu};

    #[test]
    fn prstatus_of_32_bit_machines() {
        // arm: 18 registers (r0..r15, cpsr, orig_r0); i386: 17
        for nregs in [18, 17] {
            let n = parse_notes_of(&prstatus32(1234, 0x100, nregs), Endian::Little, true);
            assert_eq!(n.prstatus.len(), 1);
            assert_eq!(n.prstatus[0].pid, 1234);
            assert_eq!(n.prstatus[0].regs.len(), nregs);
            assert_eq!(n.prstatus[0].regs[15], 0x100 + 15);
        }
        // read at the 64-bit layout, the pid would be a register
        let wrong = parse_notes(&prstatus32(1234, 0x100, 18));
        assert_ne!(wrong.prstatus.first().map(|p| p.pid), Some(1234));
    }

    #[test]
    fn device_dumps_with_their_offsets() {
        // vmcoredd: `LINUX` name, type 0x700, a 44-byte device name then the data
        let mut desc = b"cxgb4_0000:02:00.4".to_vec();
        desc.resize(VMCOREDD_NAME_BYTES, 0);
        desc.extend_from_slice(&[0xab; 20]);
        let mut buf = prstatus(565, 0x1000);
        let at = buf.len();
        buf.extend(note("LINUX", NT_VMCOREDD, &desc));
        let mut n = parse_notes(&buf);
        assert_eq!(n.prstatus.len(), 1);
        assert_eq!(n.device_dumps.len(), 1);
        let d = &n.device_dumps[0];
        assert_eq!(d.name, "cxgb4_0000:02:00.4");
        assert_eq!(d.data, vec![0xab; 20]);
        // header (12) + "LINUX\0" padded to 8, then the name
        assert_eq!(d.offset, (at + 12 + 8 + VMCOREDD_NAME_BYTES) as u64);
        assert!(n.other.is_empty());
        n.locate_at(0x1000);
        assert_eq!(n.device_dumps[0].offset, (0x1000 + at + 64) as u64);
    }

    fn sample() -> Vec<u8> {
        let mut v = prstatus(565, 0x1000);
        v.extend(prstatus(0, 0x2000));
        v.extend(note(
            "VMCOREINFO",
            0,
            b"OSRELEASE=6.1.0\nPAGESIZE=4096\n\0\0",
        ));
        v.extend(qemu(0x3000, 0xffff_8880_0000_0000, 0x7f00));
        v
    }

    #[test]
    fn parses_all_kinds() {
        let n = parse_notes(&sample());
        assert_eq!(n.prstatus.len(), 2);
        assert_eq!(n.prstatus[0].pid, 565);
        assert_eq!(n.prstatus[0].regs.len(), 27);
        assert_eq!(n.prstatus[0].regs[16], 0x1000 + 16); // rip
        assert_eq!(n.prstatus[1].regs[19], 0x2000 + 19); // rsp
        assert_eq!(
            n.vmcoreinfo.as_deref(),
            Some("OSRELEASE=6.1.0\nPAGESIZE=4096\n")
        );
        assert_eq!(n.qemu_cpus.len(), 1);
        let q = &n.qemu_cpus[0];
        assert_eq!((q.version, q.size), (1, 440));
        assert_eq!(q.regs.len(), 18);
        assert_eq!(q.regs[16], 0x3000 + 16); // rip
        assert_eq!(q.cr, [0xc0, 0xc1, 0xc2, 0xc3, 0xc4]);
        assert_eq!(q.gs_base, 0xffff_8880_0000_0000);
        assert_eq!(q.gs.selector, 0x18);
        assert_eq!(q.kernel_gs_base, Some(0x7f00));
        assert!(n.other.is_empty());
        assert_eq!(n.trailing_garbage, 0);
    }

    #[test]
    fn stops_at_malformed_and_keeps_earlier() {
        let full = sample();
        // Every truncation point: never panics, keeps a prefix of the notes.
        for cut in 0..full.len() {
            let n = parse_notes(&full[..cut]);
            assert!(n.prstatus.len() <= 2);
            if cut >= 356 {
                assert_eq!(n.prstatus.len(), 1 + usize::from(cut >= 712), "cut {cut}");
            }
        }
        // A huge descsz in the second note.
        let mut bad = full.clone();
        bad[356 + 4..356 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let n = parse_notes(&bad);
        assert_eq!(n.prstatus.len(), 1);
        assert!(n.vmcoreinfo.is_none());
        assert!(n.trailing_garbage > 0);
    }

    #[test]
    fn zero_padding_ends_cleanly_and_unaligned_buffers_work() {
        let mut v = vec![0u8; 1];
        v.extend(sample());
        v.extend([0u8; 24]);
        let n = parse_notes(&v[1..]);
        assert_eq!(
            (n.prstatus.len(), n.qemu_cpus.len(), n.trailing_garbage),
            (2, 1, 0)
        );
    }

    #[test]
    fn short_descs_are_other_notes() {
        let mut v = note("CORE", NT_PRSTATUS, &[0u8; 40]);
        v.extend(note("QEMU", 0, &[0u8; 100]));
        v.extend(note("Xen", 0x2000001, &[1, 2, 3]));
        let n = parse_notes(&v);
        assert!(n.prstatus.is_empty() && n.qemu_cpus.is_empty());
        let names: Vec<_> = n.other.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["CORE", "QEMU", "Xen"]);
    }

    #[test]
    fn kcore_notes() {
        let mut ps = vec![0u8; 136];
        ps[24..28].copy_from_slice(&1u32.to_le_bytes());
        ps[40..47].copy_from_slice(b"vmlinux");
        ps[56..66].copy_from_slice(b"root=/dev/");
        let mut v = note("CORE", NT_PRPSINFO, &ps);
        v.extend(note("CORE", NT_TASKSTRUCT, &[0u8; 64]));
        let n = parse_notes(&v);
        let p = n.prpsinfo.expect("prpsinfo");
        assert_eq!(
            (p.fname.as_str(), p.psargs.as_str()),
            ("vmlinux", "root=/dev/")
        );
        assert!(n.task_struct);
    }

    #[test]
    fn big_endian() {
        let mut d = vec![0u8; 336];
        d[32..36].copy_from_slice(&7u32.to_be_bytes());
        d[112..120].copy_from_slice(&0x1122u64.to_be_bytes());
        let mut v = Vec::new();
        v.extend(5u32.to_be_bytes());
        v.extend(336u32.to_be_bytes());
        v.extend(1u32.to_be_bytes());
        v.extend(b"CORE\0\0\0\0");
        v.extend(d);
        let n = parse_notes_endian(&v, Endian::Big);
        assert_eq!(n.prstatus[0].pid, 7);
        assert_eq!(n.prstatus[0].regs[0], 0x1122);
    }
}
