//! Files read with `pread(2)` through a small block cache, for those that cannot be
//! memory-mapped: `/proc/kcore` (procfs has no `mmap`, and its size is the kernel's whole
//! virtual layout), character devices.
//!
//! The cache holds [`CACHED_BLOCKS`] blocks of [`BLOCK`] bytes, least recently used out first.
//! A running kernel's memory changes between reads: [`PagedFile::forget`] empties the cache so
//! the next read sees memory as it is then (the prompt does so before each command).

use std::num::NonZeroUsize;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use lru::LruCache;

/// Bytes per cached block (a page of the machines kdive reads).
pub const BLOCK: u64 = 4096;
/// Blocks the cache keeps (1 MiB): a command reading one structure member at a time reads
/// the same few pages many times; larger reads go around the cache.
pub const CACHED_BLOCKS: usize = 256;

/// A file read by offset, with a block cache.
pub struct PagedFile {
    file: std::fs::File,
    path: PathBuf,
    len: u64,
    cache: Mutex<LruCache<u64, Box<[u8]>>>,
}

impl PagedFile {
    /// Opens `path` for reading. `len` is its length as `stat` says (`/proc/kcore` reports the
    /// end of its last segment).
    pub fn open(path: &Path) -> std::io::Result<PagedFile> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Self::new(file, path, len))
    }

    /// Wraps an open file of length `len`.
    pub fn new(file: std::fs::File, path: &Path, len: u64) -> PagedFile {
        let blocks = NonZeroUsize::new(CACHED_BLOCKS).unwrap_or(NonZeroUsize::MIN);
        PagedFile {
            file,
            path: path.to_path_buf(),
            len,
            cache: Mutex::new(LruCache::new(blocks)),
        }
    }

    /// The file's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file's path (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Drops every cached block: later reads go to the file again.
    pub fn forget(&self) {
        self.lock().clear();
    }

    /// Blocks in the cache now.
    pub fn cached(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<u64, Box<[u8]>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads `buf.len()` bytes at `offset`: through the cache when the read spans at most two
    /// blocks, straight from the file otherwise. A read that ends early (past the end) fails
    /// with `UnexpectedEof`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        let (first, last) = (offset / BLOCK, end.saturating_sub(1) / BLOCK);
        if buf.is_empty() || last - first >= 2 {
            return self.file.read_exact_at(buf, offset);
        }
        let mut done = 0usize;
        for block in first..=last {
            let start = block * BLOCK;
            let from = (offset + done as u64 - start) as usize;
            let n = (BLOCK as usize - from).min(buf.len() - done);
            let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
            let mut cache = self.lock();
            if let Some(b) = cache.get(&block) {
                let got = b.get(from..from + n).ok_or_else(eof)?;
                buf[done..done + n].copy_from_slice(got);
            } else {
                drop(cache);
                let data = self.read_block(start)?;
                let got = data.get(from..from + n).ok_or_else(eof)?;
                buf[done..done + n].copy_from_slice(got);
                self.lock().put(block, data);
            }
            done += n;
        }
        Ok(())
    }

    /// The block at `start`, shorter at the end of the file.
    fn read_block(&self, start: u64) -> std::io::Result<Box<[u8]>> {
        let want = BLOCK.min(self.len.saturating_sub(start).max(1)) as usize;
        let mut data = vec![0u8; BLOCK as usize];
        let mut got = 0;
        while got < want {
            match self.file.read_at(&mut data[got..want], start + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        data.truncate(got);
        Ok(data.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> (kdive_testdata::temp::Scratch, PathBuf) {
        let dir = kdive_testdata::temp::Scratch::new("paged");
        let path = dir.write("f", bytes);
        (dir, path)
    }

    #[test]
    fn reads_across_blocks_and_around_the_cache() {
        let bytes: Vec<u8> = (0..3 * BLOCK as usize + 100)
            .map(|i| (i % 251) as u8)
            .collect();
        let (_dir, path) = file(&bytes);
        let f = PagedFile::open(&path).unwrap();
        assert_eq!(f.len(), bytes.len() as u64);
        let mut b = [0u8; 40];
        f.read_at(BLOCK - 20, &mut b).unwrap();
        assert_eq!(
            b.as_slice(),
            &bytes[BLOCK as usize - 20..BLOCK as usize + 20]
        );
        assert_eq!(f.cached(), 2);
        // three blocks: straight from the file, nothing more cached
        let mut big = vec![0u8; 2 * BLOCK as usize + 2];
        f.read_at(BLOCK - 1, &mut big).unwrap();
        assert_eq!(big, &bytes[BLOCK as usize - 1..3 * BLOCK as usize + 1]);
        assert_eq!(f.cached(), 2);
        // the short last block
        let mut tail = [0u8; 100];
        f.read_at(3 * BLOCK, &mut tail).unwrap();
        assert_eq!(tail.as_slice(), &bytes[3 * BLOCK as usize..]);
        let err = f.read_at(3 * BLOCK + 50, &mut tail).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn forget_makes_later_reads_see_the_file_as_it_is() {
        let (_dir, path) = file(&[1u8; 2 * BLOCK as usize]);
        let f = PagedFile::open(&path).unwrap();
        let mut b = [0u8; 8];
        f.read_at(16, &mut b).unwrap();
        assert_eq!(b, [1; 8]);
        // the "memory" changes under the reader
        std::fs::write(&path, vec![2u8; 2 * BLOCK as usize]).unwrap();
        f.read_at(16, &mut b).unwrap();
        assert_eq!(b, [1; 8], "a cached block is reused until forgotten");
        f.forget();
        assert_eq!(f.cached(), 0);
        f.read_at(16, &mut b).unwrap();
        assert_eq!(b, [2; 8]);
    }
}
