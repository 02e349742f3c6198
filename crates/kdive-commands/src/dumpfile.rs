//! The dump file's own bytes at an offset: crash's `-f` of `rd` and `struct`, which read the file
//! as it lies on disk (headers, compressed pages and all) rather than the memory it holds.

use std::fs::File;
use std::os::unix::fs::FileExt;

use kdive_memory::{MemError, ReadVirt};

use crate::{CommandError, Session};

/// The first file of the dump, read at byte offsets (for a split dump, its first part: crash's
/// one dump file).
pub(crate) struct DumpFileBytes {
    file: File,
    len: u64,
}

impl DumpFileBytes {
    /// Opens the session's dump file for `cmd`'s `-f`.
    pub(crate) fn open(s: &Session, cmd: &str) -> Result<DumpFileBytes, CommandError> {
        let path = s.dump().paths().first().cloned().ok_or_else(|| {
            CommandError::Unavailable(format!("{cmd}: -f: the dump has no file to read"))
        })?;
        let io = |source| CommandError::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        Ok(DumpFileBytes { file, len })
    }
}

impl ReadVirt for DumpFileBytes {
    /// Reads `buf.len()` bytes at file offset `addr`.
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> kdive_memory::Result<()> {
        let beyond = MemError::BadAddress {
            vaddr: addr,
            reason: "beyond the end of the dump file",
        };
        match addr.checked_add(buf.len() as u64) {
            Some(end) if end <= self.len => {}
            _ => return Err(beyond),
        }
        self.file
            .read_exact_at(buf, addr)
            .map_err(|_| MemError::BadAddress {
                vaddr: addr,
                reason: "the dump file cannot be read there",
            })
    }

    /// Reads up to the end of the file.
    fn read_partial(&self, addr: u64, buf: &mut [u8]) -> kdive_memory::PartialRead {
        let n = (self.len.saturating_sub(addr)).min(buf.len() as u64) as usize;
        let error = match self.read_virt(addr, &mut buf[..n]) {
            Err(e) => {
                return kdive_memory::PartialRead {
                    read: 0,
                    error: Some(e),
                }
            }
            Ok(()) if n < buf.len() => Some(MemError::BadAddress {
                vaddr: addr.wrapping_add(n as u64),
                reason: "beyond the end of the dump file",
            }),
            Ok(()) => None,
        };
        kdive_memory::PartialRead { read: n, error }
    }
}
