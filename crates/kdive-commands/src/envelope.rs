//! `--json`'s envelope: one JSON document per command line, holding the line and either the
//! command's result or why it failed.
//!
//! ```json
//! {"schema_version":1,"command":"sys","result":{"kernel":"…","cpus":2,…}}
//! {"schema_version":1,"command":"bt 9999","error":{"kind":"usage","message":"bt: invalid task or pid value: 9999"}}
//! ```
//!
//! `docs/json.md` describes the envelope and every command's result.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::{CommandError, Report};

/// The version of the JSON schema: raised when a field changes meaning or goes away (adding a
/// field does not raise it).
pub const SCHEMA_VERSION: u32 = 1;

/// One command line's outcome. `R` is the result: `&dyn Report` when writing, a command's own
/// result type or `serde_json::Value` when reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<R> {
    pub schema_version: u32,
    /// The command line as given (without a `| pipe` or `> file`).
    pub command: String,
    /// `"result": {...}` or `"error": {...}`.
    #[serde(flatten)]
    pub outcome: Outcome<R>,
}

/// The result of a command, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome<R> {
    Result(R),
    Error(ErrorObject),
}

/// A failed command in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub kind: ErrorKind,
    /// The message the text front end prints.
    pub message: String,
}

/// What kind of failure: the command line was wrong, the dump cannot answer it, there is no
/// such command, or reading the kernel's data failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Usage,
    Unavailable,
    UnknownCommand,
    Program,
}

impl From<&CommandError> for ErrorObject {
    fn from(e: &CommandError) -> Self {
        let kind = match e {
            CommandError::Usage(_) => ErrorKind::Usage,
            CommandError::Unavailable(_) => ErrorKind::Unavailable,
            CommandError::Unknown(_) => ErrorKind::UnknownCommand,
            CommandError::Program { .. } => ErrorKind::Program,
        };
        ErrorObject {
            kind,
            message: e.to_string(),
        }
    }
}

/// Writes the envelope of `command`'s outcome to `out` as one line, the result serialised
/// straight into the writer.
pub fn write(
    out: &mut dyn Write,
    command: &str,
    outcome: Result<&dyn Report, &CommandError>,
) -> io::Result<()> {
    let envelope = Envelope {
        schema_version: SCHEMA_VERSION,
        command: command.to_string(),
        outcome: match outcome {
            Ok(r) => Outcome::Result(r),
            Err(e) => Outcome::Error(ErrorObject::from(e)),
        },
    };
    serde_json::to_writer(&mut *out, &envelope)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A result as small as can be.
    #[derive(Serialize)]
    struct Answer {
        value: u32,
    }

    impl Report for Answer {
        fn write_text(&self, _: &crate::TextOptions, out: &mut dyn Write) -> io::Result<()> {
            writeln!(out, "{}", self.value)
        }
    }

    fn written(command: &str, outcome: Result<&dyn Report, &CommandError>) -> Value {
        let mut buf = Vec::new();
        write(&mut buf, command, outcome).unwrap();
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(buf.ends_with(b"\n"));
        serde_json::from_slice(&buf).unwrap()
    }

    #[test]
    fn result_and_error_documents() {
        let ok = written("answer", Ok(&Answer { value: 42 }));
        assert_eq!(
            ok,
            json!({"schema_version": 1, "command": "answer", "result": {"value": 42}})
        );
        let back: Envelope<Value> = serde_json::from_value(ok.clone()).unwrap();
        assert_eq!(back.outcome, Outcome::Result(json!({"value": 42})));
        assert_eq!(serde_json::to_value(&back).unwrap(), ok);

        let err = CommandError::Unknown("frob".into());
        let e = written("frob -x", Err(&err));
        assert_eq!(
            e,
            json!({"schema_version": 1, "command": "frob -x",
                   "error": {"kind": "unknown_command", "message": "frob: command not found"}})
        );
        let back: Envelope<Value> = serde_json::from_value(e).unwrap();
        assert_eq!(back.outcome, Outcome::Error(ErrorObject::from(&err)));
    }

    #[test]
    fn error_kinds() {
        let kind = |e: CommandError| ErrorObject::from(&e).kind;
        assert_eq!(kind(CommandError::Usage("x".into())), ErrorKind::Usage);
        assert_eq!(
            kind(CommandError::Unavailable("x".into())),
            ErrorKind::Unavailable
        );
    }
}
