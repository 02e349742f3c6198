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

/// The running kernel's memory under the system root: `/proc/kcore`, else (a kernel built
/// without it) the `/dev/crash` or `/dev/mem` device; `/proc/kcore` when none is there, for
/// the error to name.
pub fn live_memory() -> PathBuf {
    live_source(&sysroot()).unwrap_or_else(|| sysroot().path("/proc/kcore"))
}

/// The first of the running kernel's memory files present under `root`.
fn live_source(root: &SysRoot) -> Option<PathBuf> {
    ["/proc/kcore", "/dev/crash", "/dev/mem"]
        .iter()
        .map(|p| root.path(p))
        .find(|p| p.exists())
}

pub fn dispatch(mut args: Vec<OsString>) -> Dispatch {
    if args.len() == 1 {
        let root = sysroot();
        // no dumps to list: the running kernel, when its memory is there to read
        if crashdir::find(&root).is_empty() {
            if let Some(live) = live_source(&root) {
                args.push(live.into_os_string());
                return Dispatch::Args(args);
            }
        }
        return Dispatch::Exit(crashdir::list(&root));
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

/// Why the running kernel's memory could not be opened, in words a user can act on, when
/// `err` is a refusal to open `/proc/kcore` (or a memory device): not root (it needs
/// `CAP_SYS_RAWIO`), or the kernel's lockdown forbids it.
pub fn live_denied(files: &[PathBuf], err: &kdive_linux::OpenError) -> Option<String> {
    let kcore = files
        .iter()
        .find(|f| kdive_dump::is_live_name(f) || kdive_dump::physmem::is_memory_device_name(f))?;
    let denied = match err {
        kdive_linux::OpenError::Dump(kdive_dump::DumpError::Io { source, .. })
        | kdive_linux::OpenError::File { source, .. } => {
            source.kind() == std::io::ErrorKind::PermissionDenied
        }
        _ => false,
    };
    if !denied {
        return None;
    }
    let root = sysroot();
    let lockdown = root.read("/sys/kernel/security/lockdown");
    let k = kcore.display();
    // SAFETY: geteuid has no preconditions and cannot fail
    Some(if unsafe { libc::geteuid() } != 0 {
        format!("{k}: reading the running kernel needs root (CAP_SYS_RAWIO)")
    } else if lockdown.is_some_and(|l| l.contains("[confidentiality]")) {
        format!("{k}: the kernel is locked down (confidentiality): it lets no one read its memory")
    } else {
        format!("{k}: the kernel refuses to let its memory be read (a security module?)")
    })
}
