"""smartrestart: restart exactly what a change touched, and let systemd enforce restart budgets.

This package file imports nothing on purpose: ``smartrestart.notify`` is used
inside services and must not pull in click, yaml or pystemd.
"""

__version__ = "0.1.0"
