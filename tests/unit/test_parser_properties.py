"""No input, however malformed, produces a traceback or a half-written item."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Tone
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import BASE, Chat

COMMANDS = ["blocker", "risk", "decision", "change", "raid", "blockr", ""]
WORDS = [
    "due", "by", "review", "likelihood", "impact", "very", "high", "low", "med", "waiting",
    "on", "mitigation", "response", "accept", "because", "details", "needed", "@dana",
    "<@U024BE7LH>", "<@!8035>", "friday", "12/05", "tomorrow", "3pm", "B-1", "#b1", "C-1",
    "list", "show", "resolve", "assign", "approve", "reject", "decide", "close", "occurred",
    "reopen", "withdraw", "history", "export", "settings", "timezone", "leads", "nudges",
    "schedule", "+2", "weeks,", "cost", '"', "page", "all", "mine", "overdue", "json",
]  # fmt: skip

text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=25).map(" ".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(COMMANDS), body=text)
async def test_any_input_gets_a_reply_and_never_half_writes(command: str, body: str) -> None:
    store = FakeStore()
    chat = Chat(store, FixedClock(BASE))
    await chat.say("/blocker Seed @dana due friday")
    before = store.commits
    reply = await chat.say(f"/{command} {body}")
    assert reply.incident_id is None, reply.text  # no unexpected error
    assert reply.text.strip()
    if reply.tone is Tone.ERROR:
        assert store.commits == before  # a refused command saved nothing


@settings(max_examples=200, deadline=None)
@given(
    action=st.sampled_from(
        ["new:blocker", "new:risk", "new:decision", "new:change", "new:bogus", "resolve:B-1",
         "assign:B-1", "due:B-1", "decide:D-1", "reject:B-1", "list::2", "zap:B-1", "due:"]
    ),
    values=st.dictionaries(
        st.sampled_from(["title", "owner", "due", "review", "likelihood", "impact", "state",
                         "decider", "by", "impact", "approvers", "reason", "outcome", "note"]),
        st.text(max_size=40),
        max_size=6,
    ),
)  # fmt: skip
async def test_any_click_or_form_gets_a_reply(action: str, values: dict[str, str]) -> None:
    store = FakeStore()
    chat = Chat(store, FixedClock(BASE))
    await chat.say("/blocker Seed @dana due friday")
    before = store.commits
    reply = await chat.click(action, values)
    assert reply.incident_id is None, reply.text
    if reply.tone is Tone.ERROR:
        assert store.commits == before
