//! The command table on a real dump: every example of `help` runs, `help` and `--help` answer,
//! and a mistyped command names the nearest one.

use kdive_commands::{run, table, CommandError, Session};
use kdive_testdata::{corpus_or_skip, fixture};

fn session() -> Option<Session> {
    corpus_or_skip("table_fixtures")?;
    let dump = fixture("b-null-module-6.1")
        .expect("fixture b-null-module-6.1")
        .reference_dump();
    Some(Session::open(&dump).unwrap_or_else(|e| panic!("{}: {e}", dump.display())))
}

#[test]
fn every_example_runs() {
    let Some(s) = session() else { return };
    for c in table::COMMANDS {
        for e in c.examples {
            if let Err(err) = run(&s, e.line) {
                panic!("help {}: example `{}` fails: {err}", c.name, e.line);
            }
        }
    }
}

#[test]
fn help_and_suggestions() {
    let Some(s) = session() else { return };
    let index = run(&s, "help").unwrap().text();
    for c in table::COMMANDS {
        assert!(index.contains(c.summary), "help lists {}", c.name);
    }
    let page = run(&s, "help bt").unwrap().text();
    assert!(page.contains("\n  bt [-a|-t|-T|"), "{page}");
    assert_eq!(run(&s, "bt --help").unwrap().text(), page);
    assert_eq!(run(&s, "help bt").unwrap().json()["flags"][0]["flag"], "-a");

    let e = run(&s, "btt").err().expect("btt is no command");
    assert!(matches!(&e, CommandError::Unknown { name, .. } if name == "btt"));
    assert_eq!(e.to_string(), "btt: command not found (did you mean bt?)");
    let e = run(&s, "help lsit").err().expect("lsit is no command");
    assert_eq!(
        e.to_string(),
        "lsit: command not found (did you mean list?)"
    );
    let e = run(&s, "frobnicate").err().expect("no command");
    assert_eq!(e.to_string(), "frobnicate: command not found");
    // a structure's name is still a command
    assert!(run(&s, "list_head").is_ok());
}

#[test]
fn crash_commands_kdive_does_not_run_say_what_instead() {
    let Some(s) = session() else { return };
    let e = run(&s, "gdb bt").err().expect("gdb is refused");
    assert_eq!(e.kind(), "unavailable");
    assert!(
        e.to_string()
            .starts_with("gdb: not available in kdive: kdive embeds no gdb"),
        "{e}"
    );
    let e = run(&s, "q").err().expect("q outside the prompt is refused");
    assert!(
        e.to_string()
            .starts_with("exit: not available in kdive: at the kdive> prompt"),
        "{e}"
    );

    let index = run(&s, "help").unwrap().text();
    assert!(index.contains("write memory (not in kdive)"), "{index}");
    let page = run(&s, "help extend").unwrap();
    assert_eq!(page.json()["available"], false);
    assert!(
        page.text()
            .contains("Not available in kdive: kdive loads no shared objects"),
        "{}",
        page.text()
    );
    assert_eq!(run(&s, "help bt").unwrap().json()["available"], true);
}

/// crash's builtin aliases (`alias_init`) are listed and resolve; a defined alias runs its
/// command with the rest of the line; crash's refusals; `repeat -N` runs the command N times.
#[test]
fn aliases_and_repeat() {
    let Some(s) = session() else { return };
    let list = run(&s, "alias").unwrap().text();
    let mut lines = list.lines();
    assert_eq!(lines.next(), Some("ORIGIN   ALIAS    COMMAND"));
    assert_eq!(lines.next(), Some("builtin  man      help "));
    assert!(list.contains("\nbuiltin  px       p -x \n"), "{list}");
    assert_eq!(list.lines().count(), 15);
    // lsmod is mod, dmesg is log
    assert_eq!(
        run(&s, "lsmod").unwrap().text(),
        run(&s, "mod").unwrap().text()
    );
    assert_eq!(
        run(&s, "dmesg").unwrap().text(),
        run(&s, "log").unwrap().text()
    );

    let defined = run(&s, "alias pl \"ps -l\"").unwrap().text();
    assert_eq!(
        defined,
        "ORIGIN   ALIAS    COMMAND\nruntime  pl       ps -l \n"
    );
    assert_eq!(
        run(&s, "pl 1").unwrap().text(),
        run(&s, "ps -l 1").unwrap().text()
    );
    assert_eq!(
        run(&s, "alias").unwrap().json()["aliases"][14]["alias"],
        "pl"
    );
    assert_eq!(
        run(&s, "alias pl \"\"").unwrap().text(),
        "alias deleted: pl\n"
    );
    assert!(run(&s, "pl 1").is_err());
    let e = run(&s, "alias bt ps").err().unwrap();
    assert_eq!(
        e.to_string(),
        "alias: cannot alias existing command name: bt"
    );
    let e = run(&s, "alias yy nosuch").err().unwrap();
    assert_eq!(
        e.to_string(),
        "alias: invalid alias attempt on non-existent command: nosuch"
    );

    let once = run(&s, "sys -c 1").unwrap().text();
    let r = run(&s, "repeat -3 sys -c 1").unwrap();
    assert_eq!(r.text(), once.repeat(3));
    assert_eq!(r.json()["runs"].as_array().unwrap().len(), 3);
    assert_eq!(run(&s, "repeat sys -c 1").unwrap().text(), once);
    assert!(run(&s, "repeat -0 sys").is_err());
    assert!(run(&s, "repeat -1001 sys").is_err());
    assert!(run(&s, "repeat -2 repeat -2 sys").is_err());
}
