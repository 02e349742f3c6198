//! Page contents: compressed as makedumpfile compresses them ([`compress`]), and deterministic
//! samples of the kinds a kernel's memory holds ([`samples`]).

use std::io::Write;

use kdive_dump::Codec;

/// One page compressed with `codec` at the level makedumpfile uses (zlib `Z_BEST_SPEED`,
/// zstd 1, LZO1X-1, snappy); [`Codec::None`] leaves it as it is.
pub fn compress(codec: Codec, page: &[u8]) -> Vec<u8> {
    match codec {
        Codec::None => page.to_vec(),
        Codec::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(page).expect("zlib");
            e.finish().expect("zlib")
        }
        Codec::Lzo => lzokay_native::compress(page).expect("lzo"),
        Codec::Snappy => snap::raw::Encoder::new()
            .compress_vec(page)
            .expect("snappy"),
        Codec::Zstd => zstd::bulk::compress(page, 1).expect("zstd"),
    }
}

/// Every codec a kdump file may use, raw first.
pub const CODECS: [Codec; 5] = [
    Codec::None,
    Codec::Zlib,
    Codec::Lzo,
    Codec::Snappy,
    Codec::Zstd,
];

/// Six pages of `size` bytes: text, random bytes, random runs among small numbers, kernel
/// pointers, zeros, one repeated byte.
pub fn samples(size: usize) -> Vec<Vec<u8>> {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let text: Vec<u8> = b"The quick brown fox jumps over the lazy kernel. "
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect();
    let random: Vec<u8> = (0..size).map(|_| rnd() as u8).collect();
    let mixed: Vec<u8> = (0..size)
        .map(|i| {
            if (i / 97) % 3 == 0 {
                rnd() as u8
            } else {
                (i % 7) as u8
            }
        })
        .collect();
    let words: Vec<u8> = (0..size / 8)
        .flat_map(|i| (0xffff_8880_0000_0000u64 + (i as u64 % 13) * 64).to_le_bytes())
        .collect();
    vec![text, random, mixed, words, vec![0; size], vec![0xa5; size]]
}
