//! BTF: the compact type format the kernel carries in memory (`__start_BTF`..`__stop_BTF`, and
//! `mod->btf_data` for modules), read zero-copy into the shared [`Type`] model.
//!
//! [`BtfSource::parse`] keeps the blob and builds one table, the offset of every type record (a
//! single pass, a few milliseconds for vmlinux). Records become [`Type`]s on first [`get`](TypeSource::get)
//! and are cached per type id; names are interned. The name index behind [`find`](TypeSource::find)
//! is built on first use: a hash table of type ids, the names left in the blob.
//!
//! How BTF kinds map onto [`TypeKind`]:
//! - `INT` → `Int`, `FLOAT` → `Float`, `PTR` → `Pointer`, `ARRAY` → `Array`, `TYPEDEF` → `Typedef`,
//!   `CONST`/`VOLATILE`/`RESTRICT` → `Qualified`, `FWD` → `Fwd` (kind_flag = union);
//! - `STRUCT`/`UNION` → `Struct`/`Union`; with kind_flag, members carry their bitfield width
//!   (old-style bitfields encoded in the member's `INT` are not decoded; pahole uses kind_flag);
//! - `ENUM`/`ENUM64` → `Enum`, signed when kind_flag is set (values are the raw bits as `i64`);
//! - `FUNC` → `Function` named after the function (the signature of its `FUNC_PROTO`);
//!   `FUNC_PROTO` → unnamed `Function`; a trailing `void` parameter without name means variadic;
//! - `VAR` → `Typedef` named after the variable, targeting the variable's type;
//! - `DATASEC` → `Struct` named after the section (`.data..percpu`), one member per variable at its
//!   offset in the section, typed with the variable's type;
//! - `DECL_TAG`, `TYPE_TAG` → unnamed `Typedef` of their target. References to a `TYPE_TAG`
//!   (`__rcu`, `__user`, ... on clang-built kernels) are peeled: a member typed
//!   `struct foo __rcu *` points straight at `struct foo`.
//!
//! Type id 0 is `void` and is handed out as [`TypeId::VOID`].
//!
//! Lookups ([`find`](TypeSource::find), [`BtfSource::find_var`], ...) see a blob's own types only
//! (module BTF does not answer for vmlinux's), never return a `FWD`, and return the lowest id when
//! several types share a name. `NameKind::Base` also accepts any C spelling of an integer type
//! (`unsigned long` finds GCC's `long unsigned int`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::hash::{name_hash, HashSlots};
use crate::types::{Member, NameKind, Qualifier, Type, TypeId, TypeKind, TypeSource};
use crate::{DebugInfoError, Result};

/// `btf_header.magic` as stored in the blob's byte order.
pub const BTF_MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;
/// `struct btf_type`: name_off, info, size/type.
const RECORD_LEN: usize = 12;
/// Bound on `TYPE_TAG` chains peeled from references.
const MAX_TAG_CHAIN: usize = 32;
/// Type ids per chunk of the cache of converted types.
const CACHE_CHUNK: usize = 1024;
/// One chunk of the cache of converted types.
type CacheChunk = Box<[OnceLock<Arc<Type>>]>;

/// BTF kinds (`BTF_KIND_*` of `include/uapi/linux/btf.h`).
pub mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

/// Bytes of kind-specific data after the record of a `kind` with `vlen` entries; `None` if unknown.
fn extra_len(k: u32, vlen: usize) -> Option<usize> {
    Some(match k {
        kind::INT | kind::VAR | kind::DECL_TAG => 4,
        kind::ARRAY => 12,
        kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 12 * vlen,
        kind::ENUM | kind::FUNC_PROTO => 8 * vlen,
        kind::PTR
        | kind::FWD
        | kind::TYPEDEF
        | kind::VOLATILE
        | kind::CONST
        | kind::RESTRICT
        | kind::FUNC
        | kind::FLOAT
        | kind::TYPE_TAG => 0,
        _ => return None,
    })
}

fn malformed(what: &'static str, offset: usize, detail: impl Into<String>) -> DebugInfoError {
    DebugInfoError::Malformed {
        what,
        offset: offset as u64,
        detail: detail.into(),
    }
}

/// The types of one group of namespaces by name (the names stay in the blob), and the
/// C spellings of integer types by their canonical form.
struct NameIndex {
    by_name: HashSlots,
    ints: HashMap<String, u32>,
}

/// The hash a type is indexed under: its name's, told apart per namespace.
fn ns_hash(ns: Ns, name: &[u8]) -> u64 {
    name_hash(name) ^ (ns.slot() as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Name-index namespaces: the shared [`NameKind`]s plus BTF's own variables, functions, sections.
#[derive(Clone, Copy)]
enum Ns {
    Kind(NameKind),
    Var,
    Func,
    Datasec,
}

impl Ns {
    fn slot(self) -> usize {
        match self {
            Ns::Kind(NameKind::Struct) => 0,
            Ns::Kind(NameKind::Union) => 1,
            Ns::Kind(NameKind::Enum) => 2,
            Ns::Kind(NameKind::Typedef) => 3,
            Ns::Kind(NameKind::Base) => 4,
            Ns::Var => 5,
            Ns::Func => 6,
            Ns::Datasec => 7,
        }
    }
    /// Which of the two lazily built indexes holds the namespace: types (0) or symbols (1).
    fn group(self) -> usize {
        usize::from(self.slot() >= 5)
    }
    /// The namespace a record of kind `k` is indexed under (FWDs and anonymous kinds are not).
    fn of_kind(k: u32) -> Option<Ns> {
        Some(match k {
            kind::STRUCT => Ns::Kind(NameKind::Struct),
            kind::UNION => Ns::Kind(NameKind::Union),
            kind::ENUM | kind::ENUM64 => Ns::Kind(NameKind::Enum),
            kind::TYPEDEF => Ns::Kind(NameKind::Typedef),
            kind::INT | kind::FLOAT => Ns::Kind(NameKind::Base),
            kind::VAR => Ns::Var,
            kind::FUNC => Ns::Func,
            kind::DATASEC => Ns::Datasec,
            _ => return None,
        })
    }
}

/// The spelling-independent form of a C integer type name: `unsigned long` and GCC's
/// `long unsigned int` both become `unsigned long`. `None` if `name` is not an integer type name.
pub fn canonical_int_name(name: &str) -> Option<String> {
    let (mut unsigned, mut signed, mut longs, mut short, mut char, mut int) =
        (false, false, 0, false, false, false);
    for w in name.split_whitespace() {
        match w {
            "unsigned" => unsigned = true,
            "signed" => signed = true,
            "long" => longs += 1,
            "short" => short = true,
            "char" => char = true,
            "int" => int = true,
            _ => return None,
        }
    }
    if unsigned && signed {
        return None;
    }
    if char {
        if longs > 0 || short || int {
            return None;
        }
        return Some(
            if signed {
                "signed char"
            } else if unsigned {
                "unsigned char"
            } else {
                "char"
            }
            .into(),
        );
    }
    let base = match (short, longs) {
        (true, 0) => "short",
        (false, 0) if int || signed || unsigned => "int",
        (false, 1) => "long",
        (false, 2) => "long long",
        _ => return None,
    };
    Some(if unsigned {
        format!("unsigned {base}")
    } else {
        base.into()
    })
}

/// One `struct btf_type` record, located in the blob of the source that owns it.
#[derive(Clone, Copy)]
struct Record<'a> {
    owner: &'a BtfSource,
    id: u32,
    off: usize,
    name_off: u32,
    info: u32,
    /// `size` or `type`, depending on the kind.
    size_type: u32,
}

impl Record<'_> {
    fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }
    fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }
    fn kflag(&self) -> bool {
        self.info >> 31 != 0
    }
    /// The `i`-th u32 of the data following the record.
    fn data(&self, i: usize) -> Result<u32> {
        self.owner
            .u32_at(self.off + RECORD_LEN + 4 * i)
            .ok_or_else(|| {
                malformed(
                    "BTF type",
                    self.off,
                    format!("type {}: kind-specific data truncated (word {i})", self.id),
                )
            })
    }
}

/// A BTF blob as a [`TypeSource`]: vmlinux BTF ([`parse`](Self::parse)) or module BTF on top of it
/// ([`new_split`](Self::new_split)).
pub struct BtfSource {
    blob: Box<dyn AsRef<[u8]> + Send + Sync>,
    big_endian: bool,
    /// The provider number the [`TypeId`]s of this blob's own types carry.
    src: u16,
    /// For split BTF: the base and the provider number of its types.
    base: Option<(Arc<BtfSource>, u16)>,
    /// The first type id of this blob (1, or the base's [`type_count`](Self::type_count)).
    first_id: u32,
    /// Blob offset of the record of type `first_id + i`.
    offsets: Vec<u32>,
    /// This blob's string section: blob range, and the string offset it starts at (the base's length).
    strs: std::ops::Range<usize>,
    str_base: u32,
    /// Converted types, in chunks of [`CACHE_CHUNK`] ids allocated on first use.
    cache: Vec<OnceLock<CacheChunk>>,
    void: Arc<Type>,
    names: Mutex<HashMap<u32, Arc<str>>>,
    /// Name indexes, built on first use: types, and variables/functions/sections.
    index: [OnceLock<NameIndex>; 2],
}

impl std::fmt::Debug for BtfSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BtfSource")
            .field("src", &self.src)
            .field("first_id", &self.first_id)
            .field("types", &self.offsets.len())
            .field("bytes", &self.bytes().len())
            .field("split", &self.base.is_some())
            .finish()
    }
}

impl BtfSource {
    /// Parses a complete (vmlinux) BTF blob; bytes after the string section are ignored. `src` is the
    /// provider number [`Types::add_source`](crate::Types::add_source) will assign
    /// ([`Types::next_source_id`](crate::Types::next_source_id)).
    pub fn parse(bytes: impl AsRef<[u8]> + Send + Sync + 'static, src: u16) -> Result<BtfSource> {
        Self::parse_inner(Box::new(bytes), src, None)
    }

    /// Parses split BTF (a module's) whose ids and strings continue those of `base`; `base_src` is
    /// the provider number of `base`, `src` this blob's.
    pub fn new_split(
        base: Arc<BtfSource>,
        base_src: u16,
        bytes: impl AsRef<[u8]> + Send + Sync + 'static,
        src: u16,
    ) -> Result<BtfSource> {
        Self::parse_inner(Box::new(bytes), src, Some((base, base_src)))
    }

    fn parse_inner(
        blob: Box<dyn AsRef<[u8]> + Send + Sync>,
        src: u16,
        base: Option<(Arc<BtfSource>, u16)>,
    ) -> Result<BtfSource> {
        let b = (*blob).as_ref();
        let hdr = |what: &str| malformed("BTF header", 0, what.to_string());
        let Some(&[m0, m1, version, ..]) = b.get(..HEADER_LEN) else {
            return Err(hdr(&format!(
                "blob of {} bytes is shorter than the header",
                b.len()
            )));
        };
        let big_endian = match [m0, m1] {
            m if m == BTF_MAGIC.to_le_bytes() => false,
            m if m == BTF_MAGIC.to_be_bytes() => true,
            _ => return Err(hdr(&format!("bad magic {m0:02x} {m1:02x}"))),
        };
        if version != 1 {
            return Err(hdr(&format!("unsupported version {version}")));
        }
        if u32::try_from(b.len()).is_err() {
            return Err(hdr("blob larger than 4 GiB"));
        }
        if let Some((base, _)) = &base {
            if base.big_endian != big_endian {
                return Err(hdr("byte order differs from the base BTF"));
            }
        }
        let word = |i: usize| read_u32(b, 4 + 4 * i, big_endian).unwrap_or(0) as usize;
        let (hdr_len, type_off, type_len, str_off, str_len) =
            (word(0), word(1), word(2), word(3), word(4));
        if hdr_len < HEADER_LEN || hdr_len > b.len() {
            return Err(hdr(&format!("hdr_len {hdr_len} outside 24..={}", b.len())));
        }
        let section = |name: &str, off: usize, len: usize| match hdr_len
            .checked_add(off)
            .and_then(|start| Some(start..start.checked_add(len)?))
        {
            Some(r) if r.end <= b.len() => Ok(r),
            _ => Err(hdr(&format!(
                "{name} section {off:#x}+{len:#x} runs past the blob ({} bytes)",
                b.len()
            ))),
        };
        let types = section("type", type_off, type_len)?;
        let strs = section("string", str_off, str_len)?;
        if types.start < strs.end && strs.start < types.end {
            return Err(hdr("type and string sections overlap"));
        }
        if let Some(&last) = b.get(strs.clone()).and_then(|s| s.last()) {
            if last != 0 {
                return Err(malformed(
                    "BTF strings",
                    strs.end - 1,
                    "string section does not end with NUL",
                ));
            }
        } else if base.is_none() {
            return Err(hdr("empty string section"));
        }
        let (first_id, str_base) = match &base {
            Some((base, _)) => {
                let str_base = u32::try_from(base.strs.len())
                    .ok()
                    .and_then(|l| base.str_base.checked_add(l));
                (
                    base.type_count(),
                    str_base.ok_or_else(|| hdr("string offsets overflow"))?,
                )
            }
            None => (1, 0),
        };

        let mut offsets = Vec::with_capacity(type_len / RECORD_LEN);
        let mut pos = types.start;
        while pos < types.end {
            let id = first_id
                .checked_add(offsets.len() as u32)
                .ok_or_else(|| hdr("too many types"))?;
            let left = types.end - pos;
            let trunc = |need: usize| {
                malformed(
                    "BTF type",
                    pos,
                    format!(
                        "type {id}: record needs {need} bytes, {left} left in the type section"
                    ),
                )
            };
            if left < RECORD_LEN {
                return Err(trunc(RECORD_LEN));
            }
            let info = read_u32(b, pos + 4, big_endian).ok_or_else(|| trunc(RECORD_LEN))?;
            let (k, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            let extra = extra_len(k, vlen).ok_or_else(|| {
                malformed("BTF type", pos, format!("type {id}: unknown kind {k}"))
            })?;
            if left < RECORD_LEN + extra {
                return Err(trunc(RECORD_LEN + extra));
            }
            offsets.push(pos as u32);
            pos += RECORD_LEN + extra;
        }
        let n = offsets.len();
        Ok(BtfSource {
            blob,
            big_endian,
            src,
            base,
            first_id,
            offsets,
            strs,
            str_base,
            cache: (0..n.div_ceil(CACHE_CHUNK))
                .map(|_| OnceLock::new())
                .collect(),
            void: Arc::new(Type {
                name: Some("void".into()),
                kind: TypeKind::Void,
            }),
            names: Mutex::new(HashMap::new()),
            index: [OnceLock::new(), OnceLock::new()],
        })
    }

    /// The provider number of this blob's own types.
    pub fn src(&self) -> u16 {
        self.src
    }

    /// The first type id this blob defines (1 for vmlinux BTF).
    pub fn first_id(&self) -> u32 {
        self.first_id
    }

    /// One past the last type id (with a base: of the base's ids too); the first id of split BTF on top.
    pub fn type_count(&self) -> u32 {
        self.first_id.saturating_add(self.offsets.len() as u32)
    }

    /// One past the string offsets this blob (with a base: and the base) uses; the first string
    /// offset of split BTF on top.
    pub fn strings_end(&self) -> u32 {
        self.str_base.saturating_add(self.strs.len() as u32)
    }

    /// Whether the blob is big-endian.
    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// The `VAR` type of a variable (vmlinux BTF describes per-CPU variables); its [`Type`] is a
    /// `Typedef` named after the variable, targeting its type. Own types only, like [`TypeSource::find`].
    pub fn find_var(&self, name: &str) -> Option<u32> {
        self.lookup(Ns::Var, name)
    }

    /// The `FUNC` type of a function; its [`Type`] is the function's signature.
    pub fn find_func(&self, name: &str) -> Option<u32> {
        self.lookup(Ns::Func, name)
    }

    /// The `DATASEC` type of a section (`.data..percpu`); its [`Type`] is a `Struct` with one member per
    /// variable at its offset in the section.
    pub fn find_datasec(&self, name: &str) -> Option<u32> {
        self.lookup(Ns::Datasec, name)
    }

    fn bytes(&self) -> &[u8] {
        (*self.blob).as_ref()
    }

    fn u32_at(&self, off: usize) -> Option<u32> {
        read_u32(self.bytes(), off, self.big_endian)
    }

    /// The record of type `id` (`id` ≥ 1), looked up in the base for ids below [`first_id`](Self::first_id).
    fn record(&self, id: u32) -> Result<Record<'_>> {
        if id < self.first_id {
            return match &self.base {
                Some((base, _)) if id > 0 => base.record(id),
                _ => Err(DebugInfoError::NotFound(format!(
                    "BTF type {id} (void has no record)"
                ))),
            };
        }
        let off = *self
            .offsets
            .get((id - self.first_id) as usize)
            .ok_or_else(|| {
                DebugInfoError::NotFound(format!(
                    "BTF type {id} (this BTF has ids up to {})",
                    self.type_count() - 1
                ))
            })? as usize;
        let word = |i: usize| {
            self.u32_at(off + 4 * i)
                .ok_or_else(|| malformed("BTF type", off, format!("type {id}: record truncated")))
        };
        Ok(Record {
            owner: self,
            id,
            off,
            name_off: word(0)?,
            info: word(1)?,
            size_type: word(2)?,
        })
    }

    /// The provider number of type `id`.
    fn src_of(&self, id: u32) -> u16 {
        match &self.base {
            Some((base, base_src)) if id < self.first_id => {
                if id >= base.first_id {
                    *base_src
                } else {
                    base.src_of(id)
                }
            }
            _ => self.src,
        }
    }

    /// A reference from type `from` to type `id`, checked, with `TYPE_TAG`s peeled.
    fn type_ref(&self, mut id: u32, from: u32) -> Result<TypeId> {
        let err =
            |detail: String| malformed("BTF type", self.record(from).map_or(0, |r| r.off), detail);
        for _ in 0..MAX_TAG_CHAIN {
            if id == 0 {
                return Ok(TypeId::VOID);
            }
            if id >= self.type_count() {
                let last = self.type_count() - 1;
                return Err(err(format!(
                    "type {from} refers to type {id}, beyond the last type {last}"
                )));
            }
            let r = self.record(id)?;
            if r.kind() != kind::TYPE_TAG {
                return Ok(TypeId {
                    src: self.src_of(id),
                    idx: id,
                });
            }
            id = r.size_type;
        }
        Err(err(format!(
            "type {from}: TYPE_TAG chain longer than {MAX_TAG_CHAIN}"
        )))
    }

    /// The string at string offset `off`, from this blob's section or the base's.
    fn str_at(&self, off: u32, ctx: u32) -> Result<&str> {
        if off < self.str_base {
            if let Some((base, _)) = &self.base {
                return base.str_at(off, ctx);
            }
        }
        let rel = off.saturating_sub(self.str_base) as usize;
        let sect = self.bytes().get(self.strs.clone()).unwrap_or_default();
        let tail = sect.get(rel..).filter(|t| !t.is_empty()).ok_or_else(|| {
            malformed(
                "BTF strings",
                self.strs.start,
                format!(
                    "type {ctx}: name offset {off:#x} beyond the string section ({:#x} bytes)",
                    self.str_base as usize + sect.len()
                ),
            )
        })?;
        let len = tail.iter().position(|&c| c == 0).ok_or_else(|| {
            malformed(
                "BTF strings",
                self.strs.start + rel,
                format!("type {ctx}: unterminated name"),
            )
        })?;
        let s = &tail[..len];
        std::str::from_utf8(s).map_err(|_| {
            malformed(
                "BTF strings",
                self.strs.start + rel,
                format!("type {ctx}: name is not UTF-8"),
            )
        })
    }

    /// The interned name at string offset `off`; `None` for an empty name.
    fn name(&self, off: u32, ctx: u32) -> Result<Option<Arc<str>>> {
        if off == 0 {
            return Ok(None);
        }
        if off < self.str_base {
            if let Some((base, _)) = &self.base {
                return base.name(off, ctx);
            }
        }
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = names.get(&off) {
            return Ok(Some(n.clone()));
        }
        let s = self.str_at(off, ctx)?;
        if s.is_empty() {
            return Ok(None);
        }
        let n: Arc<str> = s.into();
        names.insert(off, n.clone());
        Ok(Some(n))
    }

    /// The bytes of the name at string offset `off` (no UTF-8 check), from this blob's
    /// section or the base's.
    fn name_bytes(&self, off: u32) -> Option<&[u8]> {
        if off < self.str_base {
            return self.base.as_ref()?.0.name_bytes(off);
        }
        let rel = (off - self.str_base) as usize;
        let tail = self.bytes().get(self.strs.clone())?.get(rel..)?;
        Some(&tail[..tail.iter().position(|&c| c == 0)?])
    }

    /// The namespace and name of own type `id`, when it is indexed in `group`.
    fn indexed(&self, id: u32, group: usize) -> Option<(Ns, &[u8])> {
        let r = self.record(id).ok()?;
        let ns = Ns::of_kind(r.kind()).filter(|ns| ns.group() == group)?;
        let name = self.name_bytes(r.name_off).filter(|n| !n.is_empty())?;
        Some((ns, name))
    }

    fn lookup(&self, ns: Ns, name: &str) -> Option<u32> {
        let group = ns.group();
        let index = self
            .index
            .get(group)?
            .get_or_init(|| self.build_index(group));
        let found = index
            .by_name
            .find(ns_hash(ns, name.as_bytes()))
            .find(|&id| {
                self.indexed(id, group)
                    .is_some_and(|(n, b)| n.slot() == ns.slot() && b == name.as_bytes())
            });
        found.or_else(|| match ns {
            Ns::Kind(NameKind::Base) => index.ints.get(&canonical_int_name(name)?).copied(),
            _ => None,
        })
    }

    /// Name → first type id with that name, per namespace of `group`, over this blob's own
    /// complete types. One pass over the records collects the hashes, then the table is sized
    /// for them.
    fn build_index(&self, group: usize) -> NameIndex {
        let mut named = Vec::new();
        let mut ints = HashMap::new();
        for (id, &off) in (self.first_id..).zip(&self.offsets) {
            let off = off as usize;
            let (Some(name_off), Some(info)) = (self.u32_at(off), self.u32_at(off + 4)) else {
                continue;
            };
            let Some(ns) = Ns::of_kind((info >> 24) & 0x1f).filter(|ns| ns.group() == group) else {
                continue;
            };
            let Some(name) = self.name_bytes(name_off).filter(|n| !n.is_empty()) else {
                continue;
            };
            named.push((ns_hash(ns, name), id));
            if matches!(ns, Ns::Kind(NameKind::Base)) {
                if let Some(c) = std::str::from_utf8(name).ok().and_then(canonical_int_name) {
                    ints.entry(c).or_insert(id);
                }
            }
        }
        let mut by_name = HashSlots::with_capacity(named.len());
        for (hash, id) in named {
            let Some((ns, name)) = self.indexed(id, group) else {
                continue;
            };
            let same = |other: u32| {
                self.indexed(other, group)
                    .is_some_and(|(n, b)| n.slot() == ns.slot() && b == name)
            };
            by_name.insert(hash, id, same);
        }
        NameIndex { by_name, ints }
    }

    /// Converts the record of own type `id` to the shared model.
    fn convert(&self, id: u32) -> Result<Type> {
        let r = self.record(id)?;
        let name = self.name(r.name_off, id)?;
        let tref = |t: u32| self.type_ref(t, id);
        let kind = match r.kind() {
            kind::INT => {
                let enc = r.data(0)? >> 24;
                TypeKind::Int {
                    size: r.size_type,
                    signed: enc & 1 != 0,
                    is_char: enc & 2 != 0,
                    is_bool: enc & 4 != 0,
                }
            }
            kind::FLOAT => TypeKind::Float { size: r.size_type },
            kind::PTR => TypeKind::Pointer {
                target: tref(r.size_type)?,
            },
            kind::ARRAY => TypeKind::Array {
                elem: tref(r.data(0)?)?,
                len: r.data(2)? as u64,
            },
            kind::STRUCT | kind::UNION => {
                let mut members = Vec::with_capacity(r.vlen());
                for i in 0..r.vlen() {
                    let (mname, ty, off) = (r.data(3 * i)?, r.data(3 * i + 1)?, r.data(3 * i + 2)?);
                    let (bit_offset, bit_size) = if r.kflag() {
                        (off & 0xff_ffff, Some(off >> 24).filter(|&s| s != 0))
                    } else {
                        (off, None)
                    };
                    members.push(Member {
                        name: self.name(mname, id)?,
                        ty: tref(ty)?,
                        bit_offset: bit_offset as u64,
                        bit_size,
                    });
                }
                let size = r.size_type as u64;
                if r.kind() == kind::STRUCT {
                    TypeKind::Struct { size, members }
                } else {
                    TypeKind::Union { size, members }
                }
            }
            kind::ENUM | kind::ENUM64 => {
                let (wide, signed) = (r.kind() == kind::ENUM64, r.kflag());
                let step = if wide { 3 } else { 2 };
                let mut values = Vec::with_capacity(r.vlen());
                for i in 0..r.vlen() {
                    let lo = r.data(step * i + 1)?;
                    let v = match (wide, signed) {
                        (true, _) => ((r.data(step * i + 2)? as u64) << 32 | lo as u64) as i64,
                        (false, true) => lo as i32 as i64,
                        (false, false) => lo as i64,
                    };
                    let n = self
                        .name(r.data(step * i)?, id)?
                        .unwrap_or_else(|| "".into());
                    values.push((n, v));
                }
                TypeKind::Enum {
                    size: r.size_type,
                    signed,
                    values,
                }
            }
            kind::FWD => TypeKind::Fwd { union: r.kflag() },
            kind::TYPEDEF | kind::VAR => TypeKind::Typedef {
                target: tref(r.size_type)?,
            },
            kind::DECL_TAG | kind::TYPE_TAG => {
                return Ok(Type {
                    name: None,
                    kind: TypeKind::Typedef {
                        target: tref(r.size_type)?,
                    },
                })
            }
            kind::CONST => TypeKind::Qualified {
                qual: Qualifier::Const,
                target: tref(r.size_type)?,
            },
            kind::VOLATILE => TypeKind::Qualified {
                qual: Qualifier::Volatile,
                target: tref(r.size_type)?,
            },
            kind::RESTRICT => TypeKind::Qualified {
                qual: Qualifier::Restrict,
                target: tref(r.size_type)?,
            },
            kind::FUNC_PROTO => self.function(&r)?,
            kind::FUNC => match self
                .record(r.size_type)
                .ok()
                .filter(|p| p.kind() == kind::FUNC_PROTO)
            {
                Some(p) => self.function(&p)?,
                None => {
                    return Err(malformed(
                        "BTF type",
                        r.off,
                        format!(
                            "type {id}: FUNC refers to type {}, not a FUNC_PROTO",
                            r.size_type
                        ),
                    ))
                }
            },
            kind::DATASEC => {
                let mut members = Vec::with_capacity(r.vlen());
                for i in 0..r.vlen() {
                    let (var, off) = (r.data(3 * i)?, r.data(3 * i + 1)?);
                    let v = self.record(var).map_err(|_| {
                        malformed(
                            "BTF type",
                            r.off,
                            format!("type {id}: section entry {i} refers to missing type {var}"),
                        )
                    })?;
                    let ty = if v.kind() == kind::VAR {
                        tref(v.size_type)?
                    } else {
                        tref(var)?
                    };
                    members.push(Member {
                        name: self.name(v.name_off, var)?,
                        ty,
                        bit_offset: off as u64 * 8,
                        bit_size: None,
                    });
                }
                TypeKind::Struct {
                    size: r.size_type as u64,
                    members,
                }
            }
            k => {
                return Err(malformed(
                    "BTF type",
                    r.off,
                    format!("type {id}: unknown kind {k}"),
                ))
            }
        };
        Ok(Type { name, kind })
    }

    /// The signature described by a `FUNC_PROTO` record (which may live in the base).
    fn function(&self, p: &Record<'_>) -> Result<TypeKind> {
        let mut params = Vec::with_capacity(p.vlen());
        let mut variadic = false;
        for i in 0..p.vlen() {
            let (pname, ty) = (p.data(2 * i)?, p.data(2 * i + 1)?);
            if i + 1 == p.vlen() && pname == 0 && ty == 0 {
                variadic = true;
                break;
            }
            params.push((self.name(pname, p.id)?, self.type_ref(ty, p.id)?));
        }
        Ok(TypeKind::Function {
            ret: self.type_ref(p.size_type, p.id)?,
            params,
            variadic,
        })
    }
}

fn read_u32(b: &[u8], off: usize, big_endian: bool) -> Option<u32> {
    let w: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    })
}

impl TypeSource for BtfSource {
    fn get(&self, idx: u32) -> Result<Arc<Type>> {
        if idx == 0 {
            return Ok(self.void.clone());
        }
        if idx < self.first_id {
            if let Some((base, _)) = &self.base {
                return base.get(idx);
            }
        }
        let at = idx.wrapping_sub(self.first_id) as usize;
        let cell = self
            .cache
            .get(at / CACHE_CHUNK)
            .map(|c| c.get_or_init(|| (0..CACHE_CHUNK).map(|_| OnceLock::new()).collect()))
            .and_then(|c| c.get(at % CACHE_CHUNK))
            .filter(|_| at < self.offsets.len())
            .ok_or_else(|| {
                DebugInfoError::NotFound(format!(
                    "BTF type {idx} (this BTF has ids up to {})",
                    self.type_count() - 1
                ))
            })?;
        if let Some(t) = cell.get() {
            return Ok(t.clone());
        }
        let t = Arc::new(self.convert(idx)?);
        Ok(cell.get_or_init(|| t).clone())
    }

    fn find(&self, kind: NameKind, name: &str) -> Option<u32> {
        self.lookup(Ns::Kind(kind), name)
    }

    fn named(&self, kind: NameKind) -> Option<Vec<(Arc<str>, u32)>> {
        let want = Ns::Kind(kind).slot();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for id in (self.first_id..).take(self.offsets.len()) {
            let Some((_, name)) = self.indexed(id, 0).filter(|(ns, _)| ns.slot() == want) else {
                continue;
            };
            if seen.insert(name) {
                out.push((Arc::from(String::from_utf8_lossy(name)), id));
            }
        }
        Some(out)
    }

    /// Scans this blob's enums (only they are converted) for the enumerator; constants are
    /// asked for rarely, so nothing is indexed.
    fn find_enumerator(&self, name: &str) -> Option<(u32, i64)> {
        (self.first_id..).zip(&self.offsets).find_map(|(id, &off)| {
            let info = self.u32_at(off as usize + 4)?;
            if !matches!((info >> 24) & 0x1f, kind::ENUM | kind::ENUM64) {
                return None;
            }
            match &self.get(id).ok()?.kind {
                TypeKind::Enum { values, .. } => values
                    .iter()
                    .find(|(n, _)| &**n == name)
                    .map(|&(_, v)| (id, v)),
                _ => None,
            }
        })
    }
}
