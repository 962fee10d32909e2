"""Which channel ``raidline import-csv --channel ID [--workspace W]`` imports into."""

from __future__ import annotations

import pytest

from adapters.runtime.cli import ChannelLookupError, import_channel
from bot.domain.model import ChannelKey

KNOWN = [
    ChannelKey("slack", "T1", "C1"),
    ChannelKey("slack", "T2", "C1"),
    ChannelKey("console", "local", "proj"),
]


@pytest.mark.parametrize(
    ("ident", "workspace", "channel"),
    [
        ("proj", None, ChannelKey("console", "local", "proj")),
        ("#proj", None, ChannelKey("console", "local", "proj")),
        ("C1", "T2", ChannelKey("slack", "T2", "C1")),
        ("slack:T1:C1", None, ChannelKey("slack", "T1", "C1")),
        ("slack:T9:C9", None, ChannelKey("slack", "T9", "C9")),  # not seen yet
        ("website", None, ChannelKey("console", "local", "website")),  # a new console channel
    ],
)
def test_the_channel_is_found_or_named(
    ident: str, workspace: str | None, channel: ChannelKey
) -> None:
    assert import_channel(KNOWN, ident, workspace) == channel


@pytest.mark.parametrize(
    ("ident", "workspace", "said"),
    [
        (
            "C1",
            None,
            "channel 'C1' is in several workspaces; give one of: slack:T1:C1, slack:T2:C1",
        ),
        ("C7", "T1", "no channel 'C7'; known channels:"),
    ],
)
def test_an_unclear_channel_is_refused_with_the_choices(
    ident: str, workspace: str | None, said: str
) -> None:
    with pytest.raises(ChannelLookupError) as refused:
        import_channel(KNOWN, ident, workspace)
    assert str(refused.value).startswith(said)
