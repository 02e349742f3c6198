//! Finding VMCOREINFO in the dumped memory when the container lost it.
//!
//! The kernel keeps its VMCOREINFO twice, each at the start of a page of its own:
//! `vmcoreinfo_note` (an ELF note: `Elf64_Nhdr { 11, descsz, 0 }`, `"VMCOREINFO\0\0"`, text) and
//! `vmcoreinfo_data` (the bare text). Both start with `OSRELEASE=`. The scan reads the first
//! bytes of each present page, in pfn order, and stops at the first one that parses as a
//! plausible VMCOREINFO.

use crate::{DumpFormat, PageState, VmcoreInfo};

/// The note header and name that open `vmcoreinfo_note`.
const NOTE_NAME: &[u8] = b"VMCOREINFO\0\0";
/// Bytes of `Elf64_Nhdr` plus the padded name.
const NOTE_HEAD: usize = 12 + NOTE_NAME.len();
/// How every VMCOREINFO text starts.
const FIRST_KEY: &[u8] = b"OSRELEASE=";
/// Present pages scanned at most (64 GiB of 4 KiB pages).
pub const MAX_SCAN_PAGES: u64 = 16 << 20;

/// VMCOREINFO text found in memory, and the physical address of its first byte.
#[derive(Debug, Clone)]
pub struct Found {
    pub paddr: u64,
    pub text: String,
}

/// Whether VMCOREINFO text is complete enough to open a kernel from.
pub fn usable(info: &VmcoreInfo) -> bool {
    info.osrelease().is_some() && info.page_size().is_some()
}

/// Scans the present pages of `format` for the kernel's own copy of VMCOREINFO.
/// `bounds` as for [`crate::stats::runs`].
pub fn find_vmcoreinfo(format: &dyn DumpFormat, bounds: Option<&[u64]>) -> Option<Found> {
    let ps = format.meta().page_size as usize;
    let mut head = [0u8; NOTE_HEAD + FIRST_KEY.len()];
    let mut scanned = 0u64;
    let present = crate::stats::runs(format, bounds)
        .filter(|r| r.2 == PageState::Present)
        .flat_map(|(a, z, _)| a..z);
    for pfn in present {
        scanned += 1;
        if scanned > MAX_SCAN_PAGES {
            return None;
        }
        if format.read_page(pfn, 0, &mut head).is_err() {
            continue;
        }
        let text_at = if head.starts_with(FIRST_KEY) {
            0
        } else if head[12..].starts_with(NOTE_NAME)
            && head[NOTE_HEAD..].starts_with(FIRST_KEY)
            && (head[..4] == 11u32.to_le_bytes() || head[..4] == 11u32.to_be_bytes())
        {
            NOTE_HEAD
        } else {
            continue;
        };
        let mut page = vec![0u8; ps];
        if format.read_page(pfn, 0, &mut page).is_err() {
            continue;
        }
        let body = &page[text_at..];
        let len = body.iter().position(|&b| b == 0).unwrap_or(body.len());
        let text = String::from_utf8_lossy(&body[..len]).into_owned();
        if usable(&VmcoreInfo::parse(&text)) && text.contains("SYMBOL(") {
            return Some(Found {
                paddr: pfn.saturating_mul(ps as u64) + text_at as u64,
                text,
            });
        }
    }
    None
}
