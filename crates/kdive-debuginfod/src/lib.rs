//! A debuginfod client: a debug file by build-id from the servers of `DEBUGINFOD_URLS`, kept in
//! the cache elfutils, gdb and drgn share, so a file one of them fetched is not fetched again.
//!
//! Kept out of the library crates so that only a front end that wants the network (the CLI)
//! links an HTTP and TLS stack.
//!
//! The environment is elfutils': `DEBUGINFOD_URLS` (space-separated), `DEBUGINFOD_CACHE_PATH`
//! (else `$XDG_CACHE_HOME/debuginfod_client`, else `~/.cache/debuginfod_client`),
//! `DEBUGINFOD_TIMEOUT` (seconds to connect, to get an answer, and between two reads of the
//! body; default 90), `DEBUGINFOD_MAXTIME` (seconds for a whole download),
//! `DEBUGINFOD_MAXSIZE` (bytes). A file is at `CACHE/BUILDID/debuginfo`; a download goes to
//! `CACHE/BUILDID/debuginfo.kdive-part` first and continues from there when interrupted (where
//! the server honours ranges). A file whose build-id is not the one asked for is refused, never
//! cached.
//!
//! ```no_run
//! let client = kdive_debuginfod::Client::from_env();
//! if let Some(path) = client.debuginfo("7f76f39faf07f34cfa9fadd801e131bfa8cb6dc3")? {
//!     println!("{}", path.display());
//! }
//! # Ok::<(), kdive_debuginfod::FetchError>(())
//! ```

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kdive_debuginfo::elf_file::ElfFile;

/// elfutils' default for `DEBUGINFOD_TIMEOUT`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);
/// The partial download's name beside the final file.
const PART: &str = "debuginfo.kdive-part";
/// Copy buffer size.
const CHUNK: usize = 1 << 20;

/// Why a debug file could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("{0:?} is not a build-id (hex digits)")]
    BadBuildId(String),
    #[error("{url}: {source}")]
    Http {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{url}: the server answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: the server sent build-id {have}, not {want}; not used")]
    WrongBuild {
        url: String,
        want: String,
        have: String,
    },
    #[error("{url}: larger than DEBUGINFOD_MAXSIZE ({max} bytes)")]
    TooLarge { url: String, max: u64 },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A debuginfod client.
#[derive(Debug, Clone)]
pub struct Client {
    /// Server URLs, asked in order.
    pub urls: Vec<String>,
    /// The cache directory (elfutils' layout).
    pub cache: PathBuf,
    /// Only the cache is looked at (`--offline`).
    pub offline: bool,
    /// Timeout to connect, to get an answer and between two reads.
    pub timeout: Duration,
    /// Bound on one whole download.
    pub max_time: Option<Duration>,
    /// Largest file accepted.
    pub max_size: Option<u64>,
    /// Show a progress bar on stderr (the caller decides: a terminal, not JSON).
    pub progress: bool,
}

fn env_secs(name: &str) -> Option<Duration> {
    let s: u64 = std::env::var(name).ok()?.trim().parse().ok()?;
    (s > 0).then(|| Duration::from_secs(s))
}

/// elfutils' cache directory: `DEBUGINFOD_CACHE_PATH`, `$XDG_CACHE_HOME/debuginfod_client`,
/// `~/.cache/debuginfod_client`.
pub fn default_cache() -> PathBuf {
    let var = |n: &str| {
        std::env::var_os(n)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("DEBUGINFOD_CACHE_PATH")
        .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("debuginfod_client")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/debuginfod_client")))
        .unwrap_or_else(|| std::env::temp_dir().join("debuginfod_client"))
}

impl Client {
    /// The client elfutils' environment variables describe; no progress bar.
    pub fn from_env() -> Client {
        Client {
            urls: std::env::var("DEBUGINFOD_URLS")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            cache: default_cache(),
            offline: false,
            timeout: env_secs("DEBUGINFOD_TIMEOUT").unwrap_or(DEFAULT_TIMEOUT),
            max_time: env_secs("DEBUGINFOD_MAXTIME"),
            max_size: std::env::var("DEBUGINFOD_MAXSIZE")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .filter(|&n| n > 0),
            progress: false,
        }
    }

    /// Whether it could find anything: servers to ask, or a cache to look in.
    pub fn is_useful(&self) -> bool {
        !self.urls.is_empty() || self.cache.is_dir()
    }

    /// The debug file of `build_id` (hex): from the cache, else from the first server that has
    /// it (`/buildid/ID/debuginfo`), checked and then cached. `Ok(None)` when no server has it
    /// (or, offline, the cache does not). A server error is returned only when no other server
    /// had the file.
    pub fn debuginfo(&self, build_id: &str) -> Result<Option<PathBuf>, FetchError> {
        let id = build_id.trim().to_ascii_lowercase();
        if id.len() < 2 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(FetchError::BadBuildId(build_id.into()));
        }
        let dir = self.cache.join(&id);
        let target = dir.join("debuginfo");
        // elfutils leaves an empty file for a build-id no server had: not a file to use
        if fs::metadata(&target).is_ok_and(|m| m.is_file() && m.len() > 0) {
            return Ok(Some(target));
        }
        if self.offline {
            return Ok(None);
        }
        let mut last_err = None;
        for base in &self.urls {
            let url = format!("{}/buildid/{id}/debuginfo", base.trim_end_matches('/'));
            match self.download(&url, &id, &dir, &target) {
                Ok(true) => return Ok(Some(target)),
                Ok(false) => {}
                Err(e) => last_err = Some(e),
            }
        }
        last_err.map_or(Ok(None), Err)
    }

    fn agent(&self) -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(self.timeout))
            .timeout_recv_response(Some(self.timeout))
            .timeout_per_read(Some(self.timeout))
            .timeout_global(self.max_time)
            .user_agent(concat!("kdive/", env!("CARGO_PKG_VERSION")))
            .build()
            .into()
    }

    /// Downloads `url` into `dir/debuginfo` through the partial file, continuing it when the
    /// server honours the range; `Ok(false)` when the server has no such file.
    fn download(&self, url: &str, id: &str, dir: &Path, target: &Path) -> Result<bool, FetchError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FetchError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let part = dir.join(PART);
        let have = fs::metadata(&part).map_or(0, |m| m.len());
        let mut req = self.agent().get(url);
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let resp = req.call().map_err(|e| FetchError::Http {
            url: url.into(),
            source: Box::new(e),
        })?;
        let status = resp.status().as_u16();
        let resumed = match status {
            200 => false,
            206 => true,
            404 => return Ok(false),
            // the part is already whole: the range starts at its end
            416 if have > 0 => return self.finish(url, id, &part, target).map(|()| true),
            _ => {
                return Err(FetchError::Status {
                    url: url.into(),
                    status,
                })
            }
        };
        let length = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let start = if resumed { have } else { 0 };
        let total = length.map(|l| l + start);
        if let (Some(max), Some(t)) = (self.max_size, total) {
            if t > max {
                return Err(FetchError::TooLarge {
                    url: url.into(),
                    max,
                });
            }
        }
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(&part)
            .map_err(io_err(&part))?;
        let bar = self.bar(id, total, start);
        let mut body = resp.into_body().into_reader();
        let mut buf = vec![0u8; CHUNK];
        let mut written = start;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    bar.abandon();
                    return Err(FetchError::Io {
                        path: PathBuf::from(url),
                        source,
                    });
                }
            };
            out.write_all(&buf[..n]).map_err(io_err(&part))?;
            written += n as u64;
            if let Some(max) = self.max_size.filter(|&m| written > m) {
                bar.abandon();
                let _ = fs::remove_file(&part);
                return Err(FetchError::TooLarge {
                    url: url.into(),
                    max,
                });
            }
            bar.set_position(written);
        }
        bar.finish_and_clear();
        out.sync_all().map_err(io_err(&part))?;
        drop(out);
        self.finish(url, id, &part, target).map(|()| true)
    }

    /// Checks the downloaded `part` is build-id `id` and moves it into place; a file of another
    /// build is removed and refused.
    fn finish(&self, url: &str, id: &str, part: &Path, target: &Path) -> Result<(), FetchError> {
        let have = ElfFile::open(part)
            .ok()
            .and_then(|f| f.build_id())
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>());
        if have.as_deref() != Some(id) {
            let _ = fs::remove_file(part);
            return Err(FetchError::WrongBuild {
                url: url.into(),
                want: id.into(),
                have: have.unwrap_or_else(|| "none (not an ELF file with a build-id)".into()),
            });
        }
        fs::rename(part, target).map_err(|source| FetchError::Io {
            path: target.to_path_buf(),
            source,
        })
    }

    fn bar(&self, id: &str, total: Option<u64>, start: u64) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let bar = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::no_length(),
        };
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        let style = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        );
        if let Ok(s) = style {
            bar.set_style(s.progress_chars("=> "));
        }
        bar.set_message(format!("debuginfod {}", &id[..id.len().min(12)]));
        bar.set_position(start);
        bar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_file_is_used_offline_and_an_empty_one_is_not() {
        let t = kdive_testdata::temp::Scratch::new("debuginfod-cache");
        let client = Client {
            urls: vec!["http://127.0.0.1:9".into()],
            cache: t.path().to_path_buf(),
            offline: true,
            timeout: Duration::from_secs(1),
            max_time: None,
            max_size: None,
            progress: false,
        };
        let id = "00112233445566778899aabbccddeeff00112233";
        assert!(client.debuginfo(id).unwrap().is_none());
        fs::create_dir_all(t.path().join(id)).unwrap();
        // elfutils' mark of a build-id no server had
        fs::write(t.path().join(id).join("debuginfo"), b"").unwrap();
        assert!(client.debuginfo(id).unwrap().is_none());
        fs::write(t.path().join(id).join("debuginfo"), b"x").unwrap();
        assert_eq!(
            client.debuginfo(&id.to_uppercase()).unwrap(),
            Some(t.path().join(id).join("debuginfo"))
        );
        assert!(matches!(
            client.debuginfo("../etc"),
            Err(FetchError::BadBuildId(_))
        ));
    }
}
