"""``smartrestart logs``: our journal entries, by deploy, unit or time, or followed."""
