"""``smartrestart apply``: plan, lock, act through systemd, report."""
