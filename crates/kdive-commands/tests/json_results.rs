//! Every command's `--json` result on real dumps of the corpus: the envelope parses; the result
//! reads back into its type and serialises to the same JSON; the text rendered from the
//! read-back result is the command's own text (so nothing the text shows is missing from the
//! JSON); every address and number the text shows is a JSON value; and the values the text is
//! made of are in the JSON one for one: `bt -f` stack words, `bt -t` text addresses, `log -m`
//! levels, `log -c` callers, `rd` words, `search` hits, `ps` rows.

use std::collections::HashSet;

use kdive_commands::envelope::{self, Envelope, Outcome, SCHEMA_VERSION};
use kdive_commands::{run, CommandError, Report, Session};
use kdive_testdata::{corpus_or_skip, fixtures, Fixture};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Dumps of two kernels: a module's oops (6.1, with exception frames) and a hung task (6.12,
/// per-kind module memory).
const FIXTURES: [&str; 2] = ["b-null-module-6.1", "c-hung-task-6.12"];

/// Every command of the dispatcher, with the flags that change what its text shows.
fn commands(fx: &Fixture, raw_file: &str) -> Vec<String> {
    let module = if fx.name.starts_with("b-") {
        "null_pointer"
    } else {
        "hung"
    };
    let mut cmds: Vec<String> = [
        "sys",
        "ps",
        "ps -k",
        "ps -u",
        "ps -G",
        "ps -t",
        "ps -p 1",
        "log",
        "log -m",
        "log -c",
        "log -t",
        "log -T",
        "log -d",
        "log -a",
        "log -s",
        "bt",
        "bt -a",
        "bt -f",
        "bt -t",
        "bt -T",
        "bt -s -x",
        "bt -s",
        "bt -l",
        "bt 1",
        "bt -F",
        "bt -FF",
        "bt -r",
        "bt -e",
        "bt -E",
        "bt -v",
        "bt -c 0",
        "bt -g 1",
        "bt -R schedule 1",
        "foreach bt",
        "foreach files",
        "foreach vm",
        "info",
        "info -v",
        "rd -64 init_task 32",
        "rd -32 linux_banner 12",
        "rd -16 linux_banner 9",
        "rd -8 linux_banner 20",
        "rd -x init_task 4",
        "rd -d -32 jiffies 4",
        "rd -D jiffies 2",
        "rd -a linux_banner",
        "rd -p 0x1000000 8",
        "rd -s init_task 16",
        "rd -S init_task 16",
        "rd -SS init_task 16",
        "rd -N -32 linux_banner 4",
        "rd -o 0x10 init_task 2",
        "dis schedule 20",
        "dis -l schedule 5",
        "dis -x schedule 8",
        "dis -r schedule+30",
        "dis -f schedule+30",
        "dis schedule+5",
        "sym -q schedule",
        "search -x 2 -s init_task -l 0x3000 init_task",
        "search -K -s init_task -l 0x3000 init_task",
        "list -r task_struct.tasks -h init_task",
        "list -B task_struct.tasks -h init_task",
        "search -s init_task -l 0x3000 init_task",
        "search -w -s init_task -l 0x40 0",
        "search -s linux_banner -l 0x100 -c Linux",
        "mod",
        "sym panic",
        "sym init_task",
        "runq",
        "kmem -i",
        "kmem -s",
        "kmem -s kmem_cache",
        "list task_struct.tasks -h init_task",
        "list -s task_struct.pid,comm task_struct.tasks -h init_task",
        "mount",
        "files",
        "files 1",
        "vm",
        "vm 1",
        "net",
        "dev",
        "irq",
        "struct list_head",
        "struct list_head init_task",
        "p runqueues",
        "p runqueues:1",
        "p sizeof(struct list_head)",
        "p/x *(unsigned long *)&jiffies",
        "whatis schedule",
        "ptype struct list_head",
        "eval -b 0x55",
        "ascii 62696c2f7273752f",
        "struct task_struct.pid,comm init_task",
        "struct -p task_struct.mm,files,comm init_task",
        "struct -p file_operations tty_fops",
        "union bpf_attr",
        "*list_head init_task",
        "task_struct init_task",
        "task",
        "task -R pid,comm 1",
        "whatis list_head",
        "whatis -r 256-512 -m task_struct",
        "analyze",
        "set",
        "set 1",
        "set -c 0",
        "set -p",
        "ps -l",
        "ps -m",
        "ps -S",
        "ps -s",
        "ps -a 1",
        "ps -c 1",
        "ps -r",
        "ps -g 1",
        "ps -y NORMAL",
        "irq -s",
        "irq -a",
        "irq -b",
        "runq -t",
        "runq -m",
        "runq -T",
        "runq -g",
        "runq -d",
        "mount -n 1",
        "mount -f",
        "mount -i",
        "set -v",
        "mach",
        "mach -c",
        "mach -m",
        "timer",
        "timer -r",
        "sig 1",
        "sig -g 1",
        "sig -R 2,SIGTERM 1",
        "sig -l",
        "sig -s 4000",
        "foreach sig",
        "swap",
        "ipcs",
        "waitq log_wait",
        "fuser /",
        "bpf",
        "net -s 1",
        "foreach net",
        "net -a",
        "net -n",
        "dev -d",
        "dev -p",
        "mod -t",
        "sys -c",
        "sys -t",
        "help",
        "help ps",
        "vm -m 1",
        "vm -p 1",
        "vm -v 1",
        "vm -x -v 1",
        "vm -R 400000 1",
        "vm -f 100173",
        "alias",
        "alias ll \"ps -l\"",
        "files -c 1",
        "irq -u",
        "foreach 1 ps",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    cmds.push(format!("sym -m {module}"));
    cmds.push(format!("rd -r {raw_file} init_task 256"));
    cmds.push(format!(
        "oops {}",
        fx.dir.join("vmcore-dmesg.txt").display()
    ));
    cmds.extend(address_commands(fx));
    cmds
}

/// The address commands (`kmem`, `vtop`, `ptov`, `pte`, `btop`, `ptob`, `tree`) with the
/// fixture's own addresses: the command lines of crash's references `023`-`040` and
/// `045`-`047` (those crash could run), and the flags they leave out.
fn address_commands(fx: &Fixture) -> Vec<String> {
    let dir = fx.dir.join("reference/crash-more");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut cmds = Vec::new();
    let mut task = None;
    for n in names {
        let Ok(num) = n.get(..3).unwrap_or("").parse::<u32>() else {
            continue;
        };
        if !(23..=40).contains(&num) && !(45..=47).contains(&num) {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&n)).unwrap();
        let mut lines = text.lines();
        let cmd = lines.next().unwrap().strip_prefix("crash> ").unwrap();
        let cmd = cmd.split(" | ").next().unwrap().to_string();
        if lines.next().is_some_and(|l| l.contains("invalid")) {
            continue; // crash could not run it (no vmap_area_root on 6.12)
        }
        if n.contains("-kmem-task") {
            task = cmd.split_whitespace().nth(1).map(str::to_string);
        }
        cmds.push(cmd);
    }
    let task = task.expect("a kmem-task reference");
    cmds.extend(
        [
            "kmem -p",
            "kmem -F",
            "kmem -g",
            "kmem -g 0x1000",
            "kmem -S kmem_cache",
            "kmem -P -p 0x1000",
            "ptov 0x0:a",
            "tree -l -p -o vmap_area.rb_node free_vmap_area_root",
        ]
        .map(String::from),
    );
    cmds.push(format!("kmem -s {task}"));
    cmds.push(format!("kmem -p {task}"));
    if fx.name.contains("6.1") && !fx.name.contains("6.12") {
        cmds.push("tree -t radix -p irq_desc_tree".into());
        cmds.push("tree -t xarray -p irq_desc_tree".into());
    } else {
        cmds.push("tree -t maple -p sparse_irqs".into());
    }
    cmds
}

/// The result of `cmd` read back from its JSON into the command's own result type.
fn read_back(cmd: &str, v: Value) -> Box<dyn Report> {
    use kdive_commands::*;
    fn de<T: Report + DeserializeOwned + 'static>(cmd: &str, v: Value) -> Box<dyn Report> {
        Box::new(
            serde_json::from_value::<T>(v)
                .unwrap_or_else(|e| panic!("{cmd}: the JSON does not read back: {e}")),
        )
    }
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    match words[0] {
        "sys" if has("-t") => de::<sys::SysTaint>(cmd, v),
        "sys" if has("-c") => de::<sys::SysCalls>(cmd, v),
        "sys" => de::<sys::Sys>(cmd, v),
        "ps" => de::<ps::Ps>(cmd, v),
        "log" if has("-a") => de::<log::AuditLog>(cmd, v),
        "log" if has("-s") => de::<log::SafeLog>(cmd, v),
        "log" => de::<log::LogOut>(cmd, v),
        "bt" => de::<bt::Bt>(cmd, v),
        "foreach" if has("bt") => de::<bt::Bt>(cmd, v),
        "foreach" if has("files") => de::<files::Files>(cmd, v),
        "foreach" if has("sig") => de::<sig::Sig>(cmd, v),
        "foreach" if has("net") => de::<net::NetSockets>(cmd, v),
        "foreach" if has("ps") => de::<ps::Ps>(cmd, v),
        "foreach" => de::<vm::Vm>(cmd, v),
        "set" if has("-v") => de::<set::Settings>(cmd, v),
        "set" => de::<set::SetReport>(cmd, v),
        "info" => de::<info::Info>(cmd, v),
        "rd" => de::<rd::Rd>(cmd, v),
        "dis" => de::<dis::Dis>(cmd, v),
        "search" => de::<search::SearchOut>(cmd, v),
        "mod" if has("-t") => de::<modules::ModTaints>(cmd, v),
        "mod" => de::<modules::Mod>(cmd, v),
        "analyze" => de::<analyze::Analysis>(cmd, v),
        "oops" => de::<oops::Oops>(cmd, v),
        "sym" if has("-m") || has("-l") || has("-q") => de::<sym::ModuleSyms>(cmd, v),
        "sym" => de::<sym::Sym>(cmd, v),
        "runq" if has("-d") => de::<runq::RunqOnRq>(cmd, v),
        "runq" if has("-g") => de::<runq::RunqGroups>(cmd, v),
        "runq" if has("-t") || has("-m") || has("-T") => de::<runq::RunqClocks>(cmd, v),
        "runq" => de::<runq::Runq>(cmd, v),
        "kmem" => read_back_kmem(cmd, v),
        "vtop" => de::<vtop::Vtop>(cmd, v),
        "ptov" => de::<vtop::Ptov>(cmd, v),
        "pte" => de::<vtop::Pte>(cmd, v),
        "btop" | "ptob" => de::<vtop::PageFrames>(cmd, v),
        "tree" => de::<tree::Tree>(cmd, v),
        "list" => de::<list::List>(cmd, v),
        "mount" => de::<mount::Mount>(cmd, v),
        "files" if has("-d") => de::<files::DentryRow>(cmd, v),
        "files" if has("-p") => de::<files::InodePages>(cmd, v),
        "files" => de::<files::Files>(cmd, v),
        "vm" if has("-f") => de::<vm::VmFlags>(cmd, v),
        "vm" => de::<vm::Vm>(cmd, v),
        "alias" => de::<alias::AliasReport>(cmd, v),
        "net" if has("-s") => de::<net::NetSockets>(cmd, v),
        "net" if has("-a") => de::<net::NetArp>(cmd, v),
        "net" => de::<net::Net>(cmd, v),
        "dev" if has("-d") => de::<dev::DevDisks>(cmd, v),
        "dev" if has("-p") => de::<dev::DevPci>(cmd, v),
        "dev" => de::<dev::Dev>(cmd, v),
        "irq" if has("-s") => de::<irq::IrqCounts>(cmd, v),
        "irq" if has("-a") => de::<irq::IrqAffinity>(cmd, v),
        "irq" if has("-b") => de::<irq::Softirqs>(cmd, v),
        "irq" => de::<irq::IrqList>(cmd, v),
        "mach" if has("-c") => de::<mach::MachCpus>(cmd, v),
        "mach" if has("-m") => de::<mach::MachMemoryMap>(cmd, v),
        "mach" => de::<mach::Mach>(cmd, v),
        "timer" if has("-r") => de::<timer::HrTimers>(cmd, v),
        "timer" => de::<timer::Timers>(cmd, v),
        "sig" if has("-l") || has("-s") => de::<sig::SigNames>(cmd, v),
        "sig" => de::<sig::Sig>(cmd, v),
        "swap" => de::<swap::Swap>(cmd, v),
        "ipcs" => de::<ipcs::Ipcs>(cmd, v),
        "waitq" => de::<waitq::Waitq>(cmd, v),
        "fuser" => de::<fuser::Fuser>(cmd, v),
        "bpf" => de::<bpf::Bpf>(cmd, v),
        "help" => de::<help::Help>(cmd, v),
        "p" | "p/x" => de::<print::PrintReport>(cmd, v),
        "ptype" => de::<print::TypeReport>(cmd, v),
        "whatis" if has("schedule") => de::<print::TypeReport>(cmd, v),
        "eval" => de::<eval::EvalReport>(cmd, v),
        "ascii" => de::<eval::AsciiReport>(cmd, v),
        // struct, union, *, task, whatis, and a structure's name as a command
        _ => de::<structs::StructReport>(cmd, v),
    }
}

/// The result of a `kmem` command read back: its flag chooses the type.
fn read_back_kmem(cmd: &str, v: Value) -> Box<dyn Report> {
    use kdive_commands::kmem::*;
    let flag = cmd.split_whitespace().skip(1).find(|w| w.starts_with('-'));
    let last = cmd.split_whitespace().last().unwrap();
    let hex_word = last
        .trim_start_matches("0x")
        .bytes()
        .all(|b| b.is_ascii_hexdigit());
    let address = cmd.split_whitespace().count() > 2 && hex_word;
    macro_rules! to {
        ($t:ty) => {
            Box::new(
                serde_json::from_value::<$t>(v)
                    .unwrap_or_else(|e| panic!("{cmd}: the JSON does not read back: {e}")),
            ) as Box<dyn Report>
        };
    }
    match flag {
        Some("-i") => to!(KmemInfo),
        Some("-s") if address => to!(slabs::KmemSlabOf),
        Some("-s") => to!(KmemSlabs),
        Some("-S") => to!(slabs::KmemCacheSlabs),
        Some("-p" | "-P") => to!(pages::KmemPages),
        Some("-g") => to!(pages::KmemPageFlags),
        Some("-f" | "-F") => to!(zones::KmemFree),
        Some("-z") => to!(zones::KmemZones),
        Some("-n") => to!(zones::KmemNodes),
        Some("-V") => to!(counters::KmemVmStat),
        Some("-o") => to!(counters::KmemPerCpu),
        Some("-h") => to!(counters::KmemHugePages),
        Some("-v") => to!(vmalloc::KmemVmalloc),
        None => to!(address::KmemAddress),
        Some(f) => panic!("{cmd}: no result type for {f}"),
    }
}

/// Runs `cmd` and checks its envelope, its round trip and that its text is made from its JSON;
/// returns the text and the JSON.
fn checked(s: &Session, cmd: &str) -> (String, Value) {
    let r = run(s, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let (text, json) = (r.text(), r.json());
    assert!(json.is_object(), "{cmd}: {json}");

    let mut line = Vec::new();
    envelope::write(&mut line, cmd, Ok(r.as_ref())).unwrap();
    assert_eq!(line.last(), Some(&b'\n'), "{cmd}");
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "{cmd}");
    let env: Envelope<Value> = serde_json::from_slice(&line)
        .unwrap_or_else(|e| panic!("{cmd}: the envelope does not parse: {e}"));
    assert_eq!(env.schema_version, SCHEMA_VERSION);
    assert_eq!(env.command, cmd);
    // parsed as the envelope's result was (serde_json may round a float's last digit)
    let reparsed: Value = serde_json::from_str(&json.to_string()).unwrap();
    assert!(
        env.outcome == Outcome::Result(reparsed),
        "{cmd}: the envelope's result is not the command's JSON"
    );

    let back = read_back(cmd, json.clone());
    assert!(back.json() == json, "{cmd}: the JSON does not round-trip");
    assert_eq!(
        back.text(),
        text,
        "{cmd}: the text made from the JSON is not the command's text"
    );
    values_in_json(cmd, &text, &json);
    (text, json)
}

/// What a JSON document holds, for looking up what a text shows.
#[derive(Default)]
struct Held {
    /// Integers: numbers, `"0x…"` strings (also as the negative numbers `rd -d` shows), and
    /// the sizes of arrays and objects (counts a text shows).
    ints: HashSet<u64>,
    /// The same integers in other units: divided by 10^3, 10^6, 10^9 (ns shown as seconds).
    scaled: HashSet<u64>,
    /// Every number, for comparing rounded fractions.
    floats: Vec<f64>,
    /// The tokens of every string.
    words: HashSet<String>,
}

/// The tokens of `s`: runs of letters, digits, `_` and `.`, without dots at their ends, with
/// where each ends.
fn tokens(s: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices().chain([(s.len(), ' ')]) {
        let part = c.is_ascii_alphanumeric() || c == '_' || c == '.';
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(b)) => {
                let t = s[b..i].trim_matches('.');
                if !t.is_empty() {
                    out.push((t, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

impl Held {
    fn of(v: &Value) -> Held {
        let mut h = Held::default();
        h.add(v);
        for &n in &h.ints.clone() {
            for k in [1_000, 1_000_000, 1_000_000_000] {
                h.scaled.insert(n / k);
            }
        }
        h
    }

    fn int(&mut self, n: u64) {
        self.ints.insert(n);
        self.floats.push(n as f64);
        // a 32- or 64-bit value with its top bit set, as `rd -d` shows it (negative)
        if (1 << 31..1 << 32).contains(&n) {
            self.ints.insert((1u64 << 32) - n);
        }
        if n >= 1 << 63 {
            self.ints.insert(n.wrapping_neg());
        }
    }

    fn add(&mut self, v: &Value) {
        match v {
            Value::Number(n) => match n.as_u64() {
                Some(u) => self.int(u),
                None => {
                    if let Some(i) = n.as_i64() {
                        self.ints.insert(i.unsigned_abs());
                    }
                    self.floats.extend(n.as_f64());
                }
            },
            Value::String(s) => {
                if let Some(h) = s.strip_prefix("0x") {
                    if let Ok(n) = u64::from_str_radix(h, 16) {
                        self.int(n);
                    }
                }
                for (t, _) in tokens(s) {
                    if let Ok(f) = t.parse::<f64>() {
                        self.floats.push(f);
                    }
                    self.words.insert(t.to_string());
                }
            }
            Value::Array(a) => {
                self.ints.insert(a.len() as u64);
                a.iter().for_each(|x| self.add(x));
            }
            Value::Object(o) => {
                self.ints.insert(o.len() as u64);
                for (k, x) in o {
                    self.words.insert(k.clone());
                    self.add(x);
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// Whether a fraction shown with `decimals` places is some number (rounded or cut off),
    /// in some unit.
    fn fraction(&self, f: f64, decimals: usize) -> bool {
        let tolerance = 10f64.powi(-(decimals as i32));
        self.floats.iter().any(|x| {
            [1.0, 1e3, 1e6, 1e9]
                .iter()
                .any(|s| (x / s - f).abs() <= tolerance)
        })
    }

    /// Whether the value token `t` of a text is held; `None` for a token that is not a value
    /// (a word, a name, a version, a short number).
    fn holds(&self, t: &str) -> Option<bool> {
        if self.words.contains(t) {
            return Some(true);
        }
        let hex = |h: &str| u64::from_str_radix(h, 16).ok();
        if let Some(h) = t.strip_prefix("0x") {
            return Some(hex(h).is_some_and(|n| self.ints.contains(&n)));
        }
        let digits = t.bytes().all(|b| b.is_ascii_digit());
        if t.len() >= 8 && t.len() <= 16 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            let as_hex = hex(t).is_some_and(|n| self.ints.contains(&n));
            let as_dec = digits && t.parse().is_ok_and(|n: u64| self.ints.contains(&n));
            return Some(as_hex || as_dec);
        }
        if digits && t.len() >= 3 {
            let n: u64 = t.parse().ok()?;
            // crash shows many numbers in hex without `0x` (`CS: 0010`, a VMA's `400000`)
            let as_hex = hex(t).is_some_and(|n| self.ints.contains(&n));
            return Some(self.ints.contains(&n) || self.scaled.contains(&n) || as_hex);
        }
        if let Some((a, b)) = t.split_once('.') {
            let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
            if numeric(a) && numeric(b) {
                return Some(self.fraction(t.parse().ok()?, b.len()));
            }
        }
        None
    }
}

/// Every address and number `text` shows is a value of `json`. Not looked for: crash's sizes
/// with a unit (`245.7 MB`) and percentages, computed from page counts the JSON holds, and the
/// address and ASCII column around each line of `rd`'s values (its `address` plus 16 per
/// line, and the values' bytes: `rd_words` checks them); the same for the `rd` lines `search -x`
/// shows around each match (their values are the match's `before` and `after`).
fn values_in_json(cmd: &str, text: &str, json: &Value) {
    let held = Held::of(json);
    let mut missing = Vec::new();
    let rd_lines = cmd.starts_with("rd") || (cmd.starts_with("search") && cmd.contains("-x"));
    let rd_size = json["options"]["size"].as_u64().filter(|_| rd_lines);
    for line in text.lines() {
        let values: String;
        let line = match (line.split_once(':'), rd_size) {
            (Some((_, rest)), Some(size @ 1..)) => {
                let number = |w: &&str| {
                    w.trim_start_matches('-')
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit())
                };
                let words: Vec<&str> = rest
                    .split_whitespace()
                    .take(16 / size as usize)
                    .filter(number)
                    .collect();
                values = words.join(" ");
                &values
            }
            _ => line,
        };
        for (t, end) in tokens(line) {
            let rest = line[end..].trim_start_matches(' ');
            let unit = ["KB", "MB", "GB", "%"].iter().any(|u| rest.starts_with(u));
            if !unit && held.holds(t) == Some(false) {
                missing.push(format!("{t} (in {line:?})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{cmd}: the text shows values the JSON lacks: {}",
        missing[..missing.len().min(10)].join("; ")
    );
}

fn hex(v: &Value) -> u64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not a hex string: {v}"));
    u64::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// `bt -f`: the words under each frame are the frames' `words`, in order.
fn frame_words(cmd: &str, text: &str, json: &Value) {
    let shown: Vec<(u64, Vec<u64>)> = text
        .lines()
        .filter_map(|l| {
            let (at, rest) = l.strip_prefix("    ")?.split_once(": ")?;
            let at = u64::from_str_radix(at, 16)
                .ok()
                .filter(|_| at.len() == 16)?;
            let words = rest
                .split_whitespace()
                .map(|w| u64::from_str_radix(w, 16).ok());
            Some((at, words.collect::<Option<Vec<u64>>>()?))
        })
        .collect();
    let mut held = Vec::new();
    for t in json["tasks"].as_array().unwrap() {
        for f in t["frames"].as_array().unwrap() {
            for pair in f["words"].as_array().unwrap().chunks(2) {
                let values = pair.iter().map(|w| hex(&w["value"])).collect();
                held.push((hex(&pair[0]["address"]), values));
            }
        }
    }
    assert!(shown.len() > 10, "{cmd}: {text}");
    assert_eq!(shown, held, "{cmd}");
}

/// `bt -t`/`-T`: each `[slot] function at value` line is a `text_words` entry.
fn text_words(cmd: &str, text: &str, json: &Value) {
    let shown: Vec<(u64, String, u64)> = text
        .lines()
        .filter_map(|l| {
            let (slot, rest) = l.strip_prefix("  [")?.split_once("] ")?;
            let (name, value) = rest.rsplit_once(" at ")?;
            let name = name.split(" [").next()?.to_string();
            Some((
                u64::from_str_radix(slot, 16).ok()?,
                name,
                u64::from_str_radix(value, 16).ok()?,
            ))
        })
        .collect();
    let held: Vec<(u64, String, u64)> = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["text_words"].as_array().unwrap())
        .map(|w| {
            let f = w["function"].as_str().unwrap().to_string();
            (hex(&w["slot"]), f, hex(&w["value"]))
        })
        .collect();
    assert!(shown.len() > 5, "{cmd}: {text}");
    assert_eq!(shown, held, "{cmd}");
}

/// The records of a `log` JSON whose text is not empty (an empty one prints an empty line).
fn shown_records(json: &Value) -> Vec<&Value> {
    json["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["text"].as_str().is_some_and(|t| !t.is_empty()))
        .collect()
}

/// What follows the timestamp of each record's first line: the lines that start with `[`.
fn after_timestamps(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest))
        .collect()
}

/// `log -m`: each record's `<level>` (hex) is its `level`.
fn log_levels(text: &str, json: &Value) {
    let shown: Vec<u64> = after_timestamps(text)
        .iter()
        .map(|rest| {
            let level = rest.strip_prefix('<').and_then(|r| r.split_once('>'));
            let level = level
                .unwrap_or_else(|| panic!("log -m: no level in {rest:?}"))
                .0;
            u64::from_str_radix(level, 16).unwrap()
        })
        .collect();
    let held: Vec<u64> = shown_records(json)
        .iter()
        .map(|r| r["level"].as_u64().unwrap())
        .collect();
    assert!(shown.len() > 100, "log -m");
    assert!(
        shown.iter().any(|&l| l != held[0]),
        "log -m: one level only"
    );
    assert_eq!(shown, held, "log -m");
}

/// `log -c`: each record's `[T565]` is its `caller`.
fn log_callers(text: &str, json: &Value) {
    let shown: Vec<&str> = after_timestamps(text)
        .iter()
        .filter_map(|rest| Some(rest.strip_prefix('[')?.split_once(']')?.0.trim()))
        .collect();
    let held: Vec<&str> = shown_records(json)
        .iter()
        .filter_map(|r| r["caller"].as_str())
        .collect();
    assert!(shown.len() > 100, "log -c");
    assert!(shown.iter().any(|c| c.starts_with('T')), "log -c");
    assert_eq!(shown, held, "log -c");
}

/// `rd -8/-16/-32/-64`: the values of each line are the `values`, in order.
fn rd_words(cmd: &str, text: &str, json: &Value) {
    let size = json["options"]["size"].as_u64().unwrap() as usize;
    let signed = json["options"]["radix"] == "signed";
    let per_line = 16 / size;
    let start = hex(&json["address"]);
    for (i, l) in text.lines().enumerate() {
        let at = l.split_once(':').unwrap().0.trim();
        assert_eq!(
            u64::from_str_radix(at, 16),
            Ok(start + 16 * i as u64),
            "{cmd}: {l}"
        );
    }
    // `-s`/`-S`: a value shown by its name is that `labels` entry
    let labels: Vec<Option<String>> = json["labels"]
        .as_array()
        .map(|a| a.iter().map(|l| l.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let tokens: Vec<String> = text
        .lines()
        .flat_map(|l| {
            let (_, rest) = l.split_once(':').unwrap();
            rest.split_whitespace()
                .take(per_line)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut shown = Vec::new();
    for (i, w) in tokens.iter().enumerate() {
        if let Some(Some(label)) = labels.get(i) {
            assert_eq!(w, label, "{cmd}: value {i} is shown by its label");
            continue;
        }
        let v = match signed {
            true => w.parse::<i128>().ok(),
            false if w.len() == 2 * size => i128::from_str_radix(w, 16).ok(),
            false => None,
        };
        match v {
            Some(v) => shown.push(v),
            None => break,
        }
    }
    let held: Vec<i128> = json["values"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(labels.get(*i), Some(Some(_))))
        .map(|(_, v)| {
            let v = hex(v);
            match signed {
                true => i128::from((v as u32) as i32),
                false => i128::from(v),
            }
        })
        .collect();
    assert!(
        !held.is_empty() || labels.iter().all(Option::is_some),
        "{cmd}"
    );
    assert_eq!(shown, held, "{cmd}");
}

/// `search`: each `address: value (symbol)` or `address: text` line is a match.
fn search_hits(cmd: &str, text: &str, json: &Value) {
    let mut shown: Vec<(u64, String)> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (at, rest) = l.split_once(": ").unwrap();
            (
                u64::from_str_radix(at.trim_start(), 16).unwrap(),
                rest.trim().to_string(),
            )
        })
        .collect();
    let held: Vec<(u64, String)> = json["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let what = match (&m["text"], m["symbol"].as_str()) {
                (Value::String(t), _) => t.clone(),
                (_, Some(sym)) => format!("{:x} ({sym})", hex(&m["value"])),
                (_, None) => format!("{:x}", hex(&m["value"])),
            };
            (hex(&m["address"]), what)
        })
        .collect();
    assert!(!held.is_empty(), "{cmd}");
    if cmd.contains("-x") {
        // the `rd` lines around each match (`values_in_json` checks their values)
        shown.retain(|hit| held.contains(hit));
    }
    assert_eq!(shown, held, "{cmd}");
}

/// `ps`: each row's columns are the row's fields.
fn ps_rows(text: &str, json: &Value) {
    let shown: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| {
            let mut cols = vec![(l.starts_with('>')).to_string()];
            cols.extend(l[1..].split_whitespace().map(str::to_string));
            cols
        })
        .collect();
    let held: Vec<Vec<String>> = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let comm = r["comm"].as_str().unwrap();
            let comm = match r["kthread"].as_bool().unwrap() {
                true => format!("[{comm}]"),
                false => comm.to_string(),
            };
            vec![
                r["active"].to_string(),
                r["pid"].to_string(),
                r["ppid"].to_string(),
                r["cpu"].to_string(),
                format!("{:016x}", hex(&r["task"])),
                r["st"].as_str().unwrap().to_string(),
                format!("{:.1}", r["mem_percent"].as_f64().unwrap()),
                r["vsz"].to_string(),
                r["rss"].to_string(),
                comm,
            ]
        })
        .collect();
    assert!(held.len() > 50, "ps");
    assert_eq!(shown, held, "ps");
}

/// An error's envelope: its kind, and the message the text front end prints.
fn error_envelope(s: &Session, cmd: &str, kind: &str) {
    let e: CommandError = match run(s, cmd) {
        Ok(_) => panic!("{cmd}: no error"),
        Err(e) => e,
    };
    let mut line = Vec::new();
    envelope::write(&mut line, cmd, Err(&e)).unwrap();
    let env: Envelope<Value> = serde_json::from_slice(&line).unwrap();
    assert_eq!(env.schema_version, SCHEMA_VERSION);
    assert_eq!(env.command, cmd);
    match env.outcome {
        Outcome::Error { error: o } => {
            assert_eq!(o.kind, kind, "{cmd}");
            assert_eq!(o.message, e.to_string(), "{cmd}");
        }
        Outcome::Result(r) => panic!("{cmd}: a result: {r}"),
    }
}

#[test]
fn every_command_json_parses_round_trips_and_holds_its_text() {
    if corpus_or_skip("every_command_json_parses_round_trips_and_holds_its_text").is_none() {
        return;
    }
    for fx in fixtures()
        .into_iter()
        .filter(|f| FIXTURES.contains(&&*f.name))
    {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let raw = std::env::temp_dir().join(format!("kdive-json-rd-{}", std::process::id()));
        for cmd in commands(&fx, &raw.display().to_string()) {
            let (text, json) = checked(&s, &cmd);
            match cmd.as_str() {
                "bt -f" => frame_words(&cmd, &text, &json),
                "bt -t" | "bt -T" => text_words(&cmd, &text, &json),
                "log -m" => log_levels(&text, &json),
                "log -c" => log_callers(&text, &json),
                "ps" => ps_rows(&text, &json),
                c if c.starts_with("search") => search_hits(&cmd, &text, &json),
                c if c.starts_with("rd -")
                    && !c.starts_with("rd -a")
                    && !c.starts_with("rd -r")
                    && !c.starts_with("rd -D") =>
                {
                    rd_words(&cmd, &text, &json)
                }
                _ => {}
            }
        }
        assert_eq!(
            std::fs::metadata(&raw).map(|m| m.len()).ok(),
            Some(256),
            "rd -r"
        );
        let _ = std::fs::remove_file(&raw);
        // `files -d` of the dentry of PID 1's first open file: its inode and path
        let first = run(&s, "files 1").unwrap().json()["tasks"][0]["files"][0].clone();
        let cmd = format!("files -d {}", first["dentry"].as_str().unwrap());
        let (_, json) = checked(&s, &cmd);
        assert_eq!(json["inode"], first["inode"], "{cmd}");
        assert_eq!(json["path"], first["path"], "{cmd}");

        error_envelope(&s, "frob", "unknown_command");
        error_envelope(&s, "bt 999999", "usage");
        error_envelope(&s, "rd", "usage");
        // a read the dump cannot answer is a fault, with its address
        error_envelope(&s, "rd 0x10", "fault");
    }
}
