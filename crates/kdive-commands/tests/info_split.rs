//! A `makedumpfile --split` set answers as the single file does; `info` lists its parts and
//! names a missing one.

use std::path::PathBuf;

use kdive_commands::Session;
use kdive_linux::OpenOptions;
use kdive_testdata::temp::makedumpfile_split;
use kdive_testdata::{corpus_or_skip, fixture};

fn text(s: &Session, cmd: &str) -> String {
    match kdive_commands::run(s, cmd) {
        Ok(r) => r.text(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn split_set_answers_as_the_single_file() {
    let Some(fx) = corpus_or_skip("info_split").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let single_path = fx.reference_dump();
    let Some((dir, parts)) = makedumpfile_split(&single_path, 3, "info-split") else {
        return;
    };
    let single = Session::open(&single_path).expect("single file");
    let given = [&parts[1], &parts[0], &parts[2]];
    let set = Session::open_with(&given, &OpenOptions::default()).expect("split set");
    assert!(set.minimal_reason().is_none(), "{:?}", set.minimal_reason());
    assert!(set.notices().is_empty(), "{:?}", set.notices());
    let strip = |t: String| -> Vec<String> {
        t.lines()
            .filter(|l| !l.trim_start().starts_with("DUMPFILE"))
            .map(str::to_string)
            .collect()
    };
    for cmd in ["sys", "ps", "log", "log -m"] {
        let want = strip(text(&single, cmd));
        assert!(want.len() > 10, "{cmd}: {want:?}");
        assert_eq!(strip(text(&set, cmd)), want, "{cmd}");
    }
    let info = kdive_commands::run(&set, "info").expect("info").json();
    assert_eq!(info["files"].as_array().map(Vec::len), Some(3));
    assert!(info["format"]
        .as_str()
        .is_some_and(|f| f.contains("3 parts")));
    assert!(info["files"][0]["start_pfn"].is_u64());
    let one = kdive_commands::run(&single, "info").expect("info").json();
    assert_eq!(info["pages"], one["pages"]);
    assert_eq!(info["compression"], one["compression"]);

    // drop the part holding the data: the set still opens and says what is missing
    let holder = set
        .dump()
        .parts()
        .iter()
        .max_by_key(|p| p.end - p.start)
        .map(|p| p.path.clone())
        .expect("a part");
    let rest: Vec<&PathBuf> = parts.iter().filter(|p| **p != holder).collect();
    let partial = Session::open_with(&rest, &OpenOptions::default()).expect("partial set");
    assert!(partial
        .notices()
        .iter()
        .any(|n| n.to_string().contains("a part is missing")));
    let info = kdive_commands::run(&partial, "info").expect("info").json();
    let verdict = info["verdict"].as_str().unwrap_or_default();
    assert!(
        verdict.contains("missing") && verdict.contains("pages lost"),
        "{verdict}"
    );
    assert!(!info["missing_parts"].as_array().is_some_and(Vec::is_empty));
    let (start, _) = partial.dump().missing()[0];
    let ps = single.dump().page_size();
    let pfn = (start..single.dump().meta().max_pfn)
        .find(|&p| single.dump().page_state(p * ps) == kdive_dump::PageState::Present)
        .expect("a present page the missing part held");
    let err = text(&partial, &format!("rd -p -64 {:#x} 2", pfn * ps));
    assert!(err.contains("lost") && err.contains("split part"), "{err}");
    drop(dir);
}
