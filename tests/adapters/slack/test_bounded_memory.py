"""What the Slack adapter remembers per person is bounded in size and in time."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.cache import Bounded
from adapters.slack.people import PEOPLE_KEPT, People
from tests.adapters.slack.fake_slack import FakeSlack


async def test_the_people_cache_never_exceeds_its_bound(fake: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    people = People(size=3)
    fake.timezones.update({f"U{n}": "America/New_York" for n in range(10)})
    sizes = []
    for n in range(10):
        assert await people.of(client, "T1", f"U{n}") == "America/New_York"
        sizes.append(len(people))
    assert sizes == [1, 2, 3, 3, 3, 3, 3, 3, 3, 3]
    asked = len(fake.calls_to("users.info"))
    await people.of(client, "T1", "U9")  # still held: no call
    assert len(fake.calls_to("users.info")) == asked
    await people.of(client, "T1", "U0")  # pushed out long ago: asked again
    assert len(fake.calls_to("users.info")) == asked + 1
    assert 0 < PEOPLE_KEPT <= 100_000  # the default is a bound too


def test_an_entry_is_fresh_for_its_ttl_then_only_the_last_known_value() -> None:
    now = [0.0]
    cache: Bounded[str, str] = Bounded(2, 60.0, clock=lambda: now[0])
    cache.put("U1", "Europe/Berlin")
    now[0] = 59.0
    assert cache.fresh("U1") == "Europe/Berlin"
    now[0] = 60.0
    assert cache.fresh("U1") is None
    assert cache.last_known("U1") == "Europe/Berlin"
    cache.put("U2", "a")
    cache.put("U3", "b")
    assert len(cache) == 2 and cache.last_known("U1") is None
