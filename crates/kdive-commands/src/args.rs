//! Splitting command lines and parsing crash-style flags.

use crate::table::{Command, Flag, FlagName};
use crate::CommandError;

/// Splits a command line into words: whitespace separates, `'…'` and `"…"` quote.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// The flags given to a command, in order, and its positional words.
#[derive(Debug, Default)]
pub struct Flags {
    given: Vec<(FlagName, Option<String>)>,
    pub positional: Vec<String>,
}

impl Flags {
    /// Parses `args` as `cmd`'s table entry defines them: letters combine (`-kt`); a flag that
    /// takes a value takes the rest of its word or the next word (`-eEND`, `-e END`); word flags
    /// (`-16`) stand alone; other words starting with a digit after the dash are numbers; `--`
    /// ends the flags. Refuses unknown and unimplemented flags, and more positional words than
    /// the command takes.
    pub fn parse(cmd: &Command, args: &[String]) -> Result<Flags, CommandError> {
        let usage = |m: String| {
            CommandError::Usage(format!("{}: {m}\nusage: {}", cmd.name, cmd.synopsis()))
        };
        // the table's flag, if it is there and implemented
        let known = |typed: &str, flag: Option<&'static Flag>| match flag {
            Some(f) if f.implemented => Ok(f),
            Some(f) => Err(usage(format!(
                "{} ({}) is not implemented yet",
                f.name, f.help
            ))),
            None => Err(usage(format!(
                "invalid option -- '{typed}' (not supported)"
            ))),
        };
        let mut f = Flags::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(body) = a.strip_prefix('-').filter(|b| !b.is_empty()) else {
                f.positional.push(a.clone());
                continue;
            };
            if body == "-" {
                f.positional.extend(it.by_ref().cloned());
                break;
            }
            if body.starts_with(|c: char| c.is_ascii_digit()) {
                // a word flag (`-16`), else a negative number
                match cmd
                    .flags
                    .iter()
                    .find(|x| matches!(x.name, FlagName::Word(w) if w == body))
                {
                    Some(flag) => f.given.push((known(body, Some(flag))?.name, None)),
                    None => f.positional.push(a.clone()),
                }
                continue;
            }
            for (i, c) in body.char_indices() {
                let flag = known(&c.to_string(), cmd.flag(FlagName::Letter(c)))?;
                let Some(v) = flag.value else {
                    f.given.push((flag.name, None));
                    continue;
                };
                let rest = &body[i + c.len_utf8()..];
                let value = if rest.is_empty() {
                    it.next()
                        .cloned()
                        .ok_or_else(|| usage(format!("-{c} needs a value ({v})")))?
                } else {
                    rest.to_string()
                };
                f.given.push((flag.name, Some(value)));
                break;
            }
        }
        if let Some(extra) = cmd.max_args().and_then(|n| f.positional.get(n)) {
            return Err(usage(format!(
                "unexpected argument {extra} (not supported)"
            )));
        }
        Ok(f)
    }

    /// Whether `-c` was given.
    pub fn has(&self, c: char) -> bool {
        self.given.iter().any(|g| g.0 == FlagName::Letter(c))
    }

    /// The value of the last `-c VALUE` given.
    pub fn value(&self, c: char) -> Option<&str> {
        self.given
            .iter()
            .rev()
            .find(|g| g.0 == FlagName::Letter(c))
            .and_then(|g| g.1.as_deref())
    }

    /// The flags given, in order, with their values: for flags where the last one wins.
    pub fn given(&self) -> impl Iterator<Item = (FlagName, Option<&str>)> {
        self.given.iter().map(|(n, v)| (*n, v.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{KMEM, PS, RD, SEARCH, SWAP};

    #[test]
    fn splits_and_quotes() {
        assert_eq!(
            split("ps  -k 'a b' \"c\"").unwrap(),
            vec!["ps", "-k", "a b", "c"]
        );
        assert!(split("log 'x").is_err());
        assert_eq!(split("").unwrap(), Vec::<String>::new());
    }

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn letters_combine() {
        let f = Flags::parse(&PS, &words("-kt 12 -u")).unwrap();
        assert!(f.has('k') && f.has('t') && f.has('u') && !f.has('p'));
        assert_eq!(f.positional, vec!["12"]);
        let e = Flags::parse(&PS, &words("-kq")).unwrap_err().to_string();
        assert!(
            e.starts_with("ps: invalid option -- 'q' (not supported)\nusage: ps ["),
            "{e}"
        );
    }

    #[test]
    fn values_words_and_numbers() {
        let f = Flags::parse(&RD, &words("-p -16 -e 0x2000 -rout 0x1000 -3")).unwrap();
        assert!(f.has('p'));
        assert_eq!(f.value('e'), Some("0x2000"));
        assert_eq!(f.value('r'), Some("out"), "a value may follow its letter");
        assert_eq!(
            f.given().map(|g| g.0).collect::<Vec<_>>(),
            [
                FlagName::Letter('p'),
                FlagName::Word("16"),
                FlagName::Letter('e'),
                FlagName::Letter('r')
            ]
        );
        assert_eq!(f.positional, vec!["0x1000", "-3"], "-3 is a number");
        let e = Flags::parse(&RD, &words("0x1000 -e"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("rd: -e needs a value (END)"), "{e}");
        let f = Flags::parse(&SEARCH, &words("-c -- -x")).unwrap();
        assert_eq!(f.positional, vec!["-x"], "-- ends the flags");
    }

    #[test]
    fn refusals() {
        let e = Flags::parse(&KMEM, &words("-m flags"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("kmem: -m (") && e.contains("not implemented yet"),
            "{e}"
        );
        let e = Flags::parse(&SWAP, &words("extra"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("swap: unexpected argument extra"), "{e}");
        assert!(
            Flags::parse(&RD, &words("a b c")).is_err(),
            "rd takes two words"
        );
        assert!(
            Flags::parse(&PS, &words("1 2 3 4")).is_ok(),
            "ps takes any number"
        );
    }
}
