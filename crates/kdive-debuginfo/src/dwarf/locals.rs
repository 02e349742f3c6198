//! The variables and parameters in scope at a code address, and where they are: the function's
//! DIE and the lexical blocks and inlined calls around the address, each variable's location
//! expression (from a location list when it moves) evaluated against one frame's registers and
//! memory.

use gimli::{AttributeValue, EndianSlice, Location, Reader as _, RunTimeEndian, UnitOffset};

use super::{error, Reader};
use crate::Result;

/// Deepest nesting of blocks and inlined calls followed.
const MAX_DEPTH: usize = 64;
/// Most steps one location expression may take (a loop in a corrupt expression ends there).
const MAX_EVAL_STEPS: usize = 10_000;
/// Most bytes a composite (piece by piece) location assembles.
const MAX_PIECES_BYTES: u64 = 4096;

/// Where a variable is at the address asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarLocation {
    /// A DWARF location expression to evaluate with the frame.
    Expr(Vec<u8>),
    /// A constant value (`DW_AT_const_value`), little-endian bytes.
    Const(Vec<u8>),
    /// Optimized out here: no location, or none at this address.
    OptimizedOut,
}

/// A variable or parameter of a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    /// The offset in `.debug_info` of its type's DIE (a type id of the file's
    /// [`super::DwarfTypes`]).
    pub type_die: Option<u32>,
    pub location: VarLocation,
}

/// One function level at an address: an inlined call, or the function the code belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub function: Option<String>,
    pub inlined: bool,
    /// In DIE order, the scope's own first, then those of the blocks around the address (a
    /// name declared again in an inner block is listed twice, the inner one last).
    pub variables: Vec<Variable>,
}

/// The scopes at one address, innermost inlined call first (the order of
/// [`super::SourceFrame`]s), with what evaluating their locations needs.
#[derive(Debug, Clone)]
pub struct FrameScopes {
    pub scopes: Vec<Scope>,
    /// The function's frame base expression (`DW_AT_frame_base`).
    frame_base: Option<Vec<u8>>,
    encoding: gimli::Encoding,
    endian: RunTimeEndian,
    debug_addr: gimli::DebugAddr<Reader>,
    addr_base: gimli::DebugAddrBase,
}

/// What a location expression is evaluated against: one frame of a program.
pub trait FrameAccess {
    /// The value of DWARF register `reg` in the frame, if known.
    fn register(&self, reg: u16) -> Option<u64>;
    /// Reads memory; false when it cannot be read.
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;
    /// The frame's canonical frame address, if known.
    fn cfa(&self) -> Option<u64>;
    /// The run-time address of the file's address `addr`.
    fn relocate(&self, addr: u64) -> u64;
}

/// Where a variable's value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// In memory at this address.
    Memory(u64),
    /// Nowhere in memory: its bytes, little-endian (from registers, or computed).
    Bytes(Vec<u8>),
    /// Not available: optimized out, or a register the frame does not know.
    Absent,
}

impl FrameScopes {
    /// Evaluates `v`'s location in the frame `f`.
    pub fn locate(&self, v: &Variable, f: &dyn FrameAccess) -> Located {
        match &v.location {
            VarLocation::OptimizedOut => Located::Absent,
            VarLocation::Const(b) => Located::Bytes(b.clone()),
            VarLocation::Expr(e) => self.eval(e, f).unwrap_or(Located::Absent),
        }
    }

    fn frame_base(&self, f: &dyn FrameAccess) -> Option<u64> {
        match self.eval(self.frame_base.as_ref()?, f)? {
            Located::Memory(a) => Some(a),
            Located::Bytes(b) => Some(le_u64(&b)),
            Located::Absent => None,
        }
    }

    fn eval(&self, expr: &[u8], f: &dyn FrameAccess) -> Option<Located> {
        let mut ev = gimli::Evaluation::new(EndianSlice::new(expr, self.endian), self.encoding);
        let mut r = ev.evaluate().ok()?;
        for _ in 0..MAX_EVAL_STEPS {
            use gimli::EvaluationResult as R;
            r = match r {
                R::Complete => return self.assemble(ev.result(), f),
                R::RequiresMemory { address, size, .. } => {
                    let mut b = [0u8; 8];
                    let n = usize::from(size).min(8);
                    if !f.read(address, &mut b[..n]) {
                        return None;
                    }
                    ev.resume_with_memory(gimli::Value::Generic(le_u64(&b[..n])))
                }
                R::RequiresRegister { register, .. } => {
                    let v = f.register(register.0)?;
                    ev.resume_with_register(gimli::Value::Generic(v))
                }
                R::RequiresFrameBase => ev.resume_with_frame_base(self.frame_base(f)?),
                R::RequiresCallFrameCfa => ev.resume_with_call_frame_cfa(f.cfa()?),
                R::RequiresRelocatedAddress(a) => ev.resume_with_relocated_address(f.relocate(a)),
                R::RequiresIndexedAddress { index, relocate } => {
                    let a = self
                        .debug_addr
                        .get_address(self.encoding.address_size, self.addr_base, index)
                        .ok()?;
                    let a = if relocate { f.relocate(a) } else { a };
                    ev.resume_with_indexed_address(a)
                }
                // entry values, thread-local storage, typed stack values: not available
                _ => return None,
            }
            .ok()?;
        }
        None
    }

    fn assemble(
        &self,
        pieces: Vec<gimli::Piece<EndianSlice<'_, RunTimeEndian>>>,
        f: &dyn FrameAccess,
    ) -> Option<Located> {
        let one = pieces.len() == 1 && pieces[0].size_in_bits.is_none();
        if one {
            return Some(match &pieces[0].location {
                Location::Address { address } => Located::Memory(*address),
                Location::Register { register } => {
                    Located::Bytes(f.register(register.0)?.to_le_bytes().to_vec())
                }
                Location::Value { value } => Located::Bytes(value_bytes(*value)?),
                Location::Bytes { value } => Located::Bytes(value.slice().to_vec()),
                _ => Located::Absent,
            });
        }
        let mut out = Vec::new();
        for p in &pieces {
            let bits = p.size_in_bits?;
            if bits % 8 != 0 || p.bit_offset.is_some_and(|o| o != 0) {
                return None;
            }
            let n = bits / 8;
            if out.len() as u64 + n > MAX_PIECES_BYTES {
                return None;
            }
            let n = n as usize;
            let mut bytes = match &p.location {
                Location::Address { address } => {
                    let mut b = vec![0u8; n];
                    f.read(*address, &mut b).then_some(b)?
                }
                Location::Register { register } => f.register(register.0)?.to_le_bytes().to_vec(),
                Location::Value { value } => value_bytes(*value)?,
                Location::Bytes { value } => value.slice().to_vec(),
                _ => return Some(Located::Absent),
            };
            bytes.resize(n, 0);
            out.extend_from_slice(&bytes);
        }
        Some(Located::Bytes(out))
    }
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(a)
}

fn value_bytes(v: gimli::Value) -> Option<Vec<u8>> {
    use gimli::Value as V;
    Some(match v {
        V::Generic(x) | V::U64(x) => x.to_le_bytes().to_vec(),
        V::I64(x) => x.to_le_bytes().to_vec(),
        V::U32(x) => x.to_le_bytes().to_vec(),
        V::I32(x) => x.to_le_bytes().to_vec(),
        V::U16(x) => x.to_le_bytes().to_vec(),
        V::I16(x) => x.to_le_bytes().to_vec(),
        V::U8(x) => vec![x],
        V::I8(x) => vec![x as u8],
        V::F32(x) => x.to_le_bytes().to_vec(),
        V::F64(x) => x.to_le_bytes().to_vec(),
    })
}

/// One unit being read: where its DIEs are in the whole `.debug_info`.
pub(crate) struct UnitAt<'a> {
    pub dwarf: &'a gimli::Dwarf<Reader>,
    pub unit: gimli::Unit<Reader>,
    /// Added to an offset in `dwarf.debug_info` to make it one in the file's `.debug_info`.
    pub base: usize,
}

/// The scopes at `addr` in `u`, `None` when no function of the unit covers it.
pub(crate) fn scopes_in(u: &UnitAt<'_>, addr: u64) -> Result<Option<FrameScopes>> {
    let fail = |e| error("DWARF scopes", e);
    let mut tree = u.unit.entries_tree(None).map_err(fail)?;
    let root = tree.root().map_err(fail)?;
    let mut children = root.children();
    while let Some(node) = children.next().map_err(fail)? {
        let e = node.entry();
        if e.tag() != gimli::DW_TAG_subprogram || !covers(u, e, addr)? {
            continue;
        }
        let frame_base = match e.attr_value(gimli::DW_AT_frame_base).map_err(fail)? {
            Some(AttributeValue::Exprloc(x)) => Some(bytes(&x.0)?),
            _ => None,
        };
        let mut chain = vec![Scope {
            function: name_of(u, e, 0)?,
            inlined: false,
            variables: Vec::new(),
        }];
        collect(u, node, addr, &mut chain, 0, 0)?;
        chain.reverse();
        return Ok(Some(FrameScopes {
            scopes: chain,
            frame_base,
            encoding: u.unit.encoding(),
            endian: gimli::Section::reader(&u.dwarf.debug_info).endian(),
            debug_addr: u.dwarf.debug_addr.clone(),
            addr_base: u.unit.addr_base,
        }));
    }
    Ok(None)
}

/// Adds the variables below `node` to `chain[scope]`, entering the blocks and
/// inlined calls that cover `addr` (an inlined call opens a new scope).
fn collect(
    u: &UnitAt<'_>,
    node: gimli::EntriesTreeNode<'_, '_, '_, Reader>,
    addr: u64,
    chain: &mut Vec<Scope>,
    scope: usize,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let fail = |e| error("DWARF scopes", e);
    let mut children = node.children();
    while let Some(child) = children.next().map_err(fail)? {
        let e = child.entry();
        match e.tag() {
            gimli::DW_TAG_variable | gimli::DW_TAG_formal_parameter => {
                if let Some(v) = variable(u, e, addr)? {
                    chain[scope].variables.push(v);
                }
            }
            gimli::DW_TAG_lexical_block if covers(u, e, addr)? => {
                collect(u, child, addr, chain, scope, depth + 1)?;
            }
            gimli::DW_TAG_inlined_subroutine if covers(u, e, addr)? => {
                chain.push(Scope {
                    function: name_of(u, e, 0)?,
                    inlined: true,
                    variables: Vec::new(),
                });
                let inner = chain.len() - 1;
                collect(u, child, addr, chain, inner, depth + 1)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn covers(
    u: &UnitAt<'_>,
    e: &gimli::DebuggingInformationEntry<'_, '_, Reader>,
    addr: u64,
) -> Result<bool> {
    let fail = |e| error("DWARF ranges", e);
    let mut ranges = u.dwarf.die_ranges(&u.unit, e).map_err(fail)?;
    while let Some(r) = ranges.next().map_err(fail)? {
        if (r.begin..r.end).contains(&addr) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn bytes(r: &Reader) -> Result<Vec<u8>> {
    use gimli::Reader as _;
    Ok(r.to_slice()
        .map_err(|e| error("DWARF expression", e))?
        .into_owned())
}

/// The DIE an entry takes its name and type from (`DW_AT_abstract_origin`,
/// `DW_AT_specification`), within the unit.
fn origin(e: &gimli::DebuggingInformationEntry<'_, '_, Reader>) -> Option<UnitOffset> {
    [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification]
        .into_iter()
        .find_map(|a| match e.attr_value(a).ok()? {
            Some(AttributeValue::UnitRef(o)) => Some(o),
            _ => None,
        })
}

/// The entry's name, or its origin's.
fn name_of(
    u: &UnitAt<'_>,
    e: &gimli::DebuggingInformationEntry<'_, '_, Reader>,
    depth: usize,
) -> Result<Option<String>> {
    use gimli::Reader as _;
    let fail = |e| error("DWARF names", e);
    if let Some(v) = e.attr_value(gimli::DW_AT_name).map_err(fail)? {
        let s = u.dwarf.attr_string(&u.unit, v).map_err(fail)?;
        return Ok(Some(s.to_string_lossy().map_err(fail)?.into_owned()));
    }
    match origin(e) {
        Some(o) if depth < 4 => {
            let oe = u.unit.entry(o).map_err(fail)?;
            name_of(u, &oe, depth + 1)
        }
        _ => Ok(None),
    }
}

/// The entry's type DIE as a file offset, or its origin's.
fn type_of(
    u: &UnitAt<'_>,
    e: &gimli::DebuggingInformationEntry<'_, '_, Reader>,
    depth: usize,
) -> Result<Option<u32>> {
    let fail = |e| error("DWARF types", e);
    match e.attr_value(gimli::DW_AT_type).map_err(fail)? {
        Some(AttributeValue::UnitRef(o)) => {
            let off = o.to_debug_info_offset(&u.unit.header).map(|d| d.0 + u.base);
            return Ok(off.and_then(|o| u32::try_from(o).ok()));
        }
        Some(AttributeValue::DebugInfoRef(d)) if u.base == 0 => {
            return Ok(u32::try_from(d.0).ok());
        }
        _ => {}
    }
    match origin(e) {
        Some(o) if depth < 4 => {
            let oe = u.unit.entry(o).map_err(fail)?;
            type_of(u, &oe, depth + 1)
        }
        _ => Ok(None),
    }
}

/// A variable or parameter entry at `addr`; `None` for one without a name.
fn variable(
    u: &UnitAt<'_>,
    e: &gimli::DebuggingInformationEntry<'_, '_, Reader>,
    addr: u64,
) -> Result<Option<Variable>> {
    let fail = |e| error("DWARF locations", e);
    let Some(name) = name_of(u, e, 0)? else {
        return Ok(None);
    };
    let type_die = type_of(u, e, 0)?;
    let location = match e.attr_value(gimli::DW_AT_location).map_err(fail)? {
        Some(AttributeValue::Exprloc(x)) => VarLocation::Expr(bytes(&x.0)?),
        Some(AttributeValue::Block(b)) => VarLocation::Expr(bytes(&b)?),
        Some(v) => match u.dwarf.attr_locations(&u.unit, v).map_err(fail)? {
            Some(mut list) => {
                let mut found = VarLocation::OptimizedOut;
                while let Some(l) = list.next().map_err(fail)? {
                    if (l.range.begin..l.range.end).contains(&addr) {
                        found = VarLocation::Expr(bytes(&l.data.0)?);
                        break;
                    }
                }
                found
            }
            None => VarLocation::OptimizedOut,
        },
        None => match e.attr_value(gimli::DW_AT_const_value).map_err(fail)? {
            Some(v) => const_bytes(v).map_or(VarLocation::OptimizedOut, VarLocation::Const),
            None => VarLocation::OptimizedOut,
        },
    };
    Ok(Some(Variable {
        name,
        type_die,
        location,
    }))
}

fn const_bytes(v: AttributeValue<Reader>) -> Option<Vec<u8>> {
    Some(match v {
        AttributeValue::Block(b) => bytes(&b).ok()?,
        AttributeValue::Sdata(x) => x.to_le_bytes().to_vec(),
        AttributeValue::Data1(x) => vec![x],
        AttributeValue::Data2(x) => x.to_le_bytes().to_vec(),
        AttributeValue::Data4(x) => x.to_le_bytes().to_vec(),
        AttributeValue::Data8(x) | AttributeValue::Udata(x) => x.to_le_bytes().to_vec(),
        _ => return None,
    })
}
