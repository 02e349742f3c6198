//! makedumpfile's flattened format (`-F`) written in code: [`flatten`].

/// Size of the `struct makedumpfile_header` block the records follow.
pub const HEADER_SIZE: usize = 4096;

/// A flattened file holding `writes` (`(offset in the virtual file, bytes)`, in the order
/// given: makedumpfile writes to a pipe, in any order), ended by the end record if `end_record`.
pub fn flatten(writes: &[(u64, &[u8])], end_record: bool) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_SIZE];
    out[..12].copy_from_slice(b"makedumpfile");
    out[16..24].copy_from_slice(&1i64.to_be_bytes()); // TYPE_FLAT_HEADER
    out[24..32].copy_from_slice(&1i64.to_be_bytes()); // version
    for (offset, bytes) in writes {
        out.extend_from_slice(&(*offset as i64).to_be_bytes());
        out.extend_from_slice(&(bytes.len() as i64).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    if end_record {
        out.extend_from_slice(&(-1i64).to_be_bytes()); // END_FLAG_FLAT_HEADER
        out.extend_from_slice(&0i64.to_be_bytes());
    }
    out
}
