//! The ways a kernel dies (or reports that it nearly did).

use serde::{Deserialize, Serialize};

/// What kind of failure a report (or a dump) shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    NullPointerDereference,
    GeneralProtectionFault,
    KernelBug,
    BadMemoryAccess,
    /// Another exception: divide error, invalid opcode, an arm64 internal error...
    Oops,
    /// Double fault, stack guard page hit, stack-protector or stack-end corruption.
    StackOverflow,
    HungTask,
    SoftLockup,
    HardLockup,
    OutOfMemory,
    RcuStall,
    SysrqCrash,
    Warning,
    Kasan,
    Kfence,
    Kmsan,
    Kcsan,
    Ubsan,
    ListCorruption,
    /// Slab poison/redzone overwritten, bad page state, bad page map.
    MemoryCorruption,
    /// Scheduling while atomic, sleeping in atomic context.
    SchedulingWhileAtomic,
    /// Lockdep: possible deadlock, inconsistent lock state, suspicious RCU usage...
    Lockdep,
    /// Another `BUG: ...` report of a debugging check.
    Bug,
    /// `Attempted to kill init!`
    KillInit,
    MachineCheck,
    Panic,
    NoPanic,
}

impl Kind {
    /// Words for a person.
    pub fn title(self) -> &'static str {
        match self {
            Kind::NullPointerDereference => "NULL pointer dereference",
            Kind::GeneralProtectionFault => "general protection fault",
            Kind::KernelBug => "kernel BUG (assertion failed)",
            Kind::BadMemoryAccess => "bad memory access (page fault in the kernel)",
            Kind::Oops => "kernel oops",
            Kind::StackOverflow => "kernel stack overflow or corruption",
            Kind::HungTask => "hung task (blocked in D state past hung_task_timeout_secs)",
            Kind::SoftLockup => "soft lockup (a CPU stuck in the kernel without scheduling)",
            Kind::HardLockup => "hard lockup (a CPU stuck with interrupts off)",
            Kind::OutOfMemory => "out of memory",
            Kind::RcuStall => "RCU stall",
            Kind::SysrqCrash => "crash triggered by sysrq (echo c > /proc/sysrq-trigger)",
            Kind::Warning => "kernel WARNING",
            Kind::Kasan => "KASAN memory-safety report",
            Kind::Kfence => "KFENCE memory-safety report",
            Kind::Kmsan => "KMSAN uninitialised-memory report",
            Kind::Kcsan => "KCSAN data race",
            Kind::Ubsan => "UBSAN undefined behaviour",
            Kind::ListCorruption => "list corruption",
            Kind::MemoryCorruption => "memory corruption (slab or page state)",
            Kind::SchedulingWhileAtomic => "sleeping or scheduling in atomic context",
            Kind::Lockdep => "lockdep report (locking bug)",
            Kind::Bug => "kernel debugging check failed",
            Kind::KillInit => "init exited (attempted to kill init)",
            Kind::MachineCheck => "machine check (hardware error)",
            Kind::Panic => "kernel panic",
            Kind::NoPanic => "no panic: the dump was taken from a running system",
        }
    }

    /// Stable name, used in signatures and JSON.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::NullPointerDereference => "null-pointer-dereference",
            Kind::GeneralProtectionFault => "general-protection-fault",
            Kind::KernelBug => "kernel-bug",
            Kind::BadMemoryAccess => "bad-memory-access",
            Kind::Oops => "oops",
            Kind::StackOverflow => "stack-overflow",
            Kind::HungTask => "hung-task",
            Kind::SoftLockup => "soft-lockup",
            Kind::HardLockup => "hard-lockup",
            Kind::OutOfMemory => "out-of-memory",
            Kind::RcuStall => "rcu-stall",
            Kind::SysrqCrash => "sysrq-crash",
            Kind::Warning => "warning",
            Kind::Kasan => "kasan",
            Kind::Kfence => "kfence",
            Kind::Kmsan => "kmsan",
            Kind::Kcsan => "kcsan",
            Kind::Ubsan => "ubsan",
            Kind::ListCorruption => "list-corruption",
            Kind::MemoryCorruption => "memory-corruption",
            Kind::SchedulingWhileAtomic => "scheduling-while-atomic",
            Kind::Lockdep => "lockdep",
            Kind::Bug => "bug",
            Kind::KillInit => "kill-init",
            Kind::MachineCheck => "machine-check",
            Kind::Panic => "panic",
            Kind::NoPanic => "no-panic",
        }
    }

    /// Kinds whose culprit is the faulting (or, for lockups and stalls, the interrupted)
    /// instruction: the `RIP:`/`pc :` of the report.
    pub fn faults_at_ip(self) -> bool {
        matches!(
            self,
            Kind::NullPointerDereference
                | Kind::GeneralProtectionFault
                | Kind::KernelBug
                | Kind::BadMemoryAccess
                | Kind::Oops
                | Kind::StackOverflow
                | Kind::Warning
                | Kind::ListCorruption
                | Kind::SoftLockup
                | Kind::HardLockup
                | Kind::RcuStall
        )
    }

    /// Kinds grouped by cause and kernel rather than by the stack that happened to trigger them.
    pub fn groups_by_kernel(self) -> bool {
        matches!(self, Kind::SysrqCrash | Kind::OutOfMemory)
    }
}
