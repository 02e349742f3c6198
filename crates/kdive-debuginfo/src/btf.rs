//! BTF: the compact type format the kernel carries in memory.
