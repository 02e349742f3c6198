//! Running command lines: `| shell pipes`, `> file` redirection, JSON or text, the prompt.

use std::io::{self, BufWriter, ErrorKind, Write};
use std::process::{Command, ExitCode, Stdio};

use kdive_commands::{envelope, Session, TextOptions};

use crate::completion::PromptHelper;
use crate::status::Status;
use crate::terminal::{self, Style};

/// Where a command's output goes.
#[derive(Debug, PartialEq, Eq)]
enum Sink {
    Stdout,
    Pipe(String),
    File { path: String, append: bool },
}

/// Splits `cmd | shell` / `cmd > file` / `cmd >> file` at the first unquoted `|` or `>`. As
/// in crash, C operators are not sinks: the `>` of `->`, and `|` or `>` inside parentheses
/// (`p ((struct rq *)ADDR)->cpu`, `eval (1 >> 2)`).
fn split_sink(line: &str) -> (&str, Sink) {
    let mut quote = None;
    let mut depth = 0usize;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        let after = std::mem::replace(&mut prev, c);
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, '|' | '>') if depth > 0 => {}
            (None, '>') if after == '-' => {}
            (None, '|') => return (&line[..i], Sink::Pipe(line[i + 1..].trim().to_string())),
            (None, '>') => {
                let rest = &line[i + 1..];
                let (append, rest) = match rest.strip_prefix('>') {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                return (
                    &line[..i],
                    Sink::File {
                        path: rest.trim().to_string(),
                        append,
                    },
                );
            }
            _ => {}
        }
    }
    (line, Sink::Stdout)
}

/// Runs command lines against one session.
pub struct FrontEnd<'s> {
    pub session: &'s mut Session,
    /// Keep what commands read of a running kernel for the next ones (`--snapshot`); by
    /// default each command reads it afresh.
    pub snapshot: bool,
    pub json: bool,
    /// How errors look on stderr.
    pub style: Style,
    /// The pager output to the terminal goes through (the prompt's, on a terminal).
    pub pager: Option<String>,
    /// Whether what reading the kernel said has been printed: the kernel is read when a
    /// command first needs it, and its notices come before that command's answer.
    pub kernel_told: std::cell::Cell<bool>,
}

impl FrontEnd<'_> {
    /// Runs one line, writing its text (or with `--json` its envelope) straight to its sink;
    /// prints errors to stderr (in the envelope with `--json`), and after an incomplete answer
    /// what stopped it. Returns how the command ended.
    pub fn execute(&mut self, line: &str) -> Status {
        let (cmd, sink) = split_sink(line.trim());
        let cmd = cmd.trim();
        if !self.snapshot {
            self.session.refresh();
        }
        let result = kdive_commands::run(self.session, cmd);
        self.tell_kernel();
        let write = |out: &mut dyn Write| match (&result, self.json) {
            (Ok(r), false) => r.write_text(&TextOptions::default(), out),
            (Ok(r), true) => envelope::write(out, cmd, Ok(r.as_ref())),
            (Err(e), true) => envelope::write(out, cmd, Err(e)),
            (Err(e), false) => {
                eprintln!("{}", self.style.error(&e.to_string()));
                Ok(())
            }
        };
        let written = match (&sink, &self.pager) {
            (Sink::Stdout, Some(pager)) => {
                let mut buf = Vec::new();
                write(&mut buf).and_then(|()| terminal::page(pager, &buf))
            }
            _ => emit(&sink, write),
        };
        if let Err(e) = written {
            self.style.eprint_error(e);
            return Status::Error;
        }
        match &result {
            Ok(r) => match r.incomplete() {
                Some(why) => {
                    self.style.eprint_warning(why);
                    Status::Partial
                }
                None => Status::Complete,
            },
            Err(e) => Status::of_error(e.kind()),
        }
    }

    /// Prints what reading the kernel said (notices, why it could not be read), once, when it
    /// has been read.
    pub fn tell_kernel(&self) {
        if self.kernel_told.get() || !self.session.kernel_known() {
            return;
        }
        self.kernel_told.set(true);
        for n in self.session.kernel_notices().unwrap_or_default() {
            self.style.eprint_warning(n);
        }
        if let Some(why) = self.session.minimal_reason() {
            self.style.eprint_warning(format!("minimal mode: {why}"));
        }
    }

    /// The interactive prompt, with line editing and history.
    pub fn interactive(&mut self) -> ExitCode {
        // someone at a prompt asks about the kernel next: read it now, and say how it went
        let _ = self.session.kernel();
        self.tell_kernel();
        let editor = rustyline::Editor::<PromptHelper, rustyline::history::DefaultHistory>::new();
        let mut rl = match editor {
            Ok(mut rl) => {
                rl.set_helper(Some(PromptHelper));
                rl
            }
            Err(e) => {
                eprintln!("kdive: cannot start the prompt: {e}");
                return ExitCode::FAILURE;
            }
        };
        let history =
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".kdive_history"));
        if let Some(h) = &history {
            let _ = rl.load_history(h);
        }
        loop {
            match rl.readline("kdive> ") {
                Ok(line) => {
                    let line = line.trim();
                    if line.is_empty() {
                        continue;
                    }
                    let _ = rl.add_history_entry(line);
                    if matches!(line, "q" | "quit" | "exit") {
                        break;
                    }
                    self.execute(line);
                }
                Err(rustyline::error::ReadlineError::Interrupted) => continue,
                Err(_) => break,
            }
        }
        if let Some(h) = &history {
            let _ = rl.save_history(h);
        }
        ExitCode::SUCCESS
    }
}

/// Opens `sink` and lets `write` print into it (buffered), then flushes it. A reader that
/// stops early (`| head`, a closed stdout) is not an error.
fn emit(sink: &Sink, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let into = |w: &mut dyn Write| {
        let mut out = BufWriter::new(w);
        write(&mut out).and_then(|()| out.flush())
    };
    match sink {
        Sink::Stdout => reader_may_stop(into(&mut io::stdout().lock())),
        Sink::File { path, append } => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(*append)
                .truncate(!*append)
                .open(path)?;
            into(&mut f)
        }
        Sink::Pipe(shell) => {
            let _ = io::stdout().flush();
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(shell)
                .stdin(Stdio::piped())
                .spawn()?;
            let written = match child.stdin.take() {
                // dropping stdin at the end of the arm closes the pipe: the shell sees its end
                Some(mut stdin) => reader_may_stop(into(&mut stdin)),
                None => Ok(()),
            };
            child.wait()?;
            written
        }
    }
}

/// `r`, with a broken pipe (the reader went away) counted as success.
fn reader_may_stop(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks() {
        assert_eq!(
            split_sink("log | tail -3"),
            ("log ", Sink::Pipe("tail -3".into()))
        );
        assert_eq!(
            split_sink("ps > out.txt"),
            (
                "ps ",
                Sink::File {
                    path: "out.txt".into(),
                    append: false
                }
            )
        );
        assert_eq!(
            split_sink("ps >> out.txt"),
            (
                "ps ",
                Sink::File {
                    path: "out.txt".into(),
                    append: true
                }
            )
        );
        assert_eq!(split_sink("sys"), ("sys", Sink::Stdout));
        for expr in [
            "p init_task.mm->pgd",
            "p ((struct rq *)0x10)->cpu",
            "eval (8 >> 1 | 1)",
        ] {
            assert_eq!(split_sink(expr), (expr, Sink::Stdout));
        }
        assert_eq!(
            split_sink("p (a)->b > out.txt"),
            (
                "p (a)->b ",
                Sink::File {
                    path: "out.txt".into(),
                    append: false
                }
            )
        );
        assert_eq!(split_sink("ps 'a|b'"), ("ps 'a|b'", Sink::Stdout));
    }
}
