# crash's `kmem -s`, as drgn: every slab cache with object size, in-use and total objects.
from drgn.helpers.linux.slab import for_each_slab_cache, slab_cache_usage

print("CACHE             OBJSIZE  ALLOCATED     TOTAL  NAME")
for c in for_each_slab_cache(prog):
    try:
        u = slab_cache_usage(c)
        a, n = u.active_objs, u.num_objs
    except Exception as e:
        a = n = -1
    print("%x %8d %10d %9d  %s" % (c.value_(), c.object_size.value_(), a, n,
                                   c.name.string_().decode(errors="replace")))
