"""Words that add up: the digest's headline counts overdue blockers and late decisions apart,
and its warning signs name risks nobody watches, blockers without a date and decisions
without a decider or a date."""

from __future__ import annotations

import pytest

from bot.views.plain import render_text
from tests.unit.conftest import Chat


def seen(reply: object) -> str:
    return " ".join(render_text(reply).split())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lines", "headline"),
    [
        ((), "Digest: 0 changes, 0 open blockers, 0 waiting for a decision"),
        (
            ("/blocker Creds @dana due tomorrow", "/blocker VPN @dana due friday"),
            "Digest: 2 changes, 2 open blockers (1 overdue), 0 waiting for a decision",
        ),
        (
            ("/decision needed Pick a CDN @cio by tomorrow", "/blocker Creds @dana"),
            "Digest: 2 changes, 1 open blocker, 1 waiting for a decision (1 late)",
        ),
        (
            (
                "/blocker Creds @dana due tomorrow",
                "/decision needed Pick a CDN @cio by tomorrow",
                "/decision needed Pick a CRM @cio by friday",
                "/change Add SSO impact scope +1 screen @sponsor",
                # a risk whose review is late is neither an overdue blocker nor a late decision
                "/risk Vendor slips @bob review tomorrow",
            ),
            "Digest: 5 changes, 1 open blocker (1 overdue), 3 waiting for a decision (1 late)",
        ),
    ],
)
async def test_the_headline_counts_overdue_blockers_and_late_decisions_apart(
    chat: Chat, lines: tuple[str, ...], headline: str
) -> None:
    for line in lines:
        await chat.say(line)
    chat.clock.advance(days=1, hours=8)  # Thu 26 Nov 18:00 Berlin: "tomorrow" has passed
    assert (await chat.say("/digest")).text == headline


@pytest.mark.parametrize(
    ("lines", "warning"),
    [
        (("/risk Vendor slips likelihood high impact high",), "Risks without an owner: R-1"),
        (("/blocker Creds @dana", "/blocker VPN @dana due friday"), "Blockers without a date: B-1"),
        (
            ("/decision needed Pick a CDN by friday", "/decision needed Pick a CRM @cio"),
            "Decisions without a decider: D-1",
        ),
        (
            ("/decision needed Pick a CDN by friday", "/decision needed Pick a CRM @cio"),
            "Decisions without a date: D-2",
        ),
        (("/blocker Creds",), "Blockers without an owner: B-1"),
    ],
)
async def test_warning_signs(chat: Chat, lines: tuple[str, ...], warning: str) -> None:
    for line in lines:
        await chat.say(line)
    reply = await chat.say("/digest")
    warnings = next(s for s in reply.sections if s.heading == "Warning signs")
    assert warning in warnings.lines, warnings.lines


@pytest.mark.parametrize(
    "lines",
    [
        ("/risk Vendor slips @bob", "/blocker Creds @dana due friday"),
        ("/decision needed Pick a CDN @cio by friday",),
        ("/decision We use PostgreSQL",),  # a decision taken needs neither
        ("/risk Vendor slips", "/raid close R-1"),  # closed: nothing to watch
    ],
)
async def test_no_warning_when_everything_is_in_order(chat: Chat, lines: tuple[str, ...]) -> None:
    for line in lines:
        await chat.say(line)
    reply = await chat.say("/digest")
    assert "Warning signs" not in [s.heading for s in reply.sections], seen(reply)


@pytest.mark.parametrize(
    ("lines", "refused", "user", "reply"),
    [
        (
            ("/change Add SSO impact scope +1 screen @sponsor", "/raid approve C-1"),
            "/raid approve C-1",
            "sponsor",
            "C-1 is already approved.",
        ),
        (
            ("/blocker Creds @dana", "/raid resolve B-1"),
            "/raid resolve B-1",
            "ana",
            "B-1 is already resolved.",
        ),
        (
            ("/risk Vendor slips @bob", "/raid close R-1"),
            "/raid close R-1",
            "ana",
            "R-1 is already closed.",
        ),
        (
            ("/risk Vendor slips @bob", "/raid occurred R-1"),
            "/raid close R-1",
            "ana",
            "R-1 has occurred; it can no longer be closed.",
        ),
        (("/blocker Creds @dana",), "/raid reopen B-1", "ana", "B-1 is already open."),
        (
            ("/blocker Creds @dana", "/raid withdraw B-1"),
            "/raid resolve B-1",
            "ana",
            "B-1 was withdrawn; `/raid reopen B-1` brings it back first.",
        ),
        (
            ("/blocker Creds @dana", "/raid resolve B-1"),
            "/raid withdraw B-1",
            "ana",
            "B-1 is already resolved: there is nothing to withdraw.",
        ),
        (
            ("/risk Vendor slips @bob", "/raid close R-1"),
            "/raid occurred R-1",
            "ana",
            "R-1 is closed; `/raid reopen R-1` first if it still needs to be marked occurred.",
        ),
        (
            ("/change Add SSO impact scope +1 screen @sponsor",),
            "/raid implemented C-1",
            "ana",
            "C-1 is proposed, and only approved changes can be marked implemented.",
        ),
        (
            ("/decision needed Pick a CDN @cio",),
            "/raid supersede D-1",
            "ana",
            "D-1 still needs a decision, and only decided decisions can be superseded.",
        ),
        (
            ("/decision needed Pick a CDN @cio", "/raid reject D-1 not needed"),
            "/raid decide D-1 Fastly",
            "cio",
            "D-1 is rejected; it can no longer be decided.",
        ),
    ],
)
async def test_state_refusals_read_like_a_person_wrote_them(
    chat: Chat, lines: tuple[str, ...], refused: str, user: str, reply: str
) -> None:
    for line in lines:
        first_user = "sponsor" if "approve" in line else "cio" if "reject D" in line else "ana"
        assert (await chat.say(line, user=first_user)).tone.value != "error", line
    answer = await chat.say(refused, user=user)
    assert answer.text == reply
