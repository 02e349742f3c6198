//! The real dumps of the fixture corpus, which live outside the repository: `$KDIVE_CORPUS`
//! (default `../shared/fixtures/corpus` relative to the workspace root). `.zst` files are
//! decompressed once into `$KDIVE_CACHE` (default `~/.cache/kdive-check`, the same cache
//! `kdcheck.py` uses).

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `crates/kdive-testdata`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

/// The fixture corpus directory, if it exists.
pub fn corpus() -> Option<PathBuf> {
    let p = match std::env::var_os("KDIVE_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join("../shared/fixtures/corpus"),
    };
    p.is_dir().then_some(p)
}

/// The aarch64 fixture corpus directory (`$KDIVE_CORPUS_ARM64`, default `corpus-arm64` beside the
/// x86_64 corpus), if it exists.
pub fn corpus_arm64() -> Option<PathBuf> {
    let p = match std::env::var_os("KDIVE_CORPUS_ARM64") {
        Some(p) => PathBuf::from(p),
        None => corpus()?.parent()?.join("corpus-arm64"),
    };
    p.is_dir().then_some(p)
}

/// Whether tests must find the corpus (CI): then a missing corpus fails instead of skipping.
pub fn corpus_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true")
}

/// The corpus, or `None` with a note on stderr (panics under CI, where the corpus must exist).
pub fn corpus_or_skip(test: &str) -> Option<PathBuf> {
    let c = corpus();
    if c.is_none() {
        assert!(
            !corpus_required(),
            "{test}: fixture corpus not found (set KDIVE_CORPUS)"
        );
        eprintln!("{test}: skipped, fixture corpus not found (set KDIVE_CORPUS)");
    }
    c
}

/// Where the fixture kernels' vmlinux files are: `$KDIVE_KERNELS`, else `~/.cache/kdive-fixtures/kernels`.
pub fn kernels_dir() -> PathBuf {
    match std::env::var_os("KDIVE_KERNELS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()))
            .join(".cache/kdive-fixtures/kernels"),
    }
}

fn cache_dir() -> PathBuf {
    match std::env::var_os("KDIVE_CACHE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()))
            .join(".cache/kdive-check"),
    }
}

/// One fixture directory of the corpus.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    pub dir: PathBuf,
}

impl Fixture {
    /// The fixture's `reference/drgn.json`.
    pub fn drgn(&self) -> serde_json::Value {
        let p = self.dir.join("reference/drgn.json");
        serde_json::from_slice(
            &std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// The fixture's `metadata.json`.
    pub fn metadata(&self) -> serde_json::Value {
        let p = self.dir.join("metadata.json");
        serde_json::from_slice(
            &std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// The kernel release the fixture's dumps are of (`metadata.json`).
    pub fn release(&self) -> Option<String> {
        let m = self.metadata();
        m["kernel"]["release"].as_str().map(str::to_string)
    }

    /// The fixture kernel's vmlinux with DWARF, `$KDIVE_KERNELS/<release>/vmlinux` (default
    /// `~/.cache/kdive-fixtures/kernels`, where `tools/fetch-vmlinux` puts it), if present.
    pub fn vmlinux(&self) -> Option<PathBuf> {
        let p = kernels_dir().join(self.release()?).join("vmlinux");
        p.is_file().then_some(p)
    }

    /// Whether `dump` is one of the fixture's damaged dumps (`metadata.json` `reference_extra`),
    /// which the references do not describe.
    pub fn is_damaged(&self, dump: &Path) -> bool {
        let name = dump.file_name().unwrap_or_default().to_string_lossy();
        self.metadata()["reference_extra"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e.as_str() == Some(&*name)))
    }

    /// A crash reference output by command suffix (`sys` -> `reference/crash/NN-sys.txt`).
    pub fn crash_ref(&self, cmd: &str) -> Option<String> {
        let dir = self.dir.join("reference/crash");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        names.sort();
        let want = format!("-{cmd}.txt");
        let n = names.iter().find(|n| {
            let n = n.to_string_lossy();
            n.len() > 3 && n[2..] == *want
        })?;
        std::fs::read_to_string(dir.join(n)).ok()
    }

    /// The numbered crash references of `reference/crash-more/` (`NNN-name.txt`) whose number is
    /// in `numbers`, in order: (number, path).
    pub fn crash_more(&self, numbers: &[u32]) -> Vec<(u32, PathBuf)> {
        let dir = self.dir.join("reference/crash-more");
        let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name.get(..3)?.parse::<u32>().ok()?;
                numbers.contains(&n).then(|| (n, e.path()))
            })
            .collect();
        files.sort();
        files
    }

    /// Every dump file of the fixture (`vmcore*`, not `.txt`), `.zst` ones decompressed into the cache.
    pub fn dumps(&self) -> Vec<PathBuf> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .filter(|n| n.starts_with("vmcore") && !n.ends_with(".txt"))
            .map(|n| self.materialize(&n))
            .collect()
    }

    /// The dump the references were made from (`metadata.json` `reference_dump`, else `vmcore`...).
    pub fn reference_dump(&self) -> PathBuf {
        let meta = self.metadata();
        let named = meta
            .get("reference_dump")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let candidates = named.into_iter().chain(
            [
                "vmcore",
                "vmcore.kdump-zlib-d31",
                "vmcore.elf",
                "vmcore.elf.zst",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        for c in candidates {
            for n in [c.clone(), format!("{c}.zst")] {
                if self.dir.join(&n).exists() {
                    return self.materialize(&n);
                }
            }
        }
        panic!("{}: no reference dump", self.dir.display())
    }

    /// A file of the fixture; `.zst` files are decompressed once into the cache.
    pub fn materialize(&self, name: &str) -> PathBuf {
        let src = self.dir.join(name);
        let Some(stem) = name.strip_suffix(".zst") else {
            return src;
        };
        let dir = cache_dir();
        let dst = dir.join(format!("{}-{}", self.name, stem));
        if dst.exists() {
            return dst;
        }
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let tmp = dir.join(format!(".{}-{}.{}", self.name, stem, std::process::id()));
        {
            let input =
                std::fs::File::open(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
            let mut out =
                std::fs::File::create(&tmp).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
            zstd::stream::copy_decode(input, &mut out)
                .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        }
        std::fs::rename(&tmp, &dst).unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
        dst
    }
}

/// Every fixture of the corpus (directories with a `reference/`), sorted by name.
pub fn fixtures() -> Vec<Fixture> {
    let Some(c) = corpus() else { return Vec::new() };
    let mut v: Vec<Fixture> = std::fs::read_dir(&c)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.join("reference").is_dir())
        .map(|dir| Fixture {
            name: dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            dir,
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// One fixture by name.
pub fn fixture(name: &str) -> Option<Fixture> {
    fixtures().into_iter().find(|f| f.name == name)
}

/// The fixtures whose kernel's vmlinux (with DWARF) is present, with it. Without any, `test`
/// is skipped with a note, or fails under `KDIVE_REQUIRE_VMLINUX=1`.
pub fn fixtures_with_vmlinux(test: &str) -> Vec<(Fixture, PathBuf)> {
    if corpus_or_skip(test).is_none() {
        return Vec::new();
    }
    let found: Vec<_> = fixtures()
        .into_iter()
        .filter_map(|f| f.vmlinux().map(|v| (f, v)))
        .collect();
    if found.is_empty() {
        assert!(
            std::env::var_os("KDIVE_REQUIRE_VMLINUX").is_none_or(|v| v != "1"),
            "{test}: no fixture vmlinux under {}",
            kernels_dir().display()
        );
        eprintln!("{test}: skipped, no fixture vmlinux (run tools/fetch-vmlinux)");
    }
    found
}
