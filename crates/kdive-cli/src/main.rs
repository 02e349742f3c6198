//! `kdive`: the command-line front end.

mod completion;
mod crashdir;
mod debuginfo;
mod docs;
mod doctor;
mod frontend;
mod script;
mod status;
mod system;
mod terminal;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use kdive_commands::Session;
use kdive_linux::OpenOptions;
use terminal::{ColorChoice, Style};

/// Linux kernel crash-dump analyzer: crash's commands, from the dump alone.
#[derive(Parser, Debug)]
#[command(name = "kdive", version, about)]
struct Cli {
    /// The dump (vmcore, or every part of a `makedumpfile --split` set in any order), then
    /// optionally a vmlinux and module .ko files. `kdive info DUMP...` prints `info` and exits;
    /// `kdive analyze DUMP...` prints the triage report and exits; `kdive oops FILE|-`
    /// classifies the kernel reports of a log file (no dump needed). `kdive` alone lists the
    /// dumps in /var/crash (the running kernel, /proc/kcore, when there are none), `kdive
    /// latest` opens the newest, `kdive doctor` checks the kdump set-up. With `-c`, `--script`
    /// or `--python` and no dump, the running kernel is opened.
    files: Vec<PathBuf>,
    /// On the running kernel (/proc/kcore), keep what commands read for the next ones instead
    /// of reading it afresh for each command.
    #[arg(long)]
    snapshot: bool,
    /// Run this command and exit (repeatable; `| shell` and `> file` work as at the prompt).
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    commands: Vec<String>,
    /// Print each command's result as one JSON document (one per line).
    #[arg(long)]
    json: bool,
    /// Print the kernel release recorded in the dump and exit.
    #[arg(long)]
    osrelease: bool,
    /// Do not read the kernel: offer only what needs none (info, rd -p, search -p, log).
    #[arg(long)]
    minimal: bool,
    /// Read pages the dump level excluded as zeros instead of failing.
    #[arg(long = "zero-excluded", alias = "zero_excluded")]
    zero_excluded: bool,
    /// Bound on list and tree walks.
    #[arg(long, value_name = "N")]
    max_list_entries: Option<usize>,
    /// Run a Python script as drgn runs one (`prog`, drgn's names and helpers in scope,
    /// `import drgn` resolving to kdive), with the arguments after it as `sys.argv[1:]`.
    #[arg(long, value_name = "FILE [ARGS]", num_args = 1.., allow_hyphen_values = true)]
    script: Option<Vec<String>>,
    /// Open a Python prompt with drgn's environment (`prog`, helpers, tab completion).
    #[arg(long)]
    python: bool,
    /// Look for the vmlinux and module debug files in DIR first (repeatable), before
    /// KDIVE_DEBUGINFO_PATH, /usr/lib/debug, /boot and debuginfod (DEBUGINFOD_URLS). A file
    /// is used only when its build-id is the dump's.
    #[arg(long = "debuginfo", value_name = "DIR")]
    debuginfo: Vec<PathBuf>,
    /// Use no network: debuginfod's cache only.
    #[arg(long)]
    offline: bool,
    /// Never page long output at the prompt (default: $PAGER, else less -FRX, on a terminal).
    #[arg(long)]
    no_pager: bool,
    /// Colour for errors and warnings: auto (on a terminal unless NO_COLOR is set), always,
    /// never.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    color: ColorChoice,
    /// Write the man pages (kdive.1, kdive-CMD.1) and bash/zsh/fish completions under PREFIX
    /// (share/man/man1, share/bash-completion/completions, share/zsh/site-functions,
    /// share/fish/vendor_completions.d) and exit.
    #[arg(long, value_name = "PREFIX", exclusive = true)]
    install_extras: Option<PathBuf>,
    /// Print the completion script for SHELL and exit.
    #[arg(long, value_name = "SHELL", exclusive = true)]
    completions: Option<clap_complete::Shell>,
    /// Print kdive.1 (or with CMD, the prompt command's page) and exit.
    #[arg(long, value_name = "CMD", exclusive = true, num_args = 0..=1, default_missing_value = "")]
    man_page: Option<String>,
}

fn main() -> ExitCode {
    let args = match system::dispatch(std::env::args_os().collect()) {
        system::Dispatch::Exit(status) => return status.into(),
        system::Dispatch::Args(args) => args,
    };
    let mut cli = Cli::parse_from(args);
    let style = Style::for_stderr(cli.color);
    if let Some(done) = extras(&cli, style) {
        return done;
    }
    if cli.files.is_empty() {
        // no dump: the running kernel
        cli.files.push(system::live_memory());
    }
    // `kdive oops FILE|-`: a log's reports, no dump
    if cli.files.len() == 2 && cli.files[0].as_os_str() == "oops" && !cli.files[0].exists() {
        return oops(&cli.files[1].to_string_lossy(), cli.json);
    }
    // `kdive info DUMP`, `kdive analyze DUMP [VMLINUX]`: the command, then exit
    for sub in ["info", "analyze"] {
        if cli.files.len() > 1 && cli.files[0].as_os_str() == sub && !cli.files[0].exists() {
            cli.files.remove(0);
            cli.commands.insert(0, sub.into());
        }
    }
    if cli.osrelease {
        return osrelease(&cli.files);
    }
    if cli.script.is_some() || cli.python {
        return script::run(&script::Run {
            files: &cli.files,
            script: cli.script.as_deref(),
            snapshot: cli.snapshot,
        });
    }
    // download progress only where someone watches it: a terminal, not JSON
    let progress = !cli.json && std::io::stderr().is_terminal();
    let opts = OpenOptions {
        minimal: cli.minimal,
        zero_excluded: cli.zero_excluded,
        debug_search: debuginfo::search(&cli.debuginfo, cli.offline, progress),
        ..OpenOptions::default()
    };
    let mut session = match Session::open_with(&cli.files, &opts) {
        Ok(s) => s,
        Err(e) => {
            style.eprint_error(&e);
            if let Some(why) = system::live_denied(&cli.files, &e) {
                style.eprint_error(why);
            }
            return ExitCode::FAILURE;
        }
    };
    if let Some(n) = cli.max_list_entries {
        session.walk_limit = n;
    }
    for n in session.dump_notices() {
        style.eprint_warning(n);
    }
    let mut fe = frontend::FrontEnd {
        session: &mut session,
        snapshot: cli.snapshot,
        json: cli.json,
        style,
        pager: None,
        kernel_told: std::cell::Cell::new(false),
    };
    if cli.commands.is_empty() {
        let pager = (!cli.no_pager && std::io::stdout().is_terminal())
            .then(terminal::pager)
            .flatten();
        return frontend::FrontEnd { pager, ..fe }.interactive();
    }
    // read at open (debug files given): said before any answer
    fe.tell_kernel();
    let worst = cli.commands.iter().map(|c| fe.execute(c)).max();
    let _ = std::io::stdout().flush();
    worst.unwrap_or(status::Status::Complete).into()
}

/// `--install-extras`, `--completions`, `--man-page`: done, when one was asked.
fn extras(cli: &Cli, style: Style) -> Option<ExitCode> {
    let done = |r: std::io::Result<()>| match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            style.eprint_error(e);
            ExitCode::FAILURE
        }
    };
    let mut out = std::io::stdout().lock();
    if let Some(prefix) = &cli.install_extras {
        return Some(done(docs::install(Cli::command(), prefix).map(|files| {
            for f in files {
                println!("{}", f.display());
            }
        })));
    }
    if let Some(shell) = cli.completions {
        return Some(done(
            out.write_all(&docs::completions(Cli::command(), shell)),
        ));
    }
    let name = cli.man_page.as_deref()?;
    if name.is_empty() {
        return Some(done(
            docs::main_page(Cli::command()).and_then(|p| out.write_all(&p)),
        ));
    }
    Some(
        match kdive_commands::table::COMMANDS
            .iter()
            .find(|c| c.name == name)
        {
            Some(c) => done(out.write_all(docs::command_page(c).as_bytes())),
            None => {
                style.eprint_error(format!("{name}: no such command"));
                ExitCode::FAILURE
            }
        },
    )
}

/// `kdive oops FILE|-`: every report of the log, as text or one JSON document per report.
/// Fails when the file cannot be read or holds no report.
fn oops(path: &str, json: bool) -> ExitCode {
    let o = match kdive_commands::oops::read(path) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kdive: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let written = if json {
        o.reports.iter().try_for_each(|r| {
            kdive_commands::envelope::write(&mut out, &format!("oops {path}"), Ok(r))
        })
    } else {
        kdive_commands::Report::write_text(&o, &Default::default(), &mut out)
    };
    let _ = out.flush();
    if written.is_err() || o.reports.is_empty() {
        if o.reports.is_empty() && json {
            eprintln!("kdive: {path}: no kernel report found");
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--osrelease`: VMCOREINFO's `OSRELEASE` (from memory if the header lost it), else the kdump
/// header's utsname.
fn osrelease(files: &[PathBuf]) -> ExitCode {
    // the dump's files only: a vmlinux or module given with it is not a part
    let paths = match kdive_linux::open::classify(files) {
        Ok((dumps, _)) => dumps,
        Err(e) => {
            eprintln!("kdive: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(first) = paths.first() else {
        eprintln!("kdive: no files given");
        return ExitCode::FAILURE;
    };
    match kdive_dump::Dump::open_set(&paths) {
        Ok(mut d) => {
            d.recover_vmcoreinfo();
            let rel = d
                .vmcoreinfo()
                .and_then(|v| v.osrelease().map(str::to_string))
                .or_else(|| {
                    d.meta()
                        .utsname
                        .as_ref()
                        .map(|u| u.release.clone())
                        .filter(|r| !r.is_empty())
                });
            match rel {
                Some(r) => {
                    println!("{r}");
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!(
                        "kdive: {}: the dump records no kernel release",
                        first.display()
                    );
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("kdive: {e}");
            ExitCode::FAILURE
        }
    }
}
