//! The README's command list is the one the command table renders.

use kdive_commands::table::{readme_section, README_BEGIN, README_END};

/// Set to rewrite README.md's command list from the table instead of comparing.
const UPDATE: &str = "KDIVE_UPDATE_README";

#[test]
fn readme_lists_the_commands_of_the_table() {
    let path = kdive_testdata::workspace_root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let begin = readme
        .find(README_BEGIN)
        .map(|i| i + README_BEGIN.len() + 1)
        .unwrap_or_else(|| panic!("README.md has no line {README_BEGIN}"));
    let end = readme[begin..]
        .find(README_END)
        .map(|i| begin + i)
        .unwrap_or_else(|| panic!("README.md has no line {README_END} after the first marker"));
    let want = readme_section();
    if std::env::var_os(UPDATE).is_some() {
        let updated = format!("{}{want}{}", &readme[..begin], &readme[end..]);
        std::fs::write(&path, updated).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        return;
    }
    assert!(
        readme[begin..end] == want,
        "README.md's command list differs from the command table \
         (crates/kdive-commands/src/table); regenerate it with\n  \
         {UPDATE}=1 cargo test -p kdive-commands --test readme_commands\n\
         --- README.md\n{}\n--- table\n{want}",
        &readme[begin..end]
    );
}
