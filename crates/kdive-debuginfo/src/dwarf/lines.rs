//! Source file and line of a code address, with the chain of inlined calls that lead to it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{error, Reader};
use crate::elf_file::ElfFile;
use crate::Result;

/// Deepest chain of inlined calls reported for one address (real kernels stay under 20).
const MAX_INLINE_DEPTH: usize = 64;

/// One level of the source location of an address: the innermost inlined function first, the
/// function the code really belongs to last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFrame {
    /// The function's name as DWARF gives it.
    pub function: Option<String>,
    /// The source file, with the directory the line table gives it.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// True for a function inlined into the next frame (its location is in the inlined code; the
    /// next frame's location is the call site).
    pub inlined: bool,
}

/// Address-to-line lookups over one debug file; units are parsed on first use.
pub struct SourceLines {
    ctx: Mutex<addr2line::Context<Reader>>,
}

impl std::fmt::Debug for SourceLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceLines")
    }
}

impl SourceLines {
    /// Prepares lookups in `file`'s DWARF (reads the unit ranges, nothing more).
    pub fn new(file: &ElfFile) -> Result<SourceLines> {
        Self::with_bases(file, None)
    }

    /// Like [`SourceLines::new`] for a relocatable file whose allocated sections were loaded at
    /// `bases` (by section name): addresses are then the loaded ones.
    pub fn with_bases(file: &ElfFile, bases: Option<&HashMap<String, u64>>) -> Result<SourceLines> {
        let dwarf = super::load(file, bases)?;
        let ctx = addr2line::Context::from_dwarf(dwarf).map_err(|e| error("DWARF units", e))?;
        Ok(SourceLines {
            ctx: Mutex::new(ctx),
        })
    }

    /// The source location of the link-time address `addr`, innermost inlined function first;
    /// empty when no unit covers it.
    pub fn frames(&self, addr: u64) -> Result<Vec<SourceFrame>> {
        // addr2line probes [addr, addr + 1), which the last address cannot express
        if addr == u64::MAX {
            return Ok(Vec::new());
        }
        let ctx = self.ctx.lock().unwrap_or_else(|p| p.into_inner());
        let mut iter = ctx
            .find_frames(addr)
            .skip_all_loads()
            .map_err(|e| error("DWARF functions", e))?;
        let mut out = Vec::new();
        while let Some(f) = iter.next().map_err(|e| error("DWARF inlined calls", e))? {
            if out.len() == MAX_INLINE_DEPTH {
                break;
            }
            let function = f
                .function
                .as_ref()
                .and_then(|n| n.raw_name().ok().map(|s| s.into_owned()));
            let (file, line, column) = f.location.map_or((None, None, None), |l| {
                (l.file.map(str::to_owned), l.line, l.column)
            });
            out.push(SourceFrame {
                function,
                file,
                line,
                column,
                inlined: true,
            });
        }
        if let Some(last) = out.last_mut() {
            last.inlined = false;
        }
        if out.is_empty() {
            // no function covers it (assembly): the line table may still know
            if let Some(l) = ctx
                .find_location(addr)
                .map_err(|e| error("DWARF lines", e))?
            {
                out.push(SourceFrame {
                    function: None,
                    file: l.file.map(str::to_owned),
                    line: l.line,
                    column: l.column,
                    inlined: false,
                });
            }
        }
        Ok(out)
    }
}
