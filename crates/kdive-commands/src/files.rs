//! `files [PID|TASK ...]`: a task's root and working directory and its open files, as crash
//! prints them (sockets also name their protocol; pipes and sockets their pseudo filesystem);
//! `files -d DENTRY`: one dentry's inode and path; `files -R REF`: only the tasks, and their
//! files, that refer to a reference.

use kdive_linux::fs::{open_files, root_and_cwd};
use kdive_linux::task::TaskInfo;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::task_header;
use crate::reference::Reference;
use crate::table;
use crate::tasks::tasks_named;
use crate::{CommandError, Report, Session, TextOptions};

/// One open file.
#[derive(Debug, Serialize, Deserialize)]
pub struct FileRow {
    pub fd: u64,
    #[serde(with = "crate::hex")]
    pub file: u64,
    #[serde(with = "crate::hex")]
    pub dentry: u64,
    #[serde(with = "crate::hex")]
    pub inode: u64,
    /// crash's type: `REG`, `DIR`, `CHR`, `BLK`, `FIFO`, `SOCK`, `LNK`, `UNKN`.
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    /// A socket's protocol (`TCP`, `UNIX-STREAM`...).
    pub protocol: Option<String>,
    /// `-c`: the inode's `i_mapping` and its `nrpages` (pages in the page cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_cache: Option<PageCache>,
}

/// An inode's page cache (`files -c`).
#[derive(Debug, Serialize, Deserialize)]
pub struct PageCache {
    #[serde(with = "crate::hex")]
    pub i_mapping: u64,
    pub nrpages: u64,
}

/// The page cache of the inode at `inode`: its `i_mapping` and that address space's `nrpages`.
fn page_cache(prog: &kdive_program::Program, inode: u64) -> kdive_program::Result<PageCache> {
    let i_mapping = prog
        .object("struct inode", inode)?
        .member("i_mapping")?
        .read_u64()?;
    let nrpages = prog
        .object("struct address_space", i_mapping)?
        .member("nrpages")?
        .read_u64()?;
    Ok(PageCache { i_mapping, nrpages })
}

/// An open descriptor whose `struct file` (or what it points to) could not be read.
#[derive(Debug, Serialize, Deserialize)]
pub struct UnreadableFile {
    pub fd: u64,
    #[serde(with = "crate::hex")]
    pub file: u64,
    pub error: String,
}

/// One task's files.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskFiles {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    pub root: Option<String>,
    pub cwd: Option<String>,
    pub files: Vec<FileRow>,
    /// Open descriptors whose file could not be read from the dump.
    pub unreadable: Vec<UnreadableFile>,
    /// Problems that cut the listing short (root/cwd, the descriptor table itself).
    pub problems: Vec<String>,
    /// `-R`: whether the root or working directory names the reference (the task is then
    /// listed even when none of its files refers to it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root_cwd_refers: bool,
}

impl TaskFiles {
    /// Whether every open file was read.
    pub fn complete(&self) -> bool {
        self.unreadable.is_empty() && self.problems.is_empty()
    }
}

/// What `files` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Files {
    pub tasks: Vec<TaskFiles>,
    /// `-c`: each file's inode, `i_mapping` and page-cache pages instead of file and dentry.
    #[serde(default)]
    pub page_cache: bool,
    /// `-R REF`: the reference; only the tasks and files that refer to it are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `files -d DENTRY`: one dentry.
#[derive(Debug, Serialize, Deserialize)]
pub struct DentryRow {
    #[serde(with = "crate::hex")]
    pub dentry: u64,
    #[serde(with = "crate::hex")]
    pub inode: u64,
    #[serde(with = "crate::hex")]
    pub superblock: u64,
    /// crash's type (`REG`, `CHR`...), `N/A` without an inode.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its path through the mount of its filesystem; null when none mounts it.
    pub path: Option<String>,
}

impl Report for DentryRow {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "     DENTRY           INODE           SUPERBLK     TYPE PATH"
        )?;
        writeln!(
            out,
            "{:016x} {:016x} {:016x} {:<4} {}",
            self.dentry,
            self.inode,
            self.superblock,
            self.kind,
            self.path.as_deref().unwrap_or("")
        )
    }
}

/// Runs `files`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::FILES, args)?;
    if let Some(d) = f.value('d') {
        let dentry = u64::from_str_radix(d.trim_start_matches("0x"), 16)
            .map_err(|_| CommandError::Usage(format!("files: invalid dentry address: {d}")))?;
        let prog = s.kernel()?;
        let info = kdive_linux::fs::dentry_info(prog, dentry, s.walk_limit).map_err(|e| {
            CommandError::Program {
                cmd: "files",
                source: e,
            }
        })?;
        return Ok(Box::new(DentryRow {
            dentry,
            inode: info.inode,
            superblock: info.superblock,
            kind: if info.inode == 0 {
                "N/A".into()
            } else {
                type_name(info.mode).to_string()
            },
            path: info.path,
        }));
    }
    if let Some(i) = f.value('p') {
        return inode_pages(s, i);
    }
    let chosen = tasks_named(s, "files", &f.positional)?;
    for_tasks(s, &crate::tasks::as_refs(&chosen), &f)
}

/// `files -p INODE`: the inode's pages in the page cache.
#[derive(Debug, Serialize, Deserialize)]
pub struct InodePages {
    #[serde(with = "crate::hex")]
    pub inode: u64,
    #[serde(with = "crate::hex")]
    pub i_mapping: u64,
    /// The address space's `nrpages`.
    pub nrpages: u64,
    /// Width of the PHYSICAL column.
    pub phys_width: usize,
    /// The pages of `i_mapping->i_pages`, in index order.
    pub pages: Vec<crate::kmem::pages::PageRow>,
    /// Pages or xarray nodes that could not be read, and a count that is not `nrpages`.
    pub problems: Vec<String>,
}

fn inode_pages(s: &Session, word: &str) -> Result<Box<dyn Report>, CommandError> {
    use crate::kmem::pages::MemMap;
    let inode = u64::from_str_radix(word.trim_start_matches("0x"), 16)
        .map_err(|_| CommandError::Usage(format!("files: invalid inode address: {word}")))?;
    let prog = s.kernel()?;
    let program = |source| CommandError::Program {
        cmd: "files -p",
        source,
    };
    let cache = kdive_linux::fs::inode_pages(prog, inode, s.walk_limit).map_err(program)?;
    let map = MemMap::new(prog, s.dump().kernel_page_size())?;
    let mut problems: Vec<String> = cache.errors.iter().map(|e| e.to_string()).collect();
    let mut pages = Vec::new();
    for &(index, page) in &cache.pages {
        let Some(pfn) = map.sections.page_to_pfn(page) else {
            problems.push(format!("index {index}: {page:x} is not a struct page"));
            continue;
        };
        match map.row(prog, page, pfn) {
            Ok(r) => pages.push(r),
            Err(e) => problems.push(format!("index {index}: {e}")),
        }
    }
    // crash's check: the entries found against the count the kernel keeps (a large folio is
    // one entry for several pages)
    if cache.nrpages != 0 && cache.pages.len() as u64 != cache.nrpages {
        problems.push(format!(
            "xarray page count: {}  nrpages: {}",
            cache.pages.len(),
            cache.nrpages
        ));
    }
    Ok(Box::new(InodePages {
        inode,
        i_mapping: cache.i_mapping,
        nrpages: cache.nrpages,
        phys_width: map.phys_width(),
        pages,
        problems,
    }))
}

impl Report for InodePages {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        use crate::kmem::pages::{page_header, page_line};
        writeln!(out, "     INODE        NRPAGES")?;
        writeln!(out, "{:016x}  {:>7}\n", self.inode, self.nrpages)?;
        if !self.pages.is_empty() {
            writeln!(out, "{}", page_header(self.phys_width))?;
        }
        for p in &self.pages {
            writeln!(out, "{}", page_line(p, self.phys_width))?;
        }
        for p in &self.problems {
            writeln!(out, "files: {p}")?;
        }
        Ok(())
    }
}

/// `files` of chosen tasks (`foreach ... files`).
pub(crate) fn for_tasks(
    s: &Session,
    chosen: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let with_pages = f.has('c');
    let reference = f.value('R').map(Reference::new);
    let mut out = Files {
        tasks: Vec::new(),
        page_cache: with_pages,
        reference: reference.as_ref().map(|r| r.text.to_string()),
    };
    for &t in chosen {
        let mut problems = Vec::new();
        let (root, cwd) = match root_and_cwd(prog, t.addr) {
            Ok((r, c)) => (Some(r), Some(c)),
            Err(e) => {
                problems.push(format!("root and cwd: {e}"));
                (None, None)
            }
        };
        let mut unreadable = Vec::new();
        let files = match open_files(prog, t.addr) {
            Ok((files, lost)) => {
                unreadable = lost
                    .into_iter()
                    .map(|u| UnreadableFile {
                        fd: u.fd,
                        file: u.file,
                        error: u.error,
                    })
                    .collect();
                let mut rows = Vec::new();
                for f in files {
                    let cache = match (with_pages, f.inode) {
                        (false, _) | (true, 0) => None,
                        (true, inode) => match page_cache(prog, inode) {
                            Ok(c) => Some(c),
                            Err(e) => {
                                problems.push(format!("fd {} inode {inode:#x}: {e}", f.fd));
                                None
                            }
                        },
                    };
                    rows.push(FileRow {
                        fd: f.fd,
                        file: f.file,
                        dentry: f.dentry,
                        inode: f.inode,
                        kind: type_name(f.mode).to_string(),
                        path: f.path,
                        protocol: f.protocol,
                        page_cache: cache,
                    });
                }
                rows
            }
            Err(e) => {
                problems.push(format!("file table: {e}"));
                Vec::new()
            }
        };
        let mut task = TaskFiles {
            pid: t.pid,
            task: t.addr,
            cpu: t.cpu,
            comm: t.comm.clone(),
            root,
            cwd,
            files,
            unreadable,
            problems,
            root_cwd_refers: false,
        };
        if let Some(r) = &reference {
            let max_fds = max_fds(prog, t.addr).unwrap_or(0);
            task.root_cwd_refers = r.names(task.root.as_deref()) || r.names(task.cwd.as_deref());
            task.files.retain(|f| file_refers(r, max_fds, f));
            // a task is listed when something in it refers to the reference, or when what
            // could not be read might have
            if !task.root_cwd_refers && task.files.is_empty() && task.complete() {
                continue;
            }
        }
        out.tasks.push(task);
    }
    Ok(Box::new(out))
}

/// The size of a task's descriptor table (`files->fdt->max_fds`); crash reads a decimal
/// `-R` number up to it as a descriptor, a larger one as hexadecimal.
pub(crate) fn max_fds(prog: &kdive_program::Program, task: u64) -> kdive_program::Result<u64> {
    let files = prog
        .object("struct task_struct", task)?
        .member("files")?
        .read_u64()?;
    if files == 0 {
        return Ok(0);
    }
    Ok(u64::from(
        prog.object("struct files_struct", files)?
            .member("fdt")?
            .deref()?
            .member("max_fds")?
            .read_u64()? as u32,
    ))
}

/// crash's `open_file_reference`: a number is the descriptor (a decimal one up to
/// `max_fds`, else read as hexadecimal) or the file, dentry or inode address; a word is the
/// TYPE column or a component of the path.
fn file_refers(r: &Reference, max_fds: u64, f: &FileRow) -> bool {
    let numeric = r.descriptor(max_fds, f.fd, &[f.file, f.dentry, f.inode]);
    // crash matches the path only on a row of six words, so never a socket's, whose
    // protocol adds a word, nor a path with a space: kdive matches every path, as the
    // reference names a file whatever precedes it on the row
    numeric || r.text == f.kind || r.names(Some(&f.path))
}

/// crash's TYPE column from `i_mode`.
pub(crate) fn type_name(mode: u32) -> &'static str {
    match mode & 0o170000 {
        0o100000 => "REG",
        0o040000 => "DIR",
        0o020000 => "CHR",
        0o060000 => "BLK",
        0o010000 => "FIFO",
        0o140000 => "SOCK",
        0o120000 => "LNK",
        _ => "UNKN",
    }
}

impl Report for Files {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for t in &self.tasks {
            writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            if let (Some(r), Some(c)) = (&t.root, &t.cwd) {
                // crash's `-R` line ends with a space
                let end = if self.reference.is_some() { " " } else { "" };
                writeln!(out, "ROOT: {r}    CWD: {c}{end}")?;
            }
            if self.reference.is_some() && t.files.is_empty() && t.unreadable.is_empty() {
                // `-R` with only the ROOT line matching: no file header
            } else if t.complete() && t.files.is_empty() {
                writeln!(out, "No open files")?;
            } else if (!t.files.is_empty() || !t.unreadable.is_empty()) && self.page_cache {
                writeln!(
                    out,
                    " FD      INODE          I_MAPPING     NRPAGES TYPE PATH"
                )?;
            } else if !t.files.is_empty() || !t.unreadable.is_empty() {
                writeln!(
                    out,
                    " FD       FILE            DENTRY           INODE       TYPE PATH"
                )?;
            }
            // readable and unreadable descriptors in fd order
            let mut rows: Vec<(u64, String)> = t
                .files
                .iter()
                .map(|f| {
                    let path = match &f.protocol {
                        Some(p) => format!("{p} {}", f.path),
                        None => f.path.clone(),
                    };
                    let line = match (&f.page_cache, self.page_cache) {
                        // crash's -c row: INODE, I_MAPPING, NRPAGES in 7 columns
                        (Some(c), true) => format!(
                            "{:>3} {:016x} {:016x} {:>7} {:<4} {path}\n",
                            f.fd, f.inode, c.i_mapping, c.nrpages, f.kind
                        ),
                        (None, true) => format!(
                            "{:>3} {:016x} {:>16} {:>7} {:<4} {path}\n",
                            f.fd, f.inode, "?", "?", f.kind
                        ),
                        _ => format!(
                            "{:>3} {:016x} {:016x} {:016x} {:<4} {path}\n",
                            f.fd, f.file, f.dentry, f.inode, f.kind
                        ),
                    };
                    (f.fd, line)
                })
                .collect();
            rows.extend(t.unreadable.iter().map(|u| {
                let line = format!(
                    "{:>3} {:016x} {:>16} {:>16} {:<4} (not readable: {})\n",
                    u.fd, u.file, "?", "?", "?", u.error
                );
                (u.fd, line)
            }));
            rows.sort_by_key(|r| r.0);
            for (_, line) in rows {
                out.write_all(line.as_bytes())?;
            }
            for p in &t.problems {
                writeln!(out, "files: {p}")?;
            }
            if !t.complete() {
                writeln!(out, "files: this list is incomplete")?;
            }
            // crash ends each task's listing with a blank line
            writeln!(out)?;
        }
        Ok(())
    }
}
