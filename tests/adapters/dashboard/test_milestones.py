"""The dashboard's milestone timeline (health and slips) and an item's tracker links."""

from __future__ import annotations

import re

from tests.adapters.dashboard.conftest import Board


async def test_the_overview_draws_the_milestone_timeline_with_its_slips(board: Board) -> None:
    await board.say("/milestone Design approved due Dec 10 @dana")
    await board.say("/milestone Go live due Feb 1")
    await board.say("/blocker Fonts late @erin for M-1")
    await board.say("/raid due M-1 Dec 17")
    await board.say("/raid due M-1 Jan 8")
    place = await board.sign_in()
    response = await board.client.get(place)
    page = await response.text()
    assert response.status == 200
    assert "Milestone timeline" in page
    rows = re.findall(r'<tr class="health-([a-z-]+)" id="milestone-(M-\d)">(.*?)</tr>', page, re.S)
    assert [(health, ref) for health, ref, _ in rows] == [("at-risk", "M-1"), ("on-track", "M-2")]
    first = " ".join(rows[0][2].split())
    assert "at risk: blocker B-1 is open" in first
    assert "moved 2×" in first and "(first Thu 10 Dec" in first
    assert "none" in rows[1][2]


async def test_an_items_page_links_its_tracker_safely(board: Board) -> None:
    await board.say("/raid settings links JIRA=https://acme.atlassian.net/browse/{}")
    await board.say(
        "/blocker Waiting on SSO link JIRA-7 link https://github.com/acme/app/issues/12"
    )
    await board.say('/raid link B-1 https://x.example/"><script>alert(1)</script>')
    place = await board.sign_in()
    page = await (await board.client.get(place + "items/B-1")).text()
    assert (
        '<a href="https://acme.atlassian.net/browse/JIRA-7" rel="noopener noreferrer nofollow">'
        "JIRA-7</a>"
    ) in page
    assert (
        '<a href="https://github.com/acme/app/issues/12" rel="noopener noreferrer nofollow">'
        "https://github.com/acme/app/issues/12</a>"
    ) in page
    assert "<script>" not in page
