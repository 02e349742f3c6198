//! BPF programs and maps loaded in the kernel (`prog_idr`, `map_idr`).

use kdive_debuginfo::TypeKind;
use kdive_program::{Program, Result};

use crate::xarray::xa_entries;

/// A loaded BPF program.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BpfProg {
    pub id: u64,
    /// Its `struct bpf_prog` and `struct bpf_prog_aux`.
    pub addr: u64,
    pub aux: u64,
    /// `enum bpf_prog_type`, by its name without `BPF_PROG_TYPE_`.
    pub kind: String,
    /// The program's tag (a hash of its instructions), 8 bytes.
    pub tag: [u8; 8],
    /// The maps it uses (their `struct bpf_map` addresses).
    pub used_maps: Vec<u64>,
    /// Instructions (`len`), their size in bytes, and the JITed image's length and address.
    pub insns: u64,
    pub insn_bytes: u64,
    pub jited_len: u64,
    pub bpf_func: u64,
    /// Nanoseconds since boot it was loaded at.
    pub load_time_ns: Option<u64>,
    pub gpl_compatible: Option<bool>,
    pub name: String,
    pub uid: Option<u32>,
}

/// A BPF map.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BpfMap {
    pub id: u64,
    pub addr: u64,
    /// `enum bpf_map_type`, by its name without `BPF_MAP_TYPE_`.
    pub kind: String,
    pub flags: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub name: String,
}

/// The name of enumerator `value` of `spec` without `prefix`, or the number.
fn enum_name(prog: &Program, spec: &str, prefix: &str, value: i64) -> String {
    let named = prog.type_(spec).ok().and_then(|t| {
        let (_, t) = prog.types().resolve(t).ok()?;
        match &t.kind {
            TypeKind::Enum { values, .. } => values
                .iter()
                .find(|(_, v)| *v == value)
                .map(|(n, _)| n.trim_start_matches(prefix).to_string()),
            _ => None,
        }
    });
    named.unwrap_or_else(|| value.to_string())
}

/// The longest enumerator name of `spec` without `prefix` (crash sizes its columns by it).
pub fn enum_width(prog: &Program, spec: &str, prefix: &str) -> usize {
    prog.type_(spec)
        .ok()
        .and_then(|t| {
            let (_, t) = prog.types().resolve(t).ok()?;
            match &t.kind {
                TypeKind::Enum { values, .. } => values
                    .iter()
                    .map(|(n, _)| n.trim_start_matches(prefix).len())
                    .max(),
                _ => None,
            }
        })
        .unwrap_or(0)
}

/// The entries of the IDR `name` (a `struct idr` symbol): (ID, pointer).
fn idr(
    prog: &Program,
    name: &str,
    limit: usize,
    problems: &mut Vec<String>,
) -> Result<Vec<(u64, u64)>> {
    let rt = prog
        .object("struct idr", prog.symbol_address(name)?)?
        .member("idr_rt")?;
    let walk = xa_entries(prog, rt.address().unwrap_or(0), limit)?;
    problems.extend(walk.errors.iter().map(|e| format!("{name}: {e}")));
    Ok(walk.entries.iter().map(|e| (e.index, e.value)).collect())
}

fn name16(o: &kdive_program::Object<'_>) -> String {
    o.member("name")
        .and_then(|n| n.read_string(16))
        .unwrap_or_default()
}

/// Every loaded program and map, by ID; and what could not be read.
pub fn bpf_objects(
    prog: &Program,
    limit: usize,
) -> Result<(Vec<BpfProg>, Vec<BpfMap>, Vec<String>)> {
    let mut problems = Vec::new();
    let mut progs = Vec::new();
    for (id, addr) in idr(prog, "prog_idr", limit, &mut problems)? {
        let read = || -> Result<BpfProg> {
            let p = prog.object("struct bpf_prog", addr)?;
            let aux = p.member("aux")?;
            let aux_addr = aux.read_u64()?;
            let mut tag = [0u8; 8];
            prog.read(p.member("tag")?.address().unwrap_or(0), &mut tag)?;
            let n = aux.member("used_map_cnt")?.read_u64()?.min(1024);
            let maps = aux.member("used_maps")?.read_u64()?;
            let used_maps = (0..n)
                .map(|i| prog.read_u64(maps + 8 * i))
                .collect::<Result<Vec<u64>>>()?;
            let insns = p.member("len")?.read_u64()?;
            let insn_size = prog.types().size_of(prog.type_("struct bpf_insn")?)?;
            let uid = aux
                .member("user")
                .and_then(|u| u.member("uid.val")?.read_u64())
                .ok()
                .map(|u| u as u32);
            Ok(BpfProg {
                id,
                addr,
                aux: aux_addr,
                kind: enum_name(
                    prog,
                    "enum bpf_prog_type",
                    "BPF_PROG_TYPE_",
                    p.member("type")?.read_i64()?,
                ),
                tag,
                used_maps,
                insns,
                insn_bytes: insns.saturating_mul(insn_size),
                jited_len: p.member("jited_len")?.read_u64()?,
                bpf_func: p.member("bpf_func")?.read_u64()?,
                load_time_ns: aux.member("load_time").and_then(|t| t.read_u64()).ok(),
                gpl_compatible: p
                    .member("gpl_compatible")
                    .and_then(|g| g.read_u64())
                    .ok()
                    .map(|g| g != 0),
                name: name16(&aux.deref()?),
                uid,
            })
        };
        match read() {
            Ok(p) => progs.push(p),
            Err(e) => problems.push(format!("bpf_prog {id} at {addr:#x}: {e}")),
        }
    }
    let mut maps = Vec::new();
    for (id, addr) in idr(prog, "map_idr", limit, &mut problems)? {
        let read = || -> Result<BpfMap> {
            let m = prog.object("struct bpf_map", addr)?;
            let u = |f: &str| m.member(f).and_then(|v| v.read_u64()).map(|v| v as u32);
            Ok(BpfMap {
                id,
                addr,
                kind: enum_name(
                    prog,
                    "enum bpf_map_type",
                    "BPF_MAP_TYPE_",
                    m.member("map_type")?.read_i64()?,
                ),
                flags: u("map_flags")?,
                key_size: u("key_size")?,
                value_size: u("value_size")?,
                max_entries: u("max_entries")?,
                name: name16(&m),
            })
        };
        match read() {
            Ok(m) => maps.push(m),
            Err(e) => problems.push(format!("bpf_map {id} at {addr:#x}: {e}")),
        }
    }
    Ok((progs, maps, problems))
}

/// Most instructions read of one program (`BPF_COMPLEXITY_LIMIT_INSNS` is a million).
const MAX_INSNS: u64 = 1 << 20;

/// The program's translated instructions (`bpf_prog.insnsi[len]`), as bytes.
pub fn prog_insns(prog: &Program, p: &BpfProg) -> Result<Vec<u8>> {
    let ty = prog.type_("struct bpf_prog")?;
    let at = p
        .addr
        .wrapping_add(kdive_program::object::offset_of(prog, ty, "insnsi")?);
    let mut buf = vec![0u8; (p.insns.min(MAX_INSNS) * crate::bpf_insn::INSN_SIZE as u64) as usize];
    prog.read(at, &mut buf)?;
    Ok(buf)
}

/// Names for the instruction listing from the kernel: helper functions from the verifier's
/// `func_id_str[]` (or the kernel function a call's immediate reaches from `__bpf_call_base`),
/// maps by the IDs of `maps` (`(struct bpf_map address, ID)`).
pub struct KernelNames<'p> {
    pub prog: &'p Program,
    pub maps: Vec<(u64, u64)>,
}

impl crate::bpf_insn::Names for KernelNames<'_> {
    fn helper(&self, insn: &crate::bpf_insn::Insn) -> Option<String> {
        let max = enum_value(self.prog, "enum bpf_func_id", "__BPF_FUNC_MAX_ID");
        if insn.imm >= 0 && max.is_some_and(|m| i64::from(insn.imm) < m) {
            let table = self.prog.symbol_address("func_id_str").ok()?;
            let ptr = self.prog.read_u64(table + 8 * insn.imm as u64).ok()?;
            return self
                .prog
                .object("char", ptr)
                .and_then(|o| o.address_of()?.read_string(64))
                .ok()
                .filter(|s| !s.is_empty());
        }
        let base = self.prog.symbol_address("__bpf_call_base").ok()?;
        let target = base.wrapping_add(insn.imm as i64 as u64);
        match self.prog.symbols().by_addr(target) {
            Some((s, 0)) => Some(s.name.to_string()),
            _ => None,
        }
    }

    fn map(&self, addr: u64) -> Option<String> {
        self.maps
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, id)| format!("map[id:{id}]"))
    }
}

/// The value of enumerator `name` of `spec`.
fn enum_value(prog: &Program, spec: &str, name: &str) -> Option<i64> {
    let t = prog.type_(spec).ok()?;
    let (_, t) = prog.types().resolve(t).ok()?;
    match &t.kind {
        TypeKind::Enum { values, .. } => values.iter().find(|(n, _)| &**n == name).map(|(_, v)| *v),
        _ => None,
    }
}
