//! Man pages and completions from the command table; colour (`--color`, `NO_COLOR`) and the
//! pager only on a terminal, never in a pipe.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use kdive_commands::table::COMMANDS;
use kdive_testdata::temp::Scratch;
use kdive_testdata::{corpus_or_skip, fixture};

mod common;
use common::have;

const KDIVE: &str = env!("CARGO_BIN_EXE_kdive");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the shell command line `cmd` on a pseudo-terminal (`script`), returning what the
/// terminal showed.
fn on_terminal(cmd: &str, envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new("script");
    c.args(["-qec", cmd, "/dev/null"]).stdin(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("run script")
}

/// What `man ./PAGE` shows, on a wide terminal.
fn man_shows(page: &Path) -> String {
    let o = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "200")
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    text(&o.stdout)
}

#[test]
fn man_pages_show_every_command() {
    let s = Scratch::new("man");
    let o = Command::new(KDIVE)
        .arg("--install-extras")
        .arg(s.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let man = s.path().join("share/man/man1");
    let main = std::fs::read_to_string(man.join("kdive.1")).unwrap();
    for c in COMMANDS {
        // roff writes a hyphen as `\-`
        let summary = c.summary.replace('-', "\\-");
        assert!(main.contains(&summary), "{} missing from kdive.1", c.name);
        if c.name != "*" {
            let page = std::fs::read_to_string(man.join(format!("kdive-{}.1", c.name))).unwrap();
            assert!(page.contains(".SH SYNOPSIS"), "{}", c.name);
        }
    }
    for f in [
        "share/bash-completion/completions/kdive",
        "share/zsh/site-functions/_kdive",
        "share/fish/vendor_completions.d/kdive.fish",
    ] {
        assert!(s.path().join(f).is_file(), "{f}");
    }
    if !have("man") {
        eprintln!("man_pages_show_every_command: man not installed, rendering not checked");
        return;
    }
    // as `man ./kdive.1` shows it
    let shown = man_shows(&man.join("kdive.1"));
    assert!(shown.contains("--debuginfo"), "{shown}");
    for c in COMMANDS {
        assert!(shown.contains(&c.synopsis()), "{} not shown", c.synopsis());
        assert!(shown.contains(c.summary), "{} not shown", c.summary);
    }
    let shown = man_shows(&man.join("kdive-bt.1"));
    let table_bt = COMMANDS.iter().find(|c| c.name == "bt").unwrap();
    for f in table_bt.flags.iter().filter(|f| f.implemented) {
        assert!(
            shown.contains(&f.usage()),
            "bt {} not shown: {shown}",
            f.usage()
        );
    }
}

/// The words bash's completion offers for `words` (the last one being completed).
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let prog = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; \
         _kdive kdive '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        line.len(),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let o = Command::new("bash").arg("-c").arg(prog).output().unwrap();
    text(&o.stdout).lines().map(str::to_string).collect()
}

#[test]
fn completions_offer_commands_and_flags() {
    let s = Scratch::new("completions");
    for shell in ["bash", "zsh", "fish"] {
        let o = Command::new(KDIVE)
            .args(["--completions", shell])
            .output()
            .unwrap();
        assert!(o.status.success(), "{shell}: {}", text(&o.stderr));
        let script = text(&o.stdout);
        for word in ["debuginfo", "offline", "no-pager", "runq", "kmem"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
        std::fs::write(s.path().join(shell), &o.stdout).unwrap();
    }
    if !have("bash") {
        return;
    }
    let bash = s.path().join("bash");
    assert_eq!(bash_complete(&bash, &["kdive", "--deb"]), ["--debuginfo"]);
    assert_eq!(
        bash_complete(&bash, &["kdive", "vmcore", "-c", "run"]),
        ["runq"]
    );
    let mut colors = bash_complete(&bash, &["kdive", "--color", ""]);
    colors.sort();
    assert_eq!(colors, ["always", "auto", "never"]);
}

#[test]
fn colour_only_on_a_terminal_without_no_color() {
    let missing = "/nonexistent/vmcore";
    let piped = Command::new(KDIVE)
        .args([missing, "-c", "sys"])
        .output()
        .unwrap();
    assert!(!piped.status.success());
    assert!(text(&piped.stderr).contains(missing));
    assert!(!text(&piped.stderr).contains('\x1b'), "colour in a pipe");
    assert!(text(&piped.stdout).is_empty(), "the error goes to stderr");
    let forced = Command::new(KDIVE)
        .args([missing, "--color=always", "-c", "sys"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(text(&forced.stderr).contains("\x1b[1;31m"));
    if !have("script") {
        eprintln!("colour_only_on_a_terminal_without_no_color: no script(1), terminal not checked");
        return;
    }
    let cmd = format!("{KDIVE} {missing} -c sys");
    let tty = on_terminal(&cmd, &[]);
    assert!(
        text(&tty.stdout).contains("\x1b[1;31mkdive: "),
        "{}",
        text(&tty.stdout)
    );
    let no_color = on_terminal(&cmd, &[("NO_COLOR", "1")]);
    assert!(text(&no_color.stdout).contains("kdive: "));
    assert!(
        !text(&no_color.stdout).contains('\x1b'),
        "{}",
        text(&no_color.stdout)
    );
    let never = on_terminal(&format!("{cmd} --color=never"), &[]);
    assert!(!text(&never.stdout).contains('\x1b'));
}

#[test]
fn pager_only_at_a_prompt_on_a_terminal() {
    let Some(fx) = corpus_or_skip("pager").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let dump = fx.reference_dump();
    let s = Scratch::new("pager");
    let mark = s.path().join("paged");
    // a pager that leaves a mark and shows what it got
    let pager = format!("touch {}; cat", mark.display());
    let envs = [("PAGER", pager.as_str())];
    // the prompt reading a pipe, writing a pipe: no pager
    let mut c = Command::new(KDIVE)
        .arg(&dump)
        .env("PAGER", &pager)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"sys\nquit\n").unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(text(&o.stdout).contains("RELEASE:"), "{}", text(&o.stderr));
    assert!(!mark.exists(), "paged into a pipe");
    if !have("script") {
        return;
    }
    // -c on a terminal: no pager (only the prompt pages)
    let d = dump.display();
    let o = on_terminal(&format!("{KDIVE} {d} -c sys"), &envs);
    assert!(text(&o.stdout).contains("RELEASE:"));
    assert!(!mark.exists(), "-c went through the pager");
    // the prompt on a terminal: paged, unless --no-pager
    let o = on_terminal(
        &format!("printf 'sys\\nquit\\n' | {KDIVE} {d} --no-pager"),
        &envs,
    );
    assert!(text(&o.stdout).contains("RELEASE:"));
    assert!(!mark.exists(), "--no-pager went through the pager");
    let o = on_terminal(&format!("printf 'sys\\nquit\\n' | {KDIVE} {d}"), &envs);
    assert!(text(&o.stdout).contains("RELEASE:"));
    assert!(mark.exists(), "the prompt on a terminal did not page");
}
