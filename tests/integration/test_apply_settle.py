"""apply --settle, --check and --diff, and a failed step's journal lines, against a real systemd.

The claims about systemd: a Type=simple start is "done" although the program
dies 0.3 s later (so apply without --settle, like `systemctl restart`, says it
restarted); the journal ties a run's lines to its InvocationID; a check reads
and changes nothing.
"""

from __future__ import annotations

import json

import jsonschema

from tests.integration.helpers import apply, apply_json, invocation, make_app
from tests.testbed import PROJECT, TestBed

SCHEMA = json.loads((PROJECT / "src/smartrestart/schemas/apply-report.schema.json").read_text())
DIES_AFTER = (
    "[Service]\n"
    "ExecStart=/bin/sh -c 'echo starting; sleep {}; echo bad configuration >&2; exit 3'\n"
)
RUNS = "[Service]\nExecStart=/bin/sleep infinity\n"


def two_units(bed: TestBed, name: str, dies_after: float = 0.3) -> tuple[str, str, str]:
    """A unit that dies ``dies_after`` seconds after each start, one that runs; both restarted
    by any change."""
    dies, runs = f"{name}-dies.service", f"{name}-runs.service"
    bed.install_unit(dies, DIES_AFTER.format(dies_after), reload=False)
    bed.install_unit(runs, RUNS)
    bed.systemctl("start", runs)
    app = make_app(
        bed,
        name,
        f"actions:\n  a: {{units: [{dies}, {runs}]}}\n"
        "rules:\n  - {pattern: '**', actions: [a]}\n",
    )
    return app, dies, runs


def test_settle_fails_a_start_systemd_called_done(bed: TestBed, unit_name: str) -> None:
    app, dies, _ = two_units(bed, unit_name)
    code, unsettled = apply_json(bed, app, "x.py")
    assert code == 0  # systemd's job was done: the blind spot --settle closes
    assert [s["result"] for s in unsettled["steps"]] == ["started", "restarted"]

    code, report = apply_json(bed, app, "--settle", "1", "x.py")
    jsonschema.validate(report, SCHEMA)
    assert code == 1
    failed, fine = report["steps"]
    assert (failed["unit"], failed["result"]) == (dies, "failed")
    assert failed["unit_result"] == "exit-code"
    assert "within 1 s after it started" in failed["detail"]
    assert fine["result"] == "restarted"
    assert report["timing"]["settle"] >= 0.9
    # Its own journal lines, the new invocation's only, with systemd's word on the end.
    lines = failed["journal"]
    assert any(line.endswith("bad configuration") for line in lines), lines
    assert any(f"{dies}: Failed with result 'exit-code'." in line for line in lines), lines
    assert sum("starting" in line for line in lines) == 1  # not the earlier run's


def test_check_changes_nothing_and_predicts_the_run(bed: TestBed, unit_name: str) -> None:
    # Dying 0.3 s after its start, the unit could be seen dead by the real run's
    # verification on a loaded machine (then "failed", rightly): the check and
    # the run are compared on a unit that outlives both.
    app, dies, runs = two_units(bed, unit_name, dies_after=30)
    before = {unit: invocation(bed, unit) for unit in (dies, runs)}
    code, check = apply_json(bed, app, "--check", "--diff", "x.py")
    jsonschema.validate(check, SCHEMA)
    assert (code, check["check"], check["changed"], check["deploy_id"]) == (1, True, True, None)
    assert {unit: invocation(bed, unit) for unit in (dies, runs)} == before
    assert check["steps"][1]["diff"]["before"]["invocation_id"] == before[runs]
    assert check["steps"][1]["diff"]["after"] is None

    code, real = apply_json(bed, app, "--diff", "x.py")
    assert [(s["unit"], s["result"]) for s in check["steps"]] == [
        (s["unit"], s["result"]) for s in real["steps"]
    ]
    diff = real["steps"][1]["diff"]
    assert diff["before"]["invocation_id"] == before[runs]
    assert diff["after"]["invocation_id"] == invocation(bed, runs) != before[runs]
    assert diff["before"]["main_pid"] != diff["after"]["main_pid"]
    assert diff["before"]["active_enter_timestamp"] < diff["after"]["active_enter_timestamp"]


def test_check_refuses_a_missing_unit_with_exit_2(bed: TestBed, unit_name: str) -> None:
    app = make_app(
        bed,
        unit_name,
        f"actions:\n  a: {{units: [{unit_name}-none.service]}}\n"
        "rules:\n  - {pattern: '**', actions: [a]}\n",
    )
    result = apply(bed, app, "--check", "x.py")
    assert result.returncode == 2
    assert "no such unit" in result.stderr
