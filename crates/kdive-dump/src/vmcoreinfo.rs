//! VMCOREINFO: the `KEY=value` note the kernel leaves for dump tools.

use std::collections::BTreeMap;

/// Parsed VMCOREINFO. Keys keep their full spelling (`SYMBOL(init_uts_ns)`, `OFFSET(list_head.next)`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VmcoreInfo {
    entries: BTreeMap<String, String>,
}

impl VmcoreInfo {
    /// Parses the note text; malformed lines are skipped.
    pub fn parse(text: &str) -> VmcoreInfo {
        let entries = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_string(),
                    v.trim_end_matches('\0').trim().to_string(),
                )
            })
            .filter(|(k, _)| !k.is_empty())
            .collect();
        VmcoreInfo { entries }
    }

    /// All entries, sorted by key.
    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.entries
    }

    /// A raw value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// `OSRELEASE`.
    pub fn osrelease(&self) -> Option<&str> {
        self.get("OSRELEASE")
    }

    /// `PAGESIZE`.
    pub fn page_size(&self) -> Option<u64> {
        self.get("PAGESIZE")?.parse().ok()
    }

    /// `SYMBOL(name)`: a runtime (relocated) address, hex in the note.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.hex(&format!("SYMBOL({name})"))
    }

    /// `SIZE(name)`, decimal.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.get(&format!("SIZE({name})"))?.parse().ok()
    }

    /// `OFFSET(struct.member)`, decimal.
    pub fn offset(&self, name: &str) -> Option<u64> {
        self.get(&format!("OFFSET({name})"))?.parse().ok()
    }

    /// `LENGTH(name)`, decimal.
    pub fn length(&self, name: &str) -> Option<u64> {
        self.get(&format!("LENGTH({name})"))?.parse().ok()
    }

    /// `NUMBER(name)`: decimal, or hex with `0x`, possibly negative.
    pub fn number(&self, name: &str) -> Option<i64> {
        let v = self.get(&format!("NUMBER({name})"))?;
        match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok().map(|x| x as i64),
            None => v.parse().ok(),
        }
    }

    /// `KERNELOFFSET` (KASLR slide), hex.
    pub fn kernel_offset(&self) -> Option<u64> {
        self.hex("KERNELOFFSET")
    }

    /// `BUILD-ID`, hex string.
    pub fn build_id(&self) -> Option<&str> {
        self.get("BUILD-ID")
    }

    /// A value that is hex without a prefix (`SYMBOL`, `KERNELOFFSET`, `ADDRESS`).
    pub fn hex(&self, key: &str) -> Option<u64> {
        let v = self.get(key)?;
        u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        let v = VmcoreInfo::parse(
            "OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff82e13e20\nOFFSET(list_head.next)=0\nNUMBER(phys_base)=-1\nKERNELOFFSET=2d600000\ngarbage\n",
        );
        assert_eq!(v.osrelease(), Some("6.1.0"));
        assert_eq!(v.page_size(), Some(4096));
        assert_eq!(v.symbol("init_uts_ns"), Some(0xffffffff82e13e20));
        assert_eq!(v.offset("list_head.next"), Some(0));
        assert_eq!(v.number("phys_base"), Some(-1));
        assert_eq!(v.kernel_offset(), Some(0x2d600000));
        assert_eq!(v.entries().len(), 6);
    }
}
