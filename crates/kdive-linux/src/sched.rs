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

/// One entry of a group run queue: a task, or a task group's own queue.
#[derive(Debug, Clone, serde::Serialize)]
pub enum GroupEntry {
    /// A task: its priority (`prio` for CFS, the queue's index for RT), and whether it is the
    /// queue's running task (CFS's `curr`, which is not in the tree).
    Task { task: u64, prio: i64, current: bool },
    /// A task group's queue, under the RT priority it is queued at (CFS: none).
    Group {
        prio: Option<i64>,
        queue: GroupQueue,
    },
}

/// A CFS (`struct cfs_rq`) or RT (`struct rt_rq`) queue of a task group on one CPU.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupQueue {
    pub addr: u64,
    /// Its `struct task_group`.
    pub group: u64,
    /// The group's cgroup name (`/` for the root), when readable.
    pub name: Option<String>,
    pub throttled: bool,
    pub entries: Vec<GroupEntry>,
}

/// The root task group (`root_task_group`, `init_task_group` on old kernels).
pub fn root_task_group(prog: &Program) -> Result<u64> {
    prog.symbol_address("root_task_group")
        .or_else(|_| prog.symbol_address("init_task_group"))
}

/// A task group's queue of one CPU: `tg->cfs_rq[cpu]` (`kind` = `cfs_rq`) or `tg->rt_rq[cpu]`;
/// `None` when the kernel has no such group scheduling.
pub fn group_queue_of(prog: &Program, tg: u64, kind: &str, cpu: u32) -> Result<Option<u64>> {
    let tg_ty = prog.type_("struct task_group")?;
    if !prog.types().has_member(tg_ty, kind) {
        return Ok(None);
    }
    let array = prog
        .object("struct task_group", tg)?
        .member(kind)?
        .read_u64()?;
    if array == 0 {
        return Ok(None);
    }
    Ok(Some(prog.read_u64(array.wrapping_add(8 * u64::from(cpu)))?))
}

/// A task group's name: its cgroup's kernfs node name, `/` for the root cgroup.
pub fn task_group_name(prog: &Program, tg: u64) -> Option<String> {
    let cgroup = prog
        .object("struct task_group", tg)
        .and_then(|g| g.member("css.cgroup")?.read_u64())
        .ok()
        .filter(|&c| c != 0)?;
    let kn = prog
        .object("struct cgroup", cgroup)
        .and_then(|c| c.member("kn")?.read_u64())
        .ok()
        .filter(|&k| k != 0)?;
    let node = prog.object("struct kernfs_node", kn).ok()?;
    // the parent became `__parent` in 6.15
    let parent = node
        .member("parent")
        .or_else(|_| node.member("__parent"))
        .and_then(|p| p.read_u64())
        .ok()?;
    if parent == 0 {
        return Some("/".into());
    }
    node.member("name").and_then(|n| n.read_string(256)).ok()
}

/// Walks group run queues, bounded: how many entries may still be read, the queues seen.
struct GroupWalk<'p> {
    prog: &'p Program,
    budget: usize,
    limit: usize,
    seen: HashSet<u64>,
    problems: Vec<String>,
}

impl<'p> GroupWalk<'p> {
    /// A walk of at most `limit` queues and entities.
    fn new(prog: &'p Program, limit: usize) -> GroupWalk<'p> {
        GroupWalk {
            prog,
            budget: limit,
            limit,
            seen: HashSet::new(),
            problems: Vec::new(),
        }
    }

    fn queue(&mut self, addr: u64, ty: &str, group_member: &str) -> GroupQueue {
        let q = self.prog.object(ty, addr);
        let group = q
            .as_ref()
            .ok()
            .and_then(|q| q.member(group_member).ok()?.read_u64().ok())
            .unwrap_or(0);
        let throttled = q
            .as_ref()
            .ok()
            .and_then(|q| {
                q.member("throttled")
                    .or_else(|_| q.member("rt_throttled"))
                    .ok()?
                    .read_u64()
                    .ok()
            })
            .is_some_and(|t| t != 0);
        GroupQueue {
            addr,
            group,
            name: (group != 0)
                .then(|| task_group_name(self.prog, group))
                .flatten(),
            throttled,
            entries: Vec::new(),
        }
    }

    /// A CFS queue: the group entity running (its queue first), the running task, then the tree.
    fn cfs(&mut self, cfs_rq: u64, current: u64, depth: usize) -> Result<GroupQueue> {
        let prog = self.prog;
        let mut out = self.queue(cfs_rq, "struct cfs_rq", "tg");
        if !self.seen.insert(cfs_rq) || depth > MAX_GROUP_DEPTH {
            self.problems.push(format!(
                "CFS queue {cfs_rq:#x}: reached twice, or nested too deep"
            ));
            return Ok(out);
        }
        let rq = prog.object("struct cfs_rq", cfs_rq)?;
        let se_ty = prog.type_("struct sched_entity")?;
        let task_ty = prog.type_("struct task_struct")?;
        let se_off = offset_of(prog, task_ty, "se")?;
        let node_off = offset_of(prog, se_ty, "run_node")?;
        let has_my_q = prog.types().has_member(se_ty, "my_q");
        let my_q = |se: u64| -> u64 {
            if !has_my_q {
                return 0;
            }
            prog.object("struct sched_entity", se)
                .and_then(|o| o.member("my_q")?.read_u64())
                .unwrap_or(0)
        };
        let prio = |task: u64| {
            prog.object("struct task_struct", task)
                .and_then(|t| t.member("prio")?.read_i64())
                .unwrap_or(-1)
        };
        let curr = rq.member("curr")?.read_u64()?;
        let curr_q = if curr != 0 { my_q(curr) } else { 0 };
        if curr_q != 0 {
            let q = self.cfs(curr_q, current, depth + 1)?;
            out.entries.push(GroupEntry::Group {
                prio: None,
                queue: q,
            });
        } else if curr != 0 && curr.wrapping_sub(se_off) == current {
            out.entries.push(GroupEntry::Task {
                task: current,
                prio: prio(current),
                current: true,
            });
        }
        let timeline = rq.member("tasks_timeline")?;
        let leftmost = timeline.member("rb_leftmost")?.read_u64()?;
        let root = timeline.member("rb_root.rb_node")?.read_u64()?;
        if leftmost == 0 {
            return Ok(out);
        }
        let (nodes, err) = inorder(prog, root, self.budget)?;
        self.budget = self.budget.saturating_sub(nodes.len());
        if let Some(e) = err {
            self.problems.push(format!("CFS queue {cfs_rq:#x}: {e}"));
        }
        for n in nodes {
            let se = n.wrapping_sub(node_off);
            match my_q(se) {
                0 => {
                    let task = se.wrapping_sub(se_off);
                    out.entries.push(GroupEntry::Task {
                        task,
                        prio: prio(task),
                        current: false,
                    });
                }
                q => {
                    let q = self.cfs(q, current, depth + 1)?;
                    out.entries.push(GroupEntry::Group {
                        prio: None,
                        queue: q,
                    });
                }
            }
        }
        Ok(out)
    }

    /// An RT queue: each priority's list, group entities leading into their own queues.
    fn rt(&mut self, rt_rq: u64, depth: usize) -> Result<GroupQueue> {
        let prog = self.prog;
        let mut out = self.queue(rt_rq, "struct rt_rq", "tg");
        if !self.seen.insert(rt_rq) || depth > MAX_GROUP_DEPTH {
            self.problems.push(format!(
                "RT queue {rt_rq:#x}: reached twice, or nested too deep"
            ));
            return Ok(out);
        }
        let task_ty = prog.type_("struct task_struct")?;
        let rt_off = offset_of(prog, task_ty, "rt")?;
        let ent_ty = prog.type_("struct sched_rt_entity")?;
        let has_my_q = prog.types().has_member(ent_ty, "my_q");
        let queues = prog.object("struct rt_rq", rt_rq)?.member("active.queue")?;
        let (qaddr, qlen) = (
            queues.address().unwrap_or(0),
            queues.array_len().unwrap_or(MAX_RT_PRIO),
        );
        let head_size = prog.types().size_of(prog.type_("struct list_head")?)?;
        for prio in 0..qlen.min(MAX_RT_PRIO) {
            let head = qaddr.wrapping_add(prio.wrapping_mul(head_size));
            let (ents, err) = list_entries(
                prog,
                head,
                "struct sched_rt_entity",
                "run_list",
                self.budget.min(self.limit),
            )?;
            self.budget = self.budget.saturating_sub(ents.len());
            if let Some(e) = err {
                self.problems
                    .push(format!("RT queue {prio} of {rt_rq:#x}: {e}"));
            }
            for ent in ents {
                let q = if has_my_q {
                    prog.object("struct sched_rt_entity", ent)
                        .and_then(|o| o.member("my_q")?.read_u64())
                        .unwrap_or(0)
                } else {
                    0
                };
                if q == 0 {
                    out.entries.push(GroupEntry::Task {
                        task: ent.wrapping_sub(rt_off),
                        prio: prio as i64,
                        current: false,
                    });
                } else {
                    let queue = self.rt(q, depth + 1)?;
                    out.entries.push(GroupEntry::Group {
                        prio: Some(prio as i64),
                        queue,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The CFS queue `cfs_rq` with the task groups queued in it, each group's queue nested,
/// `current` (the CPU's running task) marked where it is the queue's running entity; and what
/// could not be read.
pub fn cfs_group_queue(
    prog: &Program,
    cfs_rq: u64,
    current: u64,
    limit: usize,
) -> Result<(GroupQueue, Vec<String>)> {
    let mut w = GroupWalk::new(prog, limit);
    let q = w.cfs(cfs_rq, current, 0)?;
    Ok((q, w.problems))
}

/// The RT queue `rt_rq` with the task groups queued in it, nested; and what could not be read.
pub fn rt_group_queue(
    prog: &Program,
    rt_rq: u64,
    limit: usize,
) -> Result<(GroupQueue, Vec<String>)> {
    let mut w = GroupWalk::new(prog, limit);
    let q = w.rt(rt_rq, 0)?;
    Ok((q, w.problems))
}
