//! `bpf`: the BPF programs and maps loaded in the kernel; `-p`/`-m` one of them and `-P`/`-M`
//! all of them in full.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::center;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `bpf` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bpf {
    /// null when programs were not asked for.
    pub programs: Option<Vec<BpfProgRow>>,
    pub maps: Option<Vec<BpfMapRow>>,
    pub options: BpfOptions,
    pub problems: Vec<String>,
}

/// How `bpf` prints.
#[derive(Debug, Serialize, Deserialize)]
pub struct BpfOptions {
    /// `-p`/`-P`, `-m`/`-M`: each entry's details under it.
    pub program_details: bool,
    pub map_details: bool,
    /// Widths of the type columns: crash sizes them by the longest type name (programs at 13
    /// at most).
    pub prog_type_width: usize,
    pub map_type_width: usize,
}

/// One program.
#[derive(Debug, Serialize, Deserialize)]
pub struct BpfProgRow {
    pub id: u64,
    #[serde(with = "crate::hex")]
    pub bpf_prog: u64,
    #[serde(with = "crate::hex")]
    pub bpf_prog_aux: u64,
    #[serde(rename = "type")]
    pub kind: String,
    /// Hex of the program's 8-byte tag.
    pub tag: String,
    /// The IDs of the maps it uses.
    pub used_maps: Vec<u64>,
    pub xlated_bytes: u64,
    pub jited_bytes: u64,
    /// Nanoseconds since boot it was loaded at.
    pub load_time_ns: Option<u64>,
    pub gpl_compatible: Option<bool>,
    pub name: String,
    pub uid: Option<u32>,
}

/// One map.
#[derive(Debug, Serialize, Deserialize)]
pub struct BpfMapRow {
    pub id: u64,
    #[serde(with = "crate::hex")]
    pub bpf_map: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub map_flags: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub name: String,
}

/// Runs `bpf`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::BPF, args)?;
    let prog = s.kernel()?;
    let id = |c: char| -> Result<Option<u64>, CommandError> {
        f.value(c)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| CommandError::Usage(format!("bpf: invalid ID: {v}")))
            })
            .transpose()
    };
    let (prog_id, map_id) = (id('p')?, id('m')?);
    let (progs_detail, maps_detail) = (
        prog_id.is_some() || f.has('P'),
        map_id.is_some() || f.has('M'),
    );
    let (do_progs, do_maps) = if progs_detail || maps_detail {
        (progs_detail, maps_detail)
    } else {
        (true, true)
    };
    let (progs, maps, problems) =
        kdive_linux::bpf::bpf_objects(prog, s.walk_limit).map_err(|e| CommandError::Program {
            cmd: "bpf",
            source: e,
        })?;
    for (want, found, what) in [
        (
            prog_id,
            progs.iter().any(|p| Some(p.id) == prog_id),
            "program",
        ),
        (map_id, maps.iter().any(|m| Some(m.id) == map_id), "map"),
    ] {
        if let (Some(i), false) = (want, found) {
            return Err(CommandError::Usage(format!("bpf: invalid {what} ID: {i}")));
        }
    }
    let map_ids = |addrs: &[u64]| -> Vec<u64> {
        addrs
            .iter()
            .filter_map(|a| maps.iter().find(|m| m.addr == *a).map(|m| m.id))
            .collect()
    };
    let programs = do_progs.then(|| {
        progs
            .iter()
            .filter(|p| f.has('P') || prog_id.is_none_or(|i| i == p.id))
            .map(|p| BpfProgRow {
                id: p.id,
                bpf_prog: p.addr,
                bpf_prog_aux: p.aux,
                kind: p.kind.clone(),
                tag: p.tag.iter().map(|b| format!("{b:02x}")).collect(),
                used_maps: map_ids(&p.used_maps),
                xlated_bytes: p.insn_bytes,
                jited_bytes: p.jited_len,
                load_time_ns: p.load_time_ns,
                gpl_compatible: p.gpl_compatible,
                name: p.name.clone(),
                uid: p.uid,
            })
            .collect()
    });
    let maps_out = do_maps.then(|| {
        maps.iter()
            .filter(|m| f.has('M') || map_id.is_none_or(|i| i == m.id))
            .map(|m| BpfMapRow {
                id: m.id,
                bpf_map: m.addr,
                kind: m.kind.clone(),
                map_flags: m.flags,
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: m.max_entries,
                name: m.name.clone(),
            })
            .collect()
    });
    Ok(Box::new(Bpf {
        programs,
        maps: maps_out,
        options: BpfOptions {
            program_details: progs_detail,
            map_details: maps_detail,
            prog_type_width: kdive_linux::bpf::enum_width(
                prog,
                "enum bpf_prog_type",
                "BPF_PROG_TYPE_",
            )
            .min(13),
            // crash takes the prefix of the program types off the map types' width
            map_type_width: kdive_linux::bpf::enum_width(
                prog,
                "enum bpf_map_type",
                "BPF_MAP_TYPE_",
            )
            .saturating_sub(1),
        },
        problems,
    }))
}

impl Report for Bpf {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        let o = &self.options;
        let name = |n: &str| {
            if n.is_empty() {
                "(unused)".to_string()
            } else {
                format!("\"{n}\"")
            }
        };
        if let Some(progs) = &self.programs {
            let header = format!(
                "{} {} {} {}       TAG        USED_MAPS",
                center("ID", 4, false),
                center("BPF_PROG", 16, false),
                center("BPF_PROG_AUX", 16, false),
                center("BPF_PROG_TYPE", o.prog_type_width, false)
            );
            for (i, p) in progs.iter().enumerate() {
                if i == 0 {
                    writeln!(w, "{header}")?;
                } else if o.program_details {
                    writeln!(w, "\n{header}")?;
                }
                let maps: Vec<String> = p.used_maps.iter().map(u64::to_string).collect();
                writeln!(
                    w,
                    "{} {} {} {} {} {} ",
                    center(&p.id.to_string(), 4, false),
                    center(&format!("{:x}", p.bpf_prog), 16, false),
                    center(&format!("{:x}", p.bpf_prog_aux), 16, false),
                    center(&p.kind, o.prog_type_width, false),
                    p.tag,
                    center(&maps.join(","), "USED_MAPS".len(), false)
                )?;
                if o.program_details {
                    writeln!(
                        w,
                        "     XLATED: {}  JITED: {}  MEMLOCK: (unknown)",
                        p.xlated_bytes, p.jited_bytes
                    )?;
                    match p.load_time_ns {
                        Some(t) => writeln!(w, "     LOAD_TIME: {t} ns after boot")?,
                        None => writeln!(w, "     LOAD_TIME: (unknown)")?,
                    }
                    let gpl = match p.gpl_compatible {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "(unknown)",
                    };
                    let uid = p.uid.map_or("(unknown)".to_string(), |u| u.to_string());
                    writeln!(
                        w,
                        "     GPL_COMPATIBLE: {gpl}  NAME: {}  UID: {uid}",
                        name(&p.name)
                    )?;
                }
            }
            if self.maps.is_some() {
                writeln!(w)?;
            }
        }
        if let Some(maps) = &self.maps {
            let header = format!(
                "{} {} {} MAP_FLAGS",
                center("ID", 4, false),
                center("BPF_MAP", 16, false),
                center("BPF_MAP_TYPE", o.map_type_width, false)
            );
            for (i, m) in maps.iter().enumerate() {
                if i == 0 {
                    writeln!(w, "{header}")?;
                } else if o.map_details {
                    writeln!(w, "\n{header}")?;
                }
                writeln!(
                    w,
                    "{} {} {}  {:08x} ",
                    center(&m.id.to_string(), 4, false),
                    center(&format!("{:x}", m.bpf_map), 16, false),
                    center(&m.kind, o.map_type_width, false),
                    m.map_flags
                )?;
                if o.map_details {
                    writeln!(
                        w,
                        "     KEY_SIZE: {}  VALUE_SIZE: {}  MAX_ENTRIES: {}  MEMLOCK: (unknown)",
                        m.key_size, m.value_size, m.max_entries
                    )?;
                    writeln!(w, "     NAME: {}  UID: (unused)", name(&m.name))?;
                }
            }
        }
        for p in &self.problems {
            writeln!(w, "bpf: {p}")?;
        }
        Ok(())
    }
}
