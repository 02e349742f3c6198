//! The vmlinux fetched from a real `debuginfod` serving a folder holding the fixture kernel,
//! into elfutils' cache layout; used from the cache offline; a server answering another build
//! refused. Needs `debuginfod` (Debian package `debuginfod`) and the fixture vmlinux files;
//! skipped with a note without them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kdive_testdata::temp::Scratch;

mod common;
use common::{have, kernels, stderr, ID_61, ID_612};

/// A server process, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The body of `GET path` on 127.0.0.1:`port`, if it answers.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Waits until `ready` holds for the server on `port` (at most a minute).
fn wait_for(port: u16, path: &str, ready: impl Fn(&str) -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if get(port, path).is_some_and(|b| ready(&b)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// `kdive` asking only the servers of `urls` (empty: none), caching in `cache`.
fn kdive(root: &Path, cache: &Path, urls: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(args)
        .env("KDIVE_SYSROOT", root)
        .env("DEBUGINFOD_CACHE_PATH", cache)
        .env("DEBUGINFOD_URLS", urls)
        .env("DEBUGINFOD_TIMEOUT", "20")
        .env_remove("KDIVE_DEBUGINFO_PATH")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .output()
        .expect("run kdive")
}

/// `bt -l` shows the kernel's source lines: drgn gives `kernel/panic.c:426` for the panicking
/// task's `panic` frame.
fn has_dwarf_lines(o: &Output) -> bool {
    String::from_utf8_lossy(&o.stdout).contains("kernel/panic.c: 426")
}

#[test]
fn vmlinux_from_debuginfod_then_offline_from_its_cache() {
    let test = "vmlinux_from_debuginfod_then_offline_from_its_cache";
    let Some((fx, right, wrong)) = kernels(test) else {
        return;
    };
    if !have("debuginfod") {
        eprintln!("{test}: skipped, no debuginfod (apt-get install debuginfod)");
        return;
    }
    let dump = fx.reference_dump();
    let dump = dump.to_str().unwrap();
    let s = Scratch::new("debuginfod");
    let root = s.path().join("root");
    let served = s.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    std::os::unix::fs::symlink(&right, served.join("vmlinux")).unwrap();
    let port = free_port();
    let server = Server(
        Command::new("debuginfod")
            .args([
                "-F",
                "-L",
                "-t",
                "0",
                "-g",
                "0",
                "-p",
                &port.to_string(),
                "-d",
            ])
            .arg(s.path().join("db.sqlite"))
            .arg(&served)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start debuginfod"),
    );
    assert!(
        wait_for(port, "/metrics", |m| m
            .contains("scanned_files_total{source=\"file\"} 1")
            && m.contains("thread_work_pending{role=\"scan\"} 0")),
        "debuginfod did not index {}",
        served.display()
    );
    let url = format!("http://127.0.0.1:{port}");
    let cache = s.path().join("cache");

    // offline with an empty cache: nothing fetched
    let o = kdive(&root, &cache, &url, &[dump, "--offline", "-c", "bt -l"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!has_dwarf_lines(&o));
    assert!(!cache.join(ID_612).join("debuginfo").exists());

    // fetched into elfutils' layout, whole
    let o = kdive(&root, &cache, &url, &[dump, "-c", "bt -l"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(has_dwarf_lines(&o), "{}", stderr(&o));
    let cached = cache.join(ID_612).join("debuginfo");
    assert_eq!(
        std::fs::metadata(&cached).unwrap().len(),
        std::fs::metadata(&right).unwrap().len()
    );
    // no progress bar when stderr is not a terminal
    assert!(!stderr(&o).contains('\r'), "{}", stderr(&o));

    // the server gone: offline, or with the server named, from the cache
    drop(server);
    for extra in [&["--offline"][..], &[]] {
        let mut args = vec![dump];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-c", "bt -l"]);
        let o = kdive(&root, &cache, &url, &args);
        assert!(has_dwarf_lines(&o), "{extra:?}: {}", stderr(&o));
    }

    // a server answering another build: refused, nothing cached
    let liar = s.path().join("liar");
    let at: PathBuf = liar.join("buildid").join(ID_612);
    std::fs::create_dir_all(&at).unwrap();
    std::os::unix::fs::symlink(&wrong, at.join("debuginfo")).unwrap();
    if !have("python3") {
        eprintln!("{test}: wrong-build server part skipped, no python3");
        return;
    }
    let port = free_port();
    let _liar = Server(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .arg("--directory")
            .arg(&liar)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server"),
    );
    assert!(wait_for(port, "/", |b| b.starts_with("HTTP/")));
    let cache2 = s.path().join("cache2");
    let url = format!("http://127.0.0.1:{port}");
    let o = kdive(&root, &cache2, &url, &[dump, "-c", "bt -l"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!has_dwarf_lines(&o));
    let e = stderr(&o);
    assert!(e.contains(ID_61) && e.contains(ID_612), "{e}");
    assert!(!cache2.join(ID_612).join("debuginfo").exists());
}
