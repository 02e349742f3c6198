//! The entries of the command table, in alphabetical order.

use kdive_debuginfo::NameKind;

use super::{example, Arg, Command, Flag};
use crate::{
    analyze, bt, dev, files, foreach, help, info, irq, kmem, list, log, modules, mount, net, oops,
    ps, rd, runq, search, set, structs, sym, sys, vm,
};

/// Every command, in alphabetical order.
pub static COMMANDS: &[&Command] = &[
    &POINTER, &ANALYZE, &BT, &DEV, &FILES, &FOREACH, &HELP, &INFO, &IRQ, &KMEM, &LIST, &LOG, &MOD,
    &MOUNT, &NET, &OOPS, &PS, &RD, &RUNQ, &SEARCH, &SET, &STRUCT, &SYM, &SYS, &TASK, &UNION, &VM,
    &WHATIS,
];

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
        Flag::letter('r', "the raw contents of the whole stack").not_yet(),
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

pub static DEV: Command = Command::new("dev", "character and block device majors", dev::run)
    .description(
        "Lists the character device regions and the block majors, with the cdev or gendisk behind \
     each and its operations, as crash's `dev` does without arguments. Unlike crash, every block \
     major of a shared hash bucket is shown, not only the first.",
    )
    .examples(&[example("dev", "the character and block devices")]);

pub static FILES: Command = Command::new(
    "files",
    "a task's root, working directory and open files",
    files::run,
)
.args(&[TASKS])
.per_task(files::for_tasks)
.description(
    "Shows a task's root and current directory, then each open file descriptor with its file, \
     dentry and inode, the file's type and its path. Sockets also name their protocol; pipes \
     and sockets their pseudo filesystem.",
)
.examples(&[
    example("files", "the open files of the current context"),
    example("files 1", "the open files of PID 1"),
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
    Arg::required("COMMAND", "`bt`, `files` or `vm`"),
    Arg::optional("FLAGS", "the command's flags").repeated(),
])
.description(
    "Runs one per-task command for every task the selectors choose, in PID order; a task is \
     chosen when any selector matches it. The command takes its usual flags, except those that \
     choose tasks themselves (bt -a).",
)
.examples(&[
    example("foreach bt", "every task's stack"),
    example(
        "foreach UN bt",
        "the stacks of the tasks in uninterruptible sleep",
    ),
    example("foreach sshd files", "the open files of every sshd"),
]);

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

pub static IRQ: Command = Command::new("irq", "IRQ descriptors and their actions", irq::run)
    .description(
        "Lists every IRQ number with its irq_desc, irq_chip and the irqaction handlers chained on \
     it, as crash's `irq` does without arguments.",
    )
    .examples(&[example("irq", "every IRQ")]);

pub static KMEM: Command = Command::new("kmem", "memory usage and slab caches", kmem::run)
    .flags(&[
        Flag::letter(
            'i',
            "memory usage: total, free, used, buffers, cached, swap",
        ),
        Flag::letter(
            's',
            "SLUB caches: objects allocated and total, slabs, slab size",
        ),
    ])
    .args(&[Arg::optional("NAME", "with -s, only these caches").repeated()])
    .description(
        "Give exactly one of -i and -s. Where crash counts differently from the kernel, crash is \
     followed: -s counts the objects on per-CPU freelists and partial slabs as free, where \
     /proc/slabinfo counts them as active.",
    )
    .examples(&[
        example("kmem -i", "how memory was used"),
        example("kmem -s dentry", "the dentry cache"),
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
    ])
    .description(
        "Prints the kernel's ring buffer in order, from the lockless printk ring buffer or the \
         older log buffer, continuation lines joined as the kernel joins them. In minimal mode \
         the buffer is found through VMCOREINFO, without the kernel's symbols.",
    )
    .examples(&[
        example("log", "the kernel log with timestamps"),
        example("log -T -m", "with dates and message levels"),
    ]);

pub static MOD: Command = Command::new("mod", "loaded modules and their debug files", modules::run)
    .description(
        "Lists the loaded modules as crash does: the struct module, name, text base, size and \
     state, and the debug file (`.ko`) attached to each when one was found next to the dump or \
     given.\n\n\
     Module debug files are not loaded from the prompt: give them after the dump on kdive's \
     command line.",
    )
    .examples(&[example("mod", "every loaded module")]);

pub static MOUNT: Command = Command::new(
    "mount",
    "the mounts of the initial namespace",
    mount::run,
)
.description(
    "Lists the mounts of the initial mount namespace (a list, or a tree since Linux 6.8) with \
     their superblock, filesystem type, device and path, the path built through the chain of \
     parent mounts.",
)
.examples(&[example("mount", "every mount")]);

pub static NET: Command = Command::new("net", "network devices and their addresses", net::run)
    .description(
        "Lists the network devices of the initial network namespace with their net_device, name \
     and IPv4 and IPv6 addresses, as crash's `net` does without arguments.",
    )
    .examples(&[example("net", "every network device")]);

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

pub static PS: Command = Command::new("ps", "tasks and their state", ps::run)
    .flags(&[
        Flag::letter('k', "kernel threads only"),
        Flag::letter('u', "user tasks only"),
        Flag::letter('G', "thread group leaders only"),
        Flag::letter(
            't',
            "run time, start time, user and system time of each task",
        ),
        Flag::letter('p', "each task's ancestry, from the idle task down"),
    ])
    .args(&[Arg::optional(
        "PID|TASK|COMM",
        "only these tasks: a PID, a task_struct address or a command name",
    )
    .repeated()])
    .description(
        "Lists tasks in PID order (the idle tasks by CPU) with parent PID, CPU, task_struct \
         address, state, share of memory, virtual and resident size and command name. Tasks \
         running on a CPU are marked `>`.",
    )
    .examples(&[
        example("ps", "every task"),
        example("ps -k", "the kernel threads"),
        example("ps -p 1", "PID 1 and its ancestors"),
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
        Flag::letter('e', "read up to this address instead of COUNT values").takes("END"),
        Flag::letter(
            'r',
            "copy the bytes, unformatted, into FILE (needs COUNT bytes or -e)",
        )
        .takes("FILE"),
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

pub static RUNQ: Command = Command::new("runq", "each CPU's runqueue", runq::run)
    .description(
        "For each CPU, the task running on it, then the tasks queued in the real-time priority \
     arrays and in the CFS red-black tree, following group runqueues, as crash prints them.",
    )
    .examples(&[example("runq", "the runqueues of every CPU")]);

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
    Flag::letter('k', "search kernel virtual memory (the default)"),
    Flag::letter(
        'K',
        "kernel virtual memory without vmalloc and module space",
    )
    .not_yet(),
    Flag::letter('w', "4-byte values"),
    Flag::letter('h', "2-byte values"),
    Flag::letter('c', "the VALUEs are strings"),
    Flag::letter('s', "where to start: an address or a symbol").takes("START"),
    Flag::letter('e', "where to stop").takes("END"),
    Flag::letter('l', "how many bytes to search, instead of -e").takes("LEN"),
    Flag::letter('m', "ignore the bits set in MASK when comparing").takes("MASK"),
])
.args(&[Arg::required(
    "VALUE",
    "what to find: a hexadecimal value, a symbol (its address), or a string with -c",
)
.repeated()])
.description(
    "Values are 8 bytes unless -w or -h is given, and are compared at addresses aligned to \
     their size. A physical search visits only the pages the dump holds; a kernel virtual one \
     needs -s and -e or -l, reads through the kernel's page tables and skips what it cannot \
     read, counting the pages skipped.",
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
])
.args(&[Arg::optional("PID|TASK", "the task to make current")])
.description(
    "The current context is the task that `bt`, `files`, `vm` and `task` mean when given none: \
     the panic task until `set` moves it. Without arguments, `set` shows it.",
)
.examples(&[
    example("set", "the current context"),
    example("set 1", "make PID 1 the current context"),
    example("set -c 1", "make the task running on CPU 1 current"),
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

pub static SYM: Command = Command::new(
    "sym",
    "an address's symbol, or a symbol's address",
    sym::run,
)
.flags(&[Flag::letter('m', "every symbol of this module").takes("MODULE")])
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
    .description(
        "Shows what crash shows on start: kernel and dump files, CPUs, the date of the dump, \
     uptime, load average, task count, node name, release, version, machine, memory size and \
     the panic message.",
    )
    .examples(&[example("sys", "the system overview")]);

pub static TASK: Command = Command::new("task", "tasks' task_struct contents", structs::run_task)
    .flags(&[
        Flag::letter('R', "only these members").takes("MEMBER[,MEMBER...]"),
        Flag::letter('x', "integers in hexadecimal"),
        Flag::letter('d', "integers in decimal (the default)"),
    ])
    .args(&[TASKS])
    .description(
        "Prints the task_struct of each task (and its thread_info where it is separate from the \
     task's start), in gdb's format as crash does.",
    )
    .examples(&[
        example("task", "the current context's task_struct"),
        example("task -R pid,comm 1", "two members of PID 1's task_struct"),
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
.args(&[TASKS])
.per_task(vm::for_tasks)
.description(
    "Shows a task's mm_struct, page directory, resident and virtual size, then every VMA (from \
     the maple tree, or the list on older kernels) with its range, flags and file.",
)
.examples(&[
    example("vm", "the current context's address space"),
    example("vm 1", "PID 1's address space"),
]);

pub static WHATIS: Command = Command::new("whatis", "a type's definition", structs::run_whatis)
    .flags(&[Flag::letter('o', "show each member's offset")])
    .args(&[Arg::required(
        "NAME",
        "a struct, union, enum or typedef name",
    )])
    .description(
        "Prints the definition of a structure, union, enum or typedef, as gdb's ptype does. The \
     types of variables and functions need DWARF (a vmlinux given after the dump).",
    )
    .examples(&[
        example("whatis pid_t", "what pid_t is"),
        example("whatis -o list_head", "a structure with member offsets"),
    ]);
