//! Page statistics of a dump: how much of the machine's RAM the dump holds, and what became
//! of the rest.

use crate::{DumpFormat, PageState};

/// Page counts over every page frame a dump describes. `present + zero + excluded + lost == ram`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageStats {
    /// Frames that were RAM on the dumped machine.
    pub ram: u64,
    /// RAM pages whose contents are in the dump.
    pub present: u64,
    /// RAM pages the dump records as all zeros without storing them each (kdump's shared
    /// zero page; 0 when the container does not tell them from other present pages).
    pub zero: u64,
    /// RAM pages filtered out by the dump level.
    pub excluded: u64,
    /// RAM pages that should be in the dump but are not (incomplete dump, truncated file,
    /// missing split part).
    pub lost: u64,
    /// The lowest lost pfn, if any.
    pub first_lost: Option<u64>,
}

/// Maximal runs `(start, end, state)` of pfns in `0..max_pfn` with one state.
///
/// `bounds`, when given, are the sorted pfns at which the state may change (an ELF's segment
/// edges): only one pfn per run between them is asked, so a dump describing huge ranges costs
/// as many questions as it has edges. Without bounds every pfn is asked, except where the format
/// knows a run ([`DumpFormat::next_change`]).
pub fn runs<'a>(
    format: &'a dyn DumpFormat,
    bounds: Option<&'a [u64]>,
) -> impl Iterator<Item = (u64, u64, PageState)> + 'a {
    let max = format.meta().max_pfn;
    let edges: Box<dyn Iterator<Item = (u64, u64)> + 'a> = match bounds {
        Some(b) => Box::new(
            std::iter::once(0)
                .chain(b.iter().copied())
                .chain(std::iter::once(max))
                .map(move |p| p.min(max))
                .collect::<Vec<_>>()
                .windows(2)
                .map(|w| (w[0], w[1]))
                .filter(|(a, z)| a < z)
                .collect::<Vec<_>>()
                .into_iter(),
        ),
        None => {
            let mut p = 0;
            Box::new(std::iter::from_fn(move || {
                (p < max).then(|| {
                    let a = p;
                    p = format.next_change(a).clamp(a + 1, max);
                    (a, p)
                })
            }))
        }
    };
    let mut edges = edges
        .map(move |(a, z)| (a, z, format.page_state(a)))
        .peekable();
    std::iter::from_fn(move || {
        let (a, mut z, state) = edges.next()?;
        while let Some(&(_, next_z, _)) =
            edges.peek().filter(|(na, _, ns)| *na == z && *ns == state)
        {
            z = next_z;
            edges.next();
        }
        Some((a, z, state))
    })
}

/// Counts the states of pfns `0..max_pfn`: the format's own count
/// ([`DumpFormat::page_stats`]) where it has one, else [`count_runs`].
pub fn count(format: &dyn DumpFormat, bounds: Option<&[u64]>) -> PageStats {
    format
        .page_stats()
        .unwrap_or_else(|| count_runs(format, bounds))
}

/// Counts the states of pfns `0..max_pfn` from their [`runs`] (see there for `bounds`).
pub fn count_runs(format: &dyn DumpFormat, bounds: Option<&[u64]>) -> PageStats {
    let mut s = PageStats::default();
    for (a, z, state) in runs(format, bounds) {
        let n = z - a;
        match state {
            PageState::Present => s.present += n,
            PageState::Excluded => s.excluded += n,
            PageState::Lost => {
                s.lost += n;
                s.first_lost.get_or_insert(a);
            }
            PageState::NotRam => continue,
        }
        s.ram += n;
    }
    s.zero = format.zero_page_count().min(s.present);
    s.present -= s.zero;
    s
}

/// What each bit of makedumpfile's dump level (`-d`) excludes, lowest bit first.
pub const DUMP_LEVEL_BITS: [(u32, &str); 5] = [
    (1, "zero pages"),
    (2, "cache pages without private data"),
    (4, "cache pages with private data"),
    (8, "user process data pages"),
    (16, "free pages"),
];

/// The kinds of pages dump level `level` excludes, in words.
pub fn excluded_by_level(level: u32) -> Vec<&'static str> {
    DUMP_LEVEL_BITS
        .iter()
        .filter(|(bit, _)| level & bit != 0)
        .map(|&(_, what)| what)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_words() {
        assert_eq!(excluded_by_level(0), Vec::<&str>::new());
        assert_eq!(excluded_by_level(17), vec!["zero pages", "free pages"]);
        assert_eq!(excluded_by_level(31).len(), 5);
    }
}
