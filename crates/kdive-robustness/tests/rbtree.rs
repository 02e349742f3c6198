//! Red-black tree walks over trees built in memory: in-order, and bounded on damaged trees.

use std::sync::Arc;

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::{Symbols, Types};
use kdive_linux::rbtree::inorder;
use kdive_program::Program;
use kdive_testdata::btf::BtfBuilder;
use kdive_testdata::mem::VirtBytes;

const BASE: u64 = 0xffff_8880_0000_0000;
const NODE: u64 = 24;

fn program(memory: Vec<u8>) -> Program {
    let mut b = BtfBuilder::new();
    let ulong = b.int("long unsigned int", 8, 0);
    let fwd = b.fwd("rb_node", false);
    let p = b.ptr(fwd);
    b.struct_(
        "rb_node",
        NODE as u32,
        &[
            ("__rb_parent_color", ulong, 0, 0),
            ("rb_right", p, 64, 0),
            ("rb_left", p, 128, 0),
        ],
    );
    let mut types = Types::new();
    let src = types.next_source_id();
    types.add_source(Arc::new(BtfSource::parse(b.build(), src).unwrap()));
    let bytes: &'static [u8] = Box::leak(memory.into_boxed_slice());
    Program::new(
        Arc::new(VirtBytes { base: BASE, bytes }),
        types,
        Symbols::new(),
    )
}

fn addr(i: u64) -> u64 {
    BASE + i * NODE
}

/// Memory for nodes 0..n with (left, right) children given by index.
fn tree(n: u64, links: &[(u64, Option<u64>, Option<u64>)]) -> Vec<u8> {
    let mut m = vec![0u8; (n * NODE) as usize];
    for &(i, l, r) in links {
        let at = (i * NODE) as usize;
        m[at + 8..at + 16].copy_from_slice(&r.map_or(0, addr).to_le_bytes());
        m[at + 16..at + 24].copy_from_slice(&l.map_or(0, addr).to_le_bytes());
    }
    m
}

#[test]
fn in_order() {
    // keys = indices: 3 at the root, 1 and 5 below, leaves 0 2 4 6
    let links = [
        (3, Some(1), Some(5)),
        (1, Some(0), Some(2)),
        (5, Some(4), Some(6)),
    ];
    let prog = program(tree(7, &links));
    let (nodes, err) = inorder(&prog, addr(3), 100).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(nodes, (0..7).map(addr).collect::<Vec<_>>());
    assert_eq!(inorder(&prog, 0, 100).unwrap().0, Vec::<u64>::new());
    // the limit
    let (nodes, err) = inorder(&prog, addr(3), 4).unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(err.unwrap().to_string().contains("more than 4"));
}

#[test]
fn damaged_trees_stop() {
    // a cycle: 6's right child is the root again
    let links = [
        (3, Some(1), Some(5)),
        (1, Some(0), Some(2)),
        (5, Some(4), Some(6)),
        (6, None, Some(3)),
    ];
    let prog = program(tree(7, &links));
    let (nodes, err) = inorder(&prog, addr(3), 1000).unwrap();
    assert_eq!(nodes, (0..7).map(addr).collect::<Vec<_>>());
    assert!(err.unwrap().to_string().contains("reached twice"));
    // a chain deeper than any red-black tree
    let chain: Vec<_> = (0..300).map(|i| (i, Some(i + 1), None)).collect();
    let prog = program(tree(301, &chain));
    let (nodes, err) = inorder(&prog, addr(0), 1000).unwrap();
    assert!(nodes.is_empty());
    assert!(err.unwrap().to_string().contains("deeper"));
    // a child outside memory: the nodes before it, then the read error
    let prog = program(tree(3, &[(1, Some(0), Some(2)), (2, None, Some(99))]));
    let (nodes, err) = inorder(&prog, addr(1), 100).unwrap();
    assert_eq!(nodes, vec![addr(0), addr(1), addr(2)]);
    assert!(err.is_some());
}
