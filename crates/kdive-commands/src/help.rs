//! `help`: every command with its synopsis and summary, or one command's page (synopsis,
//! description, flags, arguments, examples), read from the command table.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table::{self, Command};
use crate::{CommandError, Report, Session, TextOptions};

/// Text width the pages are wrapped to.
const WIDTH: usize = 78;
/// Widest flag or argument column of a page; longer ones put their help on the next line.
const MAX_ITEM: usize = 14;

/// What `help` shows.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Help {
    /// `help`: every command.
    Index { commands: Vec<IndexEntry> },
    /// `help COMMAND`.
    Page(Page),
}

/// One command in the index.
#[derive(Debug, Serialize, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    pub synopsis: String,
    pub summary: String,
    /// False for a crash command kdive does not run (its page says why).
    pub available: bool,
}

/// One command in full.
#[derive(Debug, Serialize, Deserialize)]
pub struct Page {
    pub name: String,
    pub aliases: Vec<String>,
    pub synopsis: String,
    pub summary: String,
    /// False for a crash command kdive does not run: the description says why and what to use.
    pub available: bool,
    /// Paragraphs.
    pub description: Vec<String>,
    pub flags: Vec<FlagHelp>,
    pub arguments: Vec<ArgHelp>,
    pub examples: Vec<ExampleHelp>,
}

/// One flag of a page.
#[derive(Debug, Serialize, Deserialize)]
pub struct FlagHelp {
    /// As typed: `-a`, `-e END`.
    pub flag: String,
    pub help: String,
    /// False: known, but refused as not implemented yet.
    pub implemented: bool,
}

/// One positional argument of a page.
#[derive(Debug, Serialize, Deserialize)]
pub struct ArgHelp {
    pub name: String,
    pub help: String,
    pub required: bool,
    pub repeated: bool,
}

/// One example of a page.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExampleHelp {
    pub command: String,
    pub shows: String,
}

/// Runs `help [COMMAND]`.
pub fn run(_: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::HELP, args)?;
    Ok(Box::new(match f.positional.first() {
        None => index(),
        Some(name) => Help::Page(page(find(name)?)),
    }))
}

/// The command `name` names, or the error that suggests the nearest ones.
pub fn find(name: &str) -> Result<&'static Command, CommandError> {
    table::find(name).ok_or_else(|| CommandError::unknown(name))
}

/// Every command of the table.
pub fn index() -> Help {
    Help::Index {
        commands: table::COMMANDS
            .iter()
            .map(|c| IndexEntry {
                name: c.name.into(),
                synopsis: c.synopsis(),
                summary: c.summary.into(),
                available: c.instead.is_none(),
            })
            .collect(),
    }
}

/// One command's page.
pub fn page(c: &Command) -> Page {
    Page {
        name: c.name.into(),
        aliases: c.aliases.iter().map(|a| a.to_string()).collect(),
        synopsis: c.synopsis(),
        summary: c.summary.into(),
        available: c.instead.is_none(),
        description: c
            .instead
            .map(|i| format!("Not available in kdive: {i}"))
            .into_iter()
            .chain(
                c.description
                    .split("\n\n")
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            )
            .collect(),
        flags: c
            .flags
            .iter()
            .map(|f| FlagHelp {
                flag: f.usage(),
                help: f.help.into(),
                implemented: f.implemented,
            })
            .collect(),
        arguments: c
            .args
            .iter()
            .map(|a| ArgHelp {
                name: a.name.into(),
                help: a.help.into(),
                required: a.required,
                repeated: a.repeated,
            })
            .collect(),
        examples: c
            .examples
            .iter()
            .map(|e| ExampleHelp {
                command: e.line.into(),
                shows: e.what.into(),
            })
            .collect(),
    }
}

impl Report for Help {
    fn write_text(&self, _: &TextOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let text = match self {
            Help::Index { commands } => index_text(commands),
            Help::Page(p) => page_text(p),
        };
        out.write_all(text.as_bytes())
    }
}

fn index_text(commands: &[IndexEntry]) -> String {
    let w = commands.iter().map(|c| c.name.len()).max().unwrap_or(0) + 3;
    let mut out = String::from("Commands (\"help COMMAND\" shows one in full):\n\n");
    for c in commands {
        let note = if c.available { "" } else { " (not in kdive)" };
        let _ = writeln!(out, "{:w$}{}{note}", c.name, c.summary);
        // a synopsis that is only the name says nothing more
        if c.synopsis != c.name {
            let _ = writeln!(out, "{:w$}{}", "", c.synopsis);
        }
    }
    out
}

fn page_text(p: &Page) -> String {
    let mut out = format!("NAME\n  {} - {}\n", p.name, p.summary);
    if !p.aliases.is_empty() {
        let _ = writeln!(out, "  also: {}", p.aliases.join(", "));
    }
    out.push_str("\nSYNOPSIS\n");
    for (i, l) in wrap_synopsis(&p.synopsis, WIDTH - 6).iter().enumerate() {
        let indent = if i == 0 { "  " } else { "      " };
        let _ = writeln!(out, "{indent}{l}");
    }
    out.push_str("\nDESCRIPTION\n");
    for para in &p.description {
        push_wrapped(&mut out, "  ", para);
        out.push('\n');
    }
    let items: Vec<(&str, String)> = p
        .flags
        .iter()
        .map(|f| {
            let help = if f.implemented {
                f.help.clone()
            } else {
                format!("{} (not implemented yet)", f.help)
            };
            (f.flag.as_str(), help)
        })
        .chain(
            p.arguments
                .iter()
                .map(|a| (a.name.as_str(), a.help.clone())),
        )
        .collect();
    let w = items
        .iter()
        .map(|i| i.0.len())
        .filter(|&n| n <= MAX_ITEM)
        .max()
        .unwrap_or(0);
    for (item, help) in &items {
        let indent = " ".repeat(w + 6);
        if item.len() > w {
            let _ = writeln!(out, "  {item}");
            push_wrapped(&mut out, &indent, help);
        } else {
            let first = format!("  {item:>w$}    ");
            let mut lines = wrap(help, WIDTH - indent.len()).into_iter();
            let _ = writeln!(out, "{first}{}", lines.next().unwrap_or_default());
            for l in lines {
                let _ = writeln!(out, "{indent}{l}");
            }
        }
    }
    if !items.is_empty() {
        out.push('\n');
    }
    if !p.examples.is_empty() {
        out.push_str("EXAMPLES\n");
        for e in &p.examples {
            let _ = writeln!(out, "  {}", e.command);
            push_wrapped(&mut out, "      ", &e.shows);
        }
    }
    out
}

/// Appends `text` wrapped to [`WIDTH`], each line after `indent`.
fn push_wrapped(out: &mut String, indent: &str, text: &str) {
    for l in wrap(text, WIDTH.saturating_sub(indent.len())) {
        let _ = writeln!(out, "{indent}{l}");
    }
}

/// A synopsis in lines of at most `width` characters, broken only between its bracketed parts.
fn wrap_synopsis(synopsis: &str, width: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in synopsis.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ' ' if depth == 0 => {
                parts.push(&synopsis[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&synopsis[start..]);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        if !line.is_empty() && line.len() + 1 + part.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(part);
    }
    lines.push(line);
    lines
}

/// Splits `text` into lines of at most `width` characters at spaces (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh ij", 4), ["abcdefgh", "ij"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn index_lists_every_command_with_its_synopsis() {
        let text = (&index() as &dyn Report).text();
        for c in table::COMMANDS {
            let line = text
                .lines()
                .find(|l| l.split_whitespace().next() == Some(c.name))
                .unwrap_or_else(|| panic!("{} missing from help", c.name));
            let note = if c.instead.is_some() {
                " (not in kdive)"
            } else {
                ""
            };
            assert!(line.ends_with(&format!("{}{note}", c.summary)), "{line}");
            assert!(text.contains(&c.synopsis()), "{}", c.synopsis());
        }
    }

    #[test]
    fn bt_page_shows_its_flags() {
        let text = (&Help::Page(page(&table::BT)) as &dyn Report).text();
        assert!(text.starts_with("NAME\n  bt - "), "{text}");
        assert!(text.contains("\nSYNOPSIS\n  bt [-a|"), "{text}");
        for flag in ["-a", "-t", "-T", "-f", "-s", "-x", "-l"] {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{flag}    "))),
                "bt {flag} is described:\n{text}"
            );
        }
        assert!(
            !text.contains("(not implemented yet)"),
            "every bt flag is implemented"
        );
        let kmem = (&Help::Page(page(&table::KMEM)) as &dyn Report).text();
        assert!(kmem.contains("(not implemented yet)"), "kmem -m is marked");
        assert!(text.contains("\nEXAMPLES\n  bt\n"), "{text}");
        assert!(text.contains("\n  bt -a\n      the "), "{text}");
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "wider than the page: {line}");
        }
    }

    #[test]
    fn unknown_commands_are_suggested() {
        let e = find("btt").unwrap_err();
        assert_eq!(e.to_string(), "btt: command not found (did you mean bt?)");
    }
}
