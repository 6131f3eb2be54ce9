"""``smartrestart exec``: readiness and health for programs that cannot speak sd_notify.

``model`` (probes, options, the loop's decisions), ``checks`` (running a
probe), ``child`` (the program: spawn, signals, reaping, output), ``run`` (the
loop), ``output`` (its lines and journal events).
"""
