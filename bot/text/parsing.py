"""Turning command text into a title and options.

The grammar of the logging commands (SPEC §3): the title comes first; after it come option
words in any order (``due friday``, ``likelihood high``, ``mitigation weekly check-in``) and
mentions. The title ends at the first mention or option word. A date or level option word
(``by``, ``review``, ``impact``...) inside what could still be the title only counts when a
valid value follows it, so "Blocked by legal" stays a title; ``due`` always counts. A title in
double quotes is taken as it is.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from bot.domain import limits
from bot.domain.limits import MAX_COMMAND_CHARS as MAX_COMMAND_CHARS
from bot.domain.limits import MAX_DETAILS_CHARS as MAX_DETAILS_CHARS
from bot.domain.limits import MAX_MENTIONS as MAX_MENTIONS
from bot.domain.limits import MAX_PERSON_CHARS
from bot.domain.limits import MAX_TITLE_CHARS as MAX_TITLE_CHARS
from bot.domain.model import IMPACT_AREAS, RESPONSES, Ref
from bot.domain.model import LEVEL_NAMES as LEVEL_NAMES
from bot.domain.model import mention as mention
from bot.errors import UsageError
from bot.text.dates import DATE_FORMS

# Slack: <@U024BE7LH> or <@U024BE7LH|dana>; Discord: <@80351110224678912> or <@!8035...>;
# console and plain text: @dana (not inside an e-mail address). An id longer than
# MAX_PERSON_CHARS is no mention (it could not be stored as a person).
_ID = f"{{1,{MAX_PERSON_CHARS}}}"
#: ``@here``, ``@channel``, ``@everyone`` (Slack writes them ``<!here>``...): everyone in the
#: channel, never one person; they are no mention and are refused where a person is named.
BROADCASTS = ("here", "channel", "everyone")
_BROADCAST = r"(?i:here|channel|everyone)"
_BROADCAST_RE = re.compile(rf"<!({_BROADCAST})(?:\|[^>]*)?>|(?<![\w@])@({_BROADCAST})(?![\w.\-])")
_MENTION_RE = re.compile(
    rf"<@!?([A-Za-z0-9_.\-]{_ID})(?:\|[^>]*)?>"
    rf"|(?<![\w@])@(?!{_BROADCAST}(?![\w.\-]))"
    rf"([A-Za-z0-9][\w.\-]{{0,{MAX_PERSON_CHARS - 1}}})(?![\w.\-])"
)
_TOKEN_RE = re.compile(r"<@!?[A-Za-z0-9_.\-]+(?:\|[^>]*)?>[,.;:!?)]*|\S+")

LEVEL_WORDS: Mapping[str, int] = {
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "5": 5,
    "very low": 1,
    "low": 2,
    "medium": 3,
    "med": 3,
    "high": 4,
    "very high": 5,
}


def closest(word: str, choices: list[str]) -> str | None:
    """The one of ``choices`` closest to ``word`` (a typo of it), if any is close enough."""
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.5)
    return close[0] if close else None


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` Did you mean `x`?`` for the closest of ``choices``, or nothing."""
    close = closest(word, choices)
    return f" Did you mean `{close}`?" if close else ""


def mention_of(token: str) -> str | None:
    """The person id in a single mention token, else None."""
    m = _MENTION_RE.fullmatch(token.rstrip(",.;:!?)"))
    if not m:
        return None
    return m.group(1) or m.group(2)


def _is_broadcast(token: str) -> bool:
    return _BROADCAST_RE.fullmatch(token.rstrip(",.;:!?)")) is not None


def refuse_broadcast(text: str) -> None:
    """UsageError if ``text`` names ``@here``, ``@channel`` or ``@everyone`` (never a person)."""
    m = _BROADCAST_RE.search(text)
    if m:
        word = (m.group(1) or m.group(2)).lower()
        raise UsageError(
            f"`@{word}` means everyone in the channel, not one person: it can't own, decide or "
            "approve an item. Mention someone, e.g. `@dana`."
        )


def parse_person(text: str) -> str | None:
    """A person from a form value or an argument: ``<@U1>``, ``@dana``, ``U1`` or ``dana``."""
    text = text.strip()
    if not text:
        return None
    refuse_broadcast(text if text.lower() not in BROADCASTS else f"@{text}")
    person = mention_of(text)
    if person:
        return person
    if re.fullmatch(r"[A-Za-z0-9][\w.\-]*", text):
        if len(text) > MAX_PERSON_CHARS:
            raise UsageError(limits.person_too_long(len(text)))
        return text
    raise UsageError(f"`{text}` is not a person. Mention them, e.g. `@dana`.")


def parse_people(text: str) -> list[str]:
    people: list[str] = []
    for token in re.split(r"[\s,]+", text.strip()):
        if token:
            person = parse_person(token)
            if person and person not in people:
                people.append(person)
    return people


def find_mentions(text: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _MENTION_RE.finditer(text)]


def canonical_mentions(text: str) -> str:
    """``text`` with every mention written as the core writes people (``<@dana>``)."""
    return _MENTION_RE.sub(lambda m: mention(m.group(1) or m.group(2)), text)


def people_named(text: str) -> list[str]:
    """The people an argument names (``@erin @raj``, or ids); refuses ``@here`` & co."""
    refuse_broadcast(text)
    return find_mentions(text) or parse_people(text)


def person_or_text(text: str) -> str:
    """What a blocker waits on: one mentioned person (kept as ``<@id>``) or free text."""
    text = text.strip()
    words = text.split()
    if words and _is_broadcast(words[0]):  # where the person would be; later, only words
        refuse_broadcast(words[0])
    person = mention_of(text)
    return mention(person) if person else text


#: Sizes of a change request's impact that are words, not numbers.
SIZE_WORDS = ("small", "medium", "large")
_SIZE_RE = re.compile(rf"\d|\b(?:{'|'.join(SIZE_WORDS)})\b", re.IGNORECASE)
_SIZE_EXAMPLES = {
    "scope": "+2 features",
    "schedule": "+2 weeks",
    "cost": "£5k",
    "quality": "medium",
}
_SIZE_RULE = (
    "a size is a number with its unit (`+2 weeks`, `3d`, `£5k`, `+8k`, `-10%`) or one of "
    "`small`, `medium`, `large`"
)


def parse_impacts(text: str) -> dict[str, str]:
    """``schedule +2 weeks, cost +8k`` -> {"schedule": "+2 weeks", "cost": "+8k"}.

    Each area (scope, schedule, cost, quality) needs a size: a number with its unit or
    small, medium or large (see :data:`SIZE_WORDS`).
    """
    impacts: dict[str, str] = {}
    for part in re.split(r"[,;]\s*", text.strip()):
        words = part.split(maxsplit=1)
        if not words:
            continue
        area = words[0].lower().rstrip(":")
        if area not in IMPACT_AREAS:
            raise UsageError(
                f"Say which area each impact is on: scope, schedule, cost or quality "
                f"(e.g. `impact schedule +2 weeks, cost +8k`); `{part}` names none."
            )
        size = words[1].strip() if len(words) > 1 else ""
        if not _SIZE_RE.search(size):
            said = f"`{part}` has no size" if size else f"`{area}` needs a size"
            raise UsageError(
                f"{said}: say how much, e.g. `impact {area} {_SIZE_EXAMPLES[area]}` ({_SIZE_RULE})."
            )
        impacts[area] = size
    if not impacts:
        raise UsageError(
            "A change request states its impact on at least one of scope, schedule, cost or "
            "quality, e.g. `impact schedule +2 weeks, cost +8k`."
        )
    return impacts


def parse_level(text: str, what: str) -> int:
    key = " ".join(text.lower().split())
    if key in LEVEL_WORDS:
        return LEVEL_WORDS[key]
    raise UsageError(
        f"`{text}` is not a {what} I know. Use 1–5 or very low, low, medium, high, very high."
    )


def parse_response(text: str) -> str:
    key = text.strip().lower()
    if key in RESPONSES:
        return key
    raise UsageError(f"`{text}` is not a risk response. Use one of: {', '.join(RESPONSES)}.")


def parse_ref(text: str, usage: str | None = None) -> Ref:
    ref = Ref.parse(text)
    if ref is None:
        raise UsageError(
            f"`{text}` is not a ref. Refs look like `B-3`, `R-1`, `D-2` or `C-4`.", usage=usage
        )
    return ref


def check_command_length(text: str) -> None:
    if len(text) > MAX_COMMAND_CHARS:
        raise UsageError(
            f"That command is {len(text):,} characters long; the limit is "
            f"{MAX_COMMAND_CHARS:,}. Put long text in the item's details with `/raid note`."
        )
    count = len(find_mentions(text))
    if count > MAX_MENTIONS:
        raise UsageError(
            f"That command mentions {count} people; the limit is {MAX_MENTIONS}. "
            "Mention fewer people."
        )


#: Words that introduce a date (SPEC §3), also when they follow another one (``due by``).
DATE_INTRODUCERS = frozenset({"due", "by", "until", "before"})


def _people_in(value: object) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, tuple | list):
        return [str(p) for p in value if p]
    return []


def check_fields(fields: Mapping[str, object]) -> dict[str, str]:
    """What is wrong with these fields against :mod:`bot.domain.limits`: field -> message.

    ``fields`` are a form's values or a typed call's fields: free texts are checked against
    their limit, people fields (ids separated by spaces, or a tuple) for the length of each id,
    and the people named, in people fields and as mentions inside texts, are counted
    together against :data:`MAX_MENTIONS`. Empty when everything fits.
    """
    errors: dict[str, str] = {}
    named: dict[str, int] = {}
    for name, value in fields.items():
        if name in limits.PEOPLE_FIELDS:
            people = _people_in(value)
            named[name] = len(people)
            longest = max((len(p) for p in people), default=0)
            if longest > MAX_PERSON_CHARS:
                errors[name] = limits.person_too_long(longest)
            continue
        if isinstance(value, Mapping):
            if name == "answers":
                texts = {str(k): str(v) for k, v in value.items()}
            else:
                texts = {name: "; ".join(f"{k} {v}" for k, v in value.items())}
        elif isinstance(value, str):
            texts = {name: value}
        else:
            continue
        for key, text in texts.items():
            problem = limits.text_error(key, text)
            if problem:
                errors.setdefault(name, problem)
            named[name] = named.get(name, 0) + len(find_mentions(text))
    total = sum(named.values())
    if total > MAX_MENTIONS:
        most = max(named, key=lambda n: named[n])
        errors.setdefault(most, limits.too_many_people(total))
    return errors


class ValueKind(Enum):
    DATE = "date"  # parsed by the caller's date parser
    LEVEL = "level"  # likelihood / impact words
    CHOICE = "choice"  # one word from a fixed list
    TEXT = "text"  # free text up to the next option word or mention
    PERSON_OR_TEXT = "person_or_text"  # waiting on @netops / waiting on the vendor


@dataclass(frozen=True)
class OptionSpec:
    name: str  # where the value goes
    words: tuple[str, ...]  # the option words that introduce it (may be two words)
    kind: ValueKind
    strong: bool = False  # counts even where it could still be title text


@dataclass
class Parsed:
    title: str
    options: dict[str, str] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)  # mentions not used as an option value
    trailing: str = ""  # words after the title that belong to no option


def _split_words(spec: OptionSpec) -> list[list[str]]:
    return [w.split() for w in spec.words]


def parse_options(
    text: str,
    specs: tuple[OptionSpec, ...],
    *,
    is_date: Callable[[str], bool],
    usage: str,
) -> Parsed:
    """Split ``text`` into the title, option values and mentioned people.

    ``is_date`` tells whether a candidate date value parses (used for weak date words).
    Raises UsageError for an option given twice or an option with no value.
    """
    text = text.strip()
    title_tokens: list[str] = []
    tokens: list[str]
    quoted = False
    if text.startswith('"') and text.count('"') >= 2:
        end = text.index('"', 1)
        title_tokens = text[1:end].split()
        tokens = _TOKEN_RE.findall(text[end + 1 :])
        quoted = True
    else:
        tokens = _TOKEN_RE.findall(text)

    word_table = [(words, spec) for spec in specs for words in _split_words(spec)]
    # Longest option words first, so "waiting on" wins over a one-word option.
    word_table.sort(key=lambda pair: -len(pair[0]))

    def match_option(i: int) -> tuple[OptionSpec, int] | None:
        for words, spec in word_table:
            n = len(words)
            if [t.lower() for t in tokens[i : i + n]] == words:
                return spec, n
        return None

    def value_end(start: int) -> int:
        """Index of the first token after ``start`` that begins an option or is a mention."""
        j = start
        while j < len(tokens):
            if mention_of(tokens[j]) or match_option(j) or _is_broadcast(tokens[j]):
                return j
            j += 1
        return j

    def level_len(start: int) -> int:
        first = tokens[start].lower() if start < len(tokens) else ""
        second = tokens[start + 1].lower() if start + 1 < len(tokens) else ""
        if first == "very" and f"very {second}" in LEVEL_WORDS:
            return 2
        return 1 if first in LEVEL_WORDS else 0

    def sentence_goes_on(start: int) -> bool:
        """Whether words follow ``start`` that continue a sentence: not an option, not a
        mention, and not only a date (``@dana friday`` is an owner and a date). A mention
        joins the title when the words before it lead to a person (``Waiting on @dana``,
        ``API keys from @dana``) or the words after it go on from one (``Ask @dana for the
        keys``)."""
        if start >= len(tokens) or mention_of(tokens[start]) or match_option(start):
            return False
        return not is_date(" ".join(tokens[start : value_end(start)]))

    result = Parsed(title="")
    in_title = not quoted
    trailing: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if _is_broadcast(token):
            # Inside a sentence that goes on, ``@here`` is words of the title (shown inert);
            # where a person would be named (after the title, after "waiting on"), refused.
            leads = bool(title_tokens) and _dangles(title_tokens)
            if not (in_title and sentence_goes_on(i + 1) and not leads):
                refuse_broadcast(token)
        person = mention_of(token)
        if person:
            result.people.append(person)
            # A mention inside the sentence (``Waiting on @dana for the API keys``) or that
            # ends a sentence left on a preposition (``API keys from @dana``) stays in the
            # title, as the person's mention; the person is still named (the owner).
            goes_on = sentence_goes_on(i + 1)
            joins = bool(title_tokens) and _dangles(title_tokens)
            joins = joins or (goes_on and tokens[i + 1].lower() in _LEADS_ON)
            if in_title and joins:
                suffix = token[len(token.rstrip(",.;:!?)")) :]
                title_tokens.append(mention(person) + suffix)
                in_title = goes_on
            else:
                in_title = False
            i += 1
            continue
        found = match_option(i) if (i > 0 or not in_title or quoted) else None
        if found is not None:
            spec, n = found
            start = i + n
            if spec.kind is ValueKind.DATE:
                # ``due by friday``, ``review by friday``: more introducers before the date
                while start < len(tokens) and tokens[start].lower() in DATE_INTRODUCERS:
                    start += 1
            end = value_end(start)
            if spec.kind is ValueKind.LEVEL:
                n_level = level_len(start)
                # An unknown level word is reported (not swallowed) where it must be an option.
                end = start + (n_level or (1 if spec.strong or not in_title else 0))
            elif spec.kind is ValueKind.CHOICE:
                end = min(start + 1, len(tokens))
            value = " ".join(tokens[start:end])
            valid = bool(value) and (
                spec.kind is not ValueKind.DATE or spec.strong or not in_title or is_date(value)
            )
            if spec.kind is ValueKind.LEVEL and end == start:
                valid = False
            if spec.kind is ValueKind.CHOICE and value.lower() not in RESPONSES:
                valid = valid and not in_title
            if spec.kind is ValueKind.PERSON_OR_TEXT and start < len(tokens):
                refuse_broadcast(tokens[start])
            if spec.kind is ValueKind.PERSON_OR_TEXT and not value and start < len(tokens):
                person = mention_of(tokens[start])
                if person:
                    value, end, valid = f"<@{person}>", start + 1, True
            if valid or not in_title:
                if not value:
                    given = " ".join(tokens[i:start])
                    if spec.kind is ValueKind.DATE:
                        raise UsageError(f"`{given}` needs a date, e.g. {DATE_FORMS}.", usage=usage)
                    raise UsageError(f"`{given}` needs a value.", usage=usage)
                if spec.name in result.options:
                    raise UsageError(
                        f"`{spec.words[0]}` is given twice; give it once.",
                        usage=usage,
                    )
                result.options[spec.name] = value
                in_title = False
                i = end
                continue
        if in_title:
            title_tokens.append(token)
        else:
            trailing.append(token)
        i += 1
    result.title = " ".join(title_tokens).strip()
    result.trailing = " ".join(trailing)
    if not quoted and title_tokens and _dangles(title_tokens, strict=True):
        rest = " ".join(tokens[len(title_tokens) :])
        command = usage.split()[0] if usage.startswith("/") else ""
        quoted_title = " ".join(p for p in (command, f'"{result.title}"', rest) if p)
        raise UsageError(
            f"The title `{result.title}` ends on `{title_tokens[-1]}`: {title_tokens[-1]} "
            f"whom or what? Finish the sentence, e.g. `{result.title} @dana` or "
            f"`{result.title} NetOps`, or put the title in double quotes to keep it as it "
            f"is: `{quoted_title}`.",
            usage=usage,
        )
    return result


#: Words a title cannot end on: it would say "from" and not from whom. A mention right after
#: one of :data:`_LEADS_ON` joins the title (``Waiting on @dana``).
_DANGLING = frozenset(
    {"from", "for", "with", "by", "to", "of", "at", "about", "via", "into", "onto", "towards",
     "toward", "against", "per", "than", "without", "between", "the", "a", "an", "and", "or"}
)  # fmt: skip
_LEADS_ON = _DANGLING | {"on", "in", "upon", "waiting"}
#: Two-word endings that dangle though their last word alone may not (``Logged on`` is fine).
_DANGLING_PAIRS = frozenset(
    {("waiting", "on"), ("depends", "on"), ("depending", "on"), ("relies", "on"), ("rely", "on")}
)


def _dangles(title_tokens: list[str], *, strict: bool = False) -> bool:
    """Whether a title made of these words ends on a preposition (``API keys from``).

    ``strict``: whether it must not end so (the words that may not end a title); else whether
    a mention may follow it into the title (also ``on``, ``in``...)."""
    last = title_tokens[-1].lower()
    if mention_of(title_tokens[-1]) or (strict and len(title_tokens) < 2):
        return False
    if not strict:
        return last in _LEADS_ON
    pair = tuple(t.lower() for t in title_tokens[-2:])
    return last in _DANGLING or pair in _DANGLING_PAIRS
