"""``python -m smartrestart.journal``: print the message catalog (packaging/catalog/)."""

from smartrestart.journal.events import render_catalog

print(render_catalog(), end="")
