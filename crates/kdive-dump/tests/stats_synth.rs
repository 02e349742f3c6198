//! Page-state runs and counts over a synthetic physical memory.

use kdive_dump::stats::{count, runs};
use kdive_dump::PageState;
use kdive_testdata::phys::PhysMemory;

/// States by pfn range: present 10..20 (10..13 as the shared zero page) and 30, excluded
/// 20..25, lost 40..50, 60 frames in all.
fn sample() -> PhysMemory {
    let mut m = PhysMemory::new();
    for pfn in (13..20).chain([30]) {
        m.write(pfn * 4096, &[1]);
    }
    (10..13).for_each(|pfn| m.zero(pfn));
    (20..25).for_each(|pfn| m.exclude(pfn));
    (40..50).for_each(|pfn| m.lose(pfn));
    m.meta_mut().max_pfn = 60;
    m
}

#[test]
fn runs_with_and_without_bounds() {
    let f = sample();
    let all: Vec<_> = runs(&f, None).collect();
    assert_eq!(
        all,
        vec![
            (0, 10, PageState::NotRam),
            (10, 20, PageState::Present),
            (20, 25, PageState::Excluded),
            (25, 30, PageState::NotRam),
            (30, 31, PageState::Present),
            (31, 40, PageState::NotRam),
            (40, 50, PageState::Lost),
            (50, 60, PageState::NotRam),
        ]
    );
    let bounds = [10, 20, 25, 30, 31, 40, 50, 99];
    assert_eq!(runs(&f, Some(&bounds)).collect::<Vec<_>>(), all);
    let s = count(&f, Some(&bounds));
    assert_eq!(
        (s.ram, s.present, s.zero, s.excluded, s.lost, s.first_lost),
        (26, 8, 3, 5, 10, Some(40))
    );
    assert_eq!(s, count(&f, None));
}
