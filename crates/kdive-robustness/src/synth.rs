//! The synthetic kernel of `kdive_testdata::kernel` patched by fuzz input ([`Patches`]) and
//! asked the commands' questions ([`run_commands_patched`]).

use kdive_testdata::kernel::{kernel, vmcore, Kernel, KBASE};
use kdive_testdata::temp::TempFile;

/// Byte patches of the kernel's data, decoded from fuzz input. Each record starts with an op
/// byte and a little-endian `u16` offset into [`Kernel::data`] (taken modulo its length):
/// op bit 7 clear: `op & 0x3f` raw bytes follow; op bit 7 set: a `u16` follows, and the 8-aligned
/// word at the offset becomes a pointer to [`KBASE`] + data start + that value (lets a fuzzer
/// make lists loop or point into other structures). At most 64 records.
pub struct Patches<'a> {
    input: &'a [u8],
    left: usize,
}

impl<'a> Patches<'a> {
    pub fn new(input: &'a [u8]) -> Patches<'a> {
        Patches { input, left: 64 }
    }

    /// Applies every patch to `phys` (a copy of [`Kernel::phys`]).
    pub fn apply(self, k: &Kernel, phys: &mut [u8]) {
        let len = k.data.len();
        for (off, bytes) in self {
            let at = k.data.start + off % len;
            match bytes {
                Patch::Bytes(b) => {
                    let n = b.len().min(k.data.end - at);
                    phys[at..at + n].copy_from_slice(&b[..n]);
                }
                Patch::Pointer(target) => {
                    let at = (at & !7).max(k.data.start);
                    let v = KBASE + (k.data.start + target % len) as u64;
                    if at + 8 <= k.data.end {
                        phys[at..at + 8].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
    }
}

/// One decoded patch.
pub enum Patch<'a> {
    Bytes(&'a [u8]),
    Pointer(usize),
}

impl<'a> Iterator for Patches<'a> {
    type Item = (usize, Patch<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (&[op, lo, hi], rest) = self.input.split_first_chunk::<3>()?;
        let off = usize::from(u16::from_le_bytes([lo, hi]));
        if op & 0x80 != 0 {
            let (&[a, b], rest) = rest.split_first_chunk::<2>()?;
            self.input = rest;
            Some((off, Patch::Pointer(usize::from(u16::from_le_bytes([a, b])))))
        } else {
            let n = usize::from(op & 0x3f).min(rest.len());
            let (bytes, rest) = rest.split_at(n);
            self.input = rest;
            Some((off, Patch::Bytes(bytes)))
        }
    }
}

/// Patches the synthetic kernel with `input` (see [`Patches`]), writes it as a vmcore, opens it
/// and runs `cmds`, rendering each result as text and JSON. Returns the texts (errors as
/// `error: ...`).
pub fn run_commands_patched(input: &[u8], cmds: &[&str]) -> Vec<String> {
    let k = kernel();
    let mut phys = k.phys.clone();
    Patches::new(input).apply(k, &mut phys);
    let file = TempFile::new("synth", &vmcore(&phys, &k.vmcoreinfo));
    run_commands(file.path(), cmds)
}

/// Runs `cmds` over the synthetic kernel as it is (its dump written once per process).
pub fn run_commands_unpatched(cmds: &[&str]) -> Vec<String> {
    static FILE: std::sync::OnceLock<TempFile> = std::sync::OnceLock::new();
    let file = FILE.get_or_init(|| {
        let k = kernel();
        TempFile::new("synth-expr", &vmcore(&k.phys, &k.vmcoreinfo))
    });
    run_commands(file.path(), cmds)
}

/// Opens `path` and runs `cmds`; each result as text (and rendered as JSON too), or `error: ...`.
pub fn run_commands(path: &std::path::Path, cmds: &[&str]) -> Vec<String> {
    let session = match kdive_commands::Session::open(path) {
        Ok(s) => s,
        Err(e) => return vec![format!("error: {e}")],
    };
    cmds.iter()
        .map(|c| match kdive_commands::run(&session, c) {
            Ok(r) => {
                let _ = r.json();
                r.text()
            }
            Err(e) => format!("error: {e}"),
        })
        .collect()
}
