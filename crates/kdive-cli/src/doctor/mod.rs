//! `kdive doctor`: will the next panic leave a dump? Every part of a kdump set-up checked on the
//! running machine, each with a verdict and what to fix.
//!
//! Exit status: 0 ready (every check passed or only informs), 3 ready with warnings, 1 not
//! ready (a check failed: the next panic leaves no dump), 2 usage.

mod checks;
pub mod sysroot;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::status::Status;
use sysroot::SysRoot;

/// A check's outcome, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// Worth knowing; does not stop a dump.
    Info,
    /// A dump may be written, but may fail or be less useful.
    Warn,
    /// The next panic leaves no dump.
    Fail,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "ok",
            Verdict::Info => "info",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One check: what was found and, unless it passed, what to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub verdict: Verdict,
    pub found: String,
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &str, verdict: Verdict, found: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            verdict,
            found: found.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Everything `kdive doctor` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Doctor {
    /// The root the system's files were read under (`/` on a real run).
    pub root: String,
    /// The running kernel's release.
    pub release: Option<String>,
    /// `kdump-tools`, `kdump`, or none installed.
    pub tooling: Option<String>,
    pub checks: Vec<Check>,
    /// `ready`, `ready with warnings`, `not ready`.
    pub verdict: String,
}

/// Runs every check against the system under `root`.
pub fn examine(root: &SysRoot) -> Doctor {
    let release = root.read("/proc/sys/kernel/osrelease");
    let flavour = checks::flavour(root);
    let mut v = vec![
        checks::crashkernel(root),
        checks::capture_kernel(root, flavour),
        checks::service(root, flavour),
    ];
    if let Some(f) = flavour {
        let c = checks::config(root, f);
        v.push(checks::collector(&c, f));
        v.push(checks::target(root, &c));
    }
    v.extend([
        checks::panic_settings(root),
        checks::sysrq(root),
        checks::pstore(root),
        checks::btf(root),
        checks::vmlinux(root, release.as_deref()),
    ]);
    let worst = v.iter().map(|c| c.verdict).max().unwrap_or(Verdict::Pass);
    Doctor {
        root: root.root().display().to_string(),
        release,
        tooling: flavour.map(|f| f.unit().trim_end_matches(".service").to_string()),
        verdict: match worst {
            Verdict::Fail => "not ready".into(),
            Verdict::Warn => "ready with warnings".into(),
            _ => "ready".into(),
        },
        checks: v,
    }
}

impl Doctor {
    /// The exit status: failed checks 1, warnings 3, else 0.
    pub fn status(&self) -> Status {
        match self.checks.iter().map(|c| c.verdict).max() {
            Some(Verdict::Fail) => Status::Error,
            Some(Verdict::Warn) => Status::Partial,
            _ => Status::Complete,
        }
    }

    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Will the next panic leave a dump? (kernel {}{})",
            self.release.as_deref().unwrap_or("unknown"),
            if self.root == "/" {
                String::new()
            } else {
                format!(", root {}", self.root)
            }
        )?;
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &self.checks {
            writeln!(
                out,
                "  {:<4}  {:<width$}  {}",
                c.verdict.label(),
                c.name,
                c.found
            )?;
            if let Some(f) = &c.fix {
                writeln!(out, "  {:<4}  {:<width$}  fix: {f}", "", "")?;
            }
        }
        let failed: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .map(|c| c.name.as_str())
            .collect();
        if failed.is_empty() {
            writeln!(out, "verdict: {}", self.verdict)
        } else {
            writeln!(out, "verdict: {}: {}", self.verdict, failed.join(", "))
        }
    }
}

const USAGE: &str = "usage: kdive doctor [--json] [--root DIR]\n\
  checks that the next panic leaves a dump; reads the system under DIR (default: $KDIVE_SYSROOT, else /)\n\
  exit status: 0 ready, 3 ready with warnings, 1 not ready, 2 usage";

/// `kdive doctor ARGS`.
pub fn main(args: &[String]) -> Status {
    let mut json = false;
    let mut root = std::env::var_os("KDIVE_SYSROOT").map(PathBuf::from);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--root" => match it.next() {
                Some(d) => root = Some(d.into()),
                None => return usage("--root needs a directory"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return Status::Complete;
            }
            _ => match a.strip_prefix("--root=") {
                Some(d) => root = Some(d.into()),
                None => return usage(&format!("unknown argument {a}")),
            },
        }
    }
    let d = examine(&SysRoot::new(root.unwrap_or_else(|| "/".into())));
    let mut out = io::stdout().lock();
    let written = if json {
        let mut v = serde_json::json!({"schema_version": 1, "command": "doctor"});
        if let (Some(m), Ok(serde_json::Value::Object(r))) =
            (v.as_object_mut(), serde_json::to_value(&d))
        {
            m.extend(r);
        }
        writeln!(out, "{v}")
    } else {
        d.write_text(&mut out)
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("kdive: {e}");
            return Status::Error;
        }
    }
    d.status()
}

fn usage(why: &str) -> Status {
    eprintln!("kdive doctor: {why}\n{USAGE}");
    Status::Usage
}
