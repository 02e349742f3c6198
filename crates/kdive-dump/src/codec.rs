//! Page decompression backends behind one function.
