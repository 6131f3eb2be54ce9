"""hello_api: a service of smartrestart's example packages."""

VERSION = "1.1"
