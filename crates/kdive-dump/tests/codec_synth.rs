//! Every codec over pages compressed as makedumpfile does: round trips, and errors for wrong
//! sizes and garbage.

use kdive_dump::codec::decompress;
use kdive_dump::Codec;
use kdive_testdata::pages::{compress, samples, CODECS};

#[test]
fn round_trips_every_codec() {
    for size in [4096usize, 16384, 65536] {
        for page in samples(size) {
            for codec in CODECS {
                let packed = compress(codec, &page);
                let mut out = vec![0u8; size];
                decompress(codec, &packed, &mut out)
                    .unwrap_or_else(|e| panic!("{codec:?} {size}: {e}"));
                assert!(out == page, "{codec:?} {size}: wrong output");
            }
        }
    }
}

#[test]
fn wrong_sizes_and_garbage_are_errors() {
    let page = samples(4096).remove(0);
    for codec in [Codec::Zlib, Codec::Lzo, Codec::Snappy, Codec::Zstd] {
        let packed = compress(codec, &page);
        // Output buffer of the wrong size.
        assert!(
            decompress(codec, &packed, &mut vec![0u8; 8192]).is_err(),
            "{codec:?} larger dst"
        );
        assert!(
            decompress(codec, &packed, &mut vec![0u8; 2048]).is_err(),
            "{codec:?} smaller dst"
        );
        // Truncated input at every length and flipped bytes: errors or (rarely) a
        // different page, never a panic.
        for cut in 0..packed.len() {
            let _ = decompress(codec, &packed[..cut], &mut vec![0u8; 4096]);
        }
        for i in 0..packed.len() {
            let mut bad = packed.clone();
            bad[i] ^= 0x5a;
            let _ = decompress(codec, &bad, &mut vec![0u8; 4096]);
        }
        assert!(
            decompress(codec, &[0xff; 64], &mut vec![0u8; 4096]).is_err(),
            "{codec:?} garbage"
        );
    }
    assert!(decompress(Codec::None, &[0; 10], &mut [0u8; 4096]).is_err());
}
