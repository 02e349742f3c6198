//! The checks `kdive doctor` runs, each reading the system through a [`SysRoot`].

use super::sysroot::{conf_directive, dump_level, shell_var, size, SysRoot};
use super::{Check, Verdict};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Which kdump tooling the system has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Debian/Ubuntu `kdump-tools` (`/etc/default/kdump-tools`).
    KdumpTools,
    /// RHEL/Fedora/SUSE `kdump` (`kdumpctl`, `/etc/kdump.conf`).
    Kdumpctl,
}

impl Flavour {
    pub fn unit(self) -> &'static str {
        match self {
            Flavour::KdumpTools => "kdump-tools.service",
            Flavour::Kdumpctl => "kdump.service",
        }
    }

    fn config(self) -> &'static str {
        match self {
            Flavour::KdumpTools => "/etc/default/kdump-tools",
            Flavour::Kdumpctl => "/etc/kdump.conf",
        }
    }
}

const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
    "/run/systemd/system",
];

/// The kdump tooling installed: its configuration file or its unit.
pub fn flavour(r: &SysRoot) -> Option<Flavour> {
    [Flavour::KdumpTools, Flavour::Kdumpctl]
        .into_iter()
        .find(|f| {
            r.exists(f.config())
                || UNIT_DIRS
                    .iter()
                    .any(|d| r.exists(&format!("{d}/{}", f.unit())))
        })
}

/// What the kdump configuration says: the collector's arguments and the dump directory.
#[derive(Debug, Clone)]
pub struct KdumpConfig {
    pub collector: String,
    pub dump_level: Option<u32>,
    /// Local directory the dumps go to (`None` for a remote target).
    pub dir: Option<String>,
    /// A remote or raw target (`ssh`, `nfs`, `raw` lines of kdump.conf).
    pub remote: Option<String>,
}

pub fn config(r: &SysRoot, f: Flavour) -> KdumpConfig {
    let text = r.read(f.config()).unwrap_or_default();
    match f {
        Flavour::KdumpTools => {
            // kdump-config's defaults when the variables are unset
            let args = shell_var(&text, "MAKEDUMP_ARGS").unwrap_or_else(|| "-c -d 31".into());
            KdumpConfig {
                dump_level: dump_level(&args),
                collector: format!("makedumpfile {args}"),
                dir: Some(shell_var(&text, "KDUMP_COREDIR").unwrap_or_else(|| "/var/crash".into())),
                remote: shell_var(&text, "SSH").or_else(|| shell_var(&text, "NFS")),
            }
        }
        Flavour::Kdumpctl => {
            let collector = conf_directive(&text, "core_collector")
                .unwrap_or_else(|| "makedumpfile -l --message-level 7 -d 31".into());
            let remote = ["ssh", "nfs", "raw"]
                .iter()
                .find_map(|k| conf_directive(&text, k).map(|v| format!("{k} {v}")));
            let path = conf_directive(&text, "path").unwrap_or_else(|| "/var/crash".into());
            KdumpConfig {
                dump_level: dump_level(&collector),
                collector,
                dir: remote.is_none().then_some(path),
                remote,
            }
        }
    }
}

/// The memory reserved for the capture kernel, in bytes, and where that was read.
fn reserved(r: &SysRoot) -> Option<(u64, &'static str)> {
    if let Some(n) = r.number("/sys/kernel/kexec_crash_size") {
        return Some((n.max(0) as u64, "/sys/kernel/kexec_crash_size"));
    }
    let iomem = r.read("/proc/iomem")?;
    let lines: Vec<&str> = iomem
        .lines()
        .filter(|l| l.trim_end().ends_with(": Crash kernel"))
        .collect();
    let total: u64 = lines
        .iter()
        .filter_map(|l| {
            let (a, b) = l.trim().split(' ').next()?.split_once('-')?;
            let (a, b) = (
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            );
            // without root the addresses read as zeros
            (b > a).then(|| b - a + 1)
        })
        .sum();
    // a reservation whose addresses are hidden (not root) has a size nobody can tell
    (lines.is_empty() || total > 0).then_some((total, "/proc/iomem"))
}

/// What a capture kernel needs for a machine with `ram` bytes: the `crashkernel=auto` table of
/// kexec-tools (1G-4G:192M, 4G-64G:256M, 64G-:512M), 128M below 1G.
pub fn recommended(ram: u64) -> u64 {
    match ram {
        r if r < GIB => 128 * MIB,
        r if r < 4 * GIB => 192 * MIB,
        r if r < 64 * GIB => 256 * MIB,
        _ => 512 * MIB,
    }
}

pub fn crashkernel(r: &SysRoot) -> Check {
    let cmdline = r.read("/proc/cmdline").unwrap_or_default();
    let param = cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("crashkernel="))
        .map(str::to_string);
    let ram = r.meminfo("MemTotal").unwrap_or(0);
    let want = recommended(ram);
    let fix_cmdline = format!(
        "add crashkernel={}M to the kernel command line (GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then update-grub or grub2-mkconfig) and reboot",
        want / MIB
    );
    let given = param
        .as_deref()
        .map_or("no crashkernel= on the command line".to_string(), |p| {
            format!("crashkernel={p}")
        });
    match reserved(r) {
        None => Check::new("crashkernel", Verdict::Fail, "cannot tell: /sys/kernel/kexec_crash_size is missing and /proc/iomem hides the reservation's addresses")
            .fix("run kdive doctor as root"),
        Some((0, from)) => Check::new(
            "crashkernel",
            Verdict::Fail,
            format!("no memory reserved for a capture kernel ({from}; {given}): a panic leaves no dump"),
        )
        .fix(if param.is_some() {
            "the reservation failed: pick a size this machine can spare (see dmesg | grep -i crashkernel)".to_string()
        } else {
            fix_cmdline
        }),
        Some((n, from)) if n < want => Check::new(
            "crashkernel",
            Verdict::Warn,
            format!(
                "{} reserved ({from}; {given}), below the {} advised for {} of RAM: the capture kernel may run out of memory",
                size(n), size(want), size(ram)
            ),
        )
        .fix(format!("raise it to crashkernel={}M", want / MIB)),
        Some((n, from)) => Check::new(
            "crashkernel",
            Verdict::Pass,
            format!("{} reserved ({from}; {given}) for {} of RAM", size(n), size(ram)),
        ),
    }
}

pub fn capture_kernel(r: &SysRoot, f: Option<Flavour>) -> Check {
    let restart = match f {
        Some(Flavour::Kdumpctl) => "kdumpctl restart",
        _ => "systemctl restart kdump-tools (or kdump-config load)",
    };
    match r.number("/sys/kernel/kexec_crash_loaded") {
        Some(1) => Check::new(
            "capture kernel",
            Verdict::Pass,
            "loaded (/sys/kernel/kexec_crash_loaded is 1)",
        ),
        Some(_) => Check::new(
            "capture kernel",
            Verdict::Fail,
            "not loaded (/sys/kernel/kexec_crash_loaded is 0): a panic reboots without a dump",
        )
        .fix(format!("{restart}; once crashkernel is reserved")),
        None => Check::new(
            "capture kernel",
            Verdict::Fail,
            "/sys/kernel/kexec_crash_loaded is missing: this kernel cannot load a capture kernel",
        )
        .fix("boot a kernel built with CONFIG_KEXEC and CONFIG_CRASH_DUMP"),
    }
}

/// Whether a systemd unit is enabled: its link in some `*.wants` directory.
pub fn unit_enabled(r: &SysRoot, unit: &str) -> bool {
    [
        "/etc/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ]
    .iter()
    .any(|d| {
        r.list(d)
            .iter()
            .filter(|w| w.ends_with(".wants"))
            .any(|w| r.exists(&format!("{d}/{w}/{unit}")))
    })
}

pub fn service(r: &SysRoot, f: Option<Flavour>) -> Check {
    let Some(f) = f else {
        return Check::new("kdump service", Verdict::Fail, "neither kdump-tools nor kdump (kexec-tools) is installed")
            .fix("apt install kdump-tools (Debian, Ubuntu) or dnf install kexec-tools (RHEL, Fedora), or zypper install kdump (SUSE)");
    };
    let unit = f.unit();
    if f == Flavour::KdumpTools {
        let text = r.read(f.config()).unwrap_or_default();
        if shell_var(&text, "USE_KDUMP").is_some_and(|v| v != "1") {
            return Check::new(
                "kdump service",
                Verdict::Fail,
                "USE_KDUMP is not 1 in /etc/default/kdump-tools: the service loads nothing",
            )
            .fix(
                "set USE_KDUMP=1 in /etc/default/kdump-tools, then systemctl restart kdump-tools",
            );
        }
    }
    if unit_enabled(r, unit) {
        Check::new("kdump service", Verdict::Pass, format!("{unit} is enabled"))
    } else {
        Check::new(
            "kdump service",
            Verdict::Fail,
            format!("{unit} is not enabled: after the next boot no capture kernel is loaded"),
        )
        .fix(format!("systemctl enable --now {unit}"))
    }
}

pub fn collector(c: &KdumpConfig, f: Flavour) -> Check {
    let found = format!("{} ({})", c.collector, f.config());
    if !c.collector.contains("makedumpfile") {
        return Check::new(
            "dump format",
            Verdict::Warn,
            format!("{found}: not makedumpfile, every page is copied unfiltered and uncompressed"),
        )
        .fix("use makedumpfile -l -d 31 as the core collector");
    }
    match c.dump_level {
        Some(l) if l & 0x10 != 0 => Check::new(
            "dump format",
            Verdict::Pass,
            format!("{found}: dump level {l}, free pages left out"),
        ),
        Some(l) => Check::new(
            "dump format",
            Verdict::Warn,
            format!("{found}: dump level {l} keeps free pages (and maybe user and cache pages): dumps near the size of RAM"),
        )
        .fix("-d 31 keeps what kernel analysis needs"),
        None => Check::new(
            "dump format",
            Verdict::Warn,
            format!("{found}: no -d: every page kept, dumps the size of RAM"),
        )
        .fix("add -d 31"),
    }
}

/// What a dump at `level` will hold, roughly: the kernel's own memory at level 31 (RAM less
/// free, page cache and user pages), all of RAM otherwise; before compression.
pub fn estimate(r: &SysRoot, level: Option<u32>) -> Option<u64> {
    let total = r.meminfo("MemTotal")?;
    if level.is_some_and(|l| l & 0x1f == 0x1f) {
        let not_kernel = ["MemFree", "Cached", "Buffers", "AnonPages"]
            .iter()
            .filter_map(|f| r.meminfo(f))
            .sum::<u64>();
        Some(total.saturating_sub(not_kernel).max(64 * MIB))
    } else {
        Some(total)
    }
}

pub fn target(r: &SysRoot, c: &KdumpConfig) -> Check {
    if let Some(remote) = &c.remote {
        return Check::new(
            "dump target",
            Verdict::Info,
            format!("remote target {remote}: not checked from here"),
        );
    }
    let dir = c.dir.clone().unwrap_or_else(|| "/var/crash".into());
    let path = r.path(&dir);
    if !path.is_dir() {
        return Check::new(
            "dump target",
            Verdict::Fail,
            format!("{dir} does not exist"),
        )
        .fix(format!("mkdir -p {dir}"));
    }
    if !writable(&path) {
        return Check::new(
            "dump target",
            Verdict::Fail,
            format!("{dir} is not writable"),
        )
        .fix(format!(
            "make {dir} writable by root on a read-write filesystem"
        ));
    }
    let need = estimate(r, c.dump_level);
    match (free_bytes(&path), need) {
        (Some(free), Some(need)) if free < need => Check::new(
            "dump target",
            Verdict::Warn,
            format!(
                "{dir}: {} free, a dump may need up to {} (before compression)",
                size(free),
                size(need)
            ),
        )
        .fix(format!(
            "free space on the filesystem of {dir}, or point the dumps elsewhere"
        )),
        (Some(free), Some(need)) => Check::new(
            "dump target",
            Verdict::Pass,
            format!(
                "{dir}: writable, {} free for a dump of up to about {}",
                size(free),
                size(need)
            ),
        ),
        _ => Check::new("dump target", Verdict::Pass, format!("{dir}: writable")),
    }
}

/// Whether the process may write into `dir`.
fn writable(dir: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path that lives across the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Bytes free for an unprivileged writer on the filesystem of `dir`.
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is NUL-terminated, `st` is a buffer of the right type the call fills.
    let st = unsafe {
        if libc::statvfs(c.as_ptr(), st.as_mut_ptr()) != 0 {
            return None;
        }
        st.assume_init()
    };
    (st.f_bavail as u64).checked_mul(st.f_frsize as u64)
}

/// The panic sysctls: which events end in a panic (and so a dump).
pub fn panic_settings(r: &SysRoot) -> Check {
    let get = |n: &str| r.number(&format!("/proc/sys/kernel/{n}"));
    let names = [
        "panic",
        "panic_on_oops",
        "panic_on_warn",
        "hung_task_panic",
        "softlockup_panic",
        "unknown_nmi_panic",
    ];
    let shown: Vec<String> = names
        .iter()
        .map(|n| format!("{n}={}", get(n).map_or("?".into(), |v| v.to_string())))
        .collect();
    let mut off: Vec<&str> = names[2..]
        .iter()
        .copied()
        .filter(|n| get(n) == Some(0))
        .collect();
    off.retain(|n| *n != "panic_on_warn"); // a warning is usually not worth a reboot
    let found = shown.join(" ");
    if get("panic_on_oops") == Some(0) {
        return Check::new(
            "panic settings",
            Verdict::Warn,
            format!("{found}: an oops does not panic, so it leaves no dump"),
        )
        .fix("sysctl kernel.panic_on_oops=1 (and in /etc/sysctl.d/ to keep it)");
    }
    let mut c = Check::new("panic settings", Verdict::Pass, found);
    if !off.is_empty() {
        c.verdict = Verdict::Info;
        c.found += &format!(": {} off, those hangs leave no dump", off.join(", "));
        c = c.fix(format!("sysctl kernel.{}=1 to capture them", off[0]));
    }
    c
}

pub fn sysrq(r: &SysRoot) -> Check {
    match r.number("/proc/sys/kernel/sysrq") {
        Some(0) => Check::new("sysrq", Verdict::Info, "kernel.sysrq=0: the keyboard's SysRq-c cannot force a dump (echo c > /proc/sysrq-trigger still can)")
            .fix("sysctl kernel.sysrq=1 to allow it"),
        Some(v) => Check::new("sysrq", Verdict::Pass, format!("kernel.sysrq={v}")),
        None => Check::new("sysrq", Verdict::Info, "/proc/sys/kernel/sysrq is missing"),
    }
}

pub fn pstore(r: &SysRoot) -> Check {
    let backend = r
        .read("/sys/module/pstore/parameters/backend")
        .filter(|b| !b.is_empty() && b != "(null)");
    let records = r.list("/sys/fs/pstore");
    match backend {
        Some(b) => {
            let mut c = Check::new(
                "pstore",
                Verdict::Pass,
                format!("backend {b}: the last oops' log survives a reboot even without kdump"),
            );
            if !records.is_empty() {
                c.found += &format!("; {} record(s) in /sys/fs/pstore", records.len());
            }
            c
        }
        None => Check::new(
            "pstore",
            Verdict::Info,
            "no pstore backend: a panic kdump misses leaves no log behind",
        )
        .fix("efi_pstore (UEFI machines) or ramoops keep the last log across a reboot"),
    }
}

pub fn btf(r: &SysRoot) -> Check {
    if r.exists("/sys/kernel/btf/vmlinux") {
        Check::new(
            "BTF",
            Verdict::Pass,
            "/sys/kernel/btf/vmlinux present: kdive reads this kernel's dumps without debuginfo",
        )
    } else {
        Check::new(
            "BTF",
            Verdict::Warn,
            "no /sys/kernel/btf/vmlinux: this kernel's dumps need its vmlinux to be read",
        )
        .fix("install the kernel's debuginfo (see vmlinux)")
    }
}

/// Where distributions put a kernel's vmlinux with debug information.
pub fn vmlinux_paths(release: &str) -> [String; 4] {
    [
        format!("/usr/lib/debug/boot/vmlinux-{release}"),
        format!("/usr/lib/debug/lib/modules/{release}/vmlinux"),
        format!("/lib/modules/{release}/build/vmlinux"),
        format!("/boot/vmlinux-{release}"),
    ]
}

pub fn vmlinux(r: &SysRoot, release: Option<&str>) -> Check {
    let Some(rel) = release else {
        return Check::new(
            "vmlinux",
            Verdict::Info,
            "kernel release unknown (/proc/sys/kernel/osrelease)",
        );
    };
    match vmlinux_paths(rel).into_iter().find(|p| r.exists(p)) {
        Some(p) => Check::new(
            "vmlinux",
            Verdict::Pass,
            format!("{p}: source lines and local variables in backtraces"),
        ),
        None => Check::new(
            "vmlinux",
            Verdict::Info,
            format!("no vmlinux for {rel} in the debuginfo paths: no source lines in backtraces"),
        )
        .fix(format!(
            "apt install linux-image-{rel}-dbg, or dnf debuginfo-install kernel-{rel}"
        )),
    }
}
