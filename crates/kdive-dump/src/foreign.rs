//! Dump formats kdive does not read, known by their first bytes so they are refused by name.

/// The formats, by signature: `(what, bytes at offset 0)`.
const SIGNATURES: &[(&str, &[u8])] = &[
    // `DUMP_MAGIC_NUMBER` 0xa8190173618f23ed, either byte order
    (
        "LKCD dump",
        &[0xed, 0x23, 0x8f, 0x61, 0x73, 0x01, 0x19, 0xa8],
    ),
    (
        "LKCD dump",
        &[0xa8, 0x19, 0x01, 0x73, 0x61, 0x8f, 0x23, 0xed],
    ),
    // `SADUMP_SIGNATURE1`, `SADUMP_SIGNATURE2` (little endian)
    ("sadump dump", b"sadump\0\0"),
    // the pre-ELF `XC_CORE_MAGIC` and `XC_CORE_MAGIC_HVM` (little endian)
    ("Xen xc_core dump", &[0xed, 0xeb, 0x0f, 0xf0]),
    ("Xen xc_core dump", &[0xee, 0xeb, 0x0f, 0xf0]),
    // VMware suspended-state files (`.vmss`, `.vmsn`): the four magics, little endian
    ("VMware .vmss suspended state", &[0xd0, 0xbe, 0xd2, 0xbe]),
    ("VMware .vmss suspended state", &[0xd1, 0xba, 0xd1, 0xba]),
    ("VMware .vmss suspended state", &[0xd2, 0xbe, 0xd2, 0xbe]),
    ("VMware .vmss suspended state", &[0xd3, 0xbe, 0xd3, 0xbe]),
];

/// The name of the dump format `head` (a file's first bytes) starts like, when it is one kdive
/// knows of but does not read. Xen's ELF `xc_core` is told by its sections (see `elf`).
pub fn identify(head: &[u8]) -> Option<&'static str> {
    SIGNATURES
        .iter()
        .find(|(_, sig)| head.starts_with(sig))
        .map(|(what, _)| *what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_formats_are_named() {
        let lkcd = 0xa819_0173_618f_23edu64;
        assert_eq!(identify(&lkcd.to_le_bytes()), Some("LKCD dump"));
        assert_eq!(identify(&lkcd.to_be_bytes()), Some("LKCD dump"));
        let mut sadump = 0x7564_6173u32.to_le_bytes().to_vec();
        sadump.extend(0x0000_706du32.to_le_bytes());
        assert_eq!(identify(&sadump), Some("sadump dump"));
        assert_eq!(
            identify(&0xf00f_ebedu32.to_le_bytes()),
            Some("Xen xc_core dump")
        );
        for m in [0xbed2_bed0u32, 0xbad1_bad1, 0xbed2_bed2, 0xbed3_bed3] {
            assert_eq!(
                identify(&m.to_le_bytes()),
                Some("VMware .vmss suspended state")
            );
        }
        assert_eq!(identify(b"KDUMP   "), None);
        assert_eq!(identify(b""), None);
    }
}
