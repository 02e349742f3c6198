//! Stacks a walk may use: their bounds and kinds.

/// An x86_64 exception (IST) stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionStack {
    DoubleFault,
    Nmi,
    Debug,
    MachineCheck,
    Vc,
    Vc2,
}

impl ExceptionStack {
    /// The name crash gives it (`--- <NMI exception stack> ---`).
    pub fn crash_name(self) -> &'static str {
        match self {
            ExceptionStack::DoubleFault => "DOUBLEFAULT",
            ExceptionStack::Nmi => "NMI",
            ExceptionStack::Debug => "DEBUG",
            ExceptionStack::MachineCheck => "MCE",
            ExceptionStack::Vc => "VC",
            ExceptionStack::Vc2 => "VC2",
        }
    }
}

/// What a stack is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StackKind {
    /// The task's own kernel stack.
    Task,
    /// The CPU's hard-IRQ stack.
    Irq,
    /// The CPU's soft-IRQ stack (architectures that have a separate one).
    SoftIrq,
    /// An exception stack of the CPU.
    Exception(ExceptionStack),
    /// The CPU's entry trampoline stack.
    Entry,
}

impl StackKind {
    /// Short name for JSON (`"task"`, `"irq"`, `"nmi"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            StackKind::Task => "task",
            StackKind::Irq => "irq",
            StackKind::SoftIrq => "softirq",
            StackKind::Entry => "entry",
            StackKind::Exception(e) => match e {
                ExceptionStack::DoubleFault => "double-fault",
                ExceptionStack::Nmi => "nmi",
                ExceptionStack::Debug => "debug",
                ExceptionStack::MachineCheck => "mce",
                ExceptionStack::Vc => "vc",
                ExceptionStack::Vc2 => "vc2",
            },
        }
    }

    /// crash's line when a trace leaves this stack (`--- <IRQ stack> ---`), none for the task stack.
    pub fn crash_marker(self) -> Option<String> {
        match self {
            StackKind::Task => None,
            StackKind::Irq => Some("--- <IRQ stack> ---".into()),
            StackKind::SoftIrq => Some("--- <SOFTIRQ stack> ---".into()),
            StackKind::Entry => Some("--- <ENTRY TRAMPOLINE stack> ---".into()),
            StackKind::Exception(e) => {
                Some(format!("--- <{} exception stack> ---", e.crash_name()))
            }
        }
    }
}

/// One stack: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackRange {
    pub start: u64,
    pub end: u64,
    pub kind: StackKind,
}

impl StackRange {
    /// True when `[addr, addr + len)` lies inside the stack.
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.start && addr.checked_add(len).is_some_and(|e| e <= self.end)
    }
}

/// The stacks of one task and its CPU. An empty set accepts every address (no bounds known).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stacks {
    ranges: Vec<StackRange>,
}

impl Stacks {
    /// A set of stacks; empty ranges are dropped.
    pub fn new(ranges: Vec<StackRange>) -> Stacks {
        Stacks {
            ranges: ranges.into_iter().filter(|r| r.start < r.end).collect(),
        }
    }

    /// The stacks.
    pub fn ranges(&self) -> &[StackRange] {
        &self.ranges
    }

    /// True when no bounds are known (every address is accepted).
    pub fn unbounded(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Index of the stack holding `[addr, addr + len)`.
    pub fn find(&self, addr: u64, len: u64) -> Option<usize> {
        self.ranges.iter().position(|r| r.contains(addr, len))
    }

    /// The stack holding `addr`.
    pub fn range_of(&self, addr: u64) -> Option<&StackRange> {
        self.find(addr, 1).map(|i| &self.ranges[i])
    }

    /// Whether the walk may read `[addr, addr + len)`.
    pub fn allows(&self, addr: u64, len: u64) -> bool {
        self.unbounded() || self.find(addr, len).is_some()
    }
}
