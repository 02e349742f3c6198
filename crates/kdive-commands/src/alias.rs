//! `alias`: crash's builtin aliases and the session's own (`alias NAME COMMAND ...`), which a
//! command line's first word is replaced by before the command is looked up; `repeat [-N]
//! COMMAND`: a command run N times.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::{args, table, CommandError, Report, Session, TextOptions};

/// crash's builtin aliases, in its order (`alias_init`).
const BUILTIN: &[(&str, &str)] = &[
    ("man", "help"),
    ("?", "help"),
    ("quit", "q"),
    ("sf", "set scroll off"),
    ("sn", "set scroll on"),
    ("hex", "set radix 16"),
    ("dec", "set radix 10"),
    ("g", "gdb"),
    ("px", "p -x"),
    ("pd", "p -d"),
    ("for", "foreach"),
    ("size", "*"),
    ("dmesg", "log"),
    ("lsmod", "mod"),
];

/// Most runs `repeat` makes.
pub const MAX_REPEAT: u32 = 1000;

/// Where an alias comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// crash's own.
    Builtin,
    /// Defined in this session.
    Runtime,
}

/// One alias: its name and the words it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub origin: Origin,
    pub alias: String,
    pub command: Vec<String>,
}

/// The builtin aliases a session starts with.
pub(crate) fn builtins() -> Vec<Alias> {
    BUILTIN
        .iter()
        .map(|(a, c)| Alias {
            origin: Origin::Builtin,
            alias: a.to_string(),
            command: c.split(' ').map(str::to_string).collect(),
        })
        .collect()
}

/// `words` with a first word that names an alias replaced by its words (once, as crash
/// resolves aliases).
pub(crate) fn expand(s: &Session, words: Vec<String>) -> Vec<String> {
    let Some(first) = words.first() else {
        return words;
    };
    match s.alias(first) {
        Some(a) => a
            .command
            .into_iter()
            .chain(words.into_iter().skip(1))
            .collect(),
        None => words,
    }
}

/// What `alias` answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct AliasReport {
    /// The aliases listed: all, the one asked for, or the one just defined.
    pub aliases: Vec<Alias>,
    /// `alias NAME` of a name that is no alias.
    pub missing: Option<String>,
    /// `alias NAME ""`: the alias deleted.
    pub deleted: Option<String>,
}

impl Report for AliasReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if let Some(d) = &self.deleted {
            return writeln!(out, "alias deleted: {d}");
        }
        writeln!(out, "ORIGIN   ALIAS    COMMAND")?;
        for a in &self.aliases {
            let origin = match a.origin {
                Origin::Builtin => "builtin",
                Origin::Runtime => "runtime",
            };
            let words: String = a.command.iter().map(|w| format!("{w} ")).collect();
            writeln!(out, "{origin}  {:<7}  {words}", a.alias)?;
        }
        if let Some(m) = &self.missing {
            writeln!(out, "alias does not exist: {m}")?;
        }
        Ok(())
    }
}

/// Runs `alias [NAME [COMMAND ...]]`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let mut report = AliasReport {
        aliases: Vec::new(),
        missing: None,
        deleted: None,
    };
    match args {
        [] => report.aliases = s.aliases(),
        [name] => match s.alias(name) {
            Some(a) => report.aliases.push(a),
            None => report.missing = Some(name.clone()),
        },
        [name, rest @ ..] => {
            // `alias ll "bt -l"` and `alias ll bt -l` are the same alias
            let words = args::split(&rest.join(" ")).map_err(CommandError::Usage)?;
            if table::find(name).is_some() {
                return Err(CommandError::Usage(format!(
                    "alias: cannot alias existing command name: {name}"
                )));
            }
            match words.first() {
                None => {
                    if !s.remove_alias(name) {
                        report.missing = Some(name.clone());
                    } else {
                        report.deleted = Some(name.clone());
                    }
                }
                Some(cmd) if table::find(cmd).is_none() => {
                    return Err(CommandError::Usage(format!(
                        "alias: invalid alias attempt on non-existent command: {cmd}"
                    )))
                }
                Some(_) => {
                    let a = Alias {
                        origin: Origin::Runtime,
                        alias: name.clone(),
                        command: words,
                    };
                    s.define_alias(a.clone());
                    report.aliases.push(a);
                }
            }
        }
    }
    Ok(Box::new(report))
}

/// What `repeat` answers: each run's answer.
#[derive(Serialize)]
pub struct RepeatReport<'s> {
    pub command: String,
    pub count: u32,
    pub runs: Vec<Box<dyn Report + 's>>,
}

impl Report for RepeatReport<'_> {
    fn write_text(&self, opts: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for r in &self.runs {
            r.write_text(opts, out)?;
        }
        Ok(())
    }

    fn incomplete(&self) -> Option<String> {
        self.runs.iter().find_map(|r| r.incomplete())
    }
}

/// Runs `repeat [-N] COMMAND ...`. crash repeats a command on a live system every N seconds
/// until interrupted; a dump does not change, so here N is how many times the command runs
/// (once without it, at most [`MAX_REPEAT`]).
pub fn run_repeat<'s>(
    s: &'s Session,
    args: &[String],
) -> Result<Box<dyn Report + 's>, CommandError> {
    let usage = || {
        CommandError::Usage(format!(
            "repeat: a command is required\nusage: {}",
            table::REPEAT.synopsis()
        ))
    };
    let (count, cmd) = match args.split_first() {
        Some((n, rest)) if n.starts_with('-') => {
            let count: u32 = n[1..]
                .parse()
                .map_err(|_| CommandError::Usage(format!("repeat: invalid count: {n}")))?;
            (count, rest)
        }
        Some(_) => (1, args),
        None => return Err(usage()),
    };
    if cmd.is_empty() {
        return Err(usage());
    }
    if table::find(&cmd[0]).is_some_and(|c| c.name == "repeat") {
        return Err(CommandError::Usage("repeat: cannot repeat repeat".into()));
    }
    if count == 0 || count > MAX_REPEAT {
        return Err(CommandError::Usage(format!(
            "repeat: the count must be 1 to {MAX_REPEAT}: {count}"
        )));
    }
    let line = cmd
        .iter()
        .map(|w| match w.contains(char::is_whitespace) {
            true => format!("\"{w}\""),
            false => w.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut runs = Vec::new();
    for _ in 0..count {
        runs.push(crate::run(s, &line)?);
    }
    Ok(Box::new(RepeatReport {
        command: line,
        count,
        runs,
    }))
}
