from __future__ import annotations

import pytest

from smartrestart.unitname import UnitNameKind, template_of, unit_name_kind, unit_name_problem


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("app-api.service", UnitNameKind.PLAIN),
        ("nginx.service", UnitNameKind.PLAIN),
        ("app.target", UnitNameKind.PLAIN),
        ("app-worker@.service", UnitNameKind.TEMPLATE),
        ("app-worker@1.service", UnitNameKind.INSTANCE),
        ("getty@tty1.service", UnitNameKind.INSTANCE),
        ("a@b@c.service", UnitNameKind.INSTANCE),  # instances may contain '@'
        ("dev-sda1.device", UnitNameKind.PLAIN),
        ("foo\\x2dbar.mount", UnitNameKind.PLAIN),
    ],
)
def test_valid_names(name: str, kind: UnitNameKind) -> None:
    assert unit_name_problem(name) is None
    assert unit_name_kind(name) is kind


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("app", "no type suffix"),
        (".service", "no type suffix"),
        ("app.servce", "unknown type"),
        ("@x.service", "starts with '@'"),
        ("app api.service", "characters"),
        ("app/api.service", "characters"),
        ("ä.service", "characters"),
        ("a" * 250 + ".service", "longer than 255"),
    ],
)
def test_invalid_names(name: str, fragment: str) -> None:
    problem = unit_name_problem(name)
    assert problem is not None
    assert fragment in problem


def test_template_of_instance() -> None:
    assert template_of("app-worker@3.service") == "app-worker@.service"
    assert template_of("app.service") is None
