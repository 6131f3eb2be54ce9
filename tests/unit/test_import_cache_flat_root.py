"""A source root without subdirectories is cached like any other.

Its only listed directory is the root, whose name is "": joined for the cache
file that was "", read back as no directory at all, so every run found the
cache "damaged (fields of the wrong shape)", said so, and rebuilt it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from smartrestart.importgraph.build import build_graph
from tests.helpers import write_tree


def test_a_root_without_subdirectories_is_reused_and_not_called_damaged(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "scripts", {"tool.py": "", "run.py": "import tool\n"})
    cache = tmp_path / "cache"
    old = time.time() - 3600
    for step, change in enumerate([None, "README", "notes.txt"]):
        if change:  # the listing changes, no Python file does: stored as a delta
            (root / change).write_text("not python\n")
        for path in [root, *root.iterdir()]:
            os.utime(path, (old + step, old + step))
        build_graph([root], cache_dir=cache)
        assert len(list(cache.iterdir())) == (2 if change else 1)  # the cache, and a delta
        warm = build_graph([root], cache_dir=cache)
        assert (warm.notes, warm.stats.scanned, warm.stats.from_cache) == ([], 0, 2)
        expanded = warm.expand([str(root / "tool.py")]).paths()
        assert expanded == [str(root / "run.py")]
