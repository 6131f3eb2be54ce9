"""logs and graph in the fast suite: rows, times, following, the journal reader, DOT and Mermaid."""

from __future__ import annotations

import datetime
import html
import os
import re
import signal
import threading
from collections.abc import Generator
from pathlib import Path

import pytest

from smartrestart.decide.model import decide
from smartrestart.errors import Location, UsageError
from smartrestart.graph.model import NodeKind, decision_graph, whole_graph
from smartrestart.graph.output import render_dot, render_mermaid
from smartrestart.journal.events import EVENTS
from smartrestart.journal.reader import Query, journalctl_argv, parse_line, text_of
from smartrestart.logs.model import Row, around, parse_since, row_of
from smartrestart.logs.run import LogsRequest, run_logs
from smartrestart.rules.model import Action, Fallback, FallbackKind, Rule, RuleSet
from tests.graphcheck import mermaid_problems
from tests.testbed import PROJECT

NOW = datetime.datetime(2025, 11, 22, 10, 30, tzinfo=datetime.UTC)
HERE = Location("/srv/app/restart-rules.yaml", 4)


def ours(kind: str, second: int, **fields: str) -> dict[str, str]:
    return {
        "MESSAGE_ID": EVENTS[kind].message_id,
        "SYSLOG_IDENTIFIER": "smartrestart",
        "_UID": "0",
        "__REALTIME_TIMESTAMP": str(second * 1_000_000),
        "__CURSOR": f"c{second}",
        "MESSAGE": kind,
        **fields,
    }


def test_a_row_of_ours_and_a_forged_one() -> None:
    entry = ours(
        "unit-job-done",
        5,
        SMARTRESTART_UNIT="api.service",
        SMARTRESTART_DEPLOY="0123456789abcdef",
        SMARTRESTART_ACTION="restart_api",
        SMARTRESTART_RESULT="restarted",
        SMARTRESTART_DURATION_USEC="250000",
    )
    row = row_of(entry)
    assert (row.kind, row.unit, row.result, row.duration_usec) == (
        "unit-job-done",
        "api.service",
        "restarted",
        250000,
    )
    forged = row_of({**entry, "_UID": "1000"})  # anyone may send SYSLOG_IDENTIFIER=smartrestart
    assert forged.kind == "unit-line"


def test_since_takes_the_forms_journalctl_takes() -> None:
    usec = round(NOW.timestamp() * 1e6)
    assert parse_since("now", NOW) == usec
    assert parse_since("-1h", NOW) == usec - 3600 * 1_000_000
    assert parse_since("90min ago", NOW) == usec - 5400 * 1_000_000
    assert parse_since("@1700000000", NOW) == 1_700_000_000 * 1_000_000
    assert parse_since("today", NOW) == round(NOW.replace(hour=0, minute=0).timestamp() * 1e6)
    assert parse_since("2025-11-22T10:00:00+00:00", NOW) == usec - 1800 * 1_000_000
    for bad in ("soon", "-forever", "@-1", "2025-13-01", ""):
        with pytest.raises(UsageError, match="--since"):
            parse_since(bad, NOW)


def test_unit_lines_are_shown_around_each_event_and_spans_merge() -> None:
    rows = [
        Row(10_000_000, "unit-job-done", None, None, None, None, 1_000_000, ""),
        Row(12_000_000, "unit-job-done", None, None, None, None, None, ""),
        Row(60_000_000, "apply-finished", None, None, None, None, None, ""),
    ]
    assert around(rows) == [(7_000_000, 17_000_000), (58_000_000, 65_000_000)]


def test_the_reader_takes_what_journalctl_writes() -> None:
    line = b'{"MESSAGE":[104,105,255],"A":"x","B":["one","two"],"C":null,"__CURSOR":"c"}'
    assert parse_line(line) == {"MESSAGE": "hi\ufffd", "A": "x", "B": "two", "__CURSOR": "c"}
    assert parse_line(b"not json") is None and parse_line(b"[1]") is None
    assert text_of(5) is None
    argv = journalctl_argv(
        Query([[("A", "1")], [("B", "2"), ("C", "3")]], since_usec=1_500_000, until_usec=2_500_001)
    )
    assert argv[-4:] == ["A=1", "+", "B=2", "C=3"]
    assert "--since=@1" in argv and "--until=@3" in argv


def test_logs_of_a_deploy_ask_journalctl_for_exactly_it() -> None:
    queries: list[Query] = []

    def journal(query: Query) -> Generator[dict[str, str], None, None]:
        queries.append(query)
        yield ours("apply-started", 1, SMARTRESTART_DEPLOY="0123456789abcdef")

    rows: list[Row] = []
    assert run_logs(LogsRequest(deploy="0123456789abcdef"), rows.append, read_journal=journal) == 1
    (query,) = queries
    assert ("SMARTRESTART_DEPLOY", "0123456789abcdef") in query.matches[0]
    assert ("_UID", "0") in query.matches[0]
    with pytest.raises(UsageError, match="not a deploy id"):
        run_logs(LogsRequest(deploy="xyz"), rows.append, read_journal=journal)
    with pytest.raises(UsageError, match="--unit"):
        run_logs(LogsRequest(unit="no unit"), rows.append, read_journal=journal)


def test_following_ends_on_sigterm_and_stops_journalctl() -> None:
    closed = threading.Event()
    arrived = threading.Event()

    def journal(query: Query) -> Generator[dict[str, str], None, None]:
        if not query.follow:
            yield ours("apply-started", 1, SMARTRESTART_UNIT="api.service")
            return
        try:
            yield ours("unit-job-done", 1, SMARTRESTART_UNIT="api.service")  # shown already
            yield ours("unit-job-done", 2, SMARTRESTART_UNIT="other.service")  # not wanted
            yield ours("unit-job-done", 3, SMARTRESTART_UNIT="api.service")
            arrived.set()
            threading.Event().wait(30)  # journalctl waiting for more
            yield ours("unit-job-done", 4, SMARTRESTART_UNIT="api.service")
        finally:
            closed.set()

    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM))
    rows: list[Row] = []
    timer.start()
    try:
        shown = run_logs(
            LogsRequest(unit="api.service", follow=True),
            rows.append,
            read_journal=journal,
            resolve=lambda unit: (unit,),
        )
    finally:
        timer.cancel()
    assert arrived.is_set() and closed.is_set()
    assert shown == 2
    assert [r.realtime_usec // 1_000_000 for r in rows] == [1, 3]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# --- graph ---------------------------------------------------------------------------


def rule_set() -> RuleSet:
    actions = {
        "api": Action("api", HERE, order=20, units=("api.service",)),
        'we"ird': Action('we"ird', HERE, run=("/bin/echo", "a<b>|#c")),
    }
    rules = (
        Rule("src/api/**", ("api",), HERE),
        Rule("**/*.md", (), Location(HERE.file, 6)),
        Rule("src/lib/**", (), Location(HERE.file, 8)),
        Rule('x"y', ('we"ird',), Location(HERE.file, 7)),
    )
    return RuleSet(actions, rules, Fallback(FallbackKind.ALL))


def test_the_whole_graph_has_every_rule_action_and_unit() -> None:
    graph = whole_graph(rule_set())
    kinds = [node.kind for node in graph.nodes]
    assert kinds.count(NodeKind.RULE) == 4 and kinds.count(NodeKind.FALLBACK) == 1
    assert kinds.count(NodeKind.UNIT) == 1 and kinds.count(NodeKind.COMMAND) == 1
    assert any("restarts nothing" in node.label for node in graph.nodes)
    assert mermaid_problems(render_mermaid(graph)) == []
    dot = render_dot(graph)
    assert 'label="x\\"y\\nrestart-rules.yaml:7"' in dot


def test_the_decision_graph_is_only_the_slice_behind_it() -> None:
    rules = rule_set()
    chains = {"src/api/server.py": ("src/lib/db.py", "src/api/server.py")}
    decision = decide(["src/lib/db.py", "src/api/server.py"], rules, chains)
    graph = decision_graph(rules, decision, ("src/lib/db.py",))
    labels = [node.label for node in graph.nodes]
    assert "src/lib/db.py\n(changed)" in labels
    assert not any("we" in label for label in labels)  # the other action is not behind it
    edges = {(e.label) for e in graph.edges}
    assert {"imported by", "matches", "restart"} <= edges
    assert mermaid_problems(render_mermaid(graph)) == []


def test_the_readme_picture_shows_the_example_as_the_code_draws_it() -> None:
    from smartrestart.decide.changes import ChangeSources
    from smartrestart.decide.run import DecideRequest, run_decide
    from smartrestart.paths import WorkingDirectory

    example = PROJECT / "tests/fixtures/multi-service"
    request = DecideRequest(
        rules_files=(f"{example}/restart-rules.yaml",),
        config_root=f"{example}/none",
        roots=(f"{example}/src",),
        chains=True,
        sources=ChangeSources(paths=("src/lib/auth.py", "docs/security.md")),
    )
    cwd = WorkingDirectory(str(example), str(example))
    with Path(os.devnull).open("rb") as stdin:
        outcome = run_decide(request, stdin, cwd)
    graph = decision_graph(outcome.rule_set, outcome.decision, outcome.changed)
    svg = (PROJECT / "docs/graph-multi-service.svg").read_text()
    drawn = {html.unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}
    wanted = {line for node in graph.nodes for line in node.label.split("\n")}
    assert wanted <= drawn, wanted - drawn


def test_a_stream_closed_before_its_first_entry_stops_journalctl() -> None:
    from smartrestart.journal.reader import read

    stream = read(Query([[("MESSAGE_ID", "0" * 32)]], follow=True, lines=0))
    process = stream._process  # type: ignore[attr-defined]
    stream.close()
    assert process.returncode is not None  # killed and reaped, not left following


def test_a_file_name_that_is_not_utf8_is_drawn_with_its_bytes_escaped() -> None:
    rules = rule_set()
    name = os.fsdecode(b"src/api/caf\xe9.py")  # Latin-1, as an old tarball may hold
    decision = decide([name], rules)
    graph = decision_graph(rules, decision, (name,))
    dot, mermaid = render_dot(graph), render_mermaid(graph)
    assert 'label="src/api/caf\\\\xe9.py\\n(changed)"' in dot
    assert "src/api/caf\\xe9.py" in mermaid
    for text in (dot, mermaid):
        text.encode("utf-8")  # strict: what Graphviz and Mermaid read
    assert mermaid_problems(mermaid) == []
