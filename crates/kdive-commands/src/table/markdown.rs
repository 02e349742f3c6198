//! The README's command list, rendered from the table.

use super::COMMANDS;

/// The comment that opens the generated list in README.md.
pub const README_BEGIN: &str =
    "<!-- commands: generated from crates/kdive-commands/src/table; do not edit by hand -->";
/// The comment that closes it.
pub const README_END: &str = "<!-- end of commands -->";

/// The markdown table of every command, its synopsis and summary (without the markers).
pub fn readme_section() -> String {
    let mut out = String::from("| command | what it shows |\n| --- | --- |\n");
    for c in COMMANDS {
        let note = if c.instead.is_some() {
            " (not in kdive)"
        } else {
            ""
        };
        out += &format!(
            "| `{}` | {}{note} |\n",
            cell(&c.synopsis()),
            cell(c.summary)
        );
    }
    out
}

/// Text for a table cell: `|` escaped (GitHub's tables need it even inside code spans).
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}
