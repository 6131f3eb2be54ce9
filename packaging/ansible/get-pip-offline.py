"""Stands in for ansible-test's get-pip download, which this network cannot reach.

ansible-test runs it as ``python get_pip_X.py [pip options] PACKAGES [--no-setuptools]
[--no-wheel]`` in a virtual environment without pip: bootstrap the pip bundled with
Python (ensurepip), then let it install the requested packages from the package index.
"""

import ensurepip
import os
import runpy
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

environment = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
# ensurepip turns pip's configuration off (PIP_CONFIG_FILE=/dev/null) for its own run.
os.environ.clear()
os.environ.update(environment)
sys.argv = [sys.argv[0], "install", *(a for a in sys.argv[1:] if a not in GET_PIP_ONLY)]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
