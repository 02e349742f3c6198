"""Red-black trees (drgn's ``drgn.helpers.linux.rbtree``), walked by the library."""
from ... import _kdive
from ..._kdive import Object, container_of
from ._walk import walked

__all__ = (
    "RB_EMPTY_NODE", "RB_EMPTY_ROOT", "rb_find", "rb_first", "rb_last", "rb_next", "rb_parent",
    "rb_prev", "rbtree_inorder_for_each", "rbtree_inorder_for_each_entry", "rbtree_preorder_for_each",
    "rbtree_preorder_for_each_entry",
)


def _root_node(root):
    # a struct rb_root_cached works too, as in drgn
    try:
        return root.rb_node
    except AttributeError:
        return root.rb_root.rb_node


def RB_EMPTY_ROOT(root):
    return not _root_node(root)


def RB_EMPTY_NODE(node):
    return node.__rb_parent_color.value_() == node.value_()


def rb_parent(node):
    return Object(node.prog_, "struct rb_node *", node.__rb_parent_color.value_() & ~3)


def rbtree_inorder_for_each(root):
    """Each ``struct rb_node *`` of the tree, in order."""
    prog = root.prog_
    for a in walked(_kdive._rb_nodes(prog, _root_node(root).value_())):
        yield Object(prog, "struct rb_node *", a)


def rbtree_inorder_for_each_entry(type, root, member):
    for node in rbtree_inorder_for_each(root):
        yield container_of(node, type, member)


def rbtree_preorder_for_each(root):
    """Each ``struct rb_node *`` of the tree, each node before its children (left, then right).

    A node seen twice (a corrupted tree's cycle) raises ``ValueError`` instead of looping."""
    prog = root.prog_
    seen = set()
    stack = [_root_node(root).read_()]
    while stack:
        node = stack.pop()
        if not node:
            continue
        a = node.value_()
        if a in seen:
            raise ValueError("rbtree: node %#x reached twice (cycle)" % a)
        seen.add(a)
        yield node
        stack.append(node.rb_right.read_())
        stack.append(node.rb_left.read_())


def rbtree_preorder_for_each_entry(type, root, member):
    for node in rbtree_preorder_for_each(root):
        yield container_of(node, type, member)


def rb_first(root):
    nodes = list(rbtree_inorder_for_each(root))
    return nodes[0] if nodes else Object(root.prog_, "struct rb_node *", 0)


def rb_last(root):
    nodes = list(rbtree_inorder_for_each(root))
    return nodes[-1] if nodes else Object(root.prog_, "struct rb_node *", 0)


def _neighbour(node, step):
    root = node
    while rb_parent(root):
        root = rb_parent(root)
    nodes = [n.value_() for n in rbtree_inorder_for_each_root(root)]
    i = nodes.index(node.value_()) + step
    return Object(node.prog_, "struct rb_node *", nodes[i] if 0 <= i < len(nodes) else 0)


def rbtree_inorder_for_each_root(root_node):
    prog = root_node.prog_
    for a in walked(_kdive._rb_nodes(prog, root_node.value_())):
        yield Object(prog, "struct rb_node *", a)


def rb_next(node):
    return _neighbour(node, 1)


def rb_prev(node):
    return _neighbour(node, -1)


def rb_find(type, root, member, key, cmp):
    """The entry for which ``cmp(key, entry)`` is 0, searching the tree; ``NULL`` if none."""
    node = _root_node(root)
    while node:
        entry = container_of(node, type, member)
        r = cmp(key, entry)
        if r < 0:
            node = node.rb_left
        elif r > 0:
            node = node.rb_right
        else:
            return entry
    return Object(root.prog_, root.prog_.pointer_type(type) if not isinstance(type, str) else type + " *", 0)
