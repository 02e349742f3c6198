"""Red-black trees (drgn's ``drgn.helpers.linux.rbtree``), walked by the library."""
from ... import _kdive
from ..._kdive import Object, container_of
from .. import ValidationError
from ._walk import walked

__all__ = (
    "RB_EMPTY_NODE", "RB_EMPTY_ROOT", "rb_find", "rb_first", "rb_last", "rb_next", "rb_parent",
    "rb_prev", "rbtree_inorder_for_each", "rbtree_inorder_for_each_entry", "rbtree_preorder_for_each",
    "rbtree_preorder_for_each_entry", "validate_rbtree", "validate_rbtree_inorder_for_each_entry",
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


def _ptr(o):
    return "(%s)%#x" % (o.type_.type_name(), o.value_())


def validate_rbtree(type, root, member, cmp, allow_equal):
    """Check a red-black tree: ordered by ``cmp(a, b)`` (entries), no two entries equal unless
    ``allow_equal``, parent pointers consistent, the root black, no red node with a red child,
    and the same number of black nodes on every path down; ``ValidationError`` if not."""
    for _ in validate_rbtree_inorder_for_each_entry(type, root, member, cmp, allow_equal):
        pass


def validate_rbtree_inorder_for_each_entry(type, root, member, cmp, allow_equal):
    """:func:`rbtree_inorder_for_each_entry`, validating the tree as :func:`validate_rbtree` does
    while walking it."""
    seen = set()

    def parent_color(node):
        pc = node.__rb_parent_color.value_()
        return Object(node.prog_, "struct rb_node *", pc & ~3), bool(pc & 1)

    def visit(node, parent, parent_entry, parent_red, is_left):
        if not node:
            return 0
        side = "left" if is_left else "right"
        if node.value_() in seen:
            raise ValidationError("%s rb_%s %#x was reached before (cycle)" % (_ptr(parent), side, node.value_()))
        seen.add(node.value_())
        up, black = parent_color(node)
        if up.value_() != parent.value_():
            raise ValidationError("%s rb_%s %#x has rb_parent %#x" % (_ptr(parent), side, node.value_(), up.value_()))
        if parent_red and not black:
            raise ValidationError("red node %s has red child %#x" % (_ptr(parent), node.value_()))
        entry = container_of(node, type, member)
        r = cmp(entry, parent_entry)
        if r > 0 and is_left:
            raise ValidationError("%s left child %#x compares greater than it" % (_ptr(parent_entry), entry.value_()))
        if r < 0 and not is_left:
            raise ValidationError("%s right child %#x compares less than it" % (_ptr(parent_entry), entry.value_()))
        if r == 0 and not allow_equal:
            raise ValidationError("%s %s child %#x compares equal to it" % (_ptr(parent_entry), side, entry.value_()))
        return (yield from below(node, entry, black))

    def below(node, entry, black):
        left = yield from visit(node.rb_left.read_(), node, entry, not black, True)
        yield entry
        right = yield from visit(node.rb_right.read_(), node, entry, not black, False)
        if left != right:
            raise ValidationError("left and right subtrees of %s have unequal black heights (%d != %d)"
                                  % (_ptr(node), left, right))
        return left + black

    top = _root_node(root).read_()
    if not top:
        return
    seen.add(top.value_())
    up, black = parent_color(top)
    if up:
        raise ValidationError("root node %s has parent %#x" % (_ptr(top), up.value_()))
    if not black:
        raise ValidationError("root node %s is red" % _ptr(top))
    yield from below(top, container_of(top, type, member), black)
