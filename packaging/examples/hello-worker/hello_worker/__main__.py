"""Run by hello-worker.service: read the configuration, ready, then wait to be stopped."""

import signal
from pathlib import Path

from hello_lib import greeting
from hello_worker import CONFIG
from smartrestart import notify


def main() -> None:
    setting = Path(CONFIG).read_text().strip()
    notify.ready(status=f"hello-worker ({setting}): {greeting()}")
    while True:
        signal.pause()


notify.run(main)
