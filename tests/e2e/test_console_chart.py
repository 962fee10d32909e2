"""The console shows a weekly digest's chart as the path of the file it saved."""

from __future__ import annotations

import io
from pathlib import Path

from adapters.console import Console, StreamLines
from bot.domain.model import ChannelKey
from bot.messages import File, Outgoing, Reply
from tests.e2e.test_console import ScriptedCore

PNG = b"\x89PNG\r\n\x1a\n-the-picture-"


async def test_a_digest_sent_on_its_own_saves_its_chart(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(
        ScriptedCore(),
        user="ana",
        channel="proj",
        lines=StreamLines(io.StringIO("")),
        out=out,
        interactive=False,
        files_dir=tmp_path,
    )
    chart = File("raidline-trends-2026-11-25.png", PNG, "image/png", "12-week trend")
    digest = Reply(text="Digest: 1 change, 1 open blocker", files=(chart,))
    await console.send(Outgoing(ChannelKey("console", "local", "proj"), digest))
    shown = out.getvalue()
    assert "Digest: 1 change, 1 open blocker" in shown
    saved = tmp_path / "raidline-trends-2026-11-25.png"
    assert f"Saved {saved} ({len(PNG)} bytes)" in shown
    assert saved.read_bytes() == PNG
