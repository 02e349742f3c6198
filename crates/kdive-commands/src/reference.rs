//! A `-R REF` reference as crash's `vm -R` and `files -R` take it: a number (hexadecimal,
//! and decimal too when it reads as one) or a file name component.

use crate::rd::parse_hex;

/// A `-R` reference.
pub(crate) struct Reference<'a> {
    /// The reference as typed.
    pub text: &'a str,
    /// Its value read as hexadecimal.
    pub hex: Option<u64>,
    /// Its value read as decimal, when it reads as one.
    pub decimal: Option<u64>,
}

impl<'a> Reference<'a> {
    pub fn new(text: &'a str) -> Reference<'a> {
        Reference {
            text,
            hex: parse_hex(text),
            decimal: text.parse().ok(),
        }
    }

    /// Whether `v` is the reference read as hexadecimal.
    pub fn is(&self, v: u64) -> bool {
        self.hex == Some(v)
    }

    /// crash's descriptor rule (`files -R`, `net -R`): a decimal number up to the table's
    /// `max_fds` is a descriptor; another number, read as hexadecimal, the descriptor or one
    /// of the addresses.
    pub fn descriptor(&self, max_fds: u64, fd: u64, addresses: &[u64]) -> bool {
        match self.decimal {
            Some(d) if d <= max_fds => fd == d,
            _ => self.is(fd) || addresses.iter().any(|&a| self.is(a)),
        }
    }

    /// crash's `FILENAME_COMPONENT`: `/` matches only `/`; another string matches a path
    /// that contains it.
    pub fn names(&self, path: Option<&str>) -> bool {
        match path {
            Some(p) if !p.is_empty() => {
                (p == "/" && self.text == "/") || (self.text != "/" && p.contains(self.text))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_filename_component() {
        let r = Reference::new("busybox");
        assert!(r.names(Some("/bin/busybox")));
        assert!(!r.names(None));
        assert!(!Reference::new("/").names(Some("/bin/busybox")));
        assert!(Reference::new("/").names(Some("/")));
        let n = Reference::new("10");
        assert_eq!((n.hex, n.decimal), (Some(0x10), Some(10)));
        assert_eq!(Reference::new("ff").decimal, None);
        // 10 is descriptor 10 in a table of 64, 0x10 past a table of 8
        assert!(n.descriptor(64, 10, &[0x10]) && !n.descriptor(64, 16, &[]));
        assert!(n.descriptor(8, 16, &[]) && n.descriptor(8, 3, &[0x10]));
        assert!(Reference::new("ff").descriptor(1024, 3, &[0xff]));
    }
}
