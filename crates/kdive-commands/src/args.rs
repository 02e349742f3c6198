//! Splitting command lines and parsing crash-style flags.

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

/// Flags given as `-x` letters (combinable: `-kt`) and the remaining positional words.
#[derive(Debug, Default)]
pub struct Flags {
    pub letters: Vec<char>,
    pub positional: Vec<String>,
}

impl Flags {
    /// Parses `args`, accepting only the letters in `allowed`.
    pub fn parse(cmd: &str, args: &[String], allowed: &str) -> Result<Flags, String> {
        let mut f = Flags::default();
        for a in args {
            match a.strip_prefix('-') {
                Some(letters)
                    if !letters.is_empty()
                        && !letters.starts_with(|c: char| c.is_ascii_digit()) =>
                {
                    for c in letters.chars() {
                        if !allowed.contains(c) {
                            return Err(format!("{cmd}: invalid option -- '{c}'"));
                        }
                        f.letters.push(c);
                    }
                }
                _ => f.positional.push(a.clone()),
            }
        }
        Ok(f)
    }

    /// Whether `-c` was given.
    pub fn has(&self, c: char) -> bool {
        self.letters.contains(&c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_quotes() {
        assert_eq!(
            split("ps  -k 'a b' \"c\"").unwrap(),
            vec!["ps", "-k", "a b", "c"]
        );
        assert!(split("log 'x").is_err());
        assert_eq!(split("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn flags() {
        let a: Vec<String> = ["-kt", "12", "-u"].iter().map(|s| s.to_string()).collect();
        let f = Flags::parse("ps", &a, "ktu").unwrap();
        assert!(f.has('k') && f.has('t') && f.has('u'));
        assert_eq!(f.positional, vec!["12"]);
        assert!(Flags::parse("ps", &a, "k").is_err());
    }
}
