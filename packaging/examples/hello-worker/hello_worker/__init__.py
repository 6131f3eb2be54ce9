"""hello_worker: a service of smartrestart's example packages, configured by a conffile."""

CONFIG = "/etc/hello-worker/worker.conf"
