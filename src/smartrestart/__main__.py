"""Allow ``python -m smartrestart``."""

from smartrestart.cli.entry import main

main()
