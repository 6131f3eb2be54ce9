"""``smartrestart status``: how units do against their budgets, from systemd and the journal."""
