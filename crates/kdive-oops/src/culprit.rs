//! The culprit of a report read from text: its first frame that is not machinery.

use serde::{Deserialize, Serialize};

use crate::frame::Frame;
use crate::kind::Kind;
use crate::machinery::is_machinery;
use crate::report::{Context, Report, TaskName};

/// What a report blames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextCulprit {
    /// None when a task, not code, is to blame (the largest consumer of an OOM).
    pub function: Option<String>,
    pub offset: Option<u64>,
    pub module: Option<String>,
    pub source: Option<String>,
    pub task: Option<TaskName>,
}

fn of(f: &Frame, task: Option<&TaskName>) -> TextCulprit {
    TextCulprit {
        function: Some(f.function.clone()),
        offset: f.offset,
        module: f.module.clone(),
        source: f.source.clone(),
        task: task.cloned(),
    }
}

/// The first frame that may be a culprit.
pub fn first_culprit_frame<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> Option<&'a Frame> {
    frames
        .into_iter()
        .find(|f| !f.unreliable && !is_machinery(&f.function))
}

/// The stacks that tell what the report is about, most telling first: before the panic, not an
/// allocation/free record; for lockups and stalls, not the interrupt that reported them.
fn primary(r: &Report) -> impl Iterator<Item = &Frame> {
    let skip_irq = matches!(r.kind, Kind::SoftLockup | Kind::HardLockup | Kind::RcuStall);
    let before: Vec<_> = r
        .stacks
        .iter()
        .filter(|s| s.context != Context::Aux && !s.after_panic)
        .filter(|s| !(skip_irq && matches!(s.context, Context::Irq | Context::Nmi)))
        .collect();
    let chosen = if before.is_empty() {
        r.stacks
            .iter()
            .filter(|s| s.context != Context::Aux)
            .collect()
    } else {
        before
    };
    chosen.into_iter().flat_map(|s| &s.frames)
}

/// The function the headline names, unless it is machinery.
fn named_by_headline(r: &Report) -> Option<TextCulprit> {
    let f = r.headline_function.as_ref().filter(|f| !is_machinery(f))?;
    Some(TextCulprit {
        function: Some(f.clone()),
        offset: None,
        module: None,
        source: None,
        task: r.task.clone(),
    })
}

/// The culprits of `r`, most likely first.
pub fn culprits(r: &Report) -> Vec<TextCulprit> {
    let task = r.task.as_ref();
    match r.kind {
        Kind::HungTask => {
            return r
                .blocked
                .iter()
                .filter_map(|b| {
                    let s = r.stacks.get(b.stack?)?;
                    Some(of(first_culprit_frame(&s.frames)?, Some(&b.task)))
                })
                .collect();
        }
        Kind::OutOfMemory => {
            let o = r.oom.as_ref();
            let big = o.and_then(|o| {
                o.largest
                    .as_ref()
                    .map(|(c, p, _)| TaskName {
                        comm: c.clone(),
                        pid: *p,
                    })
                    .or_else(|| o.killed.clone())
            });
            return big
                .map(|t| TextCulprit {
                    function: None,
                    offset: None,
                    module: None,
                    source: None,
                    task: Some(t),
                })
                .into_iter()
                .collect();
        }
        Kind::SysrqCrash => {
            let f =
                r.stacks.iter().flat_map(|s| &s.frames).find(|f| {
                    crate::machinery::base_name(&f.function).starts_with("sysrq_handle_")
                });
            return f.map(|f| of(f, task)).into_iter().collect();
        }
        Kind::Kcsan | Kind::KillInit | Kind::MachineCheck | Kind::NoPanic => return Vec::new(),
        _ => {}
    }
    if r.kind == Kind::Warning {
        if let Some(f) = r.headline_function.as_ref().filter(|f| !is_machinery(f)) {
            let frame = r.ip.as_ref().filter(|ip| &ip.function == f);
            return vec![TextCulprit {
                function: Some(f.clone()),
                offset: frame.and_then(|ip| ip.offset),
                module: frame.and_then(|ip| ip.module.clone()),
                source: None,
                task: task.cloned(),
            }];
        }
    }
    if r.kind == Kind::Lockdep {
        if let Some(f) = r.lock_site.as_ref().filter(|f| !is_machinery(&f.function)) {
            return vec![of(f, task)];
        }
    }
    if r.kind == Kind::StackOverflow {
        // stack-protector names the function whose canary was overwritten
        if let Some(c) = named_by_headline(r) {
            return vec![c];
        }
    }
    if r.kind == Kind::StackOverflow && r.detail.as_deref() != Some("double fault") {
        // where the stack ran out is chance; the call chain's outermost function is not
        let outer = primary(r)
            .filter(|f| !f.unreliable && !is_machinery(&f.function))
            .last();
        if let Some(f) = outer {
            return vec![of(f, task)];
        }
    }
    if r.kind.faults_at_ip() {
        if let Some(ip) = r.ip.as_ref().filter(|f| !is_machinery(&f.function)) {
            return vec![of(ip, task)];
        }
        // the stack the fault happened on (the first printed), machinery or not
        let first = r
            .stacks
            .iter()
            .find(|s| s.context != Context::Aux && !s.after_panic);
        if let Some(s) = first
            .filter(|_| !matches!(r.kind, Kind::SoftLockup | Kind::HardLockup | Kind::RcuStall))
        {
            if let Some(f) =
                first_culprit_frame(&s.frames).or_else(|| s.frames.iter().find(|f| !f.unreliable))
            {
                return vec![of(f, task)];
            }
        }
    }
    if let Some(f) = first_culprit_frame(primary(r)) {
        return vec![of(f, task)];
    }
    // a jump through a bad pointer: the caller is the first frame, machinery or not
    if r.kind.faults_at_ip() && r.ip.is_none() {
        if let Some(f) = primary(r).find(|f| !f.unreliable) {
            return vec![of(f, task)];
        }
    }
    if let Some(c) = named_by_headline(r) {
        return vec![c];
    }
    r.ip.iter().map(|f| of(f, task)).collect()
}
