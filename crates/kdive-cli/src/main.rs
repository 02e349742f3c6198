//! `kdive`: the command-line front end.

mod crashdir;
mod doctor;
mod frontend;
mod script;
mod status;
mod system;

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
    /// `kdive analyze DUMP...` prints the triage report and exits. `kdive` alone lists the dumps
    /// in /var/crash, `kdive latest` opens the newest, `kdive doctor` checks the kdump set-up.
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
    /// Run a Python script as drgn runs one (`prog`, drgn's names and helpers in scope,
    /// `import drgn` resolving to kdive), with the arguments after it as `sys.argv[1:]`.
    #[arg(long, value_name = "FILE [ARGS]", num_args = 1.., allow_hyphen_values = true)]
    script: Option<Vec<String>>,
    /// Open a Python prompt with drgn's environment (`prog`, helpers, tab completion).
    #[arg(long)]
    python: bool,
}

fn main() -> ExitCode {
    let args = match system::dispatch(std::env::args_os().collect()) {
        system::Dispatch::Exit(status) => return status.into(),
        system::Dispatch::Args(args) => args,
    };
    let mut cli = Cli::parse_from(args);
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
        });
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
    let worst = cli.commands.iter().map(|c| fe.execute(c)).max();
    let _ = std::io::stdout().flush();
    worst.unwrap_or(status::Status::Complete).into()
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
