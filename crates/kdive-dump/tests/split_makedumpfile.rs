//! A real `makedumpfile --split` set of a corpus dump, opened in any order as one dump.

use std::path::PathBuf;

use kdive_dump::{Dump, DumpError, PageState};
use kdive_testdata::temp::makedumpfile_split;
use kdive_testdata::{corpus_or_skip, fixture};

#[test]
fn split_set_reads_as_the_single_file() {
    let Some(fx) = corpus_or_skip("split_makedumpfile").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let single_path = fx.reference_dump();
    let Some((dir, parts)) = makedumpfile_split(&single_path, 3, "split-whole") else {
        return;
    };
    let single = Dump::open(&single_path).expect("the single file");
    let given = [parts[1].clone(), parts[0].clone(), parts[2].clone()];
    let set = Dump::open_set(&given).expect("the split set");
    assert_eq!(set.parts().len(), 3);
    assert!(set.missing().is_empty(), "missing {:?}", set.missing());
    assert!(set.parts().windows(2).all(|w| w[0].start <= w[1].start));
    assert_eq!(set.page_stats(), single.page_stats());
    assert_eq!(
        set.vmcoreinfo().map(|v| v.entries().clone()),
        single.vmcoreinfo().map(|v| v.entries().clone())
    );
    let ps = single.page_size();
    let (mut a, mut b) = (vec![0u8; ps as usize], vec![0u8; ps as usize]);
    let mut compared = 0;
    for pfn in (0..single.meta().max_pfn).step_by(7) {
        assert_eq!(
            set.page_state(pfn * ps),
            single.page_state(pfn * ps),
            "pfn {pfn:#x}"
        );
        if single.read_phys(pfn * ps, &mut a).is_ok() {
            set.read_phys(pfn * ps, &mut b)
                .unwrap_or_else(|e| panic!("pfn {pfn:#x}: {e}"));
            assert!(a == b, "pfn {pfn:#x}: contents differ");
            compared += 1;
        }
    }
    assert!(compared > 1000, "only {compared} pages compared");

    // Without the part that holds data, its pages are lost and the gap is named.
    let holder = set
        .parts()
        .iter()
        .max_by_key(|p| p.end - p.start)
        .map(|p| p.path.clone())
        .expect("a part");
    let rest: Vec<PathBuf> = parts.iter().filter(|p| **p != holder).cloned().collect();
    let partial = Dump::open_set(&rest).expect("an incomplete set opens");
    assert!(!partial.missing().is_empty());
    assert!(partial.meta().incomplete);
    let stats = partial.page_stats();
    assert!(stats.lost > 0);
    assert_eq!(stats.ram, single.page_stats().ram);
    let (start, _) = partial.missing()[0];
    let present = (start..single.meta().max_pfn)
        .find(|&pfn| single.page_state(pfn * ps) == PageState::Present)
        .expect("a present page in the missing range");
    assert!(matches!(
        partial.read_phys(present * ps, &mut b),
        Err(DumpError::Lost { .. })
    ));
    drop(dir);
}

#[test]
fn a_whole_dump_is_not_a_part() {
    let Some(fx) = corpus_or_skip("split_whole_dump").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let p = fx.reference_dump();
    let err = Dump::open_set(&[p.clone(), p])
        .err()
        .expect("two whole dumps");
    assert!(err.to_string().contains("not one part"), "{err}");
}
