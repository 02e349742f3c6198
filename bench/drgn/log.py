# crash's `log`, as drgn: every printk record, "[seconds] text".
from drgn.helpers.linux.printk import get_printk_records

for r in get_printk_records(prog):
    ts = r.timestamp
    text = r.text.decode(errors="replace")
    print("[%5d.%06d] %s" % (ts // 1000000000, ts % 1000000000 // 1000, text))
