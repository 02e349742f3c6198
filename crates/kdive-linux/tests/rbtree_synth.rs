//! Red-black tree walks over hand-built trees with the damage crash meets in real dumps: a
//! child pointer into memory the dump does not hold, a node reached twice, more nodes than
//! the bound.

use std::sync::Arc;

use kdive_debuginfo::table::TypeTable;
use kdive_debuginfo::Member;
use kdive_linux::rbtree::{walk, Order};
use kdive_program::Program;
use kdive_testdata::mem::SparseMemory;
use kdive_testdata::symbols::SymbolList;

/// `struct rb_node` as the kernel lays it out.
fn types() -> TypeTable {
    let mut t = TypeTable::new(0);
    let ulong = t.int("unsigned long", 8, false);
    let node = t.reserve();
    let np = t.pointer(node);
    let rb_node = kdive_debuginfo::TypeKind::Struct {
        size: 24,
        members: vec![
            Member::at("__rb_parent_color", ulong, 0),
            Member::at("rb_right", np, 8),
            Member::at("rb_left", np, 16),
        ],
    };
    t.define(node, "rb_node", rb_node).unwrap();
    t
}

const BASE: u64 = 0xffff_8880_0100_0000;

/// A program whose memory holds `nodes`: `(address, left, right)`.
fn program(nodes: &[(u64, u64, u64)]) -> Program {
    let mut mem = SparseMemory::new();
    for &(at, left, right) in nodes {
        mem.words(at, &[0, right, left]);
    }
    Program::new(
        Arc::new(mem),
        kdive_testdata::types_of(types()),
        SymbolList::data(&[]).into_symbols(),
    )
}

fn node(i: u64) -> u64 {
    BASE + i * 0x100
}

fn positions(w: &kdive_linux::rbtree::RbWalk) -> Vec<(u64, &str)> {
    w.nodes.iter().map(|v| (v.node, &*v.position)).collect()
}

#[test]
fn an_unreadable_child_is_left_out_and_the_rest_walked() {
    //        1
    //      /   \
    //     2    (unmapped)
    //      \
    //       3
    let wild = 0xffff_c900_dead_0000;
    let p = program(&[
        (node(1), node(2), wild),
        (node(2), 0, node(3)),
        (node(3), 0, 0),
    ]);
    let w = walk(&p, node(1), Order::RootFirst, 100).unwrap();
    assert_eq!(
        positions(&w),
        [
            (node(1), "root"),
            (node(2), "root/l"),
            (node(3), "root/l/r")
        ]
    );
    assert_eq!(
        w.skipped,
        [format!(
            "rb_node: {:x}: corrupted rb_right pointer: {wild:x}",
            node(1)
        )]
    );
    assert!(w.stopped.is_none());

    let w = walk(&p, node(1), Order::InOrder, 100).unwrap();
    let order: Vec<u64> = w.nodes.iter().map(|v| v.node).collect();
    assert_eq!(order, [node(2), node(3), node(1)]);
    assert_eq!(w.skipped.len(), 1);
}

#[test]
fn a_node_reached_twice_stops_the_walk() {
    // 2's right child points back at 1
    let p = program(&[(node(1), node(2), 0), (node(2), 0, node(1))]);
    for order in [Order::RootFirst, Order::InOrder] {
        let w = walk(&p, node(1), order, 100).unwrap();
        let e = w.stopped.expect("a cycle").to_string();
        assert!(e.contains("reached twice"), "{e}");
        assert!(w.nodes.len() <= 2);
    }
}

#[test]
fn the_bound_stops_a_long_tree() {
    // a chain of 50 left children
    let nodes: Vec<(u64, u64, u64)> = (1..=50)
        .map(|i| (node(i), if i < 50 { node(i + 1) } else { 0 }, 0))
        .collect();
    let p = program(&nodes);
    let w = walk(&p, node(1), Order::RootFirst, 10).unwrap();
    assert_eq!(w.nodes.len(), 10);
    assert!(w
        .stopped
        .unwrap()
        .to_string()
        .contains("more than 10 nodes"));
    let w = walk(&p, node(1), Order::RootFirst, 100).unwrap();
    assert_eq!(w.nodes.len(), 50);
    assert_eq!(w.nodes[49].position, format!("root{}", "/l".repeat(49)));
}

#[test]
fn an_unreadable_top_is_an_error_and_an_empty_tree_is_empty() {
    let p = program(&[]);
    let w = walk(&p, 0xffff_c900_dead_0000, Order::RootFirst, 10).unwrap();
    assert!(w.nodes.is_empty());
    assert!(w.stopped.is_some());
    let w = walk(&p, 0, Order::InOrder, 10).unwrap();
    assert!(w.nodes.is_empty() && w.stopped.is_none() && w.skipped.is_empty());
}
