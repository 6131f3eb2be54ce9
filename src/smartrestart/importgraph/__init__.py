"""Static Python import graph: which files import which modules, found without importing them."""
