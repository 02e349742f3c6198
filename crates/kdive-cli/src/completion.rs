//! Tab completion at the prompt: command names for the first word, the command's flags for a
//! word starting with `-`.

use kdive_commands::table::COMMANDS;
use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// Where the word under the cursor starts and what may complete it.
pub fn complete(line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = line.get(..pos).unwrap_or(line);
    let start = before.rfind(char::is_whitespace).map_or(0, |i| {
        i + before[i..].chars().next().map_or(1, char::len_utf8)
    });
    let word = &before[start..];
    let first = before.split_whitespace().next().unwrap_or("");
    let mut out: Vec<String> = if start == 0 || before[..start].trim().is_empty() {
        COMMANDS
            .iter()
            // crash's commands that kdive does not run are not offered
            .filter(|c| c.instead.is_none())
            .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
            .filter(|n| n.starts_with(word))
            .map(str::to_string)
            .collect()
    } else if word.starts_with('-') {
        COMMANDS
            .iter()
            .find(|c| c.name == first || c.aliases.contains(&first))
            .map(|c| {
                c.flags
                    .iter()
                    .filter(|f| f.implemented)
                    .map(|f| f.name.to_string())
                    .filter(|f| f.starts_with(word))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    out.sort();
    out.dedup();
    (start, out)
}

/// The prompt's helper: completion only.
pub struct PromptHelper;

impl Completer for PromptHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(complete(line, pos))
    }
}

impl Hinter for PromptHelper {
    type Hint = String;
}
impl Highlighter for PromptHelper {}
impl Validator for PromptHelper {}
impl Helper for PromptHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_then_flags() {
        let (start, names) = complete("run", 3);
        assert_eq!((start, names), (0, vec!["runq".to_string()]));
        let (start, flags) = complete("bt -", 4);
        assert_eq!(start, 3);
        assert!(flags.contains(&"-a".to_string()), "{flags:?}");
        assert!(flags.iter().all(|f| f.starts_with('-')));
        assert_eq!(complete("bt 12", 5).1, Vec::<String>::new());
        assert_eq!(complete("nosuch -", 8).1, Vec::<String>::new());
    }
}
