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
from bot.domain.model import LEVEL_NAMES as LEVEL_NAMES
from bot.domain.model import RESPONSES, Ref
from bot.domain.model import mention as mention
from bot.errors import UsageError
from bot.text.dates import DATE_FORMS

# Slack: <@U024BE7LH> or <@U024BE7LH|dana>; Discord: <@80351110224678912> or <@!8035...>;
# console and plain text: @dana (not inside an e-mail address). An id longer than
# MAX_PERSON_CHARS is no mention (it could not be stored as a person).
_ID = f"{{1,{MAX_PERSON_CHARS}}}"
_MENTION_RE = re.compile(
    rf"<@!?([A-Za-z0-9_.\-]{_ID})(?:\|[^>]*)?>"
    rf"|(?<![\w@])@([A-Za-z0-9][\w.\-]{{0,{MAX_PERSON_CHARS - 1}}})(?![\w.\-])"
)
_TOKEN_RE = re.compile(r"<@!?[A-Za-z0-9_.\-]+(?:\|[^>]*)?>|\S+")

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


def parse_person(text: str) -> str | None:
    """A person from a form value or an argument: ``<@U1>``, ``@dana``, ``U1`` or ``dana``."""
    text = text.strip()
    if not text:
        return None
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
            if mention_of(tokens[j]) or match_option(j):
                return j
            j += 1
        return j

    def level_len(start: int) -> int:
        first = tokens[start].lower() if start < len(tokens) else ""
        second = tokens[start + 1].lower() if start + 1 < len(tokens) else ""
        if first == "very" and f"very {second}" in LEVEL_WORDS:
            return 2
        return 1 if first in LEVEL_WORDS else 0

    result = Parsed(title="")
    in_title = not quoted
    trailing: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        person = mention_of(token)
        if person:
            result.people.append(person)
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
    return result
