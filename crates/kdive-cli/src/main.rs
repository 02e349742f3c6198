//! `kdive`: the command-line front end.

mod frontend;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kdive_commands::Session;

/// Linux kernel crash-dump analyzer: crash's commands, from the dump alone.
#[derive(Parser, Debug)]
#[command(name = "kdive", version, about)]
struct Cli {
    /// The dump (vmcore), then optionally a vmlinux and module .ko files.
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
    /// Bound on list and tree walks.
    #[arg(long, value_name = "N")]
    max_list_entries: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dump_path = &cli.files[0];
    if cli.files.len() > 1 {
        eprintln!(
            "kdive: debug info files are not used yet; reading symbols and types from the dump"
        );
    }
    if cli.osrelease {
        return osrelease(dump_path);
    }
    let mut session = match Session::open(dump_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kdive: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(n) = cli.max_list_entries {
        session.walk_limit = n;
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

/// `--osrelease`: VMCOREINFO's `OSRELEASE`, else the kdump header's utsname.
fn osrelease(path: &std::path::Path) -> ExitCode {
    match kdive_dump::Dump::open(path) {
        Ok(d) => {
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
                        path.display()
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
