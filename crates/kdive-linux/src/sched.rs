//! The scheduler's per-CPU runqueues: the running task, and the tasks queued in the RT priority
//! arrays and the CFS tree (group entities followed into their own queues).

use std::collections::HashSet;

use kdive_program::object::offset_of;
use kdive_program::{Program, Result};

use crate::list::list_entries;
use crate::rbtree::inorder;
use crate::task::runqueue;

/// Deepest nesting of CFS group queues followed.
const MAX_GROUP_DEPTH: usize = 16;
/// Number of RT priorities (`MAX_RT_PRIO`), used when the types do not size the array.
const MAX_RT_PRIO: u64 = 100;

/// A queued task: its priority (the RT queue's index, a CFS task's `prio`) and `task_struct`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Queued {
    pub prio: i64,
    pub task: u64,
}

/// One CPU's runqueue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunQueue {
    pub cpu: u32,
    /// Address of its `struct rq`.
    pub addr: u64,
    /// `rq->curr`.
    pub curr: u64,
    /// Address of `rq->rt.active` (`struct rt_prio_array`).
    pub rt_array: u64,
    pub rt: Vec<Queued>,
    /// Address of `rq->cfs.tasks_timeline`.
    pub cfs_root: u64,
    pub cfs: Vec<Queued>,
    /// What could not be read.
    pub problems: Vec<String>,
}

/// The runqueue of `cpu`, with every queued task found.
pub fn read_runqueue(prog: &Program, cpu: u32, limit: usize) -> Result<RunQueue> {
    let rq = runqueue(prog, cpu)?;
    let rt_active = rq.member("rt")?.member("active")?;
    let timeline = rq.member("cfs")?.member("tasks_timeline")?;
    let mut out = RunQueue {
        cpu,
        addr: rq.address().unwrap_or(0),
        curr: rq.member("curr")?.read_u64()?,
        rt_array: rt_active.address().unwrap_or(0),
        rt: Vec::new(),
        cfs_root: timeline.address().unwrap_or(0),
        cfs: Vec::new(),
        problems: Vec::new(),
    };
    let task_ty = prog.type_("struct task_struct")?;
    let prio_of = |task: u64| -> i64 {
        prog.object("struct task_struct", task)
            .and_then(|t| t.member("prio"))
            .and_then(|p| p.read_i64())
            .unwrap_or(-1)
    };
    // RT: one list of sched_rt_entity per priority
    let rt_off = offset_of(prog, task_ty, "rt")?;
    let queues = rt_active.member("queue")?;
    let (qaddr, qlen) = (
        queues.address().unwrap_or(0),
        queues.array_len().unwrap_or(MAX_RT_PRIO),
    );
    let head_size = prog.types().size_of(prog.type_("struct list_head")?)?;
    // one budget for all the queues (and another for the CFS trees)
    let mut budget = limit;
    for prio in 0..qlen.min(MAX_RT_PRIO) {
        if budget == 0 {
            out.problems
                .push(format!("RT queues of CPU {cpu}: more than {limit} entries"));
            break;
        }
        let head = qaddr.wrapping_add(prio.wrapping_mul(head_size));
        match list_entries(prog, head, "struct sched_rt_entity", "run_list", budget) {
            Ok((entries, err)) => {
                budget = budget.saturating_sub(entries.len());
                out.rt.extend(entries.into_iter().map(|se| Queued {
                    prio: prio as i64,
                    task: se.wrapping_sub(rt_off),
                }));
                if let Some(e) = err {
                    out.problems
                        .push(format!("RT queue {prio} of CPU {cpu}: {e}"));
                }
            }
            Err(e) => out
                .problems
                .push(format!("RT queue {prio} of CPU {cpu}: {e}")),
        }
    }
    // CFS: the tree of sched_entity, a group's entity leading into its own queue
    let se_ty = prog.type_("struct sched_entity")?;
    let node_off = offset_of(prog, se_ty, "run_node")?;
    let se_off = offset_of(prog, task_ty, "se")?;
    let has_my_q = prog.types().has_member(se_ty, "my_q");
    let mut trees = vec![(
        timeline.member("rb_root")?.member("rb_node")?.read_u64()?,
        0usize,
    )];
    // every queue once (a group entity leading back to a queue seen is a loop), one budget
    let mut queues_seen = HashSet::new();
    let mut budget = limit;
    while let Some((root, depth)) = trees.pop() {
        if !queues_seen.insert(root) {
            out.problems.push(format!(
                "CFS tree of CPU {cpu}: group queue {root:#x} reached twice"
            ));
            continue;
        }
        if budget == 0 {
            out.problems.push(format!(
                "CFS trees of CPU {cpu}: more than {limit} entities"
            ));
            break;
        }
        let (nodes, err) = inorder(prog, root, budget)?;
        budget = budget.saturating_sub(nodes.len());
        if let Some(e) = err {
            out.problems.push(format!("CFS tree of CPU {cpu}: {e}"));
        }
        for n in nodes {
            let se = n.wrapping_sub(node_off);
            let my_q = if has_my_q {
                prog.object("struct sched_entity", se)
                    .and_then(|o| o.member("my_q"))
                    .and_then(|q| q.read_u64())
                    .unwrap_or(0)
            } else {
                0
            };
            if my_q == 0 {
                let task = se.wrapping_sub(se_off);
                out.cfs.push(Queued {
                    prio: prio_of(task),
                    task,
                });
            } else if depth < MAX_GROUP_DEPTH {
                match prog
                    .object("struct cfs_rq", my_q)
                    .and_then(|q| q.member("tasks_timeline"))
                    .and_then(|t| t.member("rb_root"))
                    .and_then(|r| r.member("rb_node"))
                    .and_then(|n| n.read_u64())
                {
                    Ok(r) => trees.push((r, depth + 1)),
                    Err(e) => out.problems.push(format!("CFS group queue {my_q:#x}: {e}")),
                }
            }
        }
    }
    Ok(out)
}
