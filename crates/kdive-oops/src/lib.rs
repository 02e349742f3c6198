//! Kernel crash reports read from text (a console log, `dmesg`, `vmcore-dmesg.txt`, a pstore
//! file, a report pasted from a mailing list): each report's kind, culprit, syzbot-style title
//! and signature, with the decoders a reader wants (taint flags, page-fault error code, the
//! `Code:` bytes).
//!
//! The same classification, machinery list and signature serve `analyze` on a dump, so a crash
//! gets the same title and signature from its dump as from its log.

pub mod culprit;
pub mod decode;
pub mod frame;
pub mod headline;
pub mod kind;
pub mod lines;
pub mod machinery;
pub mod report;
pub mod title;

pub use culprit::{culprits, TextCulprit};
pub use kind::Kind;
pub use report::{parse, Report};
pub use title::{signature, title, Identity};

/// A report's verdict read from its text alone.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub kind: Kind,
    pub title: String,
    pub signature: String,
    pub signature_text: String,
    pub culprits: Vec<TextCulprit>,
}

/// The identity of a report with these culprits.
pub fn identity<'a>(r: &'a Report, culprits: &'a [TextCulprit]) -> Identity<'a> {
    let consumer = culprits
        .iter()
        .find(|c| c.function.is_none())
        .and_then(|c| c.task.as_ref())
        .map(|t| t.comm.as_str());
    Identity {
        kind: Some(r.kind),
        detail: r.detail.as_deref(),
        access: r.access.as_deref(),
        functions: culprits
            .iter()
            .filter_map(|c| Some((c.function.as_deref()?, c.module.as_deref())))
            .collect(),
        consumer,
        message: r.panic.as_deref().or(Some(r.headline.as_str())),
        release: r.release.as_deref(),
    }
}

/// Classifies `r` from its text.
pub fn verdict(r: &Report) -> Verdict {
    let culprits = culprits(r);
    let id = identity(r, &culprits);
    let (signature, signature_text) = signature(&id);
    Verdict {
        kind: r.kind,
        title: title(&id),
        signature,
        signature_text,
        culprits: culprits.clone(),
    }
}
