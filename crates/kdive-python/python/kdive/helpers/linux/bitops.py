"""Bit operations (drgn's ``drgn.helpers.linux.bitops``)."""

__all__ = ("for_each_clear_bit", "for_each_set_bit", "test_bit")


def _words(bitmap):
    return [bitmap[i].value_() for i in range(len(bitmap))] if bitmap.type_.kind.name == "ARRAY" else None


def for_each_set_bit(bitmap, size):
    word_bits = 8 * bitmap[0].type_.size if bitmap.type_.kind.name in ("ARRAY", "POINTER") else 64
    for i in range(int(size)):
        if bitmap[i // word_bits].value_() >> (i % word_bits) & 1:
            yield i


def for_each_clear_bit(bitmap, size):
    word_bits = 8 * bitmap[0].type_.size
    for i in range(int(size)):
        if not bitmap[i // word_bits].value_() >> (i % word_bits) & 1:
            yield i


def test_bit(nr, bitmap):
    word_bits = 8 * bitmap[0].type_.size
    return bool(bitmap[int(nr) // word_bits].value_() >> (int(nr) % word_bits) & 1)
