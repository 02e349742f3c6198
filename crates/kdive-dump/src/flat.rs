//! makedumpfile's flattened format (`-F`): indexed once, read in place.

/// First bytes of a flattened file.
pub const SIGNATURE: &[u8] = b"makedumpfile";
