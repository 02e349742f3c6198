//! crash 9.0.2's commands and the flags its `help` synopses show, which the table must cover:
//! each one implemented, refused as not implemented yet, or answered with what kdive offers
//! instead.

/// Each command of crash's command table (hidden ones left out) with the letters and words of
/// the flags its synopsis lists (`rd`'s `-16` is a word; `repeat`'s `-seconds` is a number, not
/// a flag).
pub const CRASH_COMMANDS: &[(&str, &str)] = &[
    ("*", ""),
    ("alias", ""),
    ("ascii", ""),
    ("bpf", "p P t T j m M s x d"),
    ("bt", "a c g r t T l e E f F o O v p R s x I S n"),
    ("btop", ""),
    ("dev", "i p d D V v"),
    ("dis", "r f l u d x s b"),
    ("eval", "b l"),
    ("exit", ""),
    ("extend", "u s"),
    ("files", "d p c R"),
    ("foreach", ""),
    ("fuser", ""),
    ("gdb", ""),
    ("help", ""),
    ("ipcs", "s m M q n"),
    ("irq", "u d b a s c"),
    ("kmem", "f F c C i v V n z o h p m s S r I g P"),
    ("list", "o e s S l x d r B h O H"),
    ("log", "T t d m a s c R"),
    ("mach", "m c x d o"),
    ("mod", "s d S D t r R o g"),
    ("mount", "f i n"),
    ("net", "s S x d R a n N"),
    ("p", "x d u"),
    ("ps", "k u G y s p c t l m C a g r S A H"),
    ("pte", ""),
    ("ptob", ""),
    ("ptov", ""),
    ("q", ""),
    ("tree", "t r s S x d o l p v N"),
    ("rd", "a d D s S u p x m f N R 8 16 32 64 o e r"),
    ("repeat", ""),
    ("runq", "t T m g c"),
    ("sbitmapq", "s a p v x d"),
    ("search", "s k K V u p t T e l m x c w h"),
    ("set", "a c p v"),
    ("sig", "l s g"),
    ("struct", "o l r f u x d p c"),
    ("swap", ""),
    ("sym", "l M m p n q"),
    ("sys", "c t i"),
    ("task", "R d x"),
    ("timer", "r C"),
    ("union", "o l r f u x d p c"),
    ("vm", "p P M v m x d R f"),
    ("vtop", "c u k"),
    ("waitq", ""),
    ("whatis", "o r m"),
    ("wr", "u k p 8 16 32 64"),
    ("rustfilt", ""),
];

#[cfg(test)]
mod tests {
    use super::super::{find, FlagName};
    use super::CRASH_COMMANDS;

    #[test]
    fn every_crash_command_and_flag_is_in_the_table() {
        let mut missing = Vec::new();
        for &(name, flags) in CRASH_COMMANDS {
            let Some(c) = find(name) else {
                missing.push(name.to_string());
                continue;
            };
            for f in flags.split_whitespace() {
                let flag = match f.parse::<u32>() {
                    Ok(_) => FlagName::Word(f),
                    Err(_) => FlagName::Letter(f.chars().next().unwrap()),
                };
                if c.flag(flag).is_none() {
                    missing.push(format!("{name} {flag}"));
                }
            }
        }
        assert!(missing.is_empty(), "not in the command table: {missing:?}");
    }
}
