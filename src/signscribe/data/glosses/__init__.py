"""Gloss lists: one gloss a line, in class order. Shipped: ``wlasl100`` and ``wlasl300`` (the classes of
WLASL's ``nslt_100.json`` and ``nslt_300.json``, in ``wlasl_class_list.txt`` order)."""
