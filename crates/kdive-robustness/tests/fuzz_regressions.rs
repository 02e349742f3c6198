//! Replays every committed fuzz input through the entry point its target calls, on the stable
//! toolchain: `fuzz/seeds/<target>/` (the starting corpora) and `fuzz/regressions/<target>/`
//! (inputs that once crashed, hung or ran out of memory). A crash found once stays fixed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kdive_robustness::fuzz::TARGETS;

/// Per input; the fuzzers allow 1 s in an optimized build, debug builds are slower.
const TIME_LIMIT: Duration = Duration::from_secs(10);

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["seeds", "regressions"]
        .iter()
        .flat_map(|kind| {
            std::fs::read_dir(fuzz_dir().join(kind).join(target))
                .into_iter()
                .flatten()
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_fuzz_target_file_and_seeds() {
    for (name, _) in TARGETS {
        let src = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text =
            std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        assert!(
            text.contains(&format!("fuzz::{name}(")),
            "{} does not call fuzz::{name}",
            src.display()
        );
        assert!(!inputs(name).is_empty(), "no seeds for fuzz target {name}");
    }
}

#[test]
fn seeds_and_regressions_replay_cleanly() {
    let mut slow = Vec::new();
    let mut count = 0;
    for (name, run) in TARGETS {
        for path in inputs(name) {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let start = Instant::now();
            run(&data);
            let took = start.elapsed();
            if took > TIME_LIMIT {
                slow.push(format!("{}: {took:?}", path.display()));
            }
            count += 1;
        }
    }
    assert!(slow.is_empty(), "inputs over {TIME_LIMIT:?}: {slow:#?}");
    eprintln!("{count} fuzz inputs replayed");
}

/// The committed seeds made from kdive-testdata's writers are what those writers make today
/// (regenerate them with the `fuzz_corpus` example when a writer changes).
#[test]
fn seeds_of_the_synthetic_writers_are_current() {
    let seed = |target: &str, name: &str| {
        let p = fuzz_dir().join("seeds").join(target).join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    assert!(seed("btf", "synth") == kdive_testdata::kernel::btf());
    for version in [4, 5] {
        let want = kdive_testdata::dwarf::dwarf_elf(version);
        assert!(seed("dwarf", &format!("synthetic-v{version}")) == want);
    }
}
