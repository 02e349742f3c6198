//! `waitq`: the tasks waiting on a wait queue, given by symbol, address, or a structure's
//! member at an address.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::task_header;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `waitq` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Waitq {
    /// The symbol named, if one was.
    pub name: Option<String>,
    /// The `wait_queue_head_t`.
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub waiters: Vec<Waiter>,
    /// Why the walk stopped early, if it did.
    pub error: Option<String>,
}

/// A task waiting.
#[derive(Debug, Serialize, Deserialize)]
pub struct Waiter {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
}

/// Runs `waitq`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::WAITQ, args)?;
    let prog = s.kernel()?;
    let usage = |m: String| CommandError::Usage(format!("waitq: {m}"));
    let (name, address) = match f.positional.as_slice() {
        [w] if w.contains('.') => return Err(usage(format!("must supply an address for {w}"))),
        [w] => match u64::from_str_radix(w.trim_start_matches("0x"), 16) {
            Ok(a) if prog.symbols().by_name(w).is_none() => (None, a),
            _ => (
                Some(w.clone()),
                prog.symbol_address(w)
                    .map_err(|_| usage(format!("invalid symbol or address: {w}")))?,
            ),
        },
        [spec, at] => {
            let (ty, member) = spec
                .split_once('.')
                .ok_or_else(|| usage(format!("{spec}: not a structure.member")))?;
            let base = u64::from_str_radix(at.trim_start_matches("0x"), 16)
                .map_err(|_| usage(format!("invalid address: {at}")))?;
            let id = crate::structs::find_aggregate(prog, ty, None)
                .ok_or_else(|| usage(format!("invalid structure: {ty}")))?;
            let off = kdive_program::object::offset_of(prog, id, member)
                .map_err(|_| usage(format!("{member} is not a member of {ty}")))?;
            (None, base.wrapping_add(off))
        }
        _ => return Err(usage("which wait queue?".into())),
    };
    let (tasks, error) = kdive_linux::wait::waiters(prog, address, s.walk_limit).map_err(|e| {
        CommandError::Program {
            cmd: "waitq",
            source: e,
        }
    })?;
    let infos = &s.tasks()?.infos;
    let mut waiters = Vec::new();
    for t in tasks {
        // crash stops at the first entry that is not a task's (a custom wake function's data)
        let Some(i) = infos.iter().find(|i| i.addr == t) else {
            break;
        };
        waiters.push(Waiter {
            pid: i.pid,
            task: i.addr,
            cpu: i.cpu,
            comm: i.comm.clone(),
        });
    }
    Ok(Box::new(Waitq {
        name,
        address,
        waiters,
        error,
    }))
}

impl Report for Waitq {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        if self.waiters.is_empty() {
            match &self.name {
                Some(n) => writeln!(w, "wait queue \"{n}\" ({:x}) is empty", self.address)?,
                None => writeln!(w, "wait queue {:x} is empty", self.address)?,
            }
        }
        for t in &self.waiters {
            writeln!(w, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
        }
        if let Some(e) = &self.error {
            writeln!(w, "waitq: {e}")?;
        }
        Ok(())
    }
}
