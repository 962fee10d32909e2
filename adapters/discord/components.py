"""Persistent components: buttons and user selects routed by their custom ids, views and modals.

The ``DynamicItem`` classes match custom ids (:mod:`adapters.discord.render` writes them), so
a click on a message sent before a restart still reaches raidline. What a click does is the
business of the :class:`ClickHandler` the client carries (:mod:`adapters.discord.interactions`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from re import Match
from typing import Any, Protocol, cast

import discord

from adapters.discord import render as dr
from bot.domain.model import ChannelKey
from bot.messages import InputKind


class ClickHandler(Protocol):
    """What the persistent components hand their clicks to."""

    async def guarded(
        self, interaction: discord.Interaction[Any], work: Awaitable[None]
    ) -> None: ...

    async def on_action(
        self,
        interaction: discord.Interaction[Any],
        action_id: str,
        values: Mapping[str, str] | None = None,
        *,
        place: ChannelKey | None = None,
    ) -> None: ...

    async def on_page(
        self,
        interaction: discord.Interaction[Any],
        page: int,
        origin: dr.Origin,
        *,
        place: ChannelKey | None = None,
    ) -> None: ...

    async def on_fix(
        self, interaction: discord.Interaction[Any], token: str, *, place: ChannelKey | None = None
    ) -> None: ...


class _HasClickHandler(Protocol):
    interactions: ClickHandler


def _handler(interaction: discord.Interaction[Any]) -> ClickHandler:
    return cast(_HasClickHandler, interaction.client).interactions


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=dr.ACTION_TEMPLATE
):
    """A button carrying a core action id: ``rl:a:resolve:B-3`` (``rl@<place>:a:…`` in a DM)."""

    def __init__(self, spec: dr.ButtonSpec, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(label=spec.label, style=spec.style, custom_id=spec.custom_id),
            row=row,
        )
        self.place, plain = dr.split_place(spec.custom_id)
        self.action_id = plain.removeprefix(dr.ACTION_PREFIX)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> ActionButton:
        return cls(dr.ButtonSpec("…", match.string))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler = _handler(interaction)
        await handler.guarded(
            interaction, handler.on_action(interaction, self.action_id, place=self.place)
        )


class PeopleSelect(
    discord.ui.DynamicItem[discord.ui.UserSelect[discord.ui.View]], template=dr.SELECT_TEMPLATE
):
    """A user select that submits its action with the chosen people: ``rl:u:owner:assign:B-3``."""

    def __init__(self, spec: dr.UserSelectSpec, row: int | None = None) -> None:
        super().__init__(
            discord.ui.UserSelect(
                custom_id=spec.custom_id,
                placeholder=spec.placeholder,
                min_values=1,
                max_values=spec.max_values,
            ),
            row=row,
        )
        self.place, plain = dr.split_place(spec.custom_id)
        rest = plain.removeprefix(dr.SELECT_PREFIX)
        self.field_name, _, self.action_id = rest.partition(":")

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> PeopleSelect:
        return cls(dr.UserSelectSpec(match.string, "…"))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        data = cast(Mapping[str, Any], interaction.data or {})
        people = " ".join(str(v) for v in data.get("values") or [])
        handler = _handler(interaction)
        await handler.guarded(
            interaction,
            handler.on_action(
                interaction, self.action_id, {self.field_name: people}, place=self.place
            ),
        )


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=dr.PAGE_TEMPLATE
):
    """Another page of a long private reply to a text command: runs it (read-only) again."""

    def __init__(self, spec: dr.ButtonSpec, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(label=spec.label, style=spec.style, custom_id=spec.custom_id),
            row=row,
        )
        self.page = 0
        self.origin: dr.Origin = ("", "")
        self.place, _ = dr.split_place(spec.custom_id)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> PageButton:
        button = cls(dr.ButtonSpec("…", match.string))
        button.page = int(match["page"])
        button.origin = (match["command"], match["text"])
        return button

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler = _handler(interaction)
        await handler.guarded(
            interaction, handler.on_page(interaction, self.page, self.origin, place=self.place)
        )


class OptionsPageButton(PageButton, template=dr.OPTIONS_PAGE_TEMPLATE):
    """Another page of a long private reply to a slash command: runs it (read-only) again."""

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> OptionsPageButton:
        button = cls(dr.ButtonSpec("…", match.string))
        button.page = int(match["page"])
        options = dr.parse_page_options(match["options"])
        button.origin = dr.TypedOrigin(match["command"], match["subcommand"], options)
        return button


class FixButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=dr.FIX_TEMPLATE
):
    """Reopens a refused form with what was typed, so nothing has to be typed twice."""

    def __init__(self, spec: dr.ButtonSpec, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(label=spec.label, style=spec.style, custom_id=spec.custom_id),
            row=row,
        )
        self.place, plain = dr.split_place(spec.custom_id)
        self.token = plain.removeprefix(dr.FIX_PREFIX)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> FixButton:
        return cls(dr.ButtonSpec("…", match.string))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler = _handler(interaction)
        await handler.guarded(
            interaction, handler.on_fix(interaction, self.token, place=self.place)
        )


def build_view(rows: Sequence[Sequence[dr.ComponentSpec]]) -> discord.ui.View | None:
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for r, row in enumerate(rows):
        for spec in row:
            item: discord.ui.Item[Any]
            _, plain = dr.split_place(spec.custom_id)
            if isinstance(spec, dr.UserSelectSpec):
                item = PeopleSelect(spec, row=r)
            elif plain.startswith(dr.PAGE_PREFIX):
                item = PageButton(spec, row=r)
            elif plain.startswith(dr.OPTIONS_PAGE_PREFIX):
                item = OptionsPageButton(spec, row=r)
            elif plain.startswith(dr.FIX_PREFIX):
                item = FixButton(spec, row=r)
            else:
                item = ActionButton(spec, row=r)
            view.add_item(item)
    return view


def build_modal(spec: dr.ModalSpec) -> discord.ui.Modal:
    modal = discord.ui.Modal(title=spec.title, custom_id=spec.custom_id, timeout=None)
    for inp in spec.inputs:
        component: discord.ui.Item[Any]
        if inp.kind in (InputKind.USER, InputKind.USERS):
            people = [int(p) for p in (inp.default or "").split() if p.isdecimal()]
            many = inp.kind is InputKind.USERS
            component = discord.ui.UserSelect(
                custom_id=inp.name,
                min_values=1 if inp.required else 0,
                max_values=dr.MAX_SELECT_VALUES if many else 1,
                required=inp.required,
                default_values=[discord.Object(id=p) for p in people[: 25 if many else 1]],
            )
        elif inp.kind is InputKind.CHOICE and inp.choices:
            component = discord.ui.Select(
                custom_id=inp.name,
                min_values=1 if inp.required else 0,
                max_values=1,
                required=inp.required,
                options=[
                    discord.SelectOption(
                        label=dr.clip(label, 100), value=value, default=value == inp.default
                    )
                    for value, label in inp.choices
                ],
            )
        else:
            long = inp.kind is InputKind.LONG_TEXT
            max_length = inp.max_length or dr.MAX_INPUT_VALUE
            component = discord.ui.TextInput(
                custom_id=inp.name,
                style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
                required=inp.required,
                default=(inp.default or "")[:max_length] or None,
                max_length=max_length,
                placeholder=inp.description,
            )
        modal.add_item(discord.ui.Label(text=inp.label, component=component))
    # raidline routes the submission by its custom id (see client.RaidlineClient.on_interaction), so
    # it works after a restart too; a stopped modal is not kept in discord.py's modal store.
    modal.stop()
    return modal
