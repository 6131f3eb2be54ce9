"""The man pages, generated from the click commands and the tables the code uses.

``python -m smartrestart.manpages`` rewrites ``man/*.1``, ``*.5`` and ``*.3``
from ``man/prose/`` and the code; ``--check`` changes nothing and exits 1
when a committed page differs from what would be generated now (a test runs
it, as systemd's ``update-dbus-docs --test`` does).
"""
