//! Where the CLI looks for debug files: `--debuginfo DIR`, `KDIVE_DEBUGINFO_PATH`, the
//! system's paths (`KDIVE_SYSROOT` for a fake root), then debuginfod (`--offline`: its cache
//! only).

use std::path::PathBuf;
use std::sync::Arc;

use kdive_debuginfod::Client;
use kdive_linux::debuginfo_find::{DebugSearch, Fetch, FetchError};

/// The debuginfod client as the open path's fetcher.
struct Debuginfod(Client);

impl Fetch for Debuginfod {
    fn debuginfo(&self, build_id: &str) -> Result<Option<PathBuf>, FetchError> {
        Ok(self.0.debuginfo(build_id)?)
    }
}

/// The search: the directories given first, then the environment's, the system's paths, and
/// debuginfod when it has servers or a cache; a progress bar for downloads when `progress`.
pub fn search(dirs: &[PathBuf], offline: bool, progress: bool) -> DebugSearch {
    let mut s = DebugSearch::from_env();
    s.dirs.splice(0..0, dirs.iter().cloned());
    let mut client = Client::from_env();
    client.offline = offline;
    client.progress = progress;
    if offline {
        client.urls.clear();
    }
    if client.is_useful() {
        s.fetch = Some(Arc::new(Debuginfod(client)));
    }
    s
}
