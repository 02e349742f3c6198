//! `kdive`: the command-line front end.

mod frontend;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kdive_commands::session::OpenOptions;
use kdive_commands::Session;

/// Linux kernel crash-dump analyzer: crash's commands, from the dump alone.
#[derive(Parser, Debug)]
#[command(name = "kdive", version, about)]
struct Cli {
    /// The dump (vmcore, or every part of a `makedumpfile --split` set in any order), then
    /// optionally a vmlinux and module .ko files. `kdive info DUMP...` prints `info` and exits;
    /// `kdive analyze DUMP...` prints the triage report and exits.
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

/// Splits the positional files into the dump's files (every dump: one file, or the parts of a
/// split set) and the rest (a vmlinux, modules), keeping their order; crash's
/// `VMLINUX VMCORE` order works too.
fn classify(files: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>), String> {
    let (mut dumps, mut others) = (Vec::new(), Vec::new());
    for f in files {
        match kdive_dump::sniff(f) {
            Ok(kdive_dump::FileKind::Dump) => dumps.push(f.clone()),
            Ok(_) => others.push(f.clone()),
            Err(e) => return Err(format!("{}: {e}", f.display())),
        }
    }
    if dumps.is_empty() {
        // no dump at all: open the first file anyway, for the dump layer's word on why
        dumps.push(others.remove(0));
    }
    Ok((dumps, others))
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // `kdive info DUMP`, `kdive analyze DUMP [VMLINUX]`: the command, then exit
    for sub in ["info", "analyze"] {
        if cli.files.len() > 1 && cli.files[0].as_os_str() == sub && !cli.files[0].exists() {
            cli.files.remove(0);
            cli.commands.insert(0, sub.into());
        }
    }
    let (dumps, others) = match classify(&cli.files) {
        Ok(split) => split,
        Err(e) => {
            eprintln!("kdive: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.osrelease {
        return osrelease(&dumps);
    }
    let opts = OpenOptions {
        minimal: cli.minimal,
        zero_excluded: cli.zero_excluded,
    };
    let mut session = match Session::open_with(&dumps, opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kdive: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = attach_debug_files(&mut session, &others) {
        eprintln!("kdive: {e}");
        return ExitCode::FAILURE;
    }
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

/// Attaches the first vmlinux among `files` and every module debug file (`.ko`, `.ko.debug`),
/// then those of loaded modules found next to the dump. A file of another build is an error
/// (never silently wrong answers).
fn attach_debug_files(session: &mut Session, files: &[PathBuf]) -> Result<(), String> {
    if let Some(why) = session.minimal_reason() {
        if !files.is_empty() {
            eprintln!("kdive: debug files not used: the kernel is not read ({why})");
        }
        return Ok(());
    }
    let mut vmlinux_done = false;
    for f in files {
        let is_module = f
            .to_str()
            .is_some_and(|n| n.ends_with(".ko") || n.ends_with(".ko.debug"));
        if is_module {
            session.attach_module_debug(f).map_err(|e| e.to_string())?;
        } else if vmlinux_done {
            eprintln!(
                "kdive: {}: a vmlinux is already attached; ignored",
                f.display()
            );
        } else {
            session.attach_vmlinux(f).map_err(|e| e.to_string())?;
            vmlinux_done = true;
        }
    }
    for line in session.find_module_debug() {
        eprintln!("kdive: {line}");
    }
    Ok(())
}

/// `--osrelease`: VMCOREINFO's `OSRELEASE` (from memory if the header lost it), else the kdump
/// header's utsname.
fn osrelease(paths: &[PathBuf]) -> ExitCode {
    match kdive_dump::Dump::open_set(paths) {
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
                        paths[0].display()
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
