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
    /// `-T`: each instruction's bytes under it.
    #[serde(default)]
    pub opcodes: bool,
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
    /// `-t`/`-T`: the translated instructions, one per line (a 64-bit load's two slots in one).
    pub instructions: Option<Vec<kdive_linux::bpf_insn::InsnLine>>,
    /// `-s`: `struct bpf_prog` and `struct bpf_prog_aux`, as `struct` gives them.
    pub structures: Option<Vec<StructDump>>,
    /// `-j`: the JITed image disassembled as `dis` does (no instructions when the program
    /// was not JITed).
    pub jited: Option<crate::dis::Dis>,
}

/// The machine code in `[start, start + len)` as `dis` shows it: `dis START LEN` (no
/// instruction is shorter than a byte), cut at the end of the range.
pub fn disassemble_range(
    s: &Session,
    start: u64,
    len: u64,
) -> Result<crate::dis::Dis, CommandError> {
    let r = crate::dis::run(s, &[format!("{start:#x}"), len.max(1).to_string()])?;
    let mut d: crate::dis::Dis = serde_json::from_value(r.json()).map_err(|e| {
        CommandError::Unavailable(format!("bpf: the disassembly of {start:#x}: {e}"))
    })?;
    let end = start.saturating_add(len);
    d.instructions.retain(|i| i.at.address < end);
    Ok(d)
}

/// A structure `bpf -s` shows: `struct`'s result for it.
#[derive(Debug, Serialize, Deserialize)]
pub struct StructDump {
    pub result: serde_json::Value,
    /// Its text, as `struct` prints it.
    #[serde(skip)]
    text: String,
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
    /// `-s`: `struct bpf_map`, as `struct` gives it.
    pub structures: Option<Vec<StructDump>>,
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
    let prog_chosen = prog_id.is_some() || f.has('P');
    let usage = |m: &str| Err(CommandError::Usage(format!("bpf: {m}")));
    if f.has('j') && !prog_chosen {
        return usage("-j option only applicable with -p or -P");
    }
    if (f.has('t') || f.has('T')) && !prog_chosen {
        return usage("-t option only applicable with -p or -P");
    }
    if f.has('s') && !(prog_chosen || map_id.is_some() || f.has('M')) {
        return usage("-s option requires either -p, -P, -m or -M");
    }
    if f.has('x') && f.has('d') {
        return usage("-d and -x are mutually exclusive");
    }
    if (f.has('x') || f.has('d')) && !f.has('s') {
        return usage(&format!(
            "-{} option requires -s",
            if f.has('x') { 'x' } else { 'd' }
        ));
    }
    let radix = if f.has('x') {
        " -x"
    } else if f.has('d') {
        " -d"
    } else {
        ""
    };
    let dump = |spec: &str, addr: u64| -> Result<StructDump, CommandError> {
        let r = crate::run(s, &format!("struct {spec} {addr:#x}{radix}"))?;
        Ok(StructDump {
            result: r.json(),
            text: r.text(),
        })
    };
    let names = kdive_linux::bpf::KernelNames {
        prog,
        maps: Vec::new(),
    };
    let big_endian = s.dump().meta().endian == kdive_dump::Endian::Big;
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
    let names = kdive_linux::bpf::KernelNames {
        maps: maps.iter().map(|m| (m.addr, m.id)).collect(),
        ..names
    };
    let mut problems = problems;
    let mut programs = Vec::new();
    for p in progs
        .iter()
        .filter(|p| do_progs && (f.has('P') || prog_id.is_none_or(|i| i == p.id)))
    {
        let instructions = if f.has('t') || f.has('T') {
            match kdive_linux::bpf::prog_insns(prog, p) {
                Ok(code) => Some(kdive_linux::bpf_insn::disassemble(
                    &code, big_endian, &names,
                )),
                Err(e) => {
                    problems.push(format!("program {}: instructions: {e}", p.id));
                    None
                }
            }
        } else {
            None
        };
        let jited = match (f.has('j'), p.jited_len) {
            (false, _) => None,
            (true, 0) => Some(crate::dis::Dis {
                arch: String::new(),
                options: Default::default(),
                instructions: Vec::new(),
                source: None,
                stopped_by: None,
            }),
            (true, n) => Some(disassemble_range(s, p.bpf_func, n)?),
        };
        let structures = if f.has('s') {
            Some(vec![
                dump("bpf_prog", p.addr)?,
                dump("bpf_prog_aux", p.aux)?,
            ])
        } else {
            None
        };
        programs.push(BpfProgRow {
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
            instructions,
            structures,
            jited,
        });
    }
    let programs = do_progs.then_some(programs);
    let mut maps_out = Vec::new();
    for m in maps
        .iter()
        .filter(|m| do_maps && (f.has('M') || map_id.is_none_or(|i| i == m.id)))
    {
        maps_out.push(BpfMapRow {
            id: m.id,
            bpf_map: m.addr,
            kind: m.kind.clone(),
            map_flags: m.flags,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            name: m.name.clone(),
            structures: if f.has('s') {
                Some(vec![dump("bpf_map", m.addr)?])
            } else {
                None
            },
        });
    }
    let maps_out = do_maps.then_some(maps_out);
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
            opcodes: f.has('T'),
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
                if let Some(d) = &p.jited {
                    writeln!(w)?;
                    if d.instructions.is_empty() {
                        writeln!(w, "(program not jited)")?;
                    } else {
                        d.write_text(&TextOptions::default(), w)?;
                    }
                }
                if let Some(insns) = &p.instructions {
                    writeln!(w)?;
                    write_instructions(w, insns, o.opcodes)?;
                }
                write_structures(w, p.structures.as_deref())?;
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
                write_structures(w, m.structures.as_deref())?;
            }
        }
        for p in &self.problems {
            writeln!(w, "bpf: {p}")?;
        }
        Ok(())
    }
}

/// crash's translated-code lines: `   0: (bf) r6 = r1`, with `-T` each instruction's bytes
/// under it (both slots of a 64-bit load).
fn write_instructions(
    w: &mut dyn Write,
    insns: &[kdive_linux::bpf_insn::InsnLine],
    opcodes: bool,
) -> io::Result<()> {
    for i in insns {
        // printf's "% 4d": a blank for the sign, the whole at least 4 wide
        writeln!(w, "{:>4}: {}", format!(" {}", i.index), i.text)?;
        if opcodes {
            let hex: Vec<String> = i.bytes.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(w, "       {}", hex.join(" "))?;
        }
    }
    Ok(())
}

/// `-s`: each structure after a blank line.
fn write_structures(w: &mut dyn Write, dumps: Option<&[StructDump]>) -> io::Result<()> {
    for d in dumps.unwrap_or_default() {
        writeln!(w)?;
        w.write_all(d.text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_instructions;
    use kdive_linux::bpf_insn::{disassemble, NoNames};

    #[test]
    fn listing_lines_and_bytes() {
        // r6 = r1; r1 = 0x1 (64-bit load, two slots); exit
        let mut code = vec![0xbf, 0x16, 0, 0, 0, 0, 0, 0];
        code.extend([0x18, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        code.extend([0x95, 0, 0, 0, 0, 0, 0, 0]);
        let insns = disassemble(&code, false, &NoNames);
        let mut out = Vec::new();
        write_instructions(&mut out, &insns, true).unwrap();
        // printf("% 4d: "), then the bytes as "%02x" joined by blanks after 7 blanks
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "   0: (bf) r6 = r1\n       bf 16 00 00 00 00 00 00\n\
             \x20  1: (18) r1 = 0x1\n       18 01 00 00 01 00 00 00 00 00 00 00 00 00 00 00\n\
             \x20  3: (95) exit\n       95 00 00 00 00 00 00 00\n"
        );
        let mut out = Vec::new();
        write_instructions(&mut out, &insns[..1], false).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "   0: (bf) r6 = r1\n");
    }
}
