"""The real source trees the import-graph benches run on, fetched as wheels from PyPI.

Three roots, each a directory whose top-level packages are unpacked wheels:

* ``django``: Django alone (883 ``.py`` files);
* ``sympy``: sympy alone (1.5k);
* ``all``: Home Assistant, sympy, Django, pandas, scipy and SQLAlchemy side by
  side as one root (13k).

Wheels are downloaded with ``pip download`` (exact versions, no dependencies)
into ``$SMARTRESTART_BENCH_CACHE`` (default ``/var/cache/smartrestart-bench``)
and unpacked there; nothing of them is ever committed. Each file gets the
timestamp the wheel records for it, so a freshly unpacked tree is not "racy"
for the import cache. Idempotent: a root whose recipe is unchanged is reused.

    python bench/trees.py [--cache DIR] [TREE ...]   # fetch, unpack, list the roots
"""

from __future__ import annotations

import argparse
import calendar
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE = Path("/var/cache/smartrestart-bench")


@dataclass(frozen=True)
class Wheel:
    """One pinned distribution, and the Python its wheel is chosen for."""

    project: str
    version: str
    python: str = "3.11"  # the project's oldest Python; a compiled wheel for cp311

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"

    @property
    def prefix(self) -> str:
        """How the wheel's file name starts (PEP 427 normalises the project name)."""
        return f"{self.project.lower().replace('-', '_')}-{self.version}-"


# Exact versions: every one has a pure wheel or a cp311 manylinux x86_64 wheel.
# Home Assistant 2025.4 requires Python 3.13; its wheel is pure, and only its
# files are read here, never imported.
WHEELS = {
    "homeassistant": Wheel("homeassistant", "2025.4.4", python="3.13"),
    "sympy": Wheel("sympy", "1.13.3"),
    "django": Wheel("Django", "5.2"),
    "pandas": Wheel("pandas", "2.2.3"),
    "scipy": Wheel("scipy", "1.15.2"),
    "sqlalchemy": Wheel("SQLAlchemy", "2.0.40"),
}

# Tree name -> the wheels unpacked side by side into its root.
TREES = {
    "django": ("django",),
    "sympy": ("sympy",),
    "all": ("homeassistant", "sympy", "django", "pandas", "scipy", "sqlalchemy"),
}


@dataclass(frozen=True)
class Tree:
    name: str
    path: Path
    packages: tuple[str, ...]  # top-level packages (directories with __init__.py)
    files: int  # .py files under the root

    def module_file(self, module: str) -> Path | None:
        """The file of a dotted module name in this tree, if it has one."""
        base = self.path.joinpath(*module.split("."))
        for candidate in (base / "__init__.py", base.with_name(base.name + ".py")):
            if candidate.is_file():
                return candidate
        return None


def cache_dir() -> Path:
    return Path(os.environ.get("SMARTRESTART_BENCH_CACHE") or DEFAULT_CACHE)


def fetch_wheels(names: tuple[str, ...], cache: Path) -> dict[str, Path]:
    """The wheel file of each named distribution, downloading the missing ones."""
    target = cache / "wheels"
    target.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for name in names:
        wheel = WHEELS[name]
        have = [p for p in target.iterdir() if p.name.lower().startswith(wheel.prefix.lower())]
        if not have:
            print(
                f"bench: downloading {wheel.requirement} (Python {wheel.python})", file=sys.stderr
            )
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--implementation=cp",
                    f"--python-version={wheel.python}",
                    f"--abi=cp{wheel.python.replace('.', '')}",
                    "--platform=manylinux2014_x86_64",
                    "--platform=manylinux_2_17_x86_64",
                    "--platform=manylinux_2_28_x86_64",
                    "--dest",
                    str(target),
                    wheel.requirement,
                ],
                check=True,
            )
            have = [p for p in target.iterdir() if p.name.lower().startswith(wheel.prefix.lower())]
        if len(have) != 1:
            raise SystemExit(f"bench: expected one wheel for {wheel.requirement} in {target}")
        found[name] = have[0]
    return found


def unpack(wheel: Path, into: Path) -> None:
    """Extract a wheel, keeping each member's recorded timestamp."""
    latest = 0
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            written = Path(archive.extract(member, into))
            stamp = calendar.timegm((*member.date_time, 0, 0, -1))
            latest = max(latest, stamp)
            if not member.is_dir():
                os.utime(written, (stamp, stamp))
    # Directories last: extracting into them moved their mtimes to now.
    for directory, _, _ in os.walk(into):
        os.utime(directory, (latest, latest))


def _recipe(name: str, wheels: dict[str, Path]) -> str:
    return json.dumps({"tree": name, "wheels": sorted(p.name for p in wheels.values())})


def ensure_tree(name: str, cache: Path | None = None) -> Tree:
    """The unpacked root of tree ``name``, built once (under a lock) when missing."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wheels = fetch_wheels(TREES[name], cache)
        recipe = _recipe(name, wheels)
        key = hashlib.sha256(recipe.encode()).hexdigest()[:12]
        root = cache / "trees" / f"{name}-{key}"
        if not (root / ".complete").is_file():
            building = root.with_name(f".{root.name}.building")
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(parents=True)
            for wheel in wheels.values():
                print(f"bench: unpacking {wheel.name}", file=sys.stderr)
                unpack(wheel, building)
            for stale in root.parent.glob(f"{name}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            stamp = max(p.stat().st_mtime for p in building.iterdir())
            (building / ".complete").write_text(recipe + "\n")
            os.utime(building / ".complete", (stamp, stamp))
            os.utime(building, (stamp, stamp))
            building.rename(root)
    packages = tuple(sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file()))
    files = sum(sum(1 for n in names if n.endswith(".py")) for _, _, names in os.walk(root))
    return Tree(name=name, path=root, packages=packages, files=files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", metavar="TREE", help=f"of {', '.join(TREES)}")
    parser.add_argument(
        "--cache", type=Path, help=f"default: $SMARTRESTART_BENCH_CACHE or {DEFAULT_CACHE}"
    )
    args = parser.parse_args()
    unknown = set(args.trees) - set(TREES)
    if unknown:
        parser.error(f"unknown trees: {', '.join(sorted(unknown))}")
    for name in args.trees or TREES:
        tree = ensure_tree(name, args.cache)
        print(f"{tree.name:8} {tree.files:6} .py files  {tree.path}  ({', '.join(tree.packages)})")


if __name__ == "__main__":
    main()
