//! The first answer does not grow with the number of tasks: on a kernel with 100,000 tasks,
//! opening the dump and answering `sys` and `bt` reads far fewer pages than the tasks occupy,
//! while a listing (`ps`) reads every one of them.

use kdive_commands::Session;
use kdive_testdata::kernel::{kernel_with_threads, vmcore};
use kdive_testdata::temp::Scratch;

/// Kernel threads added to the synthetic kernel's three tasks.
const EXTRA: usize = 100_000;
/// `sizeof(struct task_struct)` in the synthetic kernel's BTF.
const TASK_SIZE: u64 = 0xc0;

fn pages_read(s: &Session) -> u64 {
    s.dump().pages_read()
}

#[test]
fn sys_and_bt_of_100k_tasks_do_not_walk_them() {
    let k = kernel_with_threads(EXTRA);
    let dir = Scratch::new("first-answer-100k");
    let path = dir.write("vmcore", &vmcore(&k.phys, &k.vmcoreinfo));
    let s = Session::open(&path).expect("open");

    let sys = kdive_commands::run(&s, "sys").expect("sys").json();
    // crash's TASKS: nr_threads (init, kthreadd and the workers) + the one CPU's idle task
    assert_eq!(sys["tasks"], serde_json::json!(EXTRA + 3), "{sys}");
    let bt = kdive_commands::run(&s, "bt").expect("bt").json();
    // the panic task is what CPU 0's runqueue runs: init (pid 1)
    assert_eq!(bt["tasks"][0]["pid"], 1, "{bt}");
    let first = pages_read(&s);

    // Every task lives in its own 192 bytes: a walk reads each of their pages at least once.
    let task_pages = EXTRA as u64 * TASK_SIZE / 4096;
    assert!(
        first < task_pages / 10,
        "open + sys + bt read {first} pages; the tasks fill {task_pages}"
    );

    // The counter sees a walk: `ps` reads them all.
    let ps = kdive_commands::run(&s, "ps").expect("ps").json();
    let listed = ps["tasks"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, EXTRA + 3);
    let walk = pages_read(&s) - first;
    assert!(
        walk >= task_pages,
        "ps read {walk} pages, fewer than the {task_pages} the tasks fill"
    );
}
