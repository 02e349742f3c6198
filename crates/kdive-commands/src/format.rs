//! Text formats shared by commands: durations, dates, sizes.

/// crash's duration: `HH:MM:SS`, with `N days, ` in front past a day.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d} days, {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// A UTC date as `date(1)` prints it: `Sun Nov 22 12:04:22 UTC 2026`.
pub fn date(epoch_secs: i64) -> String {
    kdive_linux::printk::format_wall_time(epoch_secs)
}

/// A memory size as crash prints it: `447.5 MB`, `2 GB`.
pub fn memory_size(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    let (v, unit) = if bytes as f64 >= 1024.0 * MB {
        (bytes as f64 / (1024.0 * MB), "GB")
    } else {
        (bytes as f64 / MB, "MB")
    };
    let s = format!("{v:.1}");
    format!("{} {unit}", s.strip_suffix(".0").unwrap_or(&s))
}

/// `s` centred in `width` columns, as crash's `mkstring(CENTER)` does: when the padding is
/// odd, the odd space goes left with `odd_left`, right otherwise. Wider strings are left whole.
pub fn center(s: &str, width: usize, odd_left: bool) -> String {
    let extra = width.saturating_sub(s.chars().count());
    let left = if odd_left {
        extra.div_ceil(2)
    } else {
        extra / 2
    };
    format!("{}{s}{}", " ".repeat(left), " ".repeat(extra - left))
}

/// A span of nanoseconds as crash's `ps -m` shows it: `D HH:MM:SS.mmm`.
pub fn days_clock(ns: u64) -> String {
    let ms = ns / 1_000_000;
    let (d, h, m, s) = (
        ms / 86_400_000,
        ms / 3_600_000 % 24,
        ms / 60_000 % 60,
        ms / 1000 % 60,
    );
    format!("{d} {h:02}:{m:02}:{s:02}.{:03}", ms % 1000)
}

/// `name` or `name+offset` (decimal, as crash's `value_to_symstr`), or the address in hex
/// without a symbol.
pub fn symbol(prog: &kdive_program::Program, addr: u64) -> String {
    match prog.symbols().by_addr(addr) {
        Some((s, 0)) => s.name.to_string(),
        Some((s, off)) => format!("{}+{off}", s.name),
        None => format!("{addr:x}"),
    }
}

/// crash's task header line: `PID: 565      TASK: ffff8e119be90000  CPU: 0    COMMAND: "sh"`.
pub fn task_header(pid: i32, task: u64, cpu: u32, comm: &str) -> String {
    format!("PID: {pid:<8} TASK: {task:016x}  CPU: {cpu:<4} COMMAND: \"{comm}\"")
}

/// How [`justify`] places text in a wider field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Justify {
    Left,
    Right,
    /// Centred; an odd spare space goes to the right.
    Center,
    /// Centred; an odd spare space goes to the left.
    CenterRight,
}

/// `s` in a field of `width` characters, as crash's `mkstring` places it (never cut).
pub fn justify(s: &str, width: usize, how: Justify) -> String {
    let extra = width.saturating_sub(s.chars().count());
    let (left, right) = match how {
        Justify::Left => (0, extra),
        Justify::Right => (extra, 0),
        Justify::Center => (extra / 2, extra - extra / 2),
        Justify::CenterRight => (extra - extra / 2, extra / 2),
    };
    format!("{}{s}{}", " ".repeat(left), " ".repeat(right))
}

/// Writes `KEY: value` lines with the keys right-aligned, as crash's `sys` prints them.
pub fn key_values(out: &mut dyn std::io::Write, lines: &[(&str, String)]) -> std::io::Result<()> {
    for (k, v) in lines {
        writeln!(out, "{k:>12}: {v}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn justified_as_crash() {
        // vtop's `pte` header: "PTE" in the width of the entry's hex digits
        assert_eq!(justify("PTE", 16, Justify::Center), "      PTE       ");
        assert_eq!(justify("PTE", 8, Justify::Center), "  PTE   ");
        assert_eq!(justify("1378000", 8, Justify::CenterRight), " 1378000");
        assert_eq!(justify("1000", 11, Justify::CenterRight), "    1000   ");
        assert_eq!(justify("toolong", 3, Justify::Right), "toolong");
        assert_eq!(justify("a", 3, Justify::Left), "a  ");
    }

    #[test]
    fn formats() {
        assert_eq!(duration(16), "00:00:16");
        assert_eq!(duration(232), "00:03:52");
        assert_eq!(duration(90061), "1 days, 01:01:01");
        assert_eq!(date(1795349062), "Sun Nov 22 12:04:22 UTC 2026");
        assert_eq!(memory_size(114560 * 4096), "447.5 MB");
        assert_eq!(memory_size(2 << 30), "2 GB");
        // crash's `ps -m` of a-sysrq-6.1: `[0 00:00:16.941]` for rq clock 16941428400
        assert_eq!(days_clock(16_941_428_400), "0 00:00:16.941");
        assert_eq!(days_clock(90_061_001_000_000), "1 01:01:01.001");
        // crash's `ps -s` header and `--`: KSTACKP and -- centred in 16 columns
        assert_eq!(center("KSTACKP", 16, true), "     KSTACKP    ");
        assert_eq!(center("--", 16, true), "       --       ");
        assert_eq!(center("1024", 11, false), "   1024    ");
        assert_eq!(center("toolong", 3, true), "toolong");
        assert_eq!(
            task_header(1, 0xffff8e11811f8000, 1, "init"),
            "PID: 1        TASK: ffff8e11811f8000  CPU: 1    COMMAND: \"init\""
        );
    }
}

/// A symbol's name as crash shows it: without the `.isra.N`, `.part.N` and `.llvm.N` endings of
/// compiler clones (crash strips them when it reads symbols; `.constprop.N` and `.cold` stay).
pub fn crash_symbol_name(name: &str) -> &str {
    [".isra.", ".part.", ".llvm."]
        .iter()
        .filter_map(|s| name.find(s))
        .min()
        .map_or(name, |at| &name[..at])
}

/// crash's names for addresses found in memory (`rd -s`/`-S`, `bt -F`): `symbol+offset` for an
/// address in the kernel image or a module, `[cache]` (or `[address:cache]`) for one in a slab
/// page; lookups are cached.
pub struct AddressNames<'p> {
    prog: &'p kdive_program::Program,
    /// `[_text, _end]`: where kernel symbols name addresses.
    image: Option<(u64, u64)>,
    cache: std::collections::HashMap<(u64, crate::rd::Symbolic), Option<String>>,
}

impl<'p> AddressNames<'p> {
    pub fn new(prog: &'p kdive_program::Program) -> Self {
        let s = prog.symbols();
        AddressNames {
            prog,
            image: s.address_of("_text").zip(s.address_of("_end")),
            cache: std::collections::HashMap::new(),
        }
    }

    /// What crash shows for the value `v` in `mode`, if not the number.
    pub fn label(&mut self, v: u64, mode: crate::rd::Symbolic) -> Option<String> {
        use crate::rd::Symbolic;
        if mode == Symbolic::None {
            return None;
        }
        if let Some(l) = self.cache.get(&(v, mode)) {
            return l.clone();
        }
        let in_image = self.image.is_some_and(|(a, b)| (a..=b).contains(&v));
        // in the image, crash names with the vmlinux's table (local labels too) when it has one
        let from_vmlinux = self
            .prog
            .debug()
            .filter(|_| in_image)
            .and_then(|d| d.nearest_symbol(v))
            .map(|(n, off)| (n.to_string(), off));
        let symbol = from_vmlinux
            .or_else(|| {
                (in_image || self.prog.module_at(v).is_some())
                    .then(|| self.prog.symbols().by_addr(v))
                    .flatten()
                    .map(|(sym, off)| (sym.name.to_string(), off))
            })
            .map(|(name, off)| {
                let name = crash_symbol_name(&name);
                if off == 0 {
                    name.to_string()
                } else {
                    format!("{name}+{off}")
                }
            });
        let label = symbol.or_else(|| {
            if mode == Symbolic::Symbols {
                return None;
            }
            let slab = kdive_linux::slab::slab_of(self.prog, v).ok().flatten()?;
            Some(match mode {
                Symbolic::SlabObjects => format!("[{v:x}:{}]", slab.name),
                _ => format!("[{}]", slab.name),
            })
        });
        self.cache.insert((v, mode), label.clone());
        label
    }
}
