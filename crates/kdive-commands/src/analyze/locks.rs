//! The waits-for graph of a hung-task dump: every task in D state, the mutex or rw_semaphore
//! it sleeps on, that lock's owner and what the owner is doing, and the deadlock cycles.

use std::collections::{BTreeMap, HashSet};

use kdive_linux::locks::{waited_lock, LockKind};
use kdive_linux::stack::BacktraceContext;
use kdive_oops::machinery::is_machinery;
use serde::{Deserialize, Serialize};

use super::{stack_of, TaskRef};
use crate::Session;

/// D-state tasks looked at, at most.
const MAX_BLOCKED: usize = 64;
/// `TASK_UNINTERRUPTIBLE`.
const TASK_UNINTERRUPTIBLE: u64 = 0x2;

/// One blocked task and the lock it waits on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockWait {
    pub task: TaskRef,
    /// `mutex` or `rw_semaphore`.
    pub kind: String,
    #[serde(with = "crate::hex")]
    pub lock: u64,
    /// `fixture_mutex [hung]`, `sb_writers+0x48`, when the lock is in a symbol.
    pub lock_symbol: Option<String>,
    /// The owner, as the lock records it (without flag bits).
    #[serde(with = "crate::hex_opt")]
    pub owner: Option<u64>,
    /// The owner as a task of the dump; None when it is no live task (it exited holding the lock).
    pub owner_task: Option<TaskRef>,
    /// The owner's first frame that is not machinery (what it is doing).
    pub owner_function: Option<String>,
    /// An rw_semaphore held by readers: the owner is only the last reader.
    pub reader_owned: bool,
}

/// Every D-state task's lock, and the cycles of the waits-for graph (each a list of pids).
pub fn waits_for(s: &Session, problems: &mut Vec<String>) -> (Vec<LockWait>, Vec<Vec<i32>>) {
    let (Ok(prog), Ok(tasks)) = (s.kernel(), s.tasks()) else {
        return (Vec::new(), Vec::new());
    };
    let ctx = BacktraceContext::new(prog, &tasks.list.active);
    let all: HashSet<u64> = tasks.infos.iter().map(|t| t.addr).collect();
    let by_addr: BTreeMap<u64, &kdive_linux::task::TaskInfo> =
        tasks.infos.iter().map(|t| (t.addr, t)).collect();
    let tref = |t: &kdive_linux::task::TaskInfo| TaskRef {
        pid: t.pid,
        comm: t.comm.clone(),
        task: Some(t.addr),
        cpu: Some(t.cpu),
    };
    let blocked = tasks
        .infos
        .iter()
        .filter(|t| t.state & TASK_UNINTERRUPTIBLE != 0 && t.exit_state == 0)
        .take(MAX_BLOCKED);
    let mut waits = Vec::new();
    for t in blocked {
        let Some(bt) = stack_of(s, t.pid) else {
            continue;
        };
        let names: Vec<&str> = bt
            .frames
            .iter()
            .filter_map(|f| f.function.as_deref())
            .collect();
        let kind = if names.iter().any(|n| {
            n.starts_with("rwsem_down") || n.starts_with("down_read") || n.starts_with("down_write")
        }) {
            LockKind::RwSemaphore
        } else if names.iter().any(|n| n.contains("mutex_lock")) {
            LockKind::Mutex
        } else {
            continue;
        };
        let w = match waited_lock(prog, &ctx, t.addr, kind, &all) {
            Ok(Some(w)) => w,
            Ok(None) => continue,
            Err(e) => {
                problems.push(format!("the lock {} (pid {}) waits on: {e}", t.comm, t.pid));
                continue;
            }
        };
        // section markers (`__start_...`) share addresses with the data they bound
        let lock_symbol = prog
            .symbols()
            .by_addr(w.lock)
            .filter(|(sym, _)| {
                !sym.name.starts_with("__start_") && !sym.name.starts_with("__stop_")
            })
            .map(|(sym, off)| {
                let mut name = sym.name.to_string();
                if off != 0 {
                    name += &format!("+{off:#x}");
                }
                if let Some(m) = &sym.module {
                    name += &format!(" [{m}]");
                }
                name
            });
        let owner_info = w.owner.and_then(|o| by_addr.get(&o).copied());
        let owner_function = owner_info.and_then(|o| {
            let bt = stack_of(s, o.pid)?;
            bt.frames
                .iter()
                .filter_map(|f| f.function.clone())
                .find(|n| !is_machinery(n))
        });
        waits.push(LockWait {
            task: tref(t),
            kind: kind.name().to_string(),
            lock: w.lock,
            lock_symbol,
            owner: w.owner,
            owner_task: owner_info.map(tref),
            owner_function,
            reader_owned: w.reader_owned,
        });
    }
    let cycles = cycles(&waits);
    (waits, cycles)
}

/// The cycles of task → owner edges, each once (as pids, starting from its smallest).
fn cycles(waits: &[LockWait]) -> Vec<Vec<i32>> {
    let edge: BTreeMap<u64, u64> = waits
        .iter()
        .filter_map(|w| Some((w.task.task?, w.owner_task.as_ref()?.task?)))
        .collect();
    let pid: BTreeMap<u64, i32> = waits
        .iter()
        .flat_map(|w| [Some(&w.task), w.owner_task.as_ref()])
        .flatten()
        .filter_map(|t| Some((t.task?, t.pid)))
        .collect();
    let mut out: Vec<Vec<i32>> = Vec::new();
    for &start in edge.keys() {
        let mut path = vec![start];
        let mut cur = start;
        while let Some(&next) = edge.get(&cur) {
            if next == start {
                let mut c: Vec<i32> = path.iter().filter_map(|t| pid.get(t).copied()).collect();
                if let Some(i) = c
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, p)| **p)
                    .map(|(i, _)| i)
                {
                    c.rotate_left(i);
                }
                if !out.contains(&c) {
                    out.push(c);
                }
                break;
            }
            if path.contains(&next) || path.len() > edge.len() {
                break;
            }
            path.push(next);
            cur = next;
        }
    }
    out
}

/// `COMM (pid N) waits on mutex SYMBOL at 0x…, owned by …`
pub fn describe(w: &LockWait) -> String {
    let what = w
        .lock_symbol
        .clone()
        .unwrap_or_else(|| format!("{:#x}", w.lock));
    let at = if w.lock_symbol.is_some() {
        format!(" at {:#x}", w.lock)
    } else {
        String::new()
    };
    let owner = match (&w.owner_task, w.owner) {
        (Some(o), _) => {
            let doing = w
                .owner_function
                .as_ref()
                .map(|f| format!(", in {f}"))
                .unwrap_or_default();
            let readers = if w.reader_owned { " (last reader)" } else { "" };
            format!("owned by {} (pid {}){readers}{doing}", o.comm, o.pid)
        }
        (None, Some(o)) => format!("owned by {o:#x}, no live task (it exited holding the lock)"),
        (None, None) => "with no owner recorded".into(),
    };
    format!(
        "{} (pid {}) waits on {} {what}{at}, {owner}",
        w.task.comm, w.task.pid, w.kind
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pid: i32) -> TaskRef {
        TaskRef {
            pid,
            comm: format!("t{pid}"),
            task: Some(0x1000 * pid as u64),
            cpu: None,
        }
    }

    fn w(pid: i32, owner: Option<i32>) -> LockWait {
        LockWait {
            task: t(pid),
            kind: "mutex".into(),
            lock: 0x100,
            lock_symbol: None,
            owner: owner.map(|o| 0x1000 * o as u64),
            owner_task: owner.map(t),
            owner_function: None,
            reader_owned: false,
        }
    }

    #[test]
    fn deadlock_cycles() {
        // 3 -> 5 -> 3 is a deadlock; 7 waits on 3 but is not in the cycle; 9's owner is gone
        let waits = [w(5, Some(3)), w(3, Some(5)), w(7, Some(3)), w(9, None)];
        assert_eq!(cycles(&waits), vec![vec![3, 5]]);
        assert!(cycles(&[w(7, Some(3)), w(3, None)]).is_empty());
        assert!(describe(&waits[3]).contains("no owner recorded"));
    }
}
