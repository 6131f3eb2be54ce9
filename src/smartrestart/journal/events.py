"""The events smartrestart logs: one table, with a stable MESSAGE_ID per kind.

Every event kind has one fixed MESSAGE_ID, so ``journalctl MESSAGE_ID=...``
finds all entries of that kind, and fields such as ``SMARTRESTART_UNIT`` let
``journalctl SMARTRESTART_UNIT=app-api.service`` find everything smartrestart
did to a unit. The catalog (``journalctl -x``) is rendered from the same
table, so the explanation cannot drift from the events.
"""

from __future__ import annotations

from smartrestart.records import NamedTuple

SYSLOG_IDENTIFIER = "smartrestart"
PRIORITY_ERR, PRIORITY_WARNING, PRIORITY_NOTICE, PRIORITY_INFO = 3, 4, 5, 6


class Event(NamedTuple):
    message_id: str
    priority: int
    subject: str
    body: str


EVENTS: dict[str, Event] = {
    "apply-started": Event(
        "e34063c4b3b247bc8e55800da7cb8930",
        PRIORITY_INFO,
        "smartrestart apply started",
        "smartrestart apply decided on @SMARTRESTART_ACTIONS@ for the changed files "
        "@SMARTRESTART_TRIGGER@ and is about to act on units @SMARTRESTART_UNITS@.",
    ),
    "apply-finished": Event(
        "4a0cfcce80034006934316f4e0e8bb98",
        PRIORITY_INFO,
        "smartrestart apply finished: @SMARTRESTART_RESULT@",
        "smartrestart apply finished with result @SMARTRESTART_RESULT@ after "
        "@SMARTRESTART_DURATION_USEC@ microseconds. Each job it ran has its own entry "
        "with the same SMARTRESTART_DEPLOY; 'smartrestart logs --deploy @SMARTRESTART_DEPLOY@' "
        "lists them.",
    ),
    "daemon-reloaded": Event(
        "4a69804971c444979fdff070b7716265",
        PRIORITY_NOTICE,
        "smartrestart reloaded the systemd manager",
        "Unit @SMARTRESTART_UNIT@ reported NeedDaemonReload=yes, so smartrestart ran a "
        "daemon-reload before acting on it; otherwise the old unit file would have been used.",
    ),
    "unit-job-done": Event(
        "657f3673ed8d4f64b6306aa412f8b19f",
        PRIORITY_NOTICE,
        "@SMARTRESTART_UNIT@: @SMARTRESTART_RESULT@ by smartrestart",
        "smartrestart ran a @SMARTRESTART_MODE@ job on @SMARTRESTART_UNIT@ for action "
        "@SMARTRESTART_ACTION@, triggered by changes to @SMARTRESTART_TRIGGER@. The job "
        "finished in @SMARTRESTART_DURATION_USEC@ microseconds; the unit went from invocation "
        "@SMARTRESTART_OLD_INVOCATION_ID@ to @SMARTRESTART_NEW_INVOCATION_ID@.",
    ),
    "unit-job-failed": Event(
        "c08db4ccff2c43db8b740634a4c25f57",
        PRIORITY_ERR,
        "@SMARTRESTART_UNIT@: smartrestart job failed: @SMARTRESTART_RESULT@",
        "The @SMARTRESTART_MODE@ job smartrestart ran on @SMARTRESTART_UNIT@ for action "
        "@SMARTRESTART_ACTION@ did not succeed (@SMARTRESTART_RESULT@; the unit's own Result "
        "is @SMARTRESTART_UNIT_RESULT@). Later order groups were not run unless --keep-going "
        "was given. See 'journalctl -u @SMARTRESTART_UNIT@' for the unit's own messages.",
    ),
    "run-done": Event(
        "c6f0f6ee6404464e96f760453bf49108",
        PRIORITY_NOTICE,
        "smartrestart action @SMARTRESTART_ACTION@ ran successfully",
        "The command of action @SMARTRESTART_ACTION@ ran as the transient unit "
        "@SMARTRESTART_UNIT@ and exited successfully. Its output is in "
        "'journalctl -u @SMARTRESTART_UNIT@'.",
    ),
    "run-failed": Event(
        "59f676f272d540c2bf3bc6380a4e348e",
        PRIORITY_ERR,
        "smartrestart action @SMARTRESTART_ACTION@ failed: @SMARTRESTART_RESULT@",
        "The command of action @SMARTRESTART_ACTION@ ran as the transient unit "
        "@SMARTRESTART_UNIT@ and failed (@SMARTRESTART_RESULT@). Its output is in "
        "'journalctl -u @SMARTRESTART_UNIT@'.",
    ),
    "pending-kept": Event(
        "dce25c5241464cbebadb7d21c06171b0",
        PRIORITY_WARNING,
        "smartrestart kept changes of @SMARTRESTART_PACKAGES@ pending: @SMARTRESTART_REASON@",
        "Package upgrades changed files that need @SMARTRESTART_UNITS@ restarted, and "
        "smartrestart did not finish that: @SMARTRESTART_REASON@. The changes stay in "
        "/var/lib/smartrestart/pending; the next dpkg run handles them, or run "
        "'smartrestart apply --pending' once the cause is fixed. Each unit's own entry, with "
        "the same SMARTRESTART_DEPLOY, says what happened to it.",
    ),
    "dropins-generated": Event(
        "5282554210384e36b4931b3a985f8140",
        PRIORITY_NOTICE,
        "smartrestart generated restart-budget drop-ins",
        "smartrestart generate wrote or removed drop-ins for @SMARTRESTART_UNITS@ from "
        "@SMARTRESTART_RULES@ and reloaded the systemd manager.",
    ),
    "cooldown-scheduled": Event(
        "2ed042bae98343db914cd8194c4b1be6",
        PRIORITY_WARNING,
        "@SMARTRESTART_UNIT@ exhausted its restart budget; retrying after a cooldown",
        "@SMARTRESTART_UNIT@ (restart: transient) failed more often than its budget allows. "
        "smartrestart will start it again after the cooldown of @SMARTRESTART_COOLDOWN_USEC@ "
        "microseconds; this is cooldown cycle @SMARTRESTART_CYCLE@ of @SMARTRESTART_MAX_CYCLES@.",
    ),
    "cooldown-restart": Event(
        "e8382fc0a4cf46adab4d4a314031e385",
        PRIORITY_NOTICE,
        "@SMARTRESTART_UNIT@: cooldown over, starting it again",
        "The cooldown of @SMARTRESTART_UNIT@ ended: smartrestart cleared its failed state and "
        "start counter and started it again (cycle @SMARTRESTART_CYCLE@).",
    ),
    "gave-up": Event(
        "9f474d41b02d49beb7dedaf2bbe4f427",
        PRIORITY_ERR,
        "@SMARTRESTART_UNIT@ gave up for good: @SMARTRESTART_REASON@",
        "@SMARTRESTART_UNIT@ stays failed: @SMARTRESTART_REASON@. It will not be restarted "
        "automatically; fix the cause, then run 'systemctl reset-failed @SMARTRESTART_UNIT@' "
        "and start it.",
    ),
    "escalated": Event(
        "ff0fd8be25d34077a2dc724096a3e630",
        PRIORITY_ERR,
        "@SMARTRESTART_UNIT@: escalated with '@SMARTRESTART_ESCALATION@'",
        "@SMARTRESTART_UNIT@ gave up for good (@SMARTRESTART_REASON@), so smartrestart ran "
        "its on_exhausted escalation '@SMARTRESTART_ESCALATION@', as an OTP supervisor "
        "terminates when a child's restart intensity is exceeded.",
    ),
    "failure-ignored": Event(
        "5face8c8c656482897bf408fecd7e1fc",
        PRIORITY_INFO,
        "@SMARTRESTART_UNIT@ failed but is still being restarted",
        "systemd reported a failure of @SMARTRESTART_UNIT@ (systemd 254 and later do so "
        "before every automatic restart), but the unit is still within its restart budget. "
        "smartrestart's failure handler did nothing.",
    ),
    "handler-failed": Event(
        "48c06eca353d4e9bb4179cfb12fd0429",
        PRIORITY_ERR,
        "@SMARTRESTART_UNIT@: smartrestart's @SMARTRESTART_HANDLER@ handler could not act",
        "The @SMARTRESTART_HANDLER@ handler for @SMARTRESTART_UNIT@ stopped with exit status "
        "@SMARTRESTART_EXIT_STATUS@: @SMARTRESTART_ERROR@. Nothing was recorded as handled. "
        "Exit status 2 means the unit's drop-in or name is wrong: fix it (run "
        "'smartrestart generate'), then start smartrestart-failure@UNIT.service for this unit "
        "again. Otherwise the failure handler tries again by itself, a few times.",
    ),
    "exec-not-ready": Event(
        "9947eeca8a60483cbaf674264782d074",
        PRIORITY_ERR,
        "@SMARTRESTART_PROGRAM@ did not become ready under smartrestart exec",
        "smartrestart exec ran @SMARTRESTART_PROGRAM@ and waited for its ready probe "
        "@SMARTRESTART_PROBE@, which did not pass: @SMARTRESTART_REASON@. The start failed, "
        "so systemd applies the unit's restart settings. The program's own output is in the "
        "unit's journal just before this entry.",
    ),
    "exec-unhealthy": Event(
        "4ad7645d5ae14c408af426f53e0edbbb",
        PRIORITY_WARNING,
        "@SMARTRESTART_PROGRAM@ failed its health probe @SMARTRESTART_FAILURES@ times in a row",
        "The health probe @SMARTRESTART_PROBE@ of @SMARTRESTART_PROGRAM@ failed "
        "@SMARTRESTART_FAILURES@ consecutive times (last: @SMARTRESTART_REASON@). With "
        "WatchdogSec= set, smartrestart exec stopped its watchdog pings and sent "
        "WATCHDOG=trigger, so systemd kills the unit (Result=watchdog) and restarts it within "
        "its restart budget; without it, the failure is only logged and shown in STATUS=.",
    ),
}


def render_catalog() -> str:
    """The journal message catalog (``/usr/lib/systemd/catalog/smartrestart.catalog``)."""
    parts = [
        "# Journal message catalog of smartrestart; generated from\n"
        "# smartrestart/journal/events.py (python -m smartrestart.journal),\n"
        "# do not edit. Installed to /usr/lib/systemd/catalog/, then: journalctl --update-catalog\n"
    ]
    for event in EVENTS.values():
        parts.append(
            f"\n-- {event.message_id}\n"
            f"Subject: {event.subject}\n"
            "Defined-By: smartrestart\n"
            "Documentation: man:smartrestart(1)\n"
            "\n"
            f"{event.body}\n"
        )
    return "".join(parts)
