//! `--json`'s envelope: one JSON document per command line, holding the line, the schema
//! version, and either the command's result — its fields beside `command` — or why it failed.
//!
//! ```json
//! {"schema_version":1,"command":"sys","kernel":"…","cpus":2,…}
//! {"schema_version":1,"command":"bt 9999","error":{"kind":"usage","message":"bt: invalid task or pid value: 9999"}}
//! ```
//!
//! A result's fields sit at the top level so that a document reads the same whether it came
//! from `-c CMD --json` or a front end's report (`kdive analyze DUMP --json`); `schema_version`,
//! `command` and `error` are never the name of a result's field. `docs/json.md` describes the
//! envelope and every command's result.

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
    /// `"error": {...}`, or the result's own fields.
    #[serde(flatten)]
    pub outcome: Outcome<R>,
}

/// The result of a command, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcome<R> {
    /// `"error": {...}` (tried first when reading: no result has an `error` field).
    Error { error: ErrorObject },
    /// The result's fields.
    Result(R),
}

/// A failed command in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// What kind of failure (see [`CommandError::kind`]): `usage`, `unknown_command`,
    /// `no_kernel`, `fault` (memory the dump does not hold), `lookup` (no such symbol, type or
    /// member), `type`, `corrupt`, `unavailable`, `io`.
    pub kind: String,
    /// The message the text front end prints.
    pub message: String,
    /// For a fault: the address whose read failed.
    #[serde(
        default,
        with = "crate::hex_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub address: Option<u64>,
}

impl From<&CommandError> for ErrorObject {
    fn from(e: &CommandError) -> Self {
        ErrorObject {
            kind: e.kind().to_string(),
            message: e.to_string(),
            address: e.fault_address(),
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
            Err(e) => Outcome::Error {
                error: ErrorObject::from(e),
            },
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
            json!({"schema_version": 1, "command": "answer", "value": 42})
        );
        let back: Envelope<Value> = serde_json::from_value(ok.clone()).unwrap();
        assert_eq!(back.outcome, Outcome::Result(json!({"value": 42})));
        assert_eq!(serde_json::to_value(&back).unwrap(), ok);

        let err = CommandError::unknown("frob");
        let e = written("frob -x", Err(&err));
        assert_eq!(
            e,
            json!({"schema_version": 1, "command": "frob -x",
                   "error": {"kind": "unknown_command", "message": "frob: command not found"}})
        );
        let back: Envelope<Value> = serde_json::from_value(e).unwrap();
        assert_eq!(
            back.outcome,
            Outcome::Error {
                error: ErrorObject::from(&err)
            }
        );
    }

    #[test]
    fn error_kinds() {
        let kind = |e: CommandError| ErrorObject::from(&e).kind;
        assert_eq!(kind(CommandError::Usage("x".into())), "usage");
        assert_eq!(kind(CommandError::Unavailable("x".into())), "unavailable");
        assert_eq!(kind(CommandError::unknown("btt")), "unknown_command");
    }
}
