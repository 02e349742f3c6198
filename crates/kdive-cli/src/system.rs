//! The subcommands about this machine rather than a dump given: `kdive doctor`, `kdive` alone
//! (the dumps in `/var/crash`), `kdive latest` (the newest of them). The system's files are
//! read under `$KDIVE_SYSROOT` when set.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::doctor::sysroot::SysRoot;
use crate::status::Status;
use crate::{crashdir, doctor};

/// What to do with the command line.
pub enum Dispatch {
    /// A subcommand ran: exit with this status.
    Exit(Status),
    /// Go on with these arguments (`latest` replaced by the newest dump).
    Args(Vec<OsString>),
}

fn sysroot() -> SysRoot {
    SysRoot::new(
        std::env::var_os("KDIVE_SYSROOT").map_or_else(|| PathBuf::from("/"), PathBuf::from),
    )
}

/// Whether the first argument is the subcommand `name` (not a file of that name).
fn is(args: &[OsString], name: &str) -> bool {
    args.get(1).is_some_and(|a| a == name) && !Path::new(name).exists()
}

pub fn dispatch(mut args: Vec<OsString>) -> Dispatch {
    if args.len() == 1 {
        return Dispatch::Exit(crashdir::list(&sysroot()));
    }
    if is(&args, "doctor") {
        let rest: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return Dispatch::Exit(doctor::main(&rest));
    }
    if is(&args, "latest") {
        let root = sysroot();
        match crashdir::latest(&root) {
            Some(p) => args[1] = p.into_os_string(),
            None => {
                eprintln!("kdive: no dumps in {}", root.path("/var/crash").display());
                return Dispatch::Exit(Status::Error);
            }
        }
    }
    Dispatch::Args(args)
}
