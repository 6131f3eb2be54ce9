"""``python -m smartrestart.manpages [--check] [PROJECT]``: write or check the man pages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smartrestart.manpages.pages import PAGES, render


def release_date(project: Path) -> str:
    """The date of the newest entry of the Debian changelog: the version's, reproducibly."""
    from email.utils import parsedate_to_datetime

    for line in (project / "packaging/debian/changelog").read_text().splitlines():
        if line.startswith(" -- "):
            return parsedate_to_datetime(line.split("  ", 1)[1]).strftime("%Y-%m-%d")
    raise SystemExit("packaging/debian/changelog has no dated entry")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartrestart.manpages", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is out of date")
    parser.add_argument("project", nargs="?", type=Path, default=Path())
    args = parser.parse_args(argv)
    man = args.project / "man"
    date = release_date(args.project)
    stale: list[str] = []
    for page in PAGES:
        text = render(page, man / "prose", date)
        target = man / page
        if target.exists() and target.read_text() == text:
            continue
        stale.append(str(target))
        if not args.check:
            target.write_text(text)
    if stale:
        verb = "out of date" if args.check else "written"
        print(f"{verb}: {', '.join(stale)}", file=sys.stderr)
        if args.check:
            print("regenerate them: python -m smartrestart.manpages", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
