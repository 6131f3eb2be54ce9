"""The .debs as Debian's tools read them: lintian, the maintainer scripts dh_smartrestart writes.

Built on the host (no bed needed): smartrestart and dh-smartrestart from
packaging/, the example packages with this tree's debhelper add-on.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.integration.debs import unavailable
from tests.testbed import PROJECT


def control_file(deb: Path, name: str) -> str:
    tar = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True)
    listing = subprocess.run(
        ["tar", "-xO", f"./{name}"], input=tar.stdout, capture_output=True, check=False
    )
    return listing.stdout.decode()


def test_every_deb_passes_lintian_with_nothing_but_reasoned_overrides(
    package_debs: dict[str, Path], examples: dict[str, Path]
) -> None:
    if shutil.which("lintian") is None:
        unavailable("lintian is not installed (make system-deps)")
    debs = [*package_debs.values(), *examples.values()]
    result = subprocess.run(
        ["lintian", "--pedantic", "--display-info", *map(str, debs)],
        capture_output=True,
        text=True,
        check=False,
    )
    tags = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:", "I:", "P:")]
    assert tags == [], result.stdout
    shown = subprocess.run(
        ["lintian", "--pedantic", "--display-info", "--show-overrides", *map(str, debs)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    for index, line in enumerate(shown):
        if line.startswith("O:"):  # every override says why, in the comment lintian shows
            assert index and shown[index - 1].startswith("N:"), line


def test_an_application_package_leaves_its_restarts_to_the_trigger(
    examples: dict[str, Path],
) -> None:
    deb = examples["hello-api_1.1"]
    postinst = control_file(deb, "postinst")
    assert "/usr/lib/smartrestart/dpkg-changes record hello-api" in postinst
    assert "deb-systemd-invoke start 'hello-api.service'" in postinst  # installation
    assert "_dh_action=restart" not in postinst  # dh_installsystemd restarts nothing on upgrade
    assert "try-restart" not in postinst
    assert "dpkg-changes snapshot hello-api" in control_file(deb, "preinst")
    assert "upgrade" not in control_file(deb, "prerm")  # not stopped on upgrade either
    depends = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True, check=True
    ).stdout
    assert "smartrestart (>= 0.1.0)" in depends
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    assert "./usr/lib/smartrestart/rules.d/hello-api.yaml" in listing


def test_the_plain_build_restarts_as_dh_installsystemd_does(tmp_path: Path) -> None:
    """The comparison the measurements use: the same packages without the add-on."""
    from tests.integration.debs import build_examples

    plain = build_examples(tmp_path, "plain")
    postinst = control_file(plain["hello-api_1.1"], "postinst")
    assert "_dh_action=restart" in postinst
    assert "dpkg-changes" not in postinst


def test_dh_smartrestart_refuses_an_override_of_dh_installsystemd(tmp_path: Path) -> None:
    source = tmp_path / "hello-api"
    shutil.copytree(PROJECT / "packaging/examples/hello-api", source)
    shutil.rmtree(source / "v1.1")
    (source / "debian/changelog").write_text(
        "hello-api (1.0) unstable; urgency=medium\n\n  * Test.\n\n"
        " -- smartrestart developers <dev@smartrestart.invalid>  Sat, 21 Nov 2026 12:00:00 +0000\n"
    )
    rules = source / "debian/rules"
    rules.write_text(rules.read_text() + "\noverride_dh_installsystemd:\n\tdh_installsystemd\n")
    debhelper = PROJECT / "packaging/debhelper"
    result = subprocess.run(
        ["dpkg-buildpackage", "-us", "-uc", "-b", "-d"],
        cwd=source,
        capture_output=True,
        text=True,
        env={
            "PATH": f"{debhelper}:/usr/sbin:/usr/bin:/sbin:/bin",
            "PERL5LIB": str(debhelper),
            "DH_AUTOSCRIPTDIR": str(debhelper / "autoscripts"),
            "PYTHONPATH": str(PROJECT / "src"),
        },
        check=False,
    )
    assert result.returncode != 0
    assert "override_dh_installsystemd, which does not run with --with smartrestart" in (
        result.stdout + result.stderr
    )


def test_the_package_ships_completions_man_pages_and_the_trigger(
    package_debs: dict[str, Path],
) -> None:
    deb = package_debs["smartrestart"]
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in (
        "./usr/share/bash-completion/completions/smartrestart",
        "./usr/share/zsh/vendor-completions/_smartrestart",
        "./usr/share/fish/vendor_completions.d/smartrestart.fish",
        "./usr/share/man/man1/smartrestart.1.gz",
        "./usr/share/man/man5/smartrestart.yaml.5.gz",
        "./usr/share/man/man3/smartrestart.notify.3.gz",
        "./usr/lib/smartrestart/dpkg-changes",
    ):
        assert path in listing, path
    assert "interest-noawait smartrestart-apply" in control_file(deb, "triggers")
    assert "smartrestart apply --trigger" in control_file(deb, "postinst")
