"""Close-out in ``raidline console``, as a subprocess with stdin piped: defer, lessons, the
final report saved as a file, the closed channel refusing items, and reopening it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from tests.e2e.test_console import raidline

# The revisit date: 1 March of next year, always in the future and always shown with its year
# (a fixed "1 Mar" with "Mon 1 Mar 2027" expected would have failed from 2 March 2027 on).
REVISIT = date(datetime.now(UTC).year + 1, 3, 1)

SESSION = "\n".join(
    [
        "/raid settings leads @ana",
        "/blocker Waiting on firewall change @dana due friday",
        "/decision needed Pick the SSO vendor by next tuesday",
        "/raid close-out",
        "/raid close-out finish",
        f"/raid defer B-1 until {REVISIT.isoformat()} because NetOps freeze until spring",
        "/raid decide D-1 Okta, best SCIM support",
        "/raid lesson Ask NetOps for changes a sprint ahead",
        "/as bob",
        "/raid close-out finish",
        "/as ana",
        "/raid close-out finish",
        "/blocker Another problem",
        "/raid reopen-project",
        "/blocker Another problem",
        "",
    ]
)


def test_a_project_closes_and_reopens_in_the_console(tmp_path: Path) -> None:
    result = raidline("console", db=tmp_path / "raidline.db", stdin=SESSION)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    shown = " ".join(result.stdout.split())
    assert "2 items still block closing (1 open blocker, 1 pending decision)" in shown
    assert "2 items still block closing: B-1, D-1." in shown
    assert f"Revisit: {REVISIT:%a} {REVISIT.day} {REVISIT:%b %Y} 17:00 UTC" in shown
    assert "Deferred because: NetOps freeze until spring" in shown
    assert "Lesson learned #1 noted: Ask NetOps for changes a sprint ahead" in shown
    assert "Only a lead (@ana) may close the project." in shown
    assert "The project is closed. Final report: 2 items" in shown
    (report,) = (tmp_path / "exports").glob("*final-report*.md")
    body = report.read_text(encoding="utf-8")
    assert "- D-1 Pick the SSO vendor (decided): Okta" in body
    assert f"- B-1 Waiting on firewall change: revisit {REVISIT.isoformat()} 17:00" in body
    assert "- Ask NetOps for changes a sprint ahead (ana)" in body
    after = shown.split("The project is closed. Final report", 1)[1]
    assert "This project is closed, so nothing new is logged here." in after
    assert "The project is open again" in after
    assert "Logged B-2" in after.split("The project is open again", 1)[1]
