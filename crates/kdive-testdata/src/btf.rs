//! BTF written in code: [`BtfBuilder`].

use kdive_debuginfo::btf::{kind, BtfSource, BTF_MAGIC};

/// `struct btf_header` as written (version 1, no flags).
const HEADER_LEN: usize = 24;

/// `INT` encoding bit: signed.
pub const INT_SIGNED: u32 = 1;
/// `INT` encoding bit: char.
pub const INT_CHAR: u32 = 2;
/// `INT` encoding bit: bool.
pub const INT_BOOL: u32 = 4;

/// Builds a BTF blob type by type; every adder returns the new type's id.
///
/// ```
/// use kdive_debuginfo::btf::BtfSource;
/// use kdive_testdata::btf::{BtfBuilder, INT_SIGNED};
/// let mut b = BtfBuilder::new();
/// let int = b.int("int", 4, INT_SIGNED);
/// b.struct_("point", 8, &[("x", int, 0, 0), ("y", int, 32, 0)]);
/// let btf = BtfSource::parse(b.build(), 0).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    words: Vec<u32>,
    strings: Vec<u8>,
    next_id: u32,
    str_base: u32,
    big_endian: bool,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BtfBuilder {
    /// A complete BTF blob (ids from 1).
    pub fn new() -> BtfBuilder {
        BtfBuilder {
            words: Vec::new(),
            strings: vec![0],
            next_id: 1,
            str_base: 0,
            big_endian: false,
        }
    }

    /// Split BTF on top of `base`: ids continue after the base's, string offsets after its strings.
    pub fn new_split(base: &BtfSource) -> BtfBuilder {
        BtfBuilder {
            words: Vec::new(),
            strings: Vec::new(),
            next_id: base.type_count(),
            str_base: base.strings_end(),
            big_endian: base.is_big_endian(),
        }
    }

    /// Writes the blob in big-endian byte order.
    pub fn big_endian(mut self) -> BtfBuilder {
        self.big_endian = true;
        self
    }

    /// The id the next type will get.
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// Adds a string; returns its offset (0 for `""`).
    pub fn add_str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.str_base + self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    /// Appends a raw record (`name_off`, `info`, `size`/`type`) and its kind-specific words, unchecked.
    pub fn raw(&mut self, name_off: u32, info: u32, size_type: u32, data: &[u32]) -> u32 {
        self.words.extend_from_slice(&[name_off, info, size_type]);
        self.words.extend_from_slice(data);
        self.next_id += 1;
        self.next_id - 1
    }

    /// Appends a record of `kind` with `vlen` entries.
    pub fn record(
        &mut self,
        name: &str,
        kind: u32,
        kflag: bool,
        vlen: usize,
        size_type: u32,
        data: &[u32],
    ) -> u32 {
        let name_off = self.add_str(name);
        let info = (kflag as u32) << 31 | (kind & 0x1f) << 24 | (vlen as u32 & 0xffff);
        self.raw(name_off, info, size_type, data)
    }

    /// An integer of `size` bytes with encoding bits [`INT_SIGNED`] / [`INT_CHAR`] / [`INT_BOOL`].
    pub fn int(&mut self, name: &str, size: u32, encoding: u32) -> u32 {
        self.record(
            name,
            kind::INT,
            false,
            0,
            size,
            &[encoding << 24 | (size * 8) & 0xff],
        )
    }

    /// A `FLOAT` of `size` bytes.
    pub fn float(&mut self, name: &str, size: u32) -> u32 {
        self.record(name, kind::FLOAT, false, 0, size, &[])
    }

    /// A pointer to `target`.
    pub fn ptr(&mut self, target: u32) -> u32 {
        self.record("", kind::PTR, false, 0, target, &[])
    }

    /// A typedef of `target`.
    pub fn typedef(&mut self, name: &str, target: u32) -> u32 {
        self.record(name, kind::TYPEDEF, false, 0, target, &[])
    }

    /// `CONST`, `VOLATILE`, `RESTRICT` or `TYPE_TAG` (then with a name) of `target`.
    pub fn modifier(&mut self, kind: u32, name: &str, target: u32) -> u32 {
        self.record(name, kind, false, 0, target, &[])
    }

    /// `elem[len]`.
    pub fn array(&mut self, elem: u32, index_type: u32, len: u32) -> u32 {
        self.record("", kind::ARRAY, false, 0, 0, &[elem, index_type, len])
    }

    /// A struct; members are `(name, type, bit offset, bitfield width or 0)`. kind_flag is set when a
    /// member is a bitfield.
    pub fn struct_(&mut self, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
        self.composite(kind::STRUCT, name, size, members)
    }

    /// A union; members as for [`struct_`](Self::struct_).
    pub fn union_(&mut self, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
        self.composite(kind::UNION, name, size, members)
    }

    fn composite(
        &mut self,
        kind: u32,
        name: &str,
        size: u32,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let kflag = members.iter().any(|m| m.3 != 0);
        let mut data = Vec::with_capacity(3 * members.len());
        for &(n, ty, off, bits) in members {
            let off = if kflag {
                bits << 24 | off & 0xff_ffff
            } else {
                off
            };
            data.extend_from_slice(&[self.add_str(n), ty, off]);
        }
        self.record(name, kind, kflag, members.len(), size, &data)
    }

    /// A 32-bit-valued `ENUM` (values truncated to 32 bits).
    pub fn enum_(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i64)]) -> u32 {
        let mut data = Vec::with_capacity(2 * values.len());
        for &(n, v) in values {
            data.extend_from_slice(&[self.add_str(n), v as u32]);
        }
        self.record(name, kind::ENUM, signed, values.len(), size, &data)
    }

    /// An `ENUM64`.
    pub fn enum64(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i64)]) -> u32 {
        let mut data = Vec::with_capacity(3 * values.len());
        for &(n, v) in values {
            data.extend_from_slice(&[self.add_str(n), v as u32, (v as u64 >> 32) as u32]);
        }
        self.record(name, kind::ENUM64, signed, values.len(), size, &data)
    }

    /// A forward declaration (`struct name;` or `union name;`).
    pub fn fwd(&mut self, name: &str, union: bool) -> u32 {
        self.record(name, kind::FWD, union, 0, 0, &[])
    }

    /// A `FUNC_PROTO`; `variadic` appends the `(0, void)` parameter that marks `...`.
    pub fn func_proto(&mut self, ret: u32, params: &[(&str, u32)], variadic: bool) -> u32 {
        let mut data = Vec::with_capacity(2 * params.len() + 2);
        for &(n, ty) in params {
            data.extend_from_slice(&[self.add_str(n), ty]);
        }
        if variadic {
            data.extend_from_slice(&[0, 0]);
        }
        self.record("", kind::FUNC_PROTO, false, data.len() / 2, ret, &data)
    }

    /// A global `FUNC` with signature `proto`.
    pub fn func(&mut self, name: &str, proto: u32) -> u32 {
        self.record(name, kind::FUNC, false, 1, proto, &[])
    }

    /// A global `VAR`.
    pub fn var(&mut self, name: &str, ty: u32) -> u32 {
        self.record(name, kind::VAR, false, 0, ty, &[1])
    }

    /// A `DATASEC`; entries are `(var type, offset, size)`.
    pub fn datasec(&mut self, name: &str, size: u32, entries: &[(u32, u32, u32)]) -> u32 {
        let data: Vec<u32> = entries.iter().flat_map(|&(v, o, s)| [v, o, s]).collect();
        self.record(name, kind::DATASEC, false, entries.len(), size, &data)
    }

    /// A `DECL_TAG` on `target` (`component` -1 for the type itself, else a member/parameter index).
    pub fn decl_tag(&mut self, tag: &str, target: u32, component: i32) -> u32 {
        self.record(tag, kind::DECL_TAG, false, 0, target, &[component as u32])
    }

    /// The blob: header, type section, string section.
    pub fn build(&self) -> Vec<u8> {
        let w = |v: u32| {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let type_len = 4 * self.words.len() as u32;
        let magic = if self.big_endian {
            BTF_MAGIC.to_be_bytes()
        } else {
            BTF_MAGIC.to_le_bytes()
        };
        let mut out = Vec::with_capacity(HEADER_LEN + type_len as usize + self.strings.len());
        out.extend_from_slice(&magic);
        out.extend_from_slice(&[1, 0]);
        for v in [
            HEADER_LEN as u32,
            0,
            type_len,
            type_len,
            self.strings.len() as u32,
        ] {
            out.extend_from_slice(&w(v));
        }
        for &v in &self.words {
            out.extend_from_slice(&w(v));
        }
        out.extend_from_slice(&self.strings);
        out
    }
}
