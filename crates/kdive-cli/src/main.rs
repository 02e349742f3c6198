//! `kdive`: the command-line front end.

mod frontend;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kdive_commands::Session;
use kdive_linux::OpenOptions;

/// Linux kernel crash-dump analyzer: crash's commands, from the dump alone.
#[derive(Parser, Debug)]
#[command(name = "kdive", version, about)]
struct Cli {
    /// The dump (vmcore, or every part of a `makedumpfile --split` set in any order), then
    /// optionally a vmlinux and module .ko files. `kdive info DUMP...` prints `info` and exits;
    /// `kdive analyze DUMP...` prints the triage report and exits; `kdive oops FILE|-`
    /// classifies the kernel reports of a log file (no dump needed).
    #[arg(required = true)]
    files: Vec<PathBuf>,
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
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
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
    let opts = OpenOptions {
        minimal: cli.minimal,
        zero_excluded: cli.zero_excluded,
        ..OpenOptions::default()
    };
    let mut session = match Session::open_with(&cli.files, &opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kdive: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(n) = cli.max_list_entries {
        session.walk_limit = n;
    }
    for n in session.notices() {
        eprintln!("kdive: {n}");
    }
    if let Some(why) = session.minimal_reason() {
        eprintln!("kdive: minimal mode: {why}");
    }
    let fe = frontend::FrontEnd {
        session: &session,
        json: cli.json,
    };
    if cli.commands.is_empty() {
        return fe.interactive();
    }
    let mut ok = true;
    for c in &cli.commands {
        ok &= fe.execute(c);
    }
    let _ = std::io::stdout().flush();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
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
