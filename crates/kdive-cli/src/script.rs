//! `kdive VMCORE --script FILE [ARGS]` and `--python`: drgn's conventions, run by a Python
//! interpreter (`$KDIVE_PYTHON`, else `python3`) with the kdive module.
//!
//! The interpreter is spawned rather than embedded so that the binary needs no libpython at
//! build or run time. The module it uses: the one built beside this binary (`libkdive.so` in
//! the same target directory, with the package's Python sources from this checkout) when both
//! exist, so a `cargo build` tree runs its own code; else the `kdive` package the interpreter has
//! installed (`pip install .`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The package's Python sources in this checkout.
const PYTHON_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../kdive-python/python");

/// Loads the build tree's module when there is one, then hands over to `kdive._cli`.
const BOOTSTRAP: &str = r#"
import os, sys
src, native = os.environ.pop("KDIVE_PYSRC", ""), os.environ.pop("KDIVE_NATIVE", "")
if src and native and os.path.isdir(src) and os.path.exists(native):
    import importlib.machinery, importlib.util
    sys.path.insert(0, src)
    loader = importlib.machinery.ExtensionFileLoader("kdive._kdive", native)
    spec = importlib.util.spec_from_file_location("kdive._kdive", native, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["kdive._kdive"] = mod
    loader.exec_module(mod)
    del sys.path[0]
    sys.path.append(src)
try:
    from kdive._cli import main
except ImportError as e:
    sys.exit("kdive: the kdive Python module is not available (%s): pip install the project, or build it with cargo" % e)
sys.exit(main())
"#;

/// What to run: a script and its arguments, or the interactive prompt.
pub struct Run<'a> {
    pub files: &'a [PathBuf],
    pub script: Option<&'a [String]>,
    /// Keep what was read of a running kernel (`--snapshot`).
    pub snapshot: bool,
}

fn native_module() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join("libkdive.so");
    p.exists().then_some(p)
}

/// Runs the script or prompt; the interpreter's exit status.
pub fn run(r: &Run<'_>) -> ExitCode {
    let files: Vec<String> = r
        .files
        .iter()
        .map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    let mut req = serde_json::json!({ "files": files, "snapshot": r.snapshot });
    if let Some([script, args @ ..]) = r.script {
        req["script"] = script.as_str().into();
        req["args"] = args.into();
    }
    let python = std::env::var("KDIVE_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(&python);
    cmd.arg("-c")
        .arg(BOOTSTRAP)
        .env("KDIVE_RUN", req.to_string());
    if let Some(native) = native_module() {
        if Path::new(PYTHON_SOURCES).is_dir() {
            cmd.env("KDIVE_PYSRC", PYTHON_SOURCES)
                .env("KDIVE_NATIVE", native);
        }
    }
    match cmd.status() {
        Ok(s) => match s.code() {
            Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
            None => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("kdive: cannot run {python}: {e}");
            ExitCode::FAILURE
        }
    }
}
