//! `kmem -f ADDR`: whether an address's page is free, on which zone's free list, of which
//! order.

use std::io::{self, Write};

use kdive_program::Program;
use serde::{Deserialize, Serialize};

use super::address::{free_block, FreeBlock};
use super::pages::MemMap;
use crate::{CommandError, Report, TextOptions};

/// `kmem -f ADDR...`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemFreeSearch {
    pub lookups: Vec<FreeLookup>,
}

/// The free block holding one address's page.
#[derive(Debug, Serialize, Deserialize)]
pub struct FreeLookup {
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// The address is physical (given with -P, or below the direct map).
    pub physical: bool,
    /// `None`: the page is on no free list.
    pub block: Option<FreeBlock>,
    /// What could not be read (the answer is then unknown, not "not free").
    pub problems: Vec<String>,
}

/// Looks up each `(address, physical)` on the buddy allocator's free lists.
pub fn lookup(
    prog: &Program,
    map: &MemMap,
    addrs: &[(u64, bool)],
    limit: usize,
) -> Result<KmemFreeSearch, CommandError> {
    let lookups = addrs
        .iter()
        .map(|&(address, physical)| {
            let (block, problems) = match free_block(prog, map, address, physical, limit) {
                Ok(b) => (b, Vec::new()),
                Err(e) => (None, vec![format!("free lists: {e}")]),
            };
            FreeLookup {
                address,
                physical,
                block,
                problems,
            }
        })
        .collect();
    Ok(KmemFreeSearch { lookups })
}

impl Report for KmemFreeSearch {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, l) in self.lookups.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            match &l.block {
                Some(b) => b.write(l.address, l.physical, out)?,
                // crash prints nothing for a page that is not free; say it
                None if l.problems.is_empty() => {
                    writeln!(out, "{:x}: not on a free list", l.address)?
                }
                None => {}
            }
            for p in &l.problems {
                writeln!(out, "kmem: {:x}: {p}", l.address)?;
            }
        }
        Ok(())
    }

    fn incomplete(&self) -> Option<String> {
        let l = self.lookups.iter().find(|l| !l.problems.is_empty())?;
        Some(format!("kmem: {:x}: {}", l.address, l.problems[0]))
    }
}
