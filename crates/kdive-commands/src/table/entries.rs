//! The entries of the command table, in alphabetical order.

use kdive_debuginfo::NameKind;

use super::{example, Arg, Command, Flag};
use crate::{
    alias, analyze, bpf, bt, dev, dis, eval, files, foreach, fuser, help, info, ipcs, irq, kmem,
    list, log, mach, modules, mount, net, oops, print, ps, rd, runq, rustfilt, sbitmapq, search,
    set, sig, structs, swap, sym, sys, timer, tree, vm, vtop, waitq,
};

/// Every command, in alphabetical order.
pub static COMMANDS: &[&Command] = &[
    &POINTER, &ALIAS, &ANALYZE, &ASCII, &BPF, &BT, &BTOP, &DEV, &DIS, &EVAL, &EXIT, &EXTEND,
    &FILES, &FOREACH, &FUSER, &GDB, &HELP, &INFO, &IPCS, &IRQ, &KMEM, &LIST, &LOG, &MACH, &MOD,
    &MOUNT, &NET, &OOPS, &P, &PS, &PTE, &PTOB, &PTOV, &PTYPE, &RD, &REPEAT, &RUNQ, &RUSTFILT,
    &SBITMAPQ, &SEARCH, &SET, &SIG, &STRUCT, &SWAP, &SYM, &SYS, &TASK, &TIMER, &TREE, &UNION, &VM,
    &VTOP, &WAITQ, &WHATIS, &WR,
];

/// The operand of `p`, `ptype`, `whatis` and `eval`: a C expression (its words are joined).
const EXPRESSION: Arg = Arg::required(
    "EXPR",
    "a C expression: variables, enum constants, numbers, 'c' characters, members (. ->), [], \
     unary * & - ~ !, casts to any type, + - * / % << >> & | ^ && || comparisons ?:, \
     sizeof(TYPE|EXPR), offsetof(TYPE, MEMBER)",
)
.repeated();

/// The operand of `bt`, `files`, `vm` and `task`.
const TASKS: Arg = Arg::optional(
    "PID|TASK",
    "a PID (every thread with it) or a task_struct address; the current context when none is \
     given (see `set`)",
)
.repeated();

/// The flags of `struct`, `union` and `*`.
const STRUCT_FLAGS: &[Flag] = &[
    Flag::letter('o', "show each member's offset (definitions only)"),
    Flag::letter('x', "integers in hexadecimal"),
    Flag::letter('d', "integers in decimal (the default)"),
    Flag::letter(
        'l',
        "ADDR points at this member (an offset or struct.member) of the structure",
    )
    .takes("OFFSET"),
    Flag::letter(
        'r',
        "the raw bytes of the structure (or of its one member), as rd shows them",
    ),
    Flag::letter(
        'f',
        "ADDR is an offset in the dump file (its bytes as stored)",
    ),
    Flag::letter('u', "ADDR is a user address of the current context"),
    Flag::letter(
        'p',
        "follow each pointer member one step: its declaration, then -> and what it points at \
         (NULL, the symbol there, the string, or the target's contents)",
    ),
    Flag::letter(
        'c',
        "show this many structures; negative: those that end with the one at ADDR",
    )
    .takes("COUNT"),
];

/// The arguments of `struct`, `union` and `*`.
const STRUCT_ARGS: &[Arg] = &[
    Arg::required(
        "NAME[.MEMBER,...]",
        "the type, and optionally only these members",
    ),
    Arg::optional(
        "ADDR|SYMBOL",
        "where the structure is (hexadecimal, or a symbol); without it the definition is shown",
    ),
    Arg::optional("COUNT", "show this many consecutive structures"),
];

pub static POINTER: Command = Command::new(
    "*",
    "a structure or union at an address, or its definition",
    |s, a| structs::run(s, a, None),
)
.flags(STRUCT_FLAGS)
.args(STRUCT_ARGS)
.description(
    "The same as `struct` and `union`, for a type that may be either: NAME is looked up as a \
     structure first, then as a union. The star may also be written against the name, as in \
     `*task_struct ADDR`.\n\n\
     A structure's name alone also works as a command: `task_struct ADDR` is `struct \
     task_struct ADDR`.",
)
.examples(&[
    example("* list_head", "the definition of struct list_head"),
    example(
        "* task_struct.comm,pid init_task",
        "two members of the initial task",
    ),
]);

pub static ALIAS: Command = Command::new("alias", "list or define command aliases", alias::run)
    .args(&[
        Arg::optional("NAME", "an alias: show it, or define it"),
        Arg::optional(
            "COMMAND",
            "what NAME stands for: a command and its first words (\"\" deletes the alias)",
        )
        .repeated(),
    ])
    .description(
        "Without arguments, lists the aliases: crash's builtin ones (man, ?, quit, sf, sn, hex, \
     dec, g, px, pd, for, size, dmesg, lsmod), then those defined in this session. With a \
     NAME, shows that alias; with a COMMAND too, defines it: a command line starting with NAME \
     then runs COMMAND followed by the rest of the line, at the prompt and in -c alike. The \
     COMMAND must start with a command's name, and NAME must not be one.",
    )
    .examples(&[
        example("alias", "every alias"),
        example("alias ll \"bt -l\"", "ll runs bt -l (ll 1 runs bt -l 1)"),
        example("alias ll \"\"", "delete ll"),
    ]);

pub static ASCII: Command = Command::new(
    "ascii",
    "the characters of a hexadecimal value, or the ASCII chart",
    eval::run_ascii,
)
.args(&[Arg::optional("HEX", "a value of up to 16 hexadecimal digits").repeated()])
.description(
    "Shows each value's 8 bytes as characters, lowest byte first as memory holds them: \
     printable characters as they are, control characters by name (`<NUL>`, `<LF>`), bytes \
     above 0x7f in hex (`<e8>`). Without a value, prints the ASCII chart.",
)
.examples(&[
    example(
        "ascii 62696c2f7273752f",
        "the string in a register or a memory word",
    ),
    example("ascii", "the ASCII chart"),
]);

pub static ANALYZE: Command = Command::new(
    "analyze",
    "triage: what happened, the culprit, the evidence and a signature",
    analyze::run,
)
.description(
    "Reads the kernel log with the parser of `oops` and checks it against the dump's own \
     state: the panic task's stack, the stacks of blocked tasks, the tasks' resident sets. It \
     names the kind of failure (NULL dereference, general protection fault, BUG, bad access, \
     stack overflow, WARNING, KASAN/KFENCE/KMSAN/KCSAN/UBSAN, list or memory corruption, \
     scheduling while atomic, lockdep, hung task, soft or hard lockup, RCU stall, OOM, sysrq, \
     killed init, machine check, panic, or no panic), a syzbot-style title (`general \
     protection fault in FUNC`), the culprit — the first frame that is not panic, oops, \
     watchdog, entry, lock or debugging machinery; for an OOM, the largest consumer — with its \
     source line when DWARF is attached, and the log lines and stacks the verdict rests on.\n\n\
     The signature (`kd2-…`) hashes only what stays the same across machines and boots: the \
     kind, its subtype and the culprit functions without offsets, addresses or compiler \
     suffixes; a sysrq crash or an OOM groups by cause and kernel series. `oops` on the dump's \
     log gives the same title and signature (docs/signatures.md).",
)
.examples(&[example(
    "analyze",
    "the verdict, culprit, evidence and signature of this dump",
)]);

pub static BPF: Command = Command::new("bpf", "the BPF programs and maps loaded", bpf::run)
    .flags(&[
        Flag::letter('p', "this program, with its details").takes("ID"),
        Flag::letter('m', "this map, with its details").takes("ID"),
        Flag::letter('P', "every program with its details"),
        Flag::letter('M', "every map with its details"),
        Flag::letter('j', "with -p or -P, the program's JITed code, disassembled"),
        Flag::letter(
            't',
            "with -p or -P, the program's translated BPF instructions",
        ),
        Flag::letter('T', "the same with each instruction's bytes"),
        Flag::letter(
            's',
            "with -p, -P, -m or -M, the bpf_prog and bpf_prog_aux or bpf_map structures",
        ),
        Flag::letter('x', "with -s, integers in hexadecimal"),
        Flag::letter('d', "with -s, integers in decimal"),
    ])
    .description(
        "Lists the loaded BPF programs (from the kernel's prog_idr) with their bpf_prog, \
     bpf_prog_aux, type, tag and the maps they use, then the maps (map_idr) with their type \
     and flags. -p and -m show one program or map with its sizes, name and owner; -P and -M \
     all of them.\n\n\
     With them, -t lists each program's translated instructions in the kernel's notation \
     (`(bf) r6 = r1`, helpers by name, maps as `map[id:N]`), -T with each instruction's \
     bytes, -j disassembles the JITed code as `dis` does, and -s shows the structures as \
     `struct` does (-x, -d: its radix).",
    )
    .examples(&[
        example("bpf", "every BPF program and map"),
        example("bpf -P", "every program with its details"),
    ]);

pub static BT: Command = Command::new("bt", "kernel stack backtraces", bt::run)
    .flags(&[
        Flag::letter('a', "the task running on each CPU"),
        Flag::letter(
            't',
            "every kernel text address on the stack, from the starting stack pointer up",
        ),
        Flag::letter(
            'T',
            "every kernel text address on the stack, from the stack's base up",
        ),
        Flag::letter('f', "each frame's stack words, under its line"),
        Flag::letter('s', "symbol offsets after function names"),
        Flag::letter('x', "with -s, offsets in hexadecimal"),
        Flag::letter('d', "with -s, offsets in decimal (the default)"),
        Flag::letter(
            'l',
            "each frame's source file and line (needs a vmlinux with DWARF)",
        ),
        Flag::letter(
            'F',
            "as -f, words named: symbol+offset, [slab cache] (-FF: [address:cache])",
        ),
        Flag::letter(
            'r',
            "the raw stack, whole, with symbols instead of the frames",
        ),
        Flag::letter('e', "the exception frames found anywhere on the stack"),
        Flag::letter(
            'E',
            "the exception frames on every CPU's interrupt and exception stacks",
        ),
        Flag::letter(
            'v',
            "check every task's stack for an overflow (its end marker overwritten)",
        ),
        Flag::letter('g', "every thread of the task's thread group"),
        Flag::letter('c', "the tasks running on these CPUs (0, 1,3, 0-2)").takes("CPUS"),
        Flag::letter('R', "only backtraces that refer to this symbol or value").takes("REF"),
        Flag::letter('I', "start the walk at this pc (with -S, at this sp)").takes("IP"),
        Flag::letter('S', "start the walk at this stack pointer").takes("SP"),
        Flag::letter(
            'o',
            "crash's old method: frame pointers (x86_64 kernels built with them), frame records (aarch64)",
        ),
        Flag::letter(
            'O',
            "the old method by default; kdive's one unwinder already follows frame pointers where the kernel has them",
        ),
        Flag::letter(
            'p',
            "only the panic task's backtrace (the task running on panic_cpu)",
        ),
        Flag::letter('n', "idle tasks (PID 0) by their header alone").takes("idle"),
    ])
    .args(&[TASKS])
    .per_task(bt::for_tasks)
    .description(
        "Unwinds a task's kernel stack with the ORC tables read from the dump (or a vmlinux's \
         CFI), across interrupt and exception stacks, and prints each frame as crash does: \
         number, stack address, function, return address, and the exception frames' registers. \
         Frames found by scanning rather than unwinding are marked `?`.\n\n\
         Without arguments it shows the current context (the panic task unless `set` chose \
         another). When the unwind stops early, -t or -T list the text addresses on the stack, \
         which often shows the rest.",
    )
    .examples(&[
        example("bt", "the stack of the panic task"),
        example("bt -a", "the stacks of the tasks running on every CPU"),
        example("bt -f 1", "PID 1's stack with every frame's words"),
    ]);

pub static BTOP: Command = Command::new("btop", "an address's page frame number", vtop::run_btop)
    .args(&[Arg::required("ADDR", "a hexadecimal address").repeated()])
    .description(
        "Shifts each address right by the page size's bits: `ADDR: PFN`, both in hexadecimal.",
    )
    .examples(&[example(
        "btop 0x12345000",
        "the page frame number of 0x12345000",
    )]);

pub static DEV: Command = Command::new(
    "dev",
    "character and block devices, disks' I/O, PCI devices",
    dev::run,
)
.flags(&[
    Flag::letter('d', "each disk's requests in flight, reads and writes"),
    Flag::letter('D', "the same, only disks with requests in flight"),
    Flag::letter('p', "the PCI buses and their devices"),
    Flag::letter('i', "the I/O ports and memory regions"),
    Flag::letter('V', "the device dumps the dump carries"),
    Flag::letter(
        'v',
        "one device dump by its -V index (to FILE, raw, when one is named)",
    )
    .takes("INDEX"),
])
.args(&[Arg::optional(
    "FILE",
    "with -v, where to write the device dump",
)])
.description(
    "Lists the character device regions and the block majors, with the cdev or gendisk behind \
     each and its operations, as crash's `dev` does without arguments. Unlike crash, every block \
     major of a shared hash bucket is shown, not only the first.\n\n\
     -d counts, for each disk of the block class, the requests its driver holds (the busy \
     tags of its hardware queues). -p walks the PCI root buses: each device's name, class, \
     vendor:device and, for PCI Express devices, its port type (crash calls every \
     conventional PCI device ENDPOINT; kdive leaves their type empty).\n\n\
     -i lists the I/O port ranges (`ioport_resource`) and the physical memory regions \
     (`iomem_resource`) depth first, as /proc/ioports and /proc/iomem do. -V lists the device \
     dumps drivers added to the dump (vmcoredd notes: index, file offset, size, name); -v \
     INDEX shows one as 64-bit words, or copies it raw to FILE.",
)
.examples(&[
    example("dev", "the character and block devices"),
    example("dev -d", "the disks' requests in flight"),
    example("dev -p", "the PCI devices"),
    example("dev -i", "the I/O ports and memory regions"),
]);

pub static DIS: Command = Command::new("dis", "disassemble kernel code", dis::run)
    .flags(&[
        Flag::letter(
            'l',
            "the source file and line above each change of line (needs DWARF)",
        ),
        Flag::letter(
            'r',
            "from the function's start up to and including ADDR (a return address)",
        ),
        Flag::letter('f', "from ADDR to the end of its function"),
        Flag::letter(
            's',
            "the source text around ADDR's line, from the file on disk",
        ),
        Flag::letter('x', "symbol offsets in hexadecimal"),
        Flag::letter('d', "symbol offsets in decimal (the default)"),
        Flag::letter('u', "ADDR is a user address of the current context"),
        Flag::letter('b', "bytes of inline data after each ud2 to skip").takes("N"),
    ])
    .args(&[
        Arg::required(
            "ADDR|SYMBOL",
            "a hexadecimal address, a symbol (a module's too) or SYMBOL+OFFSET",
        ),
        Arg::optional("COUNT", "how many instructions"),
    ])
    .description(
        "Disassembles kernel code as crash does, in gdb's AT&T syntax, each line and each branch \
         target named `<function+offset>`. Given a function's name (or its start address) \
         without COUNT, the whole function is shown; another address alone shows one \
         instruction.\n\n\
         The code is read from the dump, so it is what ran: alternatives, static calls and jump \
         labels as the kernel patched them. A function's extent comes from the vmlinux's or the \
         module's symbol sizes, else it ends at the next symbol. The 5-byte nop ftrace patches \
         at a function's start is marked [FTRACE NOP].",
    )
    .examples(&[
        example("dis schedule 20", "the first 20 instructions of schedule"),
        example(
            "dis -r schedule+67",
            "a function from its start up to an address in it (a frame's return address)",
        ),
        example(
            "dis -l sysrq_handle_crash",
            "a whole function with its source lines",
        ),
    ]);

pub static EVAL: Command = Command::new(
    "eval",
    "a number or C expression in hexadecimal, decimal, octal and binary",
    eval::run,
)
.flags(&[
    Flag::letter('b', "also list the bits set"),
    Flag::letter('l', "64-bit arithmetic (always the case here)"),
])
.args(&[EXPRESSION])
.description(
    "Evaluates a C expression and prints the result as crash does: hexadecimal (with its size \
     when a whole number of KB, MB or GB), decimal (and the negative value when the top bit is \
     set), octal and 64 binary digits. As in crash, a symbol stands for its address and \
     numbers take k, m and g multipliers; unlike crash, the whole expression is evaluated, \
     not only its first parenthesised part.",
)
.examples(&[
    example("eval (1 << 12) * 3", "a computed size"),
    example("eval -b 0x55", "which bits are set"),
    example("eval 4k", "a multiplier"),
]);

pub static EXIT: Command = Command::new("exit", "end the session", |_, _| Err(EXIT.refusal()))
.aliases(&["q", "quit"])
.instead(
    "at the kdive> prompt, `exit`, `q` or `quit` ends the session; in one-command mode (`-c`) there is no session to end.",
);

pub static EXTEND: Command = Command::new("extend", "load shared-object extensions", |_, _| Err(EXTEND.refusal()))
.flags(&[
    Flag::letter('u', "unload extensions").not_yet(),
    Flag::letter('s', "list the extension search path").not_yet(),
])
.instead(
    "kdive loads no shared objects. Extensions are Python scripts instead: `kdive DUMP --script FILE.py` runs drgn scripts unchanged, with every drgn helper in scope.",
);

pub static FILES: Command = Command::new(
    "files",
    "a task's root, working directory and open files",
    files::run,
)
.flags(&[
    Flag::letter('d', "this dentry's inode, superblock, type and path").takes("DENTRY"),
    Flag::letter('p', "the pages an inode has in the page cache").takes("INODE"),
    Flag::letter(
        'c',
        "each file's inode, i_mapping and pages in the page cache",
    ),
    Flag::letter(
        'R',
        "only the tasks and files referring to this: a descriptor, an address, a type, a file name",
    )
    .takes("REF"),
])
.args(&[TASKS])
.per_task(files::for_tasks)
.description(
    "Shows a task's root and current directory, then each open file descriptor with its file, \
     dentry and inode, the file's type and its path. Sockets also name their protocol; pipes \
     and sockets their pseudo filesystem. -p INODE lists the inode's pages in the page cache \
     (its `i_mapping->i_pages`), each as `kmem -p` shows a page.",
)
.examples(&[
    example("files", "the open files of the current context"),
    example("files 1", "the open files of PID 1"),
    example(
        "files -p ffff8c5bc11e5910",
        "an inode's pages in the page cache",
    ),
]);

pub static FOREACH: Command = Command::new(
    "foreach",
    "run a per-task command over chosen tasks",
    foreach::run,
)
.args(&[
    Arg::optional(
        "PID|TASK|COMM|STATE|kernel|user|active",
        "choose tasks: by PID, task address, command name, crash state (RU, IN, UN...), \
         kernel threads, user tasks, or the tasks running on a CPU; every task when none is given",
    )
    .repeated(),
    Arg::required(
        "COMMAND",
        "`bt`, `files`, `vm`, `sig`, `net`, `ps`, `task`, `set` or `vtop`",
    ),
    Arg::optional("FLAGS", "the command's flags").repeated(),
])
.description(
    "Runs one per-task command for every task the selectors choose, in PID order; a task is \
     chosen when any selector matches it. The command takes its usual flags, except those that \
     choose tasks themselves (bt -a, vtop -c); vtop takes its addresses after its name and walks \
     each in every chosen task's address space.",
)
.examples(&[
    example("foreach bt", "every task's stack"),
    example(
        "foreach UN bt",
        "the stacks of the tasks in uninterruptible sleep",
    ),
    example("foreach sshd files", "the open files of every sshd"),
]);

pub static FUSER: Command = Command::new("fuser", "the tasks using a file, and how", fuser::run)
    .args(&[Arg::required("PATH|INODE", "a file's path, or the address of its inode").repeated()])
    .description(
        "Lists the tasks that use the file as their root (`root`) or working directory (`cwd`), \
     hold it open (`fd`) or map it (`mmap`). A path matches only the same path, as the task's \
     own files name it; an inode address matches open and mapped files.",
    )
    .examples(&[
        example("fuser /", "the tasks using the root directory"),
        example("fuser /bin/busybox", "the tasks running or holding busybox"),
    ]);

pub static GDB: Command = Command::new("gdb", "pass a command to gdb", |_, _| Err(GDB.refusal()))
.instead(
    "kdive embeds no gdb. Its commands cover gdb's usual uses: `whatis` and `struct` for types and values, `sym` for symbols and lines, `dis` to disassemble, `p`-like expressions through `kdive DUMP --python`.",
);

pub static HELP: Command = Command::new("help", "the commands, or one command in full", help::run)
    .args(&[Arg::optional("COMMAND", "the command to describe")])
    .description(
        "Without an argument, lists every command with its synopsis and what it shows. With a \
     command's name, shows its synopsis, flags, arguments, description and examples. \
     `COMMAND --help` is the same as `help COMMAND`.",
    )
    .examples(&[
        example("help", "every command"),
        example("help bt", "bt's flags and examples"),
    ]);

pub static INFO: Command = Command::new(
    "info",
    "the dump file: format, completeness, notes, verdict",
    info::run,
)
.flags(&[Flag::letter('v', "every VMCOREINFO entry")])
.description(
    "Describes the dump container rather than the kernel: its format and compression, the \
     dump level in words, how many pages are present, filtered out or lost, the ELF notes it \
     carries and a verdict on what can be trusted. It needs no kernel, so it works in minimal \
     mode.",
)
.examples(&[
    example("info", "what the dump is and how whole"),
    example("info -v", "the same with every VMCOREINFO line"),
]);

pub static IPCS: Command = Command::new(
    "ipcs",
    "System V shared memory, semaphores and message queues",
    ipcs::run,
)
.flags(&[
    Flag::letter('m', "shared memory segments"),
    Flag::letter('M', "shared memory segments, each with its pages and inode"),
    Flag::letter('s', "semaphore arrays"),
    Flag::letter('q', "message queues"),
    Flag::letter('n', "the IPC namespace of this task").takes("PID|TASK"),
])
.args(&[Arg::optional(
    "ID|ADDR",
    "only this object: its ID, or the address of its shmid_kernel, sem_array or msg_queue",
)
.repeated()])
.description(
    "Lists the System V IPC objects of the initial IPC namespace (or a task's, with -n): \
     shared memory segments with key, ID, owner, permissions, size, attaches and status; \
     semaphore arrays with their size; message queues with bytes and messages queued. \
     Without -m, -M, -s or -q, all three kinds.",
)
.examples(&[
    example(
        "ipcs",
        "every shared memory segment, semaphore array and message queue",
    ),
    example("ipcs -M", "the shared memory segments with their pages"),
]);

pub static IRQ: Command = Command::new("irq", "IRQ descriptors and their actions", irq::run)
    .flags(&[
        Flag::letter(
            's',
            "interrupts taken per CPU, with chip and handler names (/proc/interrupts)",
        ),
        Flag::letter('c', "with -s, only these CPUs").takes("CPU[,CPU...]"),
        Flag::letter('a', "the CPUs each IRQ may be delivered to"),
        Flag::letter('b', "the softirq vectors and their handlers"),
        Flag::letter('d', "the interrupt descriptor table's handlers (x86_64)"),
        Flag::letter('u', "only the IRQs in use (those with a descriptor)"),
    ])
    .description(
        "Lists every IRQ number with its irq_desc, irq_chip and the irqaction handlers chained on \
     it, as crash's `irq` does without arguments. -s, -a and -b show, for the IRQs with \
     handlers, the per-CPU counts, the affinity, or the softirq vectors instead. -d lists the \
     x86_64 interrupt descriptor table's 256 gates with their handlers' symbols.",
    )
    .examples(&[
        example("irq", "every IRQ"),
        example("irq -s", "interrupt counts per CPU"),
        example("irq -b", "the softirq handlers"),
    ]);

pub static KMEM: Command = Command::new(
    "kmem",
    "memory: what an address is, pages, free lists, zones, slab caches, vmalloc",
    kmem::run,
)
.flags(&[
    Flag::letter(
        'i',
        "memory usage: total, free, used, buffers, cached, swap",
    ),
    Flag::letter(
        's',
        "SLUB caches: objects allocated and total, slabs, slab size (or the cache and slab of ADDR)",
    ),
    Flag::letter(
        'S',
        "a cache's slabs object by object, free or allocated (CPU, partial and full slabs)",
    ),
    Flag::letter('p', "every struct page (or the one of ADDR): mapping, index, count, flags"),
    Flag::letter('P', "with -p, -f or -v: ADDR is a physical address"),
    Flag::letter(
        'f',
        "the buddy allocator's free lists: blocks per zone, order and migrate type (or the free \
         block holding ADDR's page)",
    ),
    Flag::letter('F', "as -f, with every free block's first page"),
    Flag::letter('z', "each zone: size, watermarks and its vm_stat counters"),
    Flag::letter('n', "memory nodes, their zones, memory sections and memory blocks"),
    Flag::letter(
        'v',
        "vmalloc areas: vmap_area, vm_struct, address range, size (or the area holding ADDR)",
    ),
    Flag::letter('V', "the VM counters: zone, node and event statistics"),
    Flag::letter('o', "each CPU's per-CPU offset"),
    Flag::letter('h', "huge page pools: size, free and total pages"),
    Flag::letter('g', "the page flags of enum pageflags (or those set in FLAGS)"),
    Flag::letter('c', "the page cache hash table (kernels before 2.6)").not_yet(),
    Flag::letter('C', "the page cache hash table, verbose (kernels before 2.6)").not_yet(),
    Flag::letter('l', "pages on the active or inactive lists").takes("a|i|ic|id").not_yet(),
    Flag::letter('L', "pages on the active or inactive lists, verbose")
        .takes("a|i|ic|id")
        .not_yet(),
    Flag::letter(
        'r',
        "root slab caches with their children's counts (kernels 4.13 to 5.8; later ones have \
         no child caches, and kdive says so)",
    ),
    Flag::letter('m', "chosen struct page members of every page").takes("MEMBER").not_yet(),
    Flag::letter(
        'I',
        "with -s: caches to leave out, comma-separated (shown [IGNORED], their slabs not walked)",
    )
    .takes("CACHE"),
])
.args(&[Arg::optional(
    "ADDR|NAME",
    "an address (what it is; or for -p, -s, -g the page, object or flags it names; for -f the \
     free block holding its page; for -v the vmalloc area holding it, or for a physical \
     address the areas mapping it) or, with -s and -S, a cache's name",
)
.repeated()])
.description(
    "With an address alone, says everything crash says about it: the kernel symbol it is in \
     (with DWARF its source line), the vmalloc area and the task whose stack it is, the slab \
     cache, slab and object holding it (allocated or free, on which CPU's freelist), the free \
     block of the buddy allocator, the task whose task_struct it is, and its struct page. \
     Addresses are kernel virtual ones; a physical one is taken as such when it is below the \
     direct map.\n\n\
     Give one of -i, -s, -S, -p, -f, -F, -z, -n, -v, -V, -o, -h, -g. Where crash counts \
     differently from the kernel, crash is followed: -s counts the objects on per-CPU \
     freelists and partial slabs as free, where /proc/slabinfo counts them as active. `kmem -p` \
     reads the struct pages while it prints them, so all of memory is never held at once.",
)
.examples(&[
    example("kmem -i", "how memory was used"),
    example("kmem -s dentry", "the dentry cache"),
    example("kmem ffff8e119be90000", "what this address is"),
    example("kmem -p", "every page's struct page"),
    example("kmem -f", "the free lists of each zone"),
    example("kmem -S kmalloc-64", "each object of the kmalloc-64 cache"),
]);

pub static LIST: Command = Command::new(
    "list",
    "the entries of a linked list of kernel structures",
    list::run,
)
.flags(&[
    Flag::letter(
        'o',
        "where the link is in each structure: a byte offset or STRUCT.MEMBER",
    )
    .takes("OFFSET"),
    Flag::letter('s', "show each entry's contents (or these members)").takes("STRUCT[.MEMBER,...]"),
    Flag::letter(
        'h',
        "START is a structure with an embedded list_head at OFFSET",
    ),
    Flag::letter('H', "START is a standalone list_head"),
    Flag::letter('x', "with -s, integers in hexadecimal"),
    Flag::letter('d', "with -s, integers in decimal (the default)"),
    Flag::letter('r', "walk a list_head list backwards, through prev"),
    Flag::letter(
        'B',
        "find loops with R. P. Brent's algorithm (constant memory): list a loop once and say where it is",
    ),
    Flag::letter('e', "stop before this address").takes("END"),
    Flag::letter('S', "the same as -s").takes("STRUCT[.MEMBER,...]"),
    Flag::letter(
        'O',
        "with -h: where the head structure's own list_head is, when not at OFFSET",
    )
    .takes("OFFSET"),
    Flag::letter(
        'l',
        "with -s: the entries are list_heads this far into the structures shown",
    )
    .takes("OFFSET"),
])
.args(&[
    Arg::optional("OFFSET", "the same as -o OFFSET"),
    Arg::required(
        "START",
        "the first structure or list head: an address or a symbol",
    ),
])
.description(
    "Without -h or -H, START is the first structure and the pointer at OFFSET in each one \
     holds the next; the walk ends at NULL or back at START. With -h, the entries are the \
     structures around each list_head, START first; with -H, around every list_head but START.\n\n\
     Every walk is bounded by --max-list-entries and stops, saying so, at a loop that does not \
     return to its start.",
)
.examples(&[
    example(
        "list task_struct.tasks -h init_task",
        "every task, from the initial task's list of tasks",
    ),
    example(
        "list -H modules -o module.list -s module.name",
        "the names of the loaded modules",
    ),
]);

pub static LOG: Command = Command::new("log", "the kernel log", log::run)
    .flags(&[
        Flag::letter('T', "wall-clock dates instead of seconds since boot"),
        Flag::letter('t', "no timestamps"),
        Flag::letter('m', "each message's level"),
        Flag::letter('c', "each message's caller (thread or CPU id)"),
        Flag::letter('d', "the messages' dictionaries (key=value lines)"),
        Flag::letter('a', "the audit records not yet copied to the audit daemon"),
        Flag::letter(
            's',
            "the printk safe per-CPU buffers not yet flushed to the log (kernels 4.11 to 5.14)",
        ),
        Flag::letter('R', "Rust symbol names demangled in the text"),
    ])
    .description(
        "Prints the kernel's ring buffer in order, from the lockless printk ring buffer or the \
         older log buffer, continuation lines joined as the kernel joins them. In minimal mode \
         the buffer is found through VMCOREINFO, without the kernel's symbols.\n\n\
         -a prints the audit records queued for the audit daemon (`type=N text`, from the \
         audit sk_buff queues); -s the printk safe per-CPU buffers of kernels that have them \
         (4.11 to 5.14), and says so on kernels that do not.",
    )
    .examples(&[
        example("log", "the kernel log with timestamps"),
        example("log -T -m", "with dates and message levels"),
        example("log -a", "the audit records not yet read by auditd"),
    ]);

pub static MACH: Command = Command::new(
    "mach",
    "the machine: CPUs, memory, kernel layout and stacks",
    mach::run,
)
.flags(&[
    Flag::letter('c', "each CPU's struct cpuinfo_x86"),
    Flag::letter('m', "the firmware's (E820) memory map"),
    Flag::letter('x', "with -c, integers in hexadecimal"),
    Flag::letter('d', "with -c, integers in decimal (the default)"),
    Flag::letter('o', "the OPAL console log (ppc64)").not_yet(),
])
.description(
    "Shows the machine type, memory size, CPU count and speed, the tick rate (HZ), page size, \
     where the kernel's regions start (direct map, vmalloc, vmemmap, image, modules), the \
     kernel stack size, and each CPU's IRQ and exception stacks, as crash's `mach` does.\n\n\
     HZ comes from the length of a tick the kernel keeps (`tick_nsec`). crash guesses it from \
     the I/O scheduler's defaults and says 1000 on kernels where it cannot find them; kdive's \
     is the kernel's own.",
)
.examples(&[
    example("mach", "the machine"),
    example("mach -m", "the physical memory map"),
    example("mach -c", "each CPU's cpuinfo_x86"),
]);

pub static MOD: Command = Command::new("mod", "loaded modules and their debug files", modules::run)
    .flags(&[
        Flag::letter(
            't',
            "the modules that taint the kernel, with their taint letters",
        ),
        Flag::letter(
            's',
            "attach this module's debug file (FILE, or NAME.ko beside the dump)",
        )
        .takes("NAME"),
        Flag::letter(
            'S',
            "attach the debug file of every module found in DIR (default: beside the dump)",
        ),
        Flag::letter(
            'r',
            "accepted for crash's sake: debug files are read as needed",
        ),
        Flag::letter('d', "detach this module's debug file").takes("NAME"),
        Flag::letter('D', "detach every module's debug file"),
        Flag::letter(
            'R',
            "detach every module's debug file, then list the modules again",
        ),
        Flag::letter('o', "load module symbols the old way").not_yet(),
        Flag::letter(
            'g',
            "with -s or -S, add the sections' start and end as symbols",
        )
        .not_yet(),
    ])
    .args(&[Arg::optional(
        "FILE|DIR",
        "with -s, the module's debug file; with -S, where to look for them",
    )])
    .description(
        "Lists the loaded modules as crash does: the struct module, name, text base, size and \
     the debug file (`.ko`, `.ko.debug`) attached to each, when one was found next to the \
     dump, given on the command line, or loaded with -s or -S. A debug file is checked \
     against the loaded module (its srcversion and its symbols' layout) before it is used.\n\n\
     -d NAME and -D detach one module's or every module's debug file, silently as crash: its \
     source lines, locals and globals are no longer used (`sym`, `bt -l`, `dis -l`); the \
     module's symbols stay, read from the kernel's own kallsyms. -R does the same for every \
     module, then lists them.",
    )
    .examples(&[
        example("mod", "every loaded module"),
        example("mod -t", "the modules that taint the kernel"),
        example("mod -S", "attach the .ko files found beside the dump"),
    ]);

pub static MOUNT: Command = Command::new(
    "mount",
    "the mounts of the initial namespace, or of a task's",
    mount::run,
)
.flags(&[
    Flag::letter(
        'f',
        "the dentries and inodes of open files of each filesystem",
    ),
    Flag::letter('i', "the dirty inodes of each filesystem"),
    Flag::letter('n', "the mounts of this task's namespace").takes("PID|TASK"),
])
.description(
    "Lists the mounts of the initial mount namespace (a list, or a tree since Linux 6.8) with \
     their superblock, filesystem type, device and path, the path built through the chain of \
     parent mounts. -n lists those of a task's namespace (its `nsproxy->mnt_ns`).\n\n\
     -f adds each filesystem's open files (dentry, inode, type, path): the kernel keeps no \
     list of them per superblock since 3.13, so they are the open files of every task, by \
     the superblock of their inode. -i adds each superblock's dirty inodes: its `s_dirty` \
     list on old kernels, else those of its device's writeback lists (`b_dirty`, `b_io`, \
     `b_more_io` of each `bdi_writeback`).",
)
.examples(&[
    example("mount", "every mount"),
    example("mount -n 1", "the mounts PID 1 sees"),
]);

pub static NET: Command = Command::new(
    "net",
    "network devices, sockets and the ARP cache",
    net::run,
)
.flags(&[
    Flag::letter(
        'n',
        "the devices of a task's network namespace (the current one's by default)",
    ),
    Flag::letter(
        's',
        "the open sockets of the tasks given (the current one by default)",
    ),
    Flag::letter(
        'S',
        "the same, with each socket's struct socket and inet_sock",
    ),
    Flag::letter('a', "the IPv4 neighbour (ARP) cache"),
    Flag::letter('N', "a 32-bit value as an IPv4 address").takes("ADDR"),
    Flag::letter('x', "with -S, integers in hexadecimal"),
    Flag::letter('d', "with -S, integers in decimal (the default)"),
    Flag::letter(
        'R',
        "with -s or -S: only the sockets referring to this: a descriptor, a socket or sock address",
    )
    .takes("REF"),
])
.args(&[TASKS])
.per_task(net::for_tasks)
.description(
    "Without flags, lists the network devices of the initial network namespace with their \
     net_device, name and IPv4 and IPv6 addresses, as crash's `net` does. -n lists a task's \
     namespace's devices; -s lists each task's open sockets with their family, type and, for \
     IPv4 and IPv6, the local and remote address and port; -a the ARP cache.",
)
.examples(&[
    example("net", "every network device"),
    example("net -s 1", "PID 1's open sockets"),
    example("net -a", "the ARP cache"),
]);

pub static OOPS: Command = Command::new(
    "oops",
    "classify the kernel reports of a log file, as analyze does a dump",
    oops::run,
)
.args(&[Arg::optional(
    "FILE|-",
    "a console log, dmesg, vmcore-dmesg.txt, pstore file or pasted report; - reads standard \
     input; without it, the dump's own kernel log",
)])
.description(
    "Finds every kernel report in the text (with or without timestamps, caller ids or syslog \
     prefixes; several reports in one log are each shown, first first) and gives each what \
     `analyze` gives a dump: kind, syzbot-style title, culprit and signature, the same ones \
     `analyze` gives the dump the log came from. It also decodes the taint flags, the \
     page-fault error code and the `Code:` bytes (x86_64, the faulting instruction marked). \
     `kdive oops FILE|-` runs it without a dump; with `--json` each report is one document.",
)
.examples(&[example(
    "oops",
    "the reports of this dump's kernel log, read as text",
)]);

pub static P: Command = Command::new("p", "the value of a C expression", print::run)
    .aliases(&["print"])
    .flags(&[
        Flag::letter('x', "integers in hexadecimal (also `p/x`)"),
        Flag::letter('d', "integers in decimal, the default (also `p/d`)"),
        Flag::letter(
            'u',
            "user addresses in the expression are read in the current context's process",
        ),
    ])
    .args(&[EXPRESSION])
    .description(
        "Evaluates a C expression on the dump and prints its value as crash's gdb does, \
     numbered `$N` in the session's value history: a variable's name first (`jiffies = $1 = \
     ...`), structures and unions member by member, char arrays as strings, pointers with \
     their type and the symbol they point at, functions as `{TYPE} ADDR <name>`. A per-CPU \
     variable on its own lists its type and each CPU's address; `NAME:CPUS` (`:1`, `:0,2-3`, \
     `:a` for all) prints its value on those CPUs. Types come from the vmlinux's DWARF, or \
     from the dump's BTF (per-CPU variables, functions, and anything reached through a cast).",
    )
    .examples(&[
        example("p runqueues", "a per-CPU variable's address on each CPU"),
        example("p runqueues:1", "a per-CPU variable on CPU 1"),
        example(
            "p -x *(unsigned long *)&jiffies",
            "a variable through a cast, in hexadecimal",
        ),
        example("p &init_task", "an address"),
        example("p sizeof(struct task_struct)", "a type's size"),
        example("p schedule", "a function"),
    ]);

pub static PS: Command = Command::new("ps", "tasks and their state", ps::run)
    .flags(&[
        Flag::letter('k', "kernel threads only"),
        Flag::letter('u', "user tasks only"),
        Flag::letter('G', "thread group leaders only"),
        Flag::letter('A', "only the tasks running on a CPU"),
        Flag::letter('I', "leave out the idle tasks"),
        Flag::letter('H', "no header line"),
        Flag::letter(
            's',
            "the saved kernel stack pointer instead of the task address",
        ),
        Flag::letter(
            't',
            "run time, start time, user and system time of each task",
        ),
        Flag::letter('p', "each task's ancestry, from the idle task down"),
        Flag::letter('c', "each task's children"),
        Flag::letter('g', "each thread group with its threads"),
        Flag::letter(
            'l',
            "when each task last ran (sched_info.last_arrival), most recent first",
        ),
        Flag::letter(
            'm',
            "how long before its CPU's runqueue clock each task last ran, most recent first",
        ),
        Flag::letter('S', "how many tasks are in each state"),
        Flag::letter('r', "each task's resource limits"),
        Flag::letter(
            'a',
            "each task's arguments and environment, read from its user memory",
        ),
        Flag::letter('Y', "scheduling policy and priority instead of memory"),
        Flag::letter(
            'y',
            "only tasks of these scheduling policies (NORMAL, FIFO, RR, BATCH, IDLE, DEADLINE)",
        )
        .takes("POLICY[,POLICY...]"),
        Flag::letter('C', "with -l or -m, the tasks of these CPUs under each CPU")
            .takes("CPU[,CPU...]"),
    ])
    .args(&[Arg::optional(
        "PID|TASK|COMM",
        "only these tasks: a PID, a task_struct address or a command name",
    )
    .repeated()])
    .per_task(foreach::ps_for_tasks)
    .description(
        "Lists tasks in PID order (the idle tasks by CPU) with parent PID, CPU, task_struct \
         address, state, share of memory, virtual and resident size and command name. Tasks \
         running on a CPU are marked `>`.\n\n\
         One of -t, -p, -c, -g, -l, -m, -S, -r, -a and -Y may be given: each shows another view \
         of the chosen tasks. -k, -u, -G, -I, -A and -y choose tasks, as PID, task and command \
         arguments do.",
    )
    .examples(&[
        example("ps", "every task"),
        example("ps -k", "the kernel threads"),
        example("ps -p 1", "PID 1 and its ancestors"),
        example("ps -l", "the tasks by when they last ran"),
        example("ps -S", "how many tasks are in each state"),
        example("ps -y FIFO", "the real-time FIFO tasks"),
    ]);

pub static PTE: Command = Command::new("pte", "a page-table entry decoded", vtop::run_pte)
    .args(&[Arg::required("VALUE", "a page-table entry, in hexadecimal").repeated()])
    .description(
        "Shows the physical address an x86_64 page-table entry holds and the names of its bits \
         (PRESENT, RW, USER, PWT, PCD, ACCESSED, DIRTY, PSE, PROTNONE, GLOBAL, NX), as crash \
         does. A non-present entry that is not empty is a swap entry: its bits are named but \
         the swap device and offset are not decoded.",
    )
    .examples(&[example(
        "pte 0x800000001be90163",
        "a kernel data page's entry",
    )]);

pub static PTOB: Command = Command::new("ptob", "a page frame number's address", vtop::run_ptob)
    .args(&[Arg::required(
        "PFN",
        "a page frame number: decimal, or hexadecimal with 0x or a letter",
    )
    .repeated()])
    .description(
        "Shifts each page frame number left by the page size's bits: `PFN: ADDR` in hexadecimal.",
    )
    .examples(&[example(
        "ptob 0x12345",
        "the physical address of page frame 0x12345",
    )]);

pub static PTOV: Command = Command::new(
    "ptov",
    "a physical address's direct-map address, or a per-CPU offset's addresses",
    vtop::run_ptov,
)
.args(&[Arg::required(
    "PADDR|OFFSET:CPUS",
    "a physical address; or a per-CPU offset with the CPUs (`1`, `0-2`, `a` for all, empty for \
     the current one)",
)
.repeated()])
.description(
    "The kernel virtual address of each physical address in the direct map (PAGE_OFFSET plus \
     the address); with `:CPUS`, the address a per-CPU variable's offset has on each CPU.",
)
.examples(&[
    example(
        "ptov 0x1be90000",
        "where physical 0x1be90000 is in the direct map",
    ),
    example("ptov 0x2c840:a", "a per-CPU offset on every CPU"),
]);

pub static PTYPE: Command = Command::new(
    "ptype",
    "a type, or an expression's type, written out as gdb's ptype",
    print::run_ptype,
)
.args(&[Arg::required("TYPE|EXPR", "a type name or a C expression").repeated()])
.description(
    "Prints `type = ` and the type with its typedefs followed: a structure, union or enum in \
     full (also behind pointers), anything else as its C spelling.",
)
.examples(&[
    example("ptype struct list_head", "a structure's definition"),
    example("ptype schedule", "a function's type"),
]);

pub static RD: Command = Command::new("rd", "memory contents", rd::run)
    .flags(&[
        Flag::letter(
            'p',
            "ADDR is physical (needs no kernel); otherwise kernel virtual",
        ),
        Flag::letter(
            'a',
            "printable characters, up to the first unprintable byte",
        ),
        Flag::letter('x', "no ASCII column"),
        Flag::letter('d', "values as signed decimal"),
        Flag::letter('D', "values as unsigned decimal"),
        Flag::word("8", "1-byte values"),
        Flag::word("16", "2-byte values"),
        Flag::word("32", "4-byte values"),
        Flag::word("64", "8-byte values (the default)"),
        Flag::letter(
            's',
            "8-byte values that are kernel addresses as symbol+offset; no ASCII column",
        ),
        Flag::letter(
            'S',
            "as -s, and slab objects as [cache] (-SS: [address:cache])",
        ),
        Flag::letter('N', "2- and 4-byte values in network byte order"),
        Flag::letter(
            'u',
            "ADDR is a user address of the current context (its page tables)",
        ),
        Flag::letter('o', "add OFFSET to ADDR").takes("OFFSET"),
        Flag::letter('e', "read up to this address instead of COUNT values").takes("END"),
        Flag::letter(
            'r',
            "copy the bytes, unformatted, into FILE (needs COUNT bytes or -e)",
        )
        .takes("FILE"),
        Flag::letter('m', "ADDR is a Xen machine address").not_yet(),
        Flag::letter(
            'f',
            "ADDR is an offset in the dump file (its bytes as stored, headers and all)",
        ),
        Flag::letter(
            'R',
            "the COUNT values that end with the one at ADDR (shown in address order)",
        ),
    ])
    .args(&[
        Arg::required(
            "ADDR|SYMBOL",
            "where to start: hexadecimal, or a kernel symbol",
        ),
        Arg::optional(
            "COUNT",
            "how many values (decimal, or hexadecimal with 0x); one by default",
        ),
    ])
    .description(
        "Shows memory as crash's `rd` does: the address, the values, and their bytes as ASCII. \
         A read stops at the first page the dump does not hold and says why (filtered out, \
         not in RAM, or in a missing part of a split dump).",
    )
    .examples(&[
        example("rd jiffies", "the value of jiffies"),
        example(
            "rd -p -32 0x1000 8",
            "eight 4-byte words of physical memory",
        ),
    ]);

pub static REPEAT: Command =
    Command::new("repeat", "run a command several times", alias::run_repeat)
        .args(&[
            Arg::optional("-N", "how many runs (1 to 1000; one without it)"),
            Arg::required("COMMAND", "the command line to run, with its flags").repeated(),
        ])
        .description(
            "Runs the command line N times and shows each answer. crash repeats a command every N \
     seconds until interrupted, which is for live systems; a dump does not change, so here N \
     counts the runs (each shows the same answer) and the command always ends.",
        )
        .examples(&[example("repeat -3 runq", "runq three times")]);

pub static RUNQ: Command = Command::new("runq", "each CPU's runqueue", runq::run)
    .flags(&[
        Flag::letter(
            't',
            "each CPU's runqueue clock and when its running task last ran",
        ),
        Flag::letter(
            'm',
            "how long before its CPU's clock each running task last ran",
        ),
        Flag::letter('T', "how far each CPU's clock lags the most advanced one"),
        Flag::letter('g', "the queues by task group, nested"),
        Flag::letter('c', "only these CPUs").takes("CPU[,CPU...]"),
        Flag::letter('d', "every task whose on_rq is set, by CPU"),
    ])
    .description(
        "For each CPU, the task running on it, then the tasks queued in the real-time priority \
     arrays and in the CFS red-black tree, following group runqueues, as crash prints them. \
     -g shows the same queues under the task groups they belong to; -d every task whose \
     `on_rq` is set, under the CPU it last ran on, as the scheduler's debug view.",
    )
    .examples(&[
        example("runq", "the runqueues of every CPU"),
        example(
            "runq -t",
            "each CPU's clock and its running task's last run",
        ),
        example("runq -g -c 0", "CPU 0's queues by task group"),
    ]);

pub static RUSTFILT: Command = Command::new(
    "rustfilt",
    "demangle a Rust symbol name",
    rustfilt::run,
)
.args(&[Arg::required(
    "NAME",
    "a mangled Rust symbol name (v0 `_R...` or legacy `_ZN...E`)",
)
.repeated()])
.description(
    "Prints each Rust symbol name readable, as crash's `rustfilt` does: paths joined by `::`, \
         without the crate disambiguators and hashes. A name that is not Rust's (a legacy name \
         needs Rust's `17h...` hash, else it is C++'s) is shown after `Not a rust symbol:`. \
         `log -R` does the same for the names in the kernel log.",
)
.examples(&[example(
    "rustfilt _RNvNtCshc5sK6KjdJJ_6kernel5print11call_printk",
    "kernel::print::call_printk",
)]);

pub static SBITMAPQ: Command = Command::new(
    "sbitmapq",
    "an sbitmap_queue's contents",
    sbitmapq::run,
)
.flags(&[
    Flag::letter(
        's',
        "the structure each set bit indexes (STRUCT.MEMBER,... for members)",
    )
    .takes("STRUCT"),
    Flag::letter('a', "the address of the array of those structures").takes("ADDR"),
    Flag::letter('p', "the array holds pointers to the structures"),
    Flag::letter('v', "show each structure, not only its address"),
    Flag::letter('x', "with -v, integers in hexadecimal"),
    Flag::letter('d', "with -v, integers in decimal"),
])
.args(&[Arg::required(
    "ADDR",
    "the address of a struct sbitmap_queue",
)])
.description(
    "Shows an sbitmap_queue (the block layer's tag allocator: a disk's `blk_mq_tags` holds \
         two) as crash does: its depth, the bits busy and cleared, the words, the per-CPU \
         allocation hints, the wake batch and index, its 8 wait queues (`.wait_cnt` only where \
         the kernel has it), then the bitmap's bytes. A wait queue is active when its list is \
         not empty (crash compares its two pointers, which calls one waiter inactive), and busy \
         counts each bit once (crash counts bits twice in words narrower than 64 bits).\n\n\
         With -s STRUCT -a ARRAY, lists for each bit in use its index and the address of that \
         element of the array (-p: an array of pointers); -v shows the structures.",
)
.examples(&[
    example(
        "sbitmapq ffff8c5bdbf63190",
        "a tag bitmap: depth, busy tags, wait queues and the bits",
    ),
    example(
        "sbitmapq -s request -a ffff8c5bc2494000 -p -v ffff8c5bdbf63190",
        "the requests of the busy tags, through the tags' `rqs` array",
    ),
]);

pub static SEARCH: Command = Command::new(
    "search",
    "find values or strings in memory",
    search::run,
)
.flags(&[
    Flag::letter(
        'p',
        "search physical memory (needs no kernel; all of it by default)",
    ),
    Flag::letter(
        'k',
        "search kernel virtual memory (the default): all of it by default",
    ),
    Flag::letter(
        'K',
        "kernel virtual memory without vmalloc, module and mem_map space",
    ),
    Flag::letter(
        'V',
        "kernel virtual memory without the direct map and the kernel image",
    ),
    Flag::letter('u', "the current context's user memory"),
    Flag::letter('x', "show N values before and after each match").takes("N"),
    Flag::letter('w', "4-byte values"),
    Flag::letter('h', "2-byte values"),
    Flag::letter('c', "the VALUEs are strings"),
    Flag::letter('s', "where to start: an address or a symbol").takes("START"),
    Flag::letter('e', "where to stop").takes("END"),
    Flag::letter('l', "how many bytes to search, instead of -e").takes("LEN"),
    Flag::letter('m', "ignore the bits set in MASK when comparing").takes("MASK"),
    Flag::letter(
        't',
        "search only every task's kernel stack, the matches under each task's header",
    ),
    Flag::letter(
        'T',
        "search only the kernel stacks of the tasks running on a CPU",
    ),
])
.args(&[Arg::required(
    "VALUE",
    "what to find: a hexadecimal value, a symbol (its address), or a string with -c",
)
.repeated()])
.description(
    "Values are 8 bytes unless -w or -h is given, and are compared at addresses aligned to \
     their size. A physical search visits only the pages the dump holds. A kernel virtual \
     search covers all of kernel memory unless -s, -e or -l narrow it: the direct map through \
     the pages the dump holds, the rest through the kernel's page tables, skipping whatever \
     is not mapped and counting the pages that could not be read.",
)
.examples(&[
    example(
        "search -p deadbeef",
        "the 8-byte value 0xdeadbeef in all of physical memory",
    ),
    example(
        "search -p -c \"Kernel panic\"",
        "a string in all of physical memory",
    ),
]);

pub static SET: Command = Command::new(
    "set",
    "show or change the current context",
    set::run,
)
.flags(&[
    Flag::letter('p', "back to the panic task"),
    Flag::letter('c', "the task running on this CPU").takes("CPU"),
        Flag::letter('a', "make the task the active task of its CPU").takes("PID|TASK"),
        Flag::letter('v', "the session's settings"),
    ])
.args(&[Arg::optional("PID|TASK", "the task to make current")])
.per_task(set::for_tasks)
.description(
    "The current context is the task that `bt`, `files`, `vm` and `task` mean when given none: \
     the panic task until `set` moves it. Without arguments, `set` shows it. -v shows the \
     session's settings: the dump and vmlinux files, zero-excluded pages, the walk limit, the \
     context and the module debug files attached.\n\n\
     -a makes a task the active task of its CPU for the rest of the session, as when the \
     runqueues name another: `bt` then starts its stack at that CPU's saved registers and `ps` \
     marks it `>`. The current context does not move.",
)
.examples(&[
    example("set", "the current context"),
    example("set 1", "make PID 1 the current context"),
    example("set -c 1", "make the task running on CPU 1 current"),
]);

pub static SIG: Command = Command::new(
    "sig",
    "a task's signal handlers, blocked and pending signals",
    sig::run,
)
.flags(&[
    Flag::letter(
        'g',
        "the whole thread group: its handlers, then each thread's state",
    ),
    Flag::letter('l', "the signal numbers and names"),
    Flag::letter('s', "the names of the signals in this hexadecimal set").takes("SIGSET"),
    Flag::letter(
        'R',
        "only these signals' handlers and queued entries (numbers or names)",
    )
    .takes("SIG[,SIG...]"),
])
.args(&[TASKS])
.per_task(sig::for_tasks)
.description(
    "Shows the thread group's signal_struct and the handler, mask and flags of each of the 64 \
     signals (from the sighand_struct), then the task's pending flag, blocked set, and the \
     signals pending for the task and for its thread group with the sigqueues queued, as \
     crash prints them.\n\n\
     -R keeps only the signals named (crash 9 takes -R but answers \"not supported yet\"): \
     their handler rows and queued entries; the pending and blocked sets stay whole.",
)
.examples(&[
    example("sig", "the current context's signals"),
    example(
        "sig -R SIGINT,TERM,9 1",
        "PID 1's handlers of three signals",
    ),
    example("sig 1", "PID 1's handlers and pending signals"),
    example("sig -s 4000", "which signal the set 0x4000 holds"),
]);

pub static STRUCT: Command = Command::new(
    "struct",
    "a structure at an address, or its definition",
    |s, a| structs::run(s, a, Some(NameKind::Struct)),
)
.flags(STRUCT_FLAGS)
.args(STRUCT_ARGS)
.description(
    "Without an address, prints the definition as gdb's ptype does, and its size. With one, \
     prints the contents (or only the named members) in gdb's format, as crash does. Types \
     come from the dump's BTF, or from DWARF when a vmlinux is given.",
)
.examples(&[
    example("struct -o list_head", "the definition with member offsets"),
    example(
        "struct task_struct.pid,comm init_task",
        "two members of the initial task",
    ),
]);

pub static SWAP: Command = Command::new("swap", "the swap areas in use", swap::run)
    .description(
        "Lists each swap area in use with its swap_info_struct, whether it is a partition or a \
     file, its size and use in KiB, the share used, its priority and its path.",
    )
    .examples(&[example("swap", "the swap areas")]);

pub static SYM: Command = Command::new(
    "sym",
    "an address's symbol, or a symbol's address",
    sym::run,
)
.flags(&[
    Flag::letter('m', "every symbol of this module").takes("MODULE"),
    Flag::letter(
        'l',
        "every symbol: the kernel's by address, then each module's",
    ),
    Flag::letter('q', "every symbol whose name contains STRING").takes("STRING"),
    Flag::letter('M', "every module symbol, each module as -m lists it"),
    Flag::letter('p', "the symbol and the one before it"),
    Flag::letter('n', "the symbol and the one after it"),
])
.args(&[Arg::optional("ADDR|NAME", "a hexadecimal address or a symbol's name").repeated()])
.description(
    "For each address or name, prints the address, the symbol's type letter, its name plus \
     offset (decimal, as crash), its module, and with DWARF its source file and line.",
)
.examples(&[
    example("sym schedule", "where schedule is"),
    example("sym -m virtio_blk", "the symbols of the virtio_blk module"),
]);

pub static SYS: Command = Command::new("sys", "the system at the time of the dump", sys::run)
    .flags(&[
        Flag::letter('t', "the kernel's taint mask and letters"),
        Flag::letter(
            'c',
            "the system call table (only the calls named or numbered by the arguments)",
        ),
        Flag::letter('i', "the DMI (SMBIOS) identification"),
    ])
    .args(&[Arg::optional(
        "config [PATTERN]|NAME|NR",
        "`config`: the kernel's built-in configuration (the lines containing PATTERN); with -c, \
         system calls by name or number",
    )
    .repeated()])
    .description(
        "Shows what crash shows on start: kernel and dump files, CPUs, the date of the dump, \
     uptime, load average, task count, node name, release, version, machine, memory size and \
     the panic message.\n\n\
     -c lists the system call table with each handler's source file and line (with a \
     vmlinux). `sys config` prints the configuration the kernel carries (CONFIG_IKCONFIG), \
     or only its lines that contain a pattern. -i prints the DMI strings the kernel kept \
     (`dmi_ident[]`), each under its `enum dmi_field` name.",
    )
    .examples(&[
        example("sys", "the system overview"),
        example("sys -t", "the kernel's taint"),
        example(
            "sys -c read",
            "the system calls whose handler names contain read",
        ),
    ]);

pub static TASK: Command = Command::new("task", "tasks' task_struct contents", structs::run_task)
    .flags(&[
        Flag::letter('R', "only these members").takes("MEMBER[,MEMBER...]"),
        Flag::letter('x', "integers in hexadecimal"),
        Flag::letter('d', "integers in decimal (the default)"),
    ])
    .args(&[TASKS])
    .per_task(foreach::task_for_tasks)
    .description(
        "Prints the task_struct of each task (and its thread_info where it is separate from the \
     task's start), in gdb's format as crash does.",
    )
    .examples(&[
        example("task", "the current context's task_struct"),
        example("task -R pid,comm 1", "two members of PID 1's task_struct"),
    ]);

pub static TREE: Command = Command::new(
    "tree",
    "the entries of a red-black tree, radix tree, XArray or maple tree",
    tree::run,
)
.flags(&[
    Flag::letter('t', "the kind of tree (rbtree by default)").takes("rbtree|radix|xarray|maple"),
    Flag::letter(
        'r',
        "ROOT is a structure with the tree's root at OFFSET (a number or STRUCT.MEMBER)",
    )
    .takes("OFFSET"),
    Flag::letter(
        'o',
        "red-black trees: where the rb_node is in each entry (a number or STRUCT.MEMBER)",
    )
    .takes("OFFSET"),
    Flag::letter('s', "show each entry's contents (or these members)").takes("STRUCT[.MEMBER,...]"),
    Flag::letter('S', "as -s").takes("STRUCT[.MEMBER,...]"),
    Flag::letter('x', "with -s, integers in hexadecimal"),
    Flag::letter('d', "with -s, integers in decimal"),
    Flag::letter(
        'N',
        "ROOT is a tree node itself (red-black: the top rb_node)",
    ),
    Flag::letter(
        'l',
        "red-black trees: in order (lowest key first) instead of root first",
    ),
    Flag::letter(
        'p',
        "each entry's position (root/l/r for red-black trees, index for the others)",
    ),
    Flag::letter('v', "maple trees: every node").not_yet(),
])
.args(&[Arg::required(
    "ROOT",
    "the tree's root (struct rb_root, radix_tree_root, xarray or maple_tree): a symbol or a \
     hexadecimal address",
)])
.description(
    "Prints each entry's address (a red-black tree's entry is the structure around the \
     rb_node, at -o before it), one per line, as crash does: a red-black tree root first then \
     left before right (or in order with -l), the other trees in index order. Every walk is \
     bounded and stops at a node it has seen before.",
)
.examples(&[
    example(
        "tree -t rbtree -o vmap_area.rb_node vmap_area_root",
        "the vmalloc areas, root first",
    ),
    example(
        "tree -t rbtree -o vmap_area.rb_node -s vmap_area.va_start vmap_area_root",
        "and where each one starts",
    ),
    example(
        "tree -t radix -p irq_desc_tree",
        "the IRQ descriptors with their index and position",
    ),
]);

pub static TIMER: Command = Command::new(
    "timer",
    "each CPU's timer wheel, or its high-resolution timers",
    timer::run,
)
.flags(&[
    Flag::letter('r', "the high-resolution timers of each clock base"),
    Flag::letter('C', "only these CPUs").takes("CPU[,CPU...]"),
])
.description(
    "Lists the timers queued on each CPU's timer wheels, soonest first, with when each \
     fires (jiffies), how soon (TTE, negative when overdue), its timer_list and its function. \
     With -r, the high-resolution timers of each clock base instead, in nanoseconds of that \
     clock, against the time of the last tick.\n\n\
     Kernels since 6.9 have three wheels per CPU (local, global, deferrable); all three are \
     shown, where crash shows the first two as BASE_STD and BASE_DEF. The time of the last \
     tick is counted at the kernel's own HZ (see `mach`).",
)
.examples(&[
    example("timer", "the timer wheels of every CPU"),
    example("timer -r -C 0", "CPU 0's high-resolution timers"),
]);

pub static UNION: Command = Command::new(
    "union",
    "a union at an address, or its definition",
    |s, a| structs::run(s, a, Some(NameKind::Union)),
)
.flags(STRUCT_FLAGS)
.args(STRUCT_ARGS)
.description("The same as `struct`, for unions.")
.examples(&[example(
    "union -o sigval",
    "a union's definition with offsets",
)]);

pub static VM: Command = Command::new(
    "vm",
    "a task's address space",
    vm::run,
)
.flags(&[
    Flag::letter('m', "the task's mm_struct, as struct prints it"),
    Flag::letter('p', "each page of every VMA with its physical address, swap or file location"),
    Flag::letter('v', "every VMA's vm_area_struct"),
    Flag::letter('R', "only the VMAs and pages referring to this: an address, flags, a swap or file offset, a file name").takes("REF"),
    Flag::letter('f', "the names of these VMA flags (the kernel's vmaflag_names)").takes("FLAGS"),
    Flag::letter('P', "one VMA's pages").takes("VMA"),
    Flag::letter('M', "use this mm_struct (a task whose mm was already cleared)").takes("MM"),
    Flag::letter('x', "with -m or -v, integers in hexadecimal"),
    Flag::letter('d', "with -m or -v, integers in decimal"),
    ])
.args(&[TASKS])
.per_task(vm::for_tasks)
.description(
    "Shows a task's mm_struct, page directory, resident and virtual size, then every VMA (from \
     the maple tree, or the list on older kernels) with its range, flags and file.\n\n\
     -p follows each VMA with its pages: the physical address of a page in memory, SWAP: with \
     the swap area and page offset of a swapped-out one, FILE: with the file and byte offset of \
     a file page not in memory, or (not mapped). -P does so for one VMA. -R shows only the VMAs \
     and pages that refer to a value (the mm_struct or page directory, a VMA's address or \
     flags, a page's virtual or physical address, swap or file offset) or to a file name. -f \
     names the bits of a vm_flags value with the kernel's own table (vmaflag_names).",
)
.examples(&[
    example("vm", "the current context's address space"),
    example("vm 1", "PID 1's address space"),
    example("vm -m 1", "PID 1's mm_struct"),
    example("vm -p 1", "PID 1's pages, where each one is"),
    example("vm -R 400000 1", "what in PID 1's address space refers to 0x400000"),
    example("vm -f 100173", "the names of these VMA flags"),
]);

pub static VTOP: Command = Command::new(
    "vtop",
    "a virtual address's page-table walk, physical address and page",
    vtop::run_vtop,
)
.flags(&[
    Flag::letter('c', "in this task's address space").takes("PID|TASK"),
    Flag::letter('u', "ADDR is a user address"),
    Flag::letter('k', "ADDR is a kernel address"),
])
.args(&[Arg::required("ADDR", "a hexadecimal virtual address").repeated()])
.per_task(vtop::for_tasks)
.description(
    "Walks the page tables for each address as crash prints the walk: the kernel's top-level \
     table, each level's entry (PGD, P4D with 5-level paging, PUD, PMD, PTE) with its physical \
     address, the page and its size for huge pages (2MB, 1GB), the entry's bits, the VMA of a \
     user address, and the struct page of the physical page. A user address is looked up in \
     the current context's address space (see `set`) or the task -c names.",
)
.examples(&[
    example("vtop ffff8e119be90000", "a kernel address"),
    example("vtop -c 138 0x401000", "a user address of PID 138"),
]);

pub static WAITQ: Command = Command::new("waitq", "the tasks waiting on a wait queue", waitq::run)
    .args(&[
        Arg::required(
            "SYMBOL|ADDR|STRUCT.MEMBER",
            "a wait_queue_head_t: a symbol, an address, or a structure's member (with ADDR)",
        ),
        Arg::optional("ADDR", "with STRUCT.MEMBER, the structure's address"),
    ])
    .description(
        "Lists the tasks waiting on a wait queue head, in queue order. An entry that is not a \
     task's (a custom wake function's data) ends the list, as in crash.",
    )
    .examples(&[example("waitq log_wait", "who waits for the kernel log")]);

pub static WHATIS: Command = Command::new(
    "whatis",
    "a type's definition, or the declaration of a variable or function",
    structs::run_whatis,
)
.flags(&[
    Flag::letter('o', "show each member's offset"),
    Flag::letter(
        'r',
        "structures of this size, or of a range of sizes LOW-HIGH",
    )
    .takes("SIZE"),
    Flag::letter(
        'm',
        "structures with a member of this type, or a pointer to it",
    )
    .takes("TYPE"),
])
.args(&[Arg::required(
    "NAME|EXPR",
    "a struct, union, enum or typedef name, a variable or function, or a C expression",
)
.repeated()])
.description(
    "Prints the definition of a structure, union, enum or typedef, as gdb's ptype does; the \
     declaration of a variable or function (`struct task_struct init_task;`, \
     `void schedule(void);`), typed by the vmlinux's DWARF or the dump's BTF; or `type = T` \
     for any other expression.\n\n\
     With -r or -m (and no NAME), lists types instead, by size then name, as `SIZE  TYPE`: \
     every named type (structure, union and enum tags, typedefs, base types) of the size or \
     sizes of -r, and with -m only the structures and unions with a member whose type's name \
     contains TYPE (or a pointer to such a type, or an array of them; embedded structures are \
     searched too). crash's gdb leaves out typedefs whose size it has not worked out yet and \
     types declared inside functions; kdive lists them.",
)
.examples(&[
    example("whatis pid_t", "what pid_t is"),
    example("whatis -o list_head", "a structure with member offsets"),
    example("whatis schedule", "a function's prototype"),
    example("whatis -r 4096", "the types of 4096 bytes"),
    example(
        "whatis -r 256-512 -m task_struct",
        "structures of 256 to 512 bytes that point to a task",
    ),
]);

pub static WR: Command = Command::new("wr", "write memory", |_, _| Err(WR.refusal()))
    .flags(&[
        Flag::letter('u', "a user address").not_yet(),
        Flag::letter('k', "a kernel address").not_yet(),
        Flag::letter('p', "a physical address").not_yet(),
        Flag::word("8", "write one byte").not_yet(),
        Flag::word("16", "write two bytes").not_yet(),
        Flag::word("32", "write four bytes").not_yet(),
        Flag::word("64", "write eight bytes").not_yet(),
    ])
    .instead("kdive reads dumps and never writes them; crash writes memory only on a live system.");
