//! Running command lines: `| shell pipes`, `> file` redirection, JSON or text, the prompt.

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};

use kdive_commands::Session;

/// Where a command's output goes.
#[derive(Debug, PartialEq, Eq)]
enum Sink {
    Stdout,
    Pipe(String),
    File { path: String, append: bool },
}

/// Splits `cmd | shell` / `cmd > file` / `cmd >> file` at the first unquoted `|` or `>`.
fn split_sink(line: &str) -> (&str, Sink) {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
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
    pub session: &'s Session,
    pub json: bool,
}

impl FrontEnd<'_> {
    /// Runs one line; prints errors to stderr. Returns false when the command failed.
    pub fn execute(&self, line: &str) -> bool {
        let (cmd, sink) = split_sink(line.trim());
        let cmd = cmd.trim();
        let (text, ok) = match kdive_commands::run(self.session, cmd) {
            Ok(r) if self.json => (format!("{}\n", r.json()), true),
            Ok(r) => (r.text(), true),
            Err(e) if self.json => (
                format!(
                    "{}\n",
                    serde_json::json!({ "command": cmd, "error": e.to_string() })
                ),
                false,
            ),
            Err(e) => {
                eprintln!("{e}");
                (String::new(), false)
            }
        };
        if let Err(e) = emit(&text, &sink) {
            eprintln!("kdive: {e}");
            return false;
        }
        ok
    }

    /// The interactive prompt, with line editing and history.
    pub fn interactive(&self) -> ExitCode {
        let mut rl = match rustyline::DefaultEditor::new() {
            Ok(rl) => rl,
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

fn emit(text: &str, sink: &Sink) -> std::io::Result<()> {
    match sink {
        Sink::Stdout => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r,
            }
        }
        Sink::File { path, append } => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(*append)
                .truncate(!*append)
                .open(path)?;
            f.write_all(text.as_bytes())
        }
        Sink::Pipe(shell) => {
            let _ = std::io::stdout().flush();
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(shell)
                .stdin(Stdio::piped())
                .spawn()?;
            if let Some(mut stdin) = child.stdin.take() {
                // a consumer like `head` may close early: that is not an error
                let _ = stdin.write_all(text.as_bytes());
            }
            child.wait()?;
            Ok(())
        }
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
        assert_eq!(split_sink("ps 'a|b'"), ("ps 'a|b'", Sink::Stdout));
    }
}
