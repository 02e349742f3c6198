//! `tests/data/oops/*.txt`: real kernel reports from public sources, each with its source URL
//! and the title expected from reading it (`# expect:`). The share classified right is printed
//! and must not fall below the floor.

use std::collections::BTreeMap;
use std::path::Path;

/// The share of reports whose first report's title must match.
const FLOOR: f64 = 0.9;

struct Case {
    name: String,
    expect: String,
    body: String,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oops");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "txt") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let mut expect = None;
        let mut source = None;
        let mut body = String::new();
        let mut header = true;
        for l in text.lines() {
            header &= l.starts_with("# ");
            if !header {
                body.push_str(l);
                body.push('\n');
            } else if let Some(x) = l.strip_prefix("# expect: ") {
                expect = Some(x.to_string());
            } else if let Some(x) = l.strip_prefix("# source: ") {
                source = Some(x.to_string());
            } else {
                // `# note: ...`: why the expectation differs from the source's own title
                continue;
            }
            if header {
                continue;
            }
            {}
        }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(source.is_some(), "{name}: no source");
        out.push(Case {
            name,
            expect: expect.expect("an expected title"),
            body,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The class of a title: its words before ` in `.
fn class(title: &str) -> &str {
    title.split(" in ").next().unwrap_or(title)
}

#[test]
fn real_reports_get_their_titles() {
    let cases = cases();
    let mut right = 0;
    let mut classes: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for c in &cases {
        let reports = kdive_oops::parse(&c.body);
        let got = reports
            .first()
            .map(|r| kdive_oops::verdict(r).title)
            .unwrap_or_else(|| "(no report)".into());
        let e = classes.entry(class(&c.expect)).or_default();
        e.1 += 1;
        if got == c.expect {
            right += 1;
            e.0 += 1;
        } else {
            println!("MISS {}: expected {:?}, got {:?}", c.name, c.expect, got);
        }
    }
    for (k, (r, n)) in &classes {
        println!("{r:>3}/{n:<3} {k}");
    }
    let share = right as f64 / cases.len() as f64;
    println!(
        "real reports: {right}/{} titled right ({:.1}%), {} classes",
        cases.len(),
        share * 100.0,
        classes.len()
    );
    assert!(cases.len() >= 100 && classes.len() >= 10);
    assert!(share >= FLOOR, "share {share:.3} below {FLOOR}");
}

/// `OOPS_FILE=path cargo test --test real_reports show_one -- --ignored --nocapture` prints
/// what the parser read from one file.
#[test]
#[ignore]
fn show_one() {
    let p = std::env::var("OOPS_FILE").unwrap();
    let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    for r in kdive_oops::parse(&text) {
        let v = kdive_oops::verdict(&r);
        println!(
            "== {:?} {:?} line {} title {:?}",
            r.kind, r.headline, r.line, v.title
        );
        println!(
            "   ip {:?} panic {:?} task {:?} detail {:?}",
            r.ip.as_ref().map(|f| &f.function),
            r.panic,
            r.task,
            r.detail
        );
        for s in &r.stacks {
            let names: Vec<String> = s
                .frames
                .iter()
                .map(|f| format!("{}{}", if f.unreliable { "?" } else { "" }, f.function))
                .collect();
            println!(
                "   {:?}{} {}",
                s.context,
                if s.after_panic { " (after panic)" } else { "" },
                names.join(" < ")
            );
        }
        println!(
            "   blocked {:?}",
            r.blocked
                .iter()
                .map(|b| (&b.task.comm, b.stack))
                .collect::<Vec<_>>()
        );
    }
}

/// Damaged text never panics the parser: every real report with characters replaced by
/// multi-byte ones, lines cut, and bytes that are not UTF-8.
#[test]
fn damaged_reports_do_not_panic() {
    for c in cases() {
        for step in [3usize, 7, 11] {
            let damaged: String = c
                .body
                .chars()
                .enumerate()
                .map(|(i, ch)| if i % step == 0 { 'é' } else { ch })
                .collect();
            for r in kdive_oops::parse(&damaged) {
                let _ = kdive_oops::verdict(&r);
                if let Some(code) = &r.code {
                    let _ = kdive_oops::decode::disassemble(code);
                }
                let _ = r.taint.as_deref().map(kdive_oops::decode::taint);
            }
        }
        let cut: String = c
            .body
            .lines()
            .map(|l| {
                &l[..l
                    .char_indices()
                    .nth(l.chars().count() / 2)
                    .map_or(0, |(i, _)| i)]
            })
            .collect::<Vec<_>>()
            .join("\n");
        for r in kdive_oops::parse(&cut) {
            let _ = kdive_oops::verdict(&r);
        }
    }
}
