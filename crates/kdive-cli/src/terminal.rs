//! Terminal conventions: colour for errors and warnings (`--color`, `NO_COLOR`), the pager for
//! long output at the prompt (`$PAGER`, `less -FRX`, `--no-pager`).

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::{Command, Stdio};

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set to something.
    Auto,
    Always,
    Never,
}

/// Whether to colour a stream: `always`/`never` as told; `auto` on a terminal unless
/// `NO_COLOR` is set and not empty (<https://no-color.org>).
pub fn use_color(choice: ColorChoice, is_terminal: bool, no_color: Option<OsString>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// How messages on stderr look.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// The style `choice` gives stderr here.
    pub fn for_stderr(choice: ColorChoice) -> Style {
        Style {
            color: use_color(
                choice,
                io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR"),
            ),
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// An error line (bold red).
    pub fn error(&self, s: &str) -> String {
        self.paint("1;31", s)
    }

    /// A warning or notice line (yellow).
    pub fn warning(&self, s: &str) -> String {
        self.paint("33", s)
    }

    /// Prints `kdive: msg` on stderr as an error.
    pub fn eprint_error(&self, msg: impl std::fmt::Display) {
        eprintln!("{}", self.error(&format!("kdive: {msg}")));
    }

    /// Prints `kdive: msg` on stderr as a warning.
    pub fn eprint_warning(&self, msg: impl std::fmt::Display) {
        eprintln!("{}", self.warning(&format!("kdive: {msg}")));
    }
}

/// The pager command line: `$PAGER` (empty or `cat` for none), else `less`; `less` gets
/// `LESS=FRX` (quit when it fits one screen, keep colours, leave the screen) unless `LESS` is
/// set.
pub fn pager() -> Option<String> {
    let p = std::env::var("PAGER").unwrap_or_else(|_| "less".into());
    let p = p.trim();
    (!p.is_empty() && p != "cat").then(|| p.to_string())
}

/// Writes `text` through `pager` (a shell command line); straight to stdout when the pager
/// cannot be started. A pager quit early is not an error.
pub fn page(pager: &str, text: &[u8]) -> io::Result<()> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(pager).stdin(Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        cmd.env("LESS", "FRX");
    }
    let Ok(mut child) = cmd.spawn() else {
        return io::stdout().write_all(text);
    };
    if let Some(mut stdin) = child.stdin.take() {
        match stdin.write_all(text) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e),
            _ => {}
        }
    }
    child.wait()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_and_terminals() {
        use ColorChoice::*;
        assert!(use_color(Auto, true, None));
        assert!(!use_color(Auto, false, None));
        assert!(!use_color(Auto, true, Some("1".into())));
        // an empty NO_COLOR does not count (no-color.org)
        assert!(use_color(Auto, true, Some("".into())));
        assert!(use_color(Always, false, Some("1".into())));
        assert!(!use_color(Never, true, None));
        assert_eq!(Style { color: false }.error("x"), "x");
        assert_eq!(Style { color: true }.error("x"), "\x1b[1;31mx\x1b[0m");
    }
}
