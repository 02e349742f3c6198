//! The command table: every command with its flags, arguments and help, defined once.
//!
//! Dispatch ([`crate::run`]), flag parsing ([`crate::args::Flags::parse`]), `help`, "did you
//! mean" and the README's command list all read these entries; a man-page or completion
//! generator can walk [`COMMANDS`] the same way.

mod crash;
mod entries;
mod markdown;

use std::fmt;

use kdive_linux::task::TaskInfo;

use crate::args::Flags;
use crate::{CommandError, Report, Session};

pub use crash::CRASH_COMMANDS;
pub use entries::*;
pub use markdown::{readme_section, README_BEGIN, README_END};

/// Runs a command on its argument words (the command word itself excluded).
/// The result may borrow the session (a report written as it is made: `foreach bt`).
pub type Handler = for<'s> fn(&'s Session, &[String]) -> Result<Box<dyn Report + 's>, CommandError>;

/// Runs a command for tasks `foreach` chose, with the flags given after the command's name.
pub type PerTask =
    for<'s> fn(&'s Session, &[&'s TaskInfo], &Flags) -> Result<Box<dyn Report + 's>, CommandError>;

/// How a flag is written after its dash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagName {
    /// One letter, combinable with other letters: `-a`, `-kt`.
    Letter(char),
    /// A whole word after one dash, never combined: `rd`'s `-16`.
    Word(&'static str),
}

impl fmt::Display for FlagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagName::Letter(c) => write!(f, "-{c}"),
            FlagName::Word(w) => write!(f, "-{w}"),
        }
    }
}

/// One flag of a command.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub name: FlagName,
    /// The name of the value it takes (`-e END`), if it takes one.
    pub value: Option<&'static str>,
    /// What it does, in one line.
    pub help: &'static str,
    /// False for a flag crash has that is recognised but not implemented yet: parsing refuses
    /// it with a message saying so, and the synopsis leaves it out.
    pub implemented: bool,
}

impl Flag {
    /// A letter flag.
    pub const fn letter(c: char, help: &'static str) -> Flag {
        Flag {
            name: FlagName::Letter(c),
            value: None,
            help,
            implemented: true,
        }
    }

    /// A word flag (`-16`).
    pub const fn word(w: &'static str, help: &'static str) -> Flag {
        Flag {
            name: FlagName::Word(w),
            value: None,
            help,
            implemented: true,
        }
    }

    /// The flag takes a value, shown as `value` (`-e END`).
    pub const fn takes(self, value: &'static str) -> Flag {
        Flag {
            value: Some(value),
            ..self
        }
    }

    /// The flag is known but not implemented yet.
    pub const fn not_yet(self) -> Flag {
        Flag {
            implemented: false,
            ..self
        }
    }

    /// `-e END`, `-a`.
    pub fn usage(&self) -> String {
        match self.value {
            Some(v) => format!("{} {v}", self.name),
            None => self.name.to_string(),
        }
    }
}

/// One positional argument of a command.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    /// As the synopsis shows it: `PID|TASK`, `ADDR`.
    pub name: &'static str,
    pub help: &'static str,
    pub required: bool,
    /// May be given more than once.
    pub repeated: bool,
}

impl Arg {
    /// An argument that must be given.
    pub const fn required(name: &'static str, help: &'static str) -> Arg {
        Arg {
            name,
            help,
            required: true,
            repeated: false,
        }
    }

    /// An argument that may be left out.
    pub const fn optional(name: &'static str, help: &'static str) -> Arg {
        Arg {
            required: false,
            ..Arg::required(name, help)
        }
    }

    /// The argument may be given more than once.
    pub const fn repeated(self) -> Arg {
        Arg {
            repeated: true,
            ..self
        }
    }

    /// `ADDR`, `[COUNT]`, `[PID|TASK ...]`.
    pub fn usage(&self) -> String {
        let more = if self.repeated { " ..." } else { "" };
        if self.required {
            format!("{}{more}", self.name)
        } else {
            format!("[{}{more}]", self.name)
        }
    }
}

/// A command line and what it shows.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub line: &'static str,
    pub what: &'static str,
}

/// An example for a [`Command`].
pub const fn example(line: &'static str, what: &'static str) -> Example {
    Example { line, what }
}

/// One command: its name, help and handlers.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    pub name: &'static str,
    /// Other names that run it.
    pub aliases: &'static [&'static str],
    /// What it shows, in one line (no capital, no full stop).
    pub summary: &'static str,
    /// The long help: paragraphs separated by blank lines, each one line of text.
    pub description: &'static str,
    pub flags: &'static [Flag],
    pub args: &'static [Arg],
    pub examples: &'static [Example],
    pub run: Handler,
    /// How `foreach` runs it on chosen tasks, for a per-task command.
    pub per_task: Option<PerTask>,
    /// For a crash command kdive does not run: why, and what it offers instead. Running it
    /// answers with this ([`Command::refusal`]); `help` shows it.
    pub instead: Option<&'static str>,
}

impl Command {
    /// A command with no flags, arguments or examples yet.
    pub const fn new(name: &'static str, summary: &'static str, run: Handler) -> Command {
        Command {
            name,
            aliases: &[],
            summary,
            description: "",
            flags: &[],
            args: &[],
            examples: &[],
            run,
            per_task: None,
            instead: None,
        }
    }

    pub const fn aliases(self, aliases: &'static [&'static str]) -> Command {
        Command { aliases, ..self }
    }

    pub const fn description(self, description: &'static str) -> Command {
        Command {
            description,
            ..self
        }
    }

    pub const fn flags(self, flags: &'static [Flag]) -> Command {
        Command { flags, ..self }
    }

    pub const fn args(self, args: &'static [Arg]) -> Command {
        Command { args, ..self }
    }

    pub const fn examples(self, examples: &'static [Example]) -> Command {
        Command { examples, ..self }
    }

    pub const fn per_task(self, per_task: PerTask) -> Command {
        Command {
            per_task: Some(per_task),
            ..self
        }
    }

    /// A crash command kdive does not run, with why and what to use instead.
    pub const fn instead(self, instead: &'static str) -> Command {
        Command {
            instead: Some(instead),
            ..self
        }
    }

    /// The answer of a command kdive does not run: its [`Command::instead`] text.
    pub fn refusal(&self) -> CommandError {
        CommandError::Unavailable(format!(
            "{}: not available in kdive: {}",
            self.name,
            self.instead.unwrap_or("no reason recorded")
        ))
    }

    /// The flag written as `name`, if the command has it.
    pub fn flag(&self, name: FlagName) -> Option<&'static Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// `bt [-a|-t|-T] [-e END] [PID|TASK ...]`: the implemented flags (those without a value
    /// together, as crash writes them), then the arguments.
    pub fn synopsis(&self) -> String {
        let ready = || self.flags.iter().filter(|f| f.implemented);
        let switches: Vec<String> = ready()
            .filter(|f| f.value.is_none())
            .map(|f| f.name.to_string())
            .collect();
        let mut parts = vec![self.name.to_string()];
        if !switches.is_empty() {
            parts.push(format!("[{}]", switches.join("|")));
        }
        parts.extend(
            ready()
                .filter(|f| f.value.is_some())
                .map(|f| format!("[{}]", f.usage())),
        );
        parts.extend(self.args.iter().map(Arg::usage));
        parts.join(" ")
    }

    /// The most positional arguments it takes (`None`: no bound).
    pub fn max_args(&self) -> Option<usize> {
        if self.args.iter().any(|a| a.repeated) {
            None
        } else {
            Some(self.args.len())
        }
    }
}

/// The command named (or aliased) `word`.
pub fn find(word: &str) -> Option<&'static Command> {
    find_in(COMMANDS, word)
}

fn find_in(table: &[&'static Command], word: &str) -> Option<&'static Command> {
    table
        .iter()
        .copied()
        .find(|c| c.name == word || c.aliases.contains(&word))
}

/// The known commands nearest to a mistyped `word` (by edit distance, a transposition counting
/// as one edit), best first; none when nothing is close.
pub fn suggest(word: &str) -> Vec<&'static str> {
    suggest_in(COMMANDS, word)
}

fn suggest_in(table: &[&'static Command], word: &str) -> Vec<&'static str> {
    // one edit for short words, one per three characters for longer ones
    let bound = (word.chars().count() / 3).max(1);
    let names = table
        .iter()
        .flat_map(|c| std::iter::once(&c.name).chain(c.aliases))
        .copied()
        // symbols such as `*` are one edit from every letter
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric()));
    let scored: Vec<(usize, &'static str)> = names
        .map(|n| (strsim::osa_distance(word, n), n))
        .filter(|&(d, _)| d <= bound)
        .collect();
    let Some(best) = scored.iter().map(|s| s.0).min() else {
        return Vec::new();
    };
    scored
        .into_iter()
        .filter(|s| s.0 == best)
        .map(|s| s.1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_sorted() {
        let mut names: Vec<&str> = COMMANDS
            .iter()
            .flat_map(|c| std::iter::once(&c.name).chain(c.aliases))
            .copied()
            .collect();
        let listed: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(listed, sorted, "COMMANDS is in alphabetical order");
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a name or alias is used twice");
    }

    #[test]
    fn entries_are_complete() {
        for c in COMMANDS {
            assert!(!c.summary.is_empty(), "{}: no summary", c.name);
            if c.instead.is_some() {
                assert!(c.examples.is_empty(), "{}: an example of a refusal", c.name);
                continue;
            }
            assert!(!c.description.is_empty(), "{}: no description", c.name);
            assert!(!c.examples.is_empty(), "{}: no example", c.name);
            for e in c.examples {
                assert!(
                    e.line == c.name || e.line.starts_with(&format!("{} ", c.name)),
                    "{}: example `{}` runs another command",
                    c.name,
                    e.line
                );
            }
            let mut flags: Vec<String> = c.flags.iter().map(|f| f.name.to_string()).collect();
            let n = flags.len();
            flags.sort_unstable();
            flags.dedup();
            assert_eq!(flags.len(), n, "{}: a flag is defined twice", c.name);
        }
    }

    #[test]
    fn examples_parse() {
        for c in COMMANDS {
            for e in c.examples {
                let words = crate::args::split(e.line).unwrap();
                let mut entry: &Command = c;
                let mut rest = &words[1..];
                if c.name == "foreach" {
                    let at = rest
                        .iter()
                        .position(|w| find(w).is_some_and(|c| c.per_task.is_some()))
                        .unwrap_or_else(|| panic!("`{}` has no per-task command", e.line));
                    entry = find(&rest[at]).unwrap();
                    rest = &rest[at + 1..];
                }
                if let Err(err) = Flags::parse(entry, rest) {
                    panic!("`{}`: {err}", e.line);
                }
            }
        }
    }

    #[test]
    fn synopsis_of_bt() {
        assert_eq!(
            BT.synopsis(),
            "bt [-a|-t|-T|-f|-s|-x|-d|-l|-F|-r|-e|-E|-v|-g|-o|-O|-p] [-c CPUS] [-R REF] \
             [-I IP] [-S SP] [-n idle] [PID|TASK ...]"
        );
        assert_eq!(
            RD.synopsis(),
            "rd [-p|-a|-x|-d|-D|-8|-16|-32|-64|-s|-S|-N|-u|-f|-R] [-o OFFSET] [-e END] \
             [-r FILE] ADDR|SYMBOL [COUNT]"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("btt"), vec!["bt"]);
        assert_eq!(suggest("lsit"), vec!["list"]);
        assert_eq!(suggest("strcut"), vec!["struct"]);
        assert_eq!(suggest("serach"), vec!["search"]);
        assert!(suggest("xyzzy").is_empty());
        // one edit from `p`, `q` and `*`: only the words are suggested
        let z = suggest("z");
        assert!(
            z.contains(&"p") && !z.contains(&"*"),
            "`*` is never suggested: {z:?}"
        );
        assert_eq!(find("bt").map(|c| c.name), Some("bt"));
        assert!(find("btt").is_none());
    }

    #[test]
    fn aliases_are_found_and_suggested() {
        static A: Command = Command::new("alpha", "a", BT.run).aliases(&["beta"]);
        let table = [&A];
        assert_eq!(find_in(&table, "beta").map(|c| c.name), Some("alpha"));
        assert_eq!(suggest_in(&table, "betta"), vec!["beta"]);
    }

    #[test]
    fn foreach_names_every_per_task_command() {
        let per_task: Vec<&str> = COMMANDS
            .iter()
            .filter(|c| c.per_task.is_some())
            .map(|c| c.name)
            .collect();
        assert_eq!(
            per_task,
            ["bt", "files", "net", "ps", "set", "sig", "task", "vm", "vtop"]
        );
        let command = FOREACH.args.iter().find(|a| a.name == "COMMAND").unwrap();
        for name in per_task {
            assert!(
                command.help.contains(&format!("`{name}`")),
                "foreach's COMMAND help names `{name}`"
            );
        }
    }
}
