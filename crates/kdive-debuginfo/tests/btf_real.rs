//! BTF of real kernels, carved out of ELF dumps (the kernel image is physically contiguous, so
//! vmlinux's `.BTF` is contiguous in the file), checked against facts and the dump's VMCOREINFO.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::{NameKind, TypeId, TypeKind, TypeSource, Types};

/// `btf_header` start of a blob with hdr_len 24 and type_off 0, little-endian.
const HEADER_PREFIX: [u8; 12] = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0];

/// A BTF blob found in a dump file.
struct Blob {
    file_off: u64,
    bytes: Vec<u8>,
}

/// Every BTF blob in `path` (header prefix match, sections inside the file, strings NUL-terminated),
/// in file order; stops after `limit` blobs.
fn find_blobs(path: &Path, limit: usize) -> Vec<Blob> {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file_len = f.metadata().unwrap().len();
    let mut found = Vec::new();
    let chunk = 16 << 20;
    let mut buf = vec![0u8; chunk + 24];
    let mut pos = 0u64;
    while pos < file_len && found.len() < limit {
        f.seek(SeekFrom::Start(pos)).unwrap();
        let n = read_full(&mut f, &mut buf);
        let hay = &buf[..n];
        let mut i = 0;
        while let Some(k) = hay[i..].iter().position(|&b| b == 0x9f) {
            let at = i + k;
            i = at + 1;
            if at + 24 > n || hay[at..at + 12] != HEADER_PREFIX {
                continue;
            }
            let word = |w: usize| {
                u32::from_le_bytes(hay[at + 4 * w..at + 4 * w + 4].try_into().unwrap()) as u64
            };
            let (type_len, str_off, str_len) = (word(3), word(4), word(5));
            let total = 24 + str_off + str_len;
            if type_len == 0
                || str_len == 0
                || str_off < type_len
                || pos + at as u64 + total > file_len
            {
                continue;
            }
            let mut bytes = vec![0u8; total as usize];
            let mut g = std::fs::File::open(path).unwrap();
            g.seek(SeekFrom::Start(pos + at as u64)).unwrap();
            g.read_exact(&mut bytes).unwrap();
            if bytes.last() == Some(&0) {
                found.push(Blob {
                    file_off: pos + at as u64,
                    bytes,
                });
                if found.len() >= limit {
                    break;
                }
            }
        }
        pos += chunk as u64;
    }
    found
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// The VMCOREINFO text of the dump (the ELF note sits in the first megabyte).
fn vmcoreinfo(path: &Path) -> String {
    let mut head = vec![0u8; 1 << 20];
    let n = read_full(&mut std::fs::File::open(path).unwrap(), &mut head);
    let head = &head[..n];
    let start = head
        .windows(10)
        .position(|w| w == b"OSRELEASE=")
        .expect("VMCOREINFO in the dump");
    let len = head[start..]
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(head.len() - start);
    String::from_utf8_lossy(&head[start..start + len]).into_owned()
}

struct Kernel {
    types: Types,
    btf: Arc<BtfSource>,
    blobs: Vec<Blob>,
    vmcoreinfo: String,
}

/// vmlinux BTF of a fixture's ELF dump (the first blob of more than 1 MB that parses: the kernel's
/// `struct btf` embeds a copy of the header, followed by other data) and the other blobs.
fn load(fixture: &str, dump: &str, expected_len: usize) -> Option<Kernel> {
    kdive_testdata::corpus_or_skip(fixture)?;
    let path = kdive_testdata::fixture(fixture)
        .unwrap_or_else(|| panic!("fixture {fixture}"))
        .materialize(dump);
    let mut blobs = find_blobs(&path, 64);
    let mut types = Types::new();
    let src = types.next_source_id();
    let (at, btf) = blobs
        .iter()
        .enumerate()
        .filter(|(_, b)| b.bytes.len() > 1 << 20)
        .find_map(|(i, b)| {
            let t = Instant::now();
            let btf = BtfSource::parse(b.bytes.clone(), src).ok()?;
            eprintln!(
                "{fixture}: parsed {} types in {:?}",
                btf.type_count() - 1,
                t.elapsed()
            );
            Some((i, Arc::new(btf)))
        })
        .expect("vmlinux BTF in the dump");
    let vmlinux_len = blobs[at].bytes.len();
    eprintln!(
        "{fixture}: vmlinux BTF at file offset {:#x}, {vmlinux_len} bytes",
        blobs[at].file_off
    );
    assert_eq!(
        vmlinux_len, expected_len,
        "vmlinux BTF size (System.map __stop_BTF - __start_BTF)"
    );
    blobs.remove(at);
    assert_eq!(types.add_source(btf.clone()), src);
    let t = Instant::now();
    assert!(btf.find(NameKind::Struct, "task_struct").is_some());
    eprintln!("{fixture}: name index built in {:?}", t.elapsed());
    Some(Kernel {
        types,
        btf,
        blobs,
        vmcoreinfo: vmcoreinfo(&path),
    })
}

fn struct_id(types: &Types, name: &str) -> TypeId {
    types
        .lookup(&format!("struct {name}"))
        .unwrap_or_else(|e| panic!("struct {name}: {e}"))
}

fn byte_offset(types: &Types, ty: TypeId, member: &str) -> u64 {
    let m = types
        .member(ty, member)
        .unwrap_or_else(|e| panic!("{member}: {e}"));
    assert_eq!(m.bit_offset % 8, 0, "{member} is byte-aligned");
    m.bit_offset / 8
}

/// Facts true of both 6.1 and 6.12.
fn check_facts(k: &Kernel) {
    let types = &k.types;
    let n = k.btf.type_count() - 1;
    assert!((50_000..500_000).contains(&n), "{n} types");

    let task = struct_id(types, "task_struct");
    let task_size = types.size_of(task).unwrap();
    assert!(
        (4096..16384).contains(&task_size),
        "task_struct size {task_size}"
    );
    for m in ["pid", "comm", "tasks", "__state", "mm", "stack"] {
        assert!(types.has_member(task, m), "task_struct.{m}");
    }
    assert!(
        !types.has_member(task, "state"),
        "task_struct.state is gone since 5.14"
    );
    let pid = types.member(task, "pid").unwrap();
    assert_eq!(types.get(pid.ty).unwrap().name.as_deref(), Some("pid_t"));
    assert_eq!(types.size_of(pid.ty).unwrap(), 4);

    let comm = types.member(task, "comm").unwrap();
    let comm_off = comm.bit_offset / 8;
    assert!(
        comm_off > 1024 && comm_off + 16 <= task_size,
        "comm at {comm_off}"
    );
    let TypeKind::Array { elem, len: 16 } = types.get(comm.ty).unwrap().kind else {
        panic!("comm is char[16]")
    };
    let (_, elem) = types.resolve(elem).unwrap();
    assert!(
        matches!(elem.kind, TypeKind::Int { size: 1, .. }),
        "{elem:?}"
    );
    assert_eq!(elem.name.as_deref(), Some("char"));

    let tasks = types.member(task, "tasks").unwrap();
    assert_eq!(
        types.get(tasks.ty).unwrap().name.as_deref(),
        Some("list_head")
    );
    assert_eq!(types.size_of(struct_id(types, "list_head")).unwrap(), 16);
    assert_eq!(types.size_of(struct_id(types, "new_utsname")).unwrap(), 390);
    struct_id(types, "printk_ringbuffer");
    struct_id(types, "prb_desc_ring");

    // Pointer members: `struct mm_struct *mm`.
    let mm = types.member(task, "mm").unwrap();
    let TypeKind::Pointer { target } = types.get(mm.ty).unwrap().kind else {
        panic!("mm is a pointer")
    };
    assert_eq!(
        types.get(target).unwrap().name.as_deref(),
        Some("mm_struct")
    );

    // Base types under C spellings and GCC's.
    assert_eq!(
        types
            .size_of(types.lookup("unsigned long").unwrap())
            .unwrap(),
        8
    );
    assert_eq!(
        types.lookup("unsigned long").unwrap(),
        types.lookup("long unsigned int").unwrap()
    );
    assert_eq!(types.size_of(types.lookup("int").unwrap()).unwrap(), 4);
    assert_eq!(types.size_of(types.lookup("u64").unwrap()).unwrap(), 8);

    // Enums, functions, per-CPU variables.
    let pidtype = k
        .btf
        .find(NameKind::Enum, "pid_type")
        .expect("enum pid_type");
    let TypeKind::Enum { values, .. } = &k.btf.get(pidtype).unwrap().kind else {
        panic!()
    };
    assert_eq!(
        values.first().map(|(n, v)| (&**n, *v)),
        Some(("PIDTYPE_PID", 0))
    );
    let schedule = k.btf.find_func("schedule").expect("func schedule");
    let TypeKind::Function {
        ret,
        params,
        variadic: false,
    } = &k.btf.get(schedule).unwrap().kind
    else {
        panic!()
    };
    assert_eq!((*ret, params.len()), (TypeId::VOID, 0));
    let printk = k.btf.find_func("_printk").expect("func _printk");
    assert!(matches!(
        k.btf.get(printk).unwrap().kind,
        TypeKind::Function { variadic: true, .. }
    ));
    let percpu = k
        .btf
        .find_datasec(".data..percpu")
        .expect("DATASEC .data..percpu");
    let TypeKind::Struct { members, .. } = &k.btf.get(percpu).unwrap().kind else {
        panic!()
    };
    let rq = members
        .iter()
        .find(|m| m.name.as_deref() == Some("runqueues"))
        .expect("runqueues in .data..percpu");
    assert_eq!(types.get(rq.ty).unwrap().name.as_deref(), Some("rq"));
    let var = k.btf.find_var("runqueues").expect("VAR runqueues");
    assert!(
        matches!(k.btf.get(var).unwrap().kind, TypeKind::Typedef { target } if target == rq.ty)
    );
}

/// Every type converts; returns the time it took.
fn convert_all(btf: &BtfSource) -> std::time::Duration {
    let t = Instant::now();
    for idx in btf.first_id()..btf.type_count() {
        btf.get(idx).unwrap_or_else(|e| panic!("type {idx}: {e}"));
    }
    t.elapsed()
}

/// Every `OFFSET(s.m)=`, `SIZE(s)=`, `LENGTH(s.m)=` of VMCOREINFO whose type BTF has, recomputed
/// through [`Types`]. Returns how many were compared.
fn check_vmcoreinfo(k: &Kernel) -> usize {
    let types = &k.types;
    let find = |name: &str| {
        types
            .lookup(&format!("struct {name}"))
            .or_else(|_| types.lookup(name))
            .ok()
    };
    let (mut compared, mut skipped) = (0, Vec::new());
    for line in k.vmcoreinfo.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some((what, arg)) = key.strip_suffix(')').and_then(|k| k.split_once('(')) else {
            continue;
        };
        let Ok(want) = value.parse::<u64>() else {
            continue;
        };
        let (ty, member) = match arg.split_once('.') {
            Some((t, m)) => (t, Some(m)),
            None => (arg, None),
        };
        let Some(id) = find(ty) else {
            skipped.push(line);
            continue;
        };
        let got = match (what, member) {
            ("SIZE", None) => types.size_of(id).unwrap(),
            ("OFFSET", Some(m)) => byte_offset(types, id, m),
            ("LENGTH", Some(m)) => match types
                .resolve(types.member(id, m).unwrap().ty)
                .unwrap()
                .1
                .kind
            {
                TypeKind::Array { len, .. } => len,
                ref other => panic!("{line}: not an array: {other:?}"),
            },
            _ => {
                skipped.push(line);
                continue;
            }
        };
        assert_eq!(got, want, "{line}");
        compared += 1;
    }
    eprintln!("VMCOREINFO: {compared} entries match BTF; not types: {skipped:?}");
    compared
}

/// Module BTF found in the dump: split BTF (its strings do not start with NUL)
/// that parses on top of vmlinux and converts completely. Returns the module sources.
fn check_modules(k: &mut Kernel) -> Vec<Arc<BtfSource>> {
    let base_src = k.btf.src();
    let mut mods = Vec::new();
    for blob in &k.blobs {
        let str_off = u32::from_le_bytes(blob.bytes[16..20].try_into().unwrap()) as usize;
        let first = blob.bytes[24 + str_off];
        if !first.is_ascii_alphabetic() && first != b'_' {
            continue; // base BTF of a BPF program, or freed memory
        }
        let src = k.types.next_source_id();
        let Ok(m) = BtfSource::new_split(k.btf.clone(), base_src, blob.bytes.clone(), src) else {
            continue;
        };
        if (m.first_id()..m.type_count()).all(|i| m.get(i).is_ok()) {
            let m = Arc::new(m);
            k.types.add_source(m.clone());
            mods.push(m);
        }
    }
    mods
}

/// A module function's signature refers to vmlinux types through the base's provider number.
fn check_module_func(k: &Kernel, mods: &[Arc<BtfSource>], func: &str) {
    let (m, idx) = mods
        .iter()
        .find_map(|m| Some((m, m.find_func(func)?)))
        .unwrap_or_else(|| panic!("module func {func}"));
    assert!(idx >= k.btf.type_count(), "split ids continue vmlinux's");
    let TypeKind::Function { ret, .. } = k.types.get(TypeId { src: m.src(), idx }).unwrap().kind
    else {
        panic!()
    };
    assert_eq!(ret.src, k.btf.src(), "{func} returns a vmlinux type");
    assert_eq!(k.types.get(ret).unwrap().name.as_deref(), Some("int"));
}

#[test]
fn btf_linux_6_1() {
    let Some(mut k) = load("formats-6.1", "vmcore.elf-d31.zst", 4_119_994) else {
        return;
    };
    check_facts(&k);
    eprintln!("6.1: converted every type in {:?}", convert_all(&k.btf));
    assert!(check_vmcoreinfo(&k) >= 60);
    let mods = check_modules(&mut k);
    eprintln!("6.1: {} module BTF blobs", mods.len());
    check_module_func(&k, &mods, "pvpanic_mmio_driver_init");
}

#[test]
fn btf_linux_6_12() {
    let Some(mut k) = load("f-healthy-6.12-qemu", "vmcore.elf.zst", 4_685_889) else {
        return;
    };
    check_facts(&k);
    eprintln!("6.12: converted every type in {:?}", convert_all(&k.btf));
    assert!(check_vmcoreinfo(&k) >= 60);
    let mods = check_modules(&mut k);
    eprintln!("6.12: {} module BTF blobs", mods.len());
    check_module_func(&k, &mods, "pvpanic_mmio_driver_init");
}
