"""``smartrestart graph``: rules -> actions -> units, or the slice behind one decision."""
