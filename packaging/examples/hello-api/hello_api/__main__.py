"""Run by hello-api.service: say which versions it runs, ready, then wait to be stopped."""

import signal

from hello_api import VERSION
from hello_lib import greeting
from smartrestart import notify


def main() -> None:
    notify.ready(status=f"hello-api {VERSION}: {greeting()}")
    while True:
        signal.pause()


notify.run(main)
