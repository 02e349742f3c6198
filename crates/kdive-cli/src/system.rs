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
    let lockdown = sysroot().read("/sys/kernel/security/lockdown");
    // SAFETY: geteuid has no preconditions and cannot fail
    let root = unsafe { libc::geteuid() } == 0;
    Some(denied_why(kcore, root, lockdown.as_deref()))
}

/// Why reading the running kernel's memory file `file` was refused: not `root`, the kernel's
/// `lockdown` state (the text of `/sys/kernel/security/lockdown`), or `/dev/mem`'s own limit.
fn denied_why(file: &Path, root: bool, lockdown: Option<&str>) -> String {
    let k = file.display();
    let locked = |mode: &str| lockdown.is_some_and(|l| l.contains(mode));
    let dev_mem = file.file_name().is_some_and(|n| n == "mem")
        && kdive_dump::physmem::is_memory_device_name(file);
    if !root {
        format!("{k}: reading the running kernel needs root (CAP_SYS_RAWIO)")
    } else if locked("[confidentiality]") || (dev_mem && locked("[integrity]")) {
        let mode = if locked("[integrity]") {
            "integrity"
        } else {
            "confidentiality"
        };
        format!("{k}: the kernel is locked down ({mode}): it lets no one read its memory")
    } else if dev_mem {
        // devmem_is_allowed(): with STRICT_DEVMEM only the first MiB and what is not RAM
        format!(
            "{k}: the kernel lets no RAM be read through /dev/mem (it was built with \
             STRICT_DEVMEM): read /proc/kcore instead"
        )
    } else {
        format!("{k}: the kernel refuses to let its memory be read (a security module?)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_explained_by_privilege_lockdown_or_the_device() {
        let mem = Path::new("/dev/mem");
        let kcore = Path::new("/proc/kcore");
        assert!(denied_why(kcore, false, None).contains("needs root"));
        let none = Some("[none] integrity confidentiality");
        assert!(denied_why(mem, true, none).contains("STRICT_DEVMEM"));
        assert!(denied_why(kcore, true, none).contains("a security module"));
        // integrity lockdown closes /dev/mem but not /proc/kcore
        let integrity = Some("none [integrity] confidentiality");
        assert!(denied_why(mem, true, integrity).contains("locked down (integrity)"));
        assert!(denied_why(kcore, true, integrity).contains("a security module"));
        let conf = Some("none integrity [confidentiality]");
        assert!(denied_why(kcore, true, conf).contains("locked down (confidentiality)"));
    }
}
