"""Allow ``python -m smartrestart``."""

from smartrestart.cli.main import main

main()
