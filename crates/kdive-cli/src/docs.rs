//! Man pages and shell completions, from clap's description of the command line and the
//! command table: `kdive.1`, one `kdive-NAME.1` per prompt command, bash/zsh/fish scripts.

use std::io;
use std::path::{Path, PathBuf};

use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use kdive_commands::table::{Command, COMMANDS};

/// The man page file name of a prompt command (`*` has none: `struct`'s page covers it).
pub fn page_name(c: &Command) -> Option<String> {
    c.name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        .then(|| format!("kdive-{}", c.name))
}

/// `kdive.1`: clap's page of the command line, then the prompt commands, each with its page.
pub fn main_page(cli: clap::Command) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cli).render(&mut out)?;
    let mut r = Roff::new();
    r.control("SH", ["COMMANDS"]);
    r.text([roman(
        "At the prompt, or with -c, every crash command below; `help NAME` shows the same help.",
    )]);
    for c in COMMANDS {
        let more = match page_name(c) {
            Some(p) => format!(" (see {p}(1))"),
            None => String::new(),
        };
        tagged(&mut r, bold(c.synopsis()), format!("{}{more}", c.summary));
    }
    r.control("SH", ["ENVIRONMENT"]);
    for (name, what) in ENVIRONMENT {
        tagged(&mut r, bold(*name), *what);
    }
    out.extend(r.to_roff().into_bytes());
    Ok(out)
}

/// A `.TP` paragraph: `term`, then `what` indented below it.
fn tagged(r: &mut Roff, term: Inline, what: impl Into<String>) {
    r.control("TP", [] as [&str; 0]);
    r.text([term]);
    r.text([roman(what)]);
}

/// The environment variables kdive reads.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("KDIVE_DEBUGINFO_PATH", "Directories (colon-separated) searched for the vmlinux and module debug files after those of --debuginfo."),
    ("KDIVE_SYSROOT", "The root the distribution debug paths (/usr/lib/debug, /boot) are read under; / by default."),
    ("DEBUGINFOD_URLS", "debuginfod servers (space-separated) asked for the vmlinux by build-id when no local file is the dump's."),
    ("DEBUGINFOD_CACHE_PATH", "debuginfod's cache, shared with elfutils and gdb (default ~/.cache/debuginfod_client)."),
    ("DEBUGINFOD_TIMEOUT", "Seconds to wait for a debuginfod server to connect, answer, or send more (default 90)."),
    ("NO_COLOR", "When set and not empty, no colour (as --color=never) unless --color=always."),
    ("PAGER", "The pager for long output at the prompt (default less, with LESS=FRX unless LESS is set); empty or cat for none."),
];

/// `kdive-NAME.1` for prompt command `c`.
pub fn command_page(c: &Command) -> String {
    let mut r = Roff::new();
    let name = page_name(c).unwrap_or_else(|| c.name.to_string());
    r.control(
        "TH",
        [
            name.to_uppercase().as_str(),
            "1",
            "",
            "kdive",
            "kdive commands",
        ],
    );
    r.control("SH", ["NAME"]);
    r.text([roman(format!("{} - {}", c.name, c.summary))]);
    r.control("SH", ["SYNOPSIS"]);
    r.text([bold(c.synopsis())]);
    if !c.aliases.is_empty() {
        r.control("PP", [] as [&str; 0]);
        r.text([roman(format!("Also: {}.", c.aliases.join(", ")))]);
    }
    if !c.description.is_empty() {
        r.control("SH", ["DESCRIPTION"]);
        for para in c.description.split("\n\n") {
            r.control("PP", [] as [&str; 0]);
            r.text([roman(para.trim())]);
        }
    }
    if !c.flags.is_empty() {
        r.control("SH", ["OPTIONS"]);
        for f in c.flags {
            let note = if f.implemented {
                ""
            } else {
                " (not implemented yet)"
            };
            tagged(&mut r, bold(f.usage()), format!("{}{note}", f.help));
        }
    }
    if !c.args.is_empty() {
        r.control("SH", ["ARGUMENTS"]);
        for a in c.args {
            tagged(&mut r, italic(a.name), a.help);
        }
    }
    if !c.examples.is_empty() {
        r.control("SH", ["EXAMPLES"]);
        for e in c.examples {
            tagged(&mut r, bold(e.line), e.what);
        }
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([bold("kdive"), roman("(1)")]);
    r.render()
}

/// The command line as completion scripts see it: `-c` offers the prompt commands' names.
pub fn completion_command(cli: clap::Command) -> clap::Command {
    let names: Vec<&'static str> = COMMANDS
        .iter()
        // crash's commands that kdive does not run are not offered
        .filter(|c| c.instead.is_none())
        .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
        .filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric()))
        .collect();
    cli.mut_arg("commands", |a| {
        a.value_parser(clap::builder::PossibleValuesParser::new(names))
    })
}

/// The completion script for `shell`.
pub fn completions(cli: clap::Command, shell: Shell) -> Vec<u8> {
    let mut cmd = completion_command(cli);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kdive", &mut out);
    out
}

/// Where each file goes under an install prefix (`~/.local`, `/usr/local`), as the shells and
/// `man` look for them.
pub fn install(cli: clap::Command, prefix: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let man = prefix.join("share/man/man1");
    files.push((man.join("kdive.1"), main_page(cli.clone())?));
    for c in COMMANDS {
        if let Some(p) = page_name(c) {
            files.push((man.join(format!("{p}.1")), command_page(c).into_bytes()));
        }
    }
    for (shell, path) in [
        (Shell::Bash, "share/bash-completion/completions/kdive"),
        (Shell::Zsh, "share/zsh/site-functions/_kdive"),
        (Shell::Fish, "share/fish/vendor_completions.d/kdive.fish"),
    ] {
        files.push((prefix.join(path), completions(cli.clone(), shell)));
    }
    let mut written = Vec::new();
    for (path, bytes) in files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}
