"""Which chat markup inside the core's texts may stay live, and which is shown as typed.

The core's texts mix its own markup (``*B-1*``, backticks, people as ``<@id>``) with what
people typed (titles, notes, answers). Only the forms a platform itself produces from a real
mention or a plain URL may stay live:

- a person ``<@U123>`` (Slack's labelled ``<@U123|dana>`` and Discord's ``<@!123>`` become
  ``<@U123>`` / ``<@123>``: the platform shows the person's real name, never the label);
- a channel ``<#C123>`` (``<#C123|general>`` becomes ``<#C123>``);
- a URL ``<https://example.com>``, and the auto-link Slack makes of a typed address,
  ``<http://example.com|example.com>``, whose label is its own target.

Everything else between ``<`` and ``>`` is shown literally: special mentions
(``<!channel>``, ``<!here>``, ``<!subteam^…>``, ``<!date…>``), masked links whose label
differs from their target (``<https://evil.example|Approve here>``), role pings, and anything
unknown. Each renderer applies this with its platform's escaping.
"""

from __future__ import annotations

import re

#: Anything written between angle brackets on one line.
ANGLE_RE = re.compile(r"<([^<>\n]*)>")
_PERSON_RE = re.compile(r"@!?([A-Za-z0-9][A-Za-z0-9._\-]*)(?:\|[^<>|]*)?")
_CHANNEL_RE = re.compile(r"#([A-Za-z0-9][A-Za-z0-9_\-]*)(?:\|[^<>|]*)?")
_URL_RE = re.compile(r"(https?://[^\s<>|\"]+)(?:\|([^<>|]*))?")
_MAILTO_RE = re.compile(r"mailto:([^\s<>|\"]+)(?:\|([^<>|]*))?")


def _bare(target: str) -> str:
    target = re.sub(r"^(?:https?://|mailto:)", "", target, flags=re.IGNORECASE)
    return target.rstrip("/").lower()


def honest_label(target: str, label: str | None) -> bool:
    """A link label says where it goes: none, or the target itself (scheme and ``/`` aside)."""
    return label is None or _bare(label) == _bare(target)


def live_markup(inner: str) -> str | None:
    """The live form of ``<inner>`` if a platform could have produced it, else ``None``.

    ``@U1|dana`` -> ``<@U1>``; ``#C1|general`` -> ``<#C1>``; ``https://x`` -> ``<https://x>``;
    ``http://x.com|x.com`` -> ``<http://x.com>``; ``https://evil|Approve`` -> ``None``.
    """
    m = _PERSON_RE.fullmatch(inner)
    if m:
        return f"<@{m.group(1)}>"
    m = _CHANNEL_RE.fullmatch(inner)
    if m:
        return f"<#{m.group(1)}>"
    m = _URL_RE.fullmatch(inner)
    if m and honest_label(m.group(1), m.group(2)):
        return f"<{m.group(1)}>"
    m = _MAILTO_RE.fullmatch(inner)
    if m and honest_label(m.group(1), m.group(2)):
        return f"<mailto:{m.group(1)}|{m.group(1)}>"
    return None


def typed_link(text: str) -> str:
    """A link as someone typed it, without the platform's wrapping: Slack sends a typed
    address as ``<https://x>`` or ``<https://x|x>``, which is ``https://x``. A wrapped link
    whose label is not its own target (``<https://evil|Approve>``) stays as it is, and so
    is refused by whoever checks it."""
    value = text.strip()
    m = ANGLE_RE.fullmatch(value)
    if m is None:
        return value
    live = live_markup(m.group(1))
    if live is None or not live.startswith("<http"):
        return value
    return live[1:-1]


def normalise_live(text: str) -> str:
    """``text`` with every live form normalised (labels dropped) and the rest left as typed."""
    return ANGLE_RE.sub(lambda m: live_markup(m.group(1)) or m.group(0), text)


__all__ = ["ANGLE_RE", "honest_label", "live_markup", "normalise_live", "typed_link"]
