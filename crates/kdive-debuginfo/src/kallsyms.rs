//! kallsyms: the kernel's compressed symbol table, decoded from the dump.
