"""Linter-level checks of the container files: Dockerfile, .dockerignore, docker-compose.yml and
.env.example.

No Docker engine runs where these tests run, so nothing here builds an image or starts a
container. The Dockerfile is read by a small parser (instructions, continuation lines, stages)
and held to hadolint-style rules (the DLxxxx ids are hadolint's); docker-compose.yml is read by
a reader for the plain subset of YAML it is written in (PyYAML is not a dependency), which
refuses anything outside that subset rather than misreading it. The lists of variables, the
console script, the packages and the HTTP port are taken from the code
(``adapters.runtime.config.Settings``, ``pyproject.toml``, ``adapters.runtime.cli``), so the files
cannot drift from it unnoticed.

Every rule is a function returning a list of problems; the ``test_*_rules_catch`` tests break
a copy of the real file in memory and check that the rule notices.
"""

from __future__ import annotations

import fnmatch
import importlib
import itertools
import json
import posixpath
import re
import shlex
import tomllib
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.runtime.cli import build_parser, main
from adapters.runtime.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

#: Variables .env.example documents that Settings does not read: docker compose's own.
COMPOSE_ONLY_VARIABLES = frozenset(
    {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "RAIDLINE_PUBLISHED_PORTS"}
)


def settings_variables() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def secret_variables() -> set[str]:
    """Settings fields typed ``SecretStr`` (tokens, signing and client secrets)."""
    names = set()
    for name, info in Settings.model_fields.items():
        annotation = info.annotation
        if annotation is SecretStr or SecretStr in typing.get_args(annotation):
            names.add(name.upper())
    return names


# ------------------------------------------------------------------------------------------
# Dockerfile parser
# ------------------------------------------------------------------------------------------

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)  # fmt: skip
_FLAGS_RE = re.compile(r"^((?:--[a-z-]+(?:=\S*)?\s+)*)(.*)$", re.DOTALL)


class ParseError(ValueError):
    """The file uses something the reader does not understand."""


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str

    @property
    def flags(self) -> dict[str, str]:
        head = _FLAGS_RE.match(self.args)
        assert head is not None
        found = {}
        for flag in head.group(1).split():
            name, _, value = flag[2:].partition("=")
            found[name] = value
        return found

    @property
    def rest(self) -> str:
        """The arguments after any leading ``--flag=value``."""
        head = _FLAGS_RE.match(self.args)
        assert head is not None
        return head.group(2).strip()

    def exec_form(self) -> list[str] | None:
        """The JSON array of ``CMD ["a", "b"]``, or None for the shell form."""
        text = self.rest
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None


@dataclass
class Stage:
    image: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their first line number; continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if parts and stripped.startswith("#"):
            continue  # a comment inside a continued instruction is removed, as Docker does
        if not parts:
            start = number
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        line = " ".join(p for p in parts if p)
        parts = []
        keyword, _, args = line.partition(" ")
        if keyword.upper() not in INSTRUCTIONS:
            raise ParseError(f"line {start}: unknown instruction {keyword!r}")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
    if parts:
        raise ParseError(f"line {start}: the file ends inside a continued instruction")
    return instructions


def parse_stages(instructions: list[Instruction]) -> list[Stage]:
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.rest.split()
            name = None
            if len(words) == 3 and words[1].upper() == "AS":
                name = words[2]
            elif len(words) != 1:
                raise ParseError(f"line {instruction.line}: FROM {instruction.args!r}")
            stages.append(Stage(words[0], name, instruction.line))
        elif not stages:
            if instruction.keyword != "ARG":
                raise ParseError(f"line {instruction.line}: {instruction.keyword} before FROM")
        else:
            stages[-1].instructions.append(instruction)
    return stages


def read_dockerfile(text: str | None = None) -> list[Stage]:
    if text is None:
        text = DOCKERFILE.read_text(encoding="utf-8")
    return parse_stages(parse_dockerfile(text))


SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})


def shell_words(text: str) -> list[str]:
    """Shell tokens, quotes respected; ``&&``, ``|``, ``;``, ``>`` come out as tokens."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def run_commands(stage: Stage) -> Iterator[tuple[Instruction, list[str]]]:
    """The words of each simple command of each RUN (split at ``&&``, ``||``, ``;``, ``|``)."""
    for run in stage.all("RUN"):
        words = run.exec_form() or shell_words(run.rest)
        command: list[str] = []
        for word in [*words, ";"]:
            if word in SEPARATORS:
                if command:
                    yield run, command
                command = []
            else:
                command.append(word)


def pip_installs(stage: Stage) -> list[tuple[Instruction, list[str]]]:
    found = []
    for run, words in run_commands(stage):
        for at in range(len(words) - 1):
            if words[at] in ("pip", "pip3") or words[at].endswith("/pip"):
                if words[at + 1] == "install":
                    found.append((run, words[at + 2 :]))
            elif words[at : at + 3] == ["-m", "pip", "install"]:
                found.append((run, words[at + 3 :]))
    return found


# ------------------------------------------------------------------------------------------
# Dockerfile rules
# ------------------------------------------------------------------------------------------


def final(stages: list[Stage]) -> Stage:
    return stages[-1]


HASHES = "requirements.hashes.txt"


def hash_locked(args: list[str]) -> bool:
    """``pip install --require-hashes -r requirements.hashes.txt``."""
    return "--require-hashes" in args and any(
        a == "-r" and b == HASHES for a, b in itertools.pairwise(args)
    )


def dependency_stage(stages: list[Stage]) -> Stage | None:
    """The stage that installs the hash-locked dependencies
    (``pip install --require-hashes -r requirements.hashes.txt``)."""
    for stage in stages:
        for _, args in pip_installs(stage):
            if hash_locked(args):
                return stage
    return None


def rule_stages(stages: list[Stage]) -> list[str]:
    problems = []
    if len(stages) < 2:
        problems.append(f"multi-stage build wanted: {len(stages)} FROM")
    names = [s.name for s in stages]
    for stage in stages:
        if stage.name is None:
            problems.append(f"line {stage.line}: FROM {stage.image} has no `AS name`")
    named = [n for n in names if n]
    if len(set(named)) != len(named):
        problems.append(f"stage names repeat: {named}")
    return problems


def rule_base_images(stages: list[Stage]) -> list[str]:
    """DL3006/DL3007: every base image tagged (or pinned by digest), never ``latest``."""
    problems = []
    earlier: set[str] = set()
    for stage in stages:
        image = stage.image
        if image in earlier:
            pass  # FROM an earlier stage
        elif "$" in image:
            problems.append(f"line {stage.line}: base image {image!r} comes from a variable")
        elif "@sha256:" not in image:
            tag = image.rpartition("/")[2].partition(":")[2]
            if not tag:
                problems.append(f"line {stage.line}: DL3006 base image {image!r} has no tag")
            elif tag == "latest":
                problems.append(f"line {stage.line}: DL3007 base image {image!r} uses :latest")
        if stage.name:
            earlier.add(stage.name)
    runtime = final(stages)
    if "slim" not in runtime.image and "distroless" not in runtime.image:
        problems.append(f"the runtime stage's base {runtime.image!r} is not a slim image")
    deps = dependency_stage(stages)
    if deps is not None and deps.image != runtime.image:
        problems.append(
            f"the venv is built on {deps.image!r} but run on {runtime.image!r}: "
            "the same Python image is needed for the copied venv to work"
        )
    python = re.match(r"python:(\d+)\.(\d+)", runtime.image)
    wanted = re.match(r">=\s*(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert wanted is not None
    if python is None or python.groups() != wanted.groups():
        problems.append(
            f"the runtime image {runtime.image!r} is not Python "
            f"{'.'.join(wanted.groups())} (pyproject requires-python)"
        )
    return problems


def project_sources() -> list[str]:
    """What ``pip install .`` needs besides pyproject.toml: the packages and the readme."""
    sources = [
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    readme = PYPROJECT["project"].get("readme")
    if isinstance(readme, str):
        sources.append(readme)
    return sources


def copied_paths(instruction: Instruction) -> list[str]:
    words = instruction.exec_form() or shlex.split(instruction.rest)
    return [w.rstrip("/").removeprefix("./") or "." for w in words[:-1]]


def rule_cache_order(stages: list[Stage]) -> list[str]:
    """The locked dependencies are installed before the source is copied in."""
    deps = dependency_stage(stages)
    if deps is None:
        return [f"no stage runs `pip install --require-hashes -r {HASHES}` for the dependencies"]
    problems = []
    install_deps = next(r for r, a in pip_installs(deps) if hash_locked(a))
    position = deps.instructions.index(install_deps)
    early = {HASHES}
    for copy in deps.all("COPY") + deps.all("ADD"):
        if "from" in copy.flags:
            continue
        paths = set(copied_paths(copy))
        if deps.instructions.index(copy) < position and not paths <= early:
            problems.append(
                f"line {copy.line}: {sorted(paths - early)} copied before the dependencies are "
                f"installed (line {install_deps.line}): every source change would reinstall them"
            )
    before = {
        path
        for copy in deps.all("COPY")
        if deps.instructions.index(copy) < position
        for path in copied_paths(copy)
    }
    if not early <= before:
        problems.append(f"{sorted(early - before)} not copied before the dependency install")
    copied = {p for c in deps.all("COPY") if "from" not in c.flags for p in copied_paths(c)}
    for source in project_sources():
        if source not in copied and "." not in copied:
            problems.append(f"{source} is never copied, but `pip install .` needs it")
    project = [(r, a) for r, a in pip_installs(deps) if "." in a and not hash_locked(a)]
    if not project:
        problems.append("the project itself is never installed (`pip install --no-deps .`)")
    for run, args in project:
        if "--no-deps" not in args:
            problems.append(
                f"line {run.line}: the project is installed with its dependencies; "
                "use --no-deps so the locked ones from the earlier layer are kept"
            )
        if "--no-build-isolation" not in args:
            problems.append(
                f"line {run.line}: the project is built in an isolated environment, which "
                "fetches an unlocked setuptools; use --no-build-isolation (the locked one)"
            )
    checked = any(
        words[at : at + 2] == ["pip", "check"] or words[at : at + 3] == ["-m", "pip", "check"]
        for _, words in run_commands(deps)
        for at in range(len(words))
    )
    if not checked:
        problems.append("no `pip check` after the install: a dependency missing from the lock")
    return problems


def rule_pip(stages: list[Stage]) -> list[str]:
    """DL3042 --no-cache-dir; DL3013-like: packages only through the lock or the local project."""
    problems = []
    for stage in stages:
        for run, args in pip_installs(stage):
            if "--no-cache-dir" not in args:
                problems.append(f"line {run.line}: DL3042 pip install without --no-cache-dir")
            locked = hash_locked(args) and "--no-deps" in args
            local = "--no-deps" in args and "." in args
            if not (locked or local):
                problems.append(
                    f"line {run.line}: pip install {' '.join(args)!r} is neither hash-locked "
                    f"(--require-hashes --no-deps -r {HASHES}) nor the project with --no-deps"
                )
    return problems


def rule_apt(stages: list[Stage]) -> list[str]:
    """DL3005/DL3009/DL3014/DL3015/DL3027: tidy, non-interactive apt-get."""
    problems = []
    for stage in stages:
        for run, words in run_commands(stage):
            where = f"line {run.line}"
            if words[0] == "apt":
                problems.append(f"{where}: DL3027 use apt-get, not apt")
            if words[0] != "apt-get":
                continue
            if {"upgrade", "dist-upgrade"} & set(words):
                problems.append(f"{where}: DL3005 no apt-get upgrade in an image build")
            if "install" in words:
                if "--no-install-recommends" not in words:
                    problems.append(
                        f"{where}: DL3015 apt-get install without --no-install-recommends"
                    )
                if not {"-y", "--yes", "-qy", "-qqy", "--assume-yes"} & set(words):
                    problems.append(f"{where}: DL3014 apt-get install without -y")
                if "/var/lib/apt/lists/*" not in run.rest:
                    problems.append(f"{where}: DL3009 apt lists not removed in the same RUN")
    return problems


def rule_hygiene(stages: list[Stage]) -> list[str]:
    """ADD, MAINTAINER, sudo, cd, WORKDIR, pipefail, COPY --from, secrets."""
    problems = []
    names: set[str] = set()
    shell = ""
    for stage in stages:
        workdir = False
        for instruction in stage.instructions:
            where = f"line {instruction.line}"
            keyword, text = instruction.keyword, instruction.rest
            if keyword == "ADD":
                if re.search(r"\b(https?|ftp)://", text):
                    problems.append(f"{where}: ADD of a URL (fetch with a checked download)")
                problems.append(f"{where}: DL3020 use COPY instead of ADD")
            elif keyword == "MAINTAINER":
                problems.append(f"{where}: DL4000 MAINTAINER is deprecated (use a LABEL)")
            elif keyword == "WORKDIR":
                workdir = True
                if not text.startswith("/"):
                    problems.append(f"{where}: DL3000 WORKDIR {text!r} is not absolute")
            elif keyword == "SHELL":
                shell = text
            elif keyword == "RUN":
                words = instruction.exec_form() or shell_words(text)
                commands = [c for r, c in run_commands(stage) if r is instruction]
                if any(c[0] == "sudo" for c in commands):
                    problems.append(f"{where}: DL3004 sudo in RUN")
                if any(c[0] == "cd" for c in commands):
                    problems.append(f"{where}: DL3003 cd in RUN (use WORKDIR)")
                if "|" in words and "pipefail" not in text + shell:
                    problems.append(f"{where}: DL4006 a pipe without `set -o pipefail`")
            elif keyword == "COPY":
                source = instruction.flags.get("from")
                if source is not None and source not in names and not source.isdigit():
                    problems.append(f"{where}: DL3022 COPY --from={source} names no earlier stage")
                paths = copied_paths(instruction)
                destination = (instruction.exec_form() or shlex.split(text))[-1]
                if not destination.startswith("/") and not workdir:
                    problems.append(f"{where}: DL3045 COPY to a relative path without WORKDIR")
                if any(p == ".env" or p.startswith(".env.") for p in paths):
                    problems.append(f"{where}: a .env file copied into the image")
            elif keyword in ("ENV", "ARG"):
                for name in re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)", text):
                    if re.search(r"TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE", name.upper()):
                        problems.append(f"{where}: {keyword} {name}: no secrets in the image")
        if stage.name:
            names.add(stage.name)
    return problems


def rule_runtime(stages: list[Stage]) -> list[str]:
    """The final stage: only what the builder made, unbuffered output, the HTTP port."""
    problems = []
    runtime = final(stages)
    for copy in runtime.all("COPY") + runtime.all("ADD"):
        if "from" not in copy.flags:
            problems.append(
                f"line {copy.line}: the runtime stage copies {copied_paths(copy)} from the build "
                "context; it should only take the venv from the builder"
            )
    if pip_installs(runtime):
        problems.append("the runtime stage runs pip install (install in the builder)")
    env = " ".join(i.rest for i in runtime.all("ENV"))
    if not re.search(r"\bPYTHONUNBUFFERED=1\b", env):
        problems.append("the runtime stage does not set PYTHONUNBUFFERED=1 (logs would lag)")
    port = Settings.model_fields["raidline_http_port"].default
    exposed = {w.partition("/")[0] for e in runtime.all("EXPOSE") for w in e.rest.split()}
    if str(port) not in exposed:
        problems.append(f"EXPOSE {port} (RAIDLINE_HTTP_PORT's default) missing: {exposed}")
    return problems


def rule_user(stages: list[Stage]) -> list[str]:
    """DL3002: the final stage runs as a fixed, non-root uid, set before ENTRYPOINT/CMD."""
    runtime = final(stages)
    users = runtime.all("USER")
    if not users:
        return ["DL3002 the runtime stage has no USER: it would run as root"]
    problems = []
    last = users[-1]
    uid = last.rest.partition(":")[0]
    if uid in ("root", "0"):
        problems.append(f"line {last.line}: DL3002 the last USER is root")
    elif not uid.isdigit():
        problems.append(
            f"line {last.line}: USER {last.rest}: use the numeric uid, so the platform can "
            "verify it is not root (Kubernetes runAsNonRoot)"
        )
    else:
        created = [
            run
            for run in runtime.all("RUN")
            if re.search(rf"useradd\b.*--uid[= ]{uid}\b", run.rest)
        ]
        if not created:
            problems.append(f"no `useradd --uid {uid}` in the runtime stage creates USER {uid}")
    order = runtime.instructions.index(last)
    for keyword in ("ENTRYPOINT", "CMD"):
        for instruction in runtime.all(keyword):
            if runtime.instructions.index(instruction) < order:
                problems.append(f"line {instruction.line}: {keyword} before USER")
    workdirs = runtime.all("WORKDIR")
    if not workdirs:
        problems.append("the runtime stage has no WORKDIR (it would run in /)")
    else:
        path = workdirs[-1].rest
        owned = any(
            path in run.rest and re.search(r"chown|install\s+(\S+\s+)*-o\b", run.rest)
            for run in runtime.all("RUN")
        )
        if not owned:
            problems.append(f"WORKDIR {path} is not given to the runtime user (chown/install -o)")
    return problems


def rule_command(stages: list[Stage]) -> list[str]:
    """DL3025 JSON form; together ENTRYPOINT + CMD are `raidline run`."""
    runtime = final(stages)
    problems = []
    argv: list[str] = []
    for keyword in ("ENTRYPOINT", "CMD"):
        found = runtime.all(keyword)
        if not found:
            problems.append(f"the runtime stage has no {keyword}")
            continue
        form = found[-1].exec_form()
        if form is None:
            problems.append(f"line {found[-1].line}: DL3025 {keyword} is not in JSON form")
            continue
        argv += form
    script = next(iter(PYPROJECT["project"]["scripts"]))
    if argv != [script, "run"]:
        problems.append(f"ENTRYPOINT + CMD give {argv}, not {[script, 'run']}")
    return problems


def rule_healthcheck(stages: list[Stage]) -> list[str]:
    runtime = final(stages)
    checks = runtime.all("HEALTHCHECK")
    if len(checks) != 1:
        return [f"the runtime stage has {len(checks)} HEALTHCHECK instructions, not 1"]
    check = checks[0]
    problems = []
    if check.rest.upper().startswith("NONE"):
        return [f"line {check.line}: HEALTHCHECK NONE"]
    if not check.rest.startswith("CMD"):
        problems.append(f"line {check.line}: HEALTHCHECK without CMD")
    command = check.rest.removeprefix("CMD").strip()
    if "/healthz" not in command:
        problems.append(f"line {check.line}: the health check does not call /healthz")
    if re.search(r"\b(curl|wget)\b", command):
        problems.append(f"line {check.line}: curl/wget are not in the slim image; use urllib")
    if "urllib" not in command:
        problems.append(f"line {check.line}: the health check does not use Python's urllib")
    for flag in ("interval", "timeout"):
        if flag not in check.flags:
            problems.append(f"line {check.line}: HEALTHCHECK without --{flag}")
    return problems


#: Where the image keeps its data: a declared volume, never the container's writable layer.
DATA_VOLUME = "/app/data"


def rule_volume(stages: list[Stage]) -> list[str]:
    """Without DATABASE_URL, the SQLite file (Settings' relative default, or an ENV
    DATABASE_URL the image sets) lands on a declared VOLUME, created owned by the runtime user."""
    runtime = final(stages)
    problems = []
    volumes: set[str] = set()
    for volume in runtime.all("VOLUME"):
        volumes.update(volume.exec_form() or volume.rest.split())
    if DATA_VOLUME not in volumes:
        problems.append(f"the runtime stage declares no VOLUME {DATA_VOLUME} for the SQLite file")
    url = str(Settings.model_fields["database_url"].default)
    for env in runtime.all("ENV"):
        found = re.search(r"\bDATABASE_URL[= ]\"?([^\"\s]+)", env.rest)
        if found:
            url = found.group(1)
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        workdirs = runtime.all("WORKDIR")
        workdir = workdirs[-1].rest if workdirs else "/"
        where = path if path.startswith("/") else posixpath.join(workdir, path)
        if not any(where.startswith(v.rstrip("/") + "/") for v in volumes):
            problems.append(
                f"the SQLite file {where} (DATABASE_URL {url}) is not on a declared VOLUME: "
                "it would be written to the container's writable layer"
            )
    owned = any(
        DATA_VOLUME in run.rest and re.search(r"chown|install\s+(\S+\s+)*-o\b", run.rest)
        for run in runtime.all("RUN")
    )
    if DATA_VOLUME in volumes and not owned:
        problems.append(
            f"{DATA_VOLUME} is not created owned by the runtime user (chown/install -o): a new "
            "volume mounted there would belong to root"
        )
    return problems


DOCKERFILE_RULES: tuple[Callable[[list[Stage]], list[str]], ...] = (
    rule_stages,
    rule_base_images,
    rule_cache_order,
    rule_pip,
    rule_apt,
    rule_hygiene,
    rule_runtime,
    rule_user,
    rule_command,
    rule_healthcheck,
    rule_volume,
)


def dockerfile_problems(text: str) -> list[str]:
    stages = read_dockerfile(text)
    return [problem for rule in DOCKERFILE_RULES for problem in rule(stages)]


# ------------------------------------------------------------------------------------------
# A reader for the plain subset of YAML docker-compose.yml is written in
# ------------------------------------------------------------------------------------------

_BOOLEANS = {
    **dict.fromkeys(("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"), False),
}


def _strip_comment(text: str) -> str:
    quote = None
    for at, char in enumerate(text):
        if quote:
            if char == quote and not (quote == '"' and text[at - 1] == "\\"):
                quote = None
        elif char in "\"'" and (at == 0 or text[at - 1] in " [,:"):
            quote = char
        elif char == "#" and (at == 0 or text[at - 1] in " \t"):
            return text[:at].rstrip()
    return text.rstrip()


#: Octal, hexadecimal, 1_000, floats and base 60 (``22:22`` is 1342): quote them instead.
_OTHER_NUMBER = re.compile(
    r"[-+]?(0[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"
    r"|[0-9][0-9_]*|([0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)([eE][-+][0-9]+)?"
    r"|\.(inf|Inf|INF|nan|NaN|NAN))"
)


def yaml_scalar(text: str, line: int) -> Any:
    """A scalar as YAML 1.1 (PyYAML) reads it, for the forms this subset allows."""
    if text.startswith('"'):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ParseError(
                f"line {line}: a string YAML and JSON may read apart: {text}"
            ) from None
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise ParseError(f"line {line}: unterminated string {text!r}")
        return text[1:-1].replace("''", "'")
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ParseError(f"line {line}: write flow sequences as JSON: {text!r}") from None
    if text[0] in "{&*!|>%@`":
        raise ParseError(f"line {line}: {text!r} is outside the YAML subset this reader knows")
    if ": " in text or text.endswith(":"):
        raise ParseError(f"line {line}: quote {text!r} (a plain scalar cannot hold ': ')")
    if text in ("~", "null", "Null", "NULL"):
        return None
    if text in _BOOLEANS:
        return _BOOLEANS[text]
    if re.fullmatch(r"[-+]?(0|[1-9][0-9]*)", text):
        return int(text)
    if _OTHER_NUMBER.fullmatch(text):
        raise ParseError(f"line {line}: quote {text!r} (YAML 1.1 reads it as a number)")
    return text


def parse_yaml(text: str) -> Any:
    """Block mappings, block sequences of scalars, quoted and plain scalars, JSON-style flow
    sequences and comments. Anything else raises :class:`ParseError`."""
    lines: list[tuple[int, int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ParseError(f"line {number}: tab in indentation")
        content = _strip_comment(raw)
        if content.strip() in ("", "---"):
            continue
        lines.append((number, len(content) - len(content.lstrip()), content.strip()))

    def block(at: int, indent: int) -> tuple[Any, int]:
        if lines[at][2].startswith("- ") or lines[at][2] == "-":
            return sequence(at, indent)
        return mapping(at, indent)

    def sequence(at: int, indent: int) -> tuple[list[Any], int]:
        items = []
        while at < len(lines) and lines[at][1] == indent and lines[at][2].startswith("-"):
            number, _, content = lines[at]
            item = content[1:].strip()
            if not item or re.match(r"^[^\"'\[]*?:(\s|$)", item):
                raise ParseError(f"line {number}: only scalars are allowed in a sequence")
            items.append(yaml_scalar(item, number))
            at += 1
        return items, at

    def mapping(at: int, indent: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        while at < len(lines) and lines[at][1] == indent:
            number, _, content = lines[at]
            if content.startswith("-"):
                raise ParseError(f"line {number}: a sequence item where a key was expected")
            found = re.match(r"^([A-Za-z0-9_.-]+):(?:\s+(.*))?$", content)
            if not found:
                raise ParseError(f"line {number}: not `key: value`: {content!r}")
            key, value = found.group(1), found.group(2)
            if key in result:
                raise ParseError(f"line {number}: {key!r} appears twice")
            at += 1
            if value:
                result[key] = yaml_scalar(value, number)
            elif at < len(lines) and lines[at][1] > indent:
                result[key], at = block(at, lines[at][1])
            elif at < len(lines) and lines[at][1] == indent and lines[at][2].startswith("- "):
                result[key], at = sequence(at, indent)
            else:
                result[key] = None
        if at < len(lines) and lines[at][1] > indent:
            raise ParseError(f"line {lines[at][0]}: unexpected indentation")
        return result, at

    if not lines:
        return None
    value, at = block(0, lines[0][1])
    if at != len(lines):
        raise ParseError(f"line {lines[at][0]}: unexpected indentation")
    return value


def read_compose(text: str | None = None) -> dict[str, Any]:
    if text is None:
        text = COMPOSE.read_text(encoding="utf-8")
    document = parse_yaml(text)
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


# ------------------------------------------------------------------------------------------
# docker-compose.yml rules
# ------------------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _condition(service: dict[str, Any], other: str) -> str | None:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return "service_started" if other in depends else None
    entry = depends.get(other)
    if entry is None:
        return None
    return (entry or {}).get("condition", "service_started")


def _builds_here(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if isinstance(build, dict):
        build = build.get("context")
    return build in (".", "./")


def compose_problems(document: dict[str, Any]) -> list[str]:
    problems = []
    services = document.get("services") or {}
    for name in ("db", "migrate", "raidline"):
        if not isinstance(services.get(name), dict):
            problems.append(f"no service {name!r}")
    if problems:
        return problems
    db, migrate, raidline = services["db"], services["migrate"], services["raidline"]

    # db: PostgreSQL 16 on a named volume, healthy only when it accepts connections
    if not re.fullmatch(r"postgres:16([.-][\w.-]+)?", str(db.get("image"))):
        problems.append(f"db: image {db.get('image')!r} is not postgres:16")
    declared = set((document.get("volumes") or {}).keys())
    data = [
        v
        for v in _list(db.get("volumes"))
        if str(v).split(":")[1:2] == ["/var/lib/postgresql/data"]
    ]
    if not data:
        problems.append("db: no volume mounted on /var/lib/postgresql/data")
    for volume in data:
        source = str(volume).split(":")[0]
        if source not in declared:
            problems.append(f"db: {source!r} is not a named volume declared under `volumes:`")
    test = (db.get("healthcheck") or {}).get("test")
    if "pg_isready" not in json.dumps(test):
        problems.append("db: no healthcheck with pg_isready")
    password = (db.get("environment") or {}).get("POSTGRES_PASSWORD")
    if not (isinstance(password, str) and password.startswith("${POSTGRES_PASSWORD")):
        problems.append("db: POSTGRES_PASSWORD must come from .env (${POSTGRES_PASSWORD...})")

    # migrate: the same image, `raidline migrate` once, after the database is healthy
    if migrate.get("command") != ["migrate"]:
        problems.append(f"migrate: command {migrate.get('command')!r} is not ['migrate']")
    if _condition(migrate, "db") != "service_healthy":
        problems.append("migrate: does not wait for db to be healthy (service_healthy)")
    if migrate.get("restart") != "no":
        problems.append(f"migrate: restart {migrate.get('restart')!r} is not the string 'no'")

    # raidline: after migrate succeeded, configuration from .env
    if raidline.get("command") not in (None, ["run"]):
        problems.append(f"raidline: command {raidline.get('command')!r} is not ['run']")
    if _condition(raidline, "migrate") != "service_completed_successfully":
        problems.append("raidline: does not wait for migrate (service_completed_successfully)")
    if raidline.get("restart") != "unless-stopped":
        problems.append(f"raidline: restart {raidline.get('restart')!r} is not unless-stopped")
    port = Settings.model_fields["raidline_http_port"].default
    published = [
        interpolate_defaults(str(p)).rpartition(":")[2] for p in _list(raidline.get("ports"))
    ]
    if str(port) not in published:
        problems.append(f"raidline: container port {port} is not published: {published}")

    for name, service in (("migrate", migrate), ("raidline", raidline)):
        if ".env" not in _list(service.get("env_file")):
            problems.append(f"{name}: env_file does not include .env")
        if not _builds_here(service):
            problems.append(f"{name}: not built from this directory (build: .)")
        url = str((service.get("environment") or {}).get("DATABASE_URL", ""))
        if not re.fullmatch(r"postgresql\+psycopg://[^@/]+@db:5432/.+", url):
            problems.append(f"{name}: DATABASE_URL does not point at the db service: {url!r}")
    if migrate.get("image") != raidline.get("image"):
        problems.append("migrate and raidline run different images")

    # hardening: read-only, no capabilities, no new privileges, a memory limit
    for name, service in (("migrate", migrate), ("raidline", raidline)):
        if service.get("read_only") is not True:
            problems.append(f"{name}: read_only is not true (a writable root file system)")
        if "ALL" not in _list(service.get("cap_drop")):
            problems.append(f"{name}: cap_drop does not drop ALL capabilities")
        if service.get("read_only") and not any(
            str(t).partition(":")[0] == "/tmp"  # noqa: S108 - a tmpfs, not a file in /tmp
            for t in _list(service.get("tmpfs"))
        ):
            problems.append(f"{name}: read-only without a tmpfs on /tmp")
    for name, service in services.items():
        options = [str(o).replace("=", ":") for o in _list(service.get("security_opt"))]
        if not {"no-new-privileges", "no-new-privileges:true"} & set(options):
            problems.append(f"{name}: security_opt lacks no-new-privileges:true")
        limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if not (service.get("mem_limit") or limits.get("memory")):
            problems.append(f"{name}: no memory limit (mem_limit)")
    ops_port = interpolate_defaults(
        str((raidline.get("environment") or {}).get("RAIDLINE_OPS_PORT", ""))
    )
    if ops_port and ops_port in published:
        problems.append(f"raidline: the operations port {ops_port} is published: {published}")

    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            secret = re.search(r"PASSWORD|TOKEN|SECRET", key)
            if secret and not str(value).startswith("${"):
                problems.append(f"{name}: {key} is written in the file; take it from .env")
            if key == "DATABASE_URL" and not re.search(r":\$\{POSTGRES_PASSWORD", str(value)):
                problems.append(f"{name}: DATABASE_URL's password is not ${{POSTGRES_PASSWORD}}")
    return problems


def interpolate_defaults(text: str) -> str:
    """``${NAME:-default}`` -> default, ``${NAME}`` -> "" (what compose gives with no .env)."""
    return re.sub(
        r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?[^}]*\}", lambda m: m.group(1) or "", text
    )


def compose_variables(text: str) -> set[str]:
    """Variables docker compose interpolates (``${NAME}``, ``${NAME:-default}``; not ``$${``)."""
    return set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


# ------------------------------------------------------------------------------------------
# .env.example and .dockerignore
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvLine:
    line: int
    name: str
    value: str
    documented: bool


def parse_env_example(text: str) -> list[EnvLine]:
    """``NAME=value`` lines; ``documented`` when a comment sits right above the block of
    variables the line belongs to."""
    entries: list[EnvLine] = []
    previous = "blank"  # the kind of the line above: blank, comment or variable
    documented = False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            previous = "blank"
            continue
        if stripped.startswith("#"):
            previous = "comment"
            continue
        found = re.fullmatch(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)", stripped)
        if not found:
            raise ParseError(f".env.example line {number}: not NAME=value: {stripped!r}")
        if previous != "variable":
            documented = previous == "comment"
        entries.append(EnvLine(number, found.group(1), found.group(2).strip(), documented))
        previous = "variable"
    return entries


def env_example_problems(text: str) -> list[str]:
    entries = parse_env_example(text)
    names = [e.name for e in entries]
    problems = []
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{name} appears more than once")
    for name in sorted(settings_variables() - set(names)):
        problems.append(f"{name} (adapters.runtime.config.Settings) is missing")
    known = settings_variables() | COMPOSE_ONLY_VARIABLES
    for name in sorted(set(names) - known):
        problems.append(f"{name} is read by nothing (not in Settings, not compose's)")
    for name in sorted(compose_variables(COMPOSE.read_text(encoding="utf-8")) - set(names)):
        problems.append(f"{name} is used by docker-compose.yml but not documented")
    secrets = secret_variables() | {"POSTGRES_PASSWORD"}
    for entry in entries:
        if not entry.documented:
            problems.append(f"line {entry.line}: {entry.name} has no comment above it")
        if entry.name in secrets and entry.value:
            problems.append(f"line {entry.line}: {entry.name} is a secret and must be empty")
    return problems


def dockerignore_patterns(text: str) -> list[str]:
    lines = (raw.strip() for raw in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def dockerignore_problems(text: str, stages: list[Stage]) -> list[str]:
    patterns = dockerignore_patterns(text)
    ignored = [p.rstrip("/") for p in patterns if not p.startswith("!")]
    problems = []
    for wanted, example in (
        (".env", ".env"),
        (".venv", ".venv"),
        (".git", ".git"),
        ("*.db", "raidline.db"),
        (".pytest_cache", ".pytest_cache"),
        ("__pycache__", "bot/__pycache__"),
    ):
        if not any(fnmatch.fnmatch(example, p) or p in (wanted, "**/" + wanted) for p in ignored):
            problems.append(f".dockerignore does not exclude {wanted}")
    for stage in stages:
        for copy in stage.all("COPY"):
            if "from" in copy.flags:
                continue
            for path in copied_paths(copy):
                for pattern in ignored:
                    if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                        problems.append(
                            f"Dockerfile line {copy.line} copies {path}, "
                            f"which .dockerignore excludes ({pattern})"
                        )
    return problems


# ------------------------------------------------------------------------------------------
# Comments point only at documents that exist; the hash-locked requirements
# ------------------------------------------------------------------------------------------

#: Files named in comments: paths in this repository.
_PATH_RE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:md|py|txt|lock|toml|yml|yaml|sh))\b")
#: Folders named in comments: ``docs/``, ``tools/`` (a word ending in a slash, nothing after).
_FOLDER_RE = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)+)(?=[\s,;)]|\.(?:\s|$)|$)")
#: How a comment names a section of the README: README.md, "Section title".
_SECTION_RE = re.compile(r'README\.md, "([^"]+)"')


def readme_sections() -> set[str]:
    sections = set()
    fenced = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            sections.add(line.lstrip("#").strip())
    return sections


def comment_lines(text: str) -> Iterator[tuple[int, str]]:
    """The comment of each line (whole-line, or after `` #``) with its line number."""
    for number, line in enumerate(text.splitlines(), start=1):
        found = re.search(r"(?:^|\s)#(.*)$", line)
        if found:
            yield number, found.group(1)


def reference_problems(text: str, name: str) -> list[str]:
    sections = readme_sections()
    problems = []
    for number, comment in comment_lines(text):
        for path in _PATH_RE.findall(comment):
            if not (ROOT / path).exists():
                problems.append(f"{name} line {number}: points at {path}, which does not exist")
        for section in _SECTION_RE.findall(comment):
            if section not in sections:
                problems.append(f"{name} line {number}: README.md has no section {section!r}")
        if comment.count('README.md, "') > len(_SECTION_RE.findall(comment)):
            problems.append(
                f"{name} line {number}: a README section's title must end on the line it starts"
            )
        for folder in _FOLDER_RE.findall(comment):
            if not (ROOT / folder).is_dir():
                problems.append(f"{name} line {number}: points at {folder}, which does not exist")
        if re.search(r"\bREADME\b(?!\.md)", comment):
            problems.append(
                f'{name} line {number}: name a README section as README.md, "Section title"'
            )
    return problems


CONTAINER_FILES = (DOCKERFILE, COMPOSE, ENV_EXAMPLE, DOCKERIGNORE, ROOT / HASHES)
#: Every file a person reads while setting raidline up: its comments name only what exists.
SET_UP_FILES = (
    *CONTAINER_FILES,
    ROOT / "Makefile",
    ROOT / "slack-manifest.yml",
    ROOT / "slack-manifest-http.yml",
)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    return {
        _normal(name): version
        for name, _, version in (line.partition("==") for line in lines)
        if version and not name.startswith("#")
    }


def runtime_closure() -> set[str]:
    """pyproject's dependencies and theirs, from the installed packages' metadata (the venv
    holds the versions of requirements.lock), as they apply on Linux CPython 3.11."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    wanted = [(Requirement(d), "") for d in PYPROJECT["project"]["dependencies"]]
    seen: set[str] = set()
    while wanted:
        requirement, extra = wanted.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = _normal(requirement.name)
        extras = sorted(requirement.extras)
        key = name + "[" + ",".join(extras) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = distribution(requirement.name).requires or []
        except PackageNotFoundError:
            continue  # not installed here: the hash lock check names it as missing
        for line in requires:
            inner = Requirement(line)
            for wanted_extra in extras or [""]:
                wanted.append((inner, wanted_extra))
    return {key.partition("[")[0] for key in seen}


def hash_lock_problems(text: str) -> list[str]:
    """Every package pinned with ``==`` and sha256 hashes, at requirements.lock's versions,
    covering pyproject's runtime dependencies and the build backend."""
    from packaging.requirements import Requirement

    joined = re.sub(r"\\\n", " ", text)
    entries: dict[str, str] = {}
    problems = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = line.split()
        name, _, version = spec.partition("==")
        if not version:
            problems.append(f"{spec!r} is not pinned with ==")
            continue
        hashes = [o for o in options if o.startswith("--hash=")]
        if not hashes:
            problems.append(f"{spec} has no --hash")
        for option in hashes:
            if not re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", option):
                problems.append(f"{spec}: {option!r} is not a sha256 hash")
        entries[_normal(name)] = version
    locked = locked_versions()
    for name, version in sorted(entries.items()):
        if name in locked and locked[name] != version:
            problems.append(f"{name}=={version}, but requirements.lock has {locked[name]}")
    for name in sorted(runtime_closure() - set(entries)):
        problems.append(f"{name} (a runtime dependency) is missing from {HASHES}")
    for backend in PYPROJECT["build-system"]["requires"]:
        requirement = Requirement(backend)
        version = entries.get(_normal(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} (the build backend) is missing from {HASHES}")
        elif not requirement.specifier.contains(version):
            problems.append(f"{requirement.name}=={version} does not satisfy {backend!r}")
    return problems


# ------------------------------------------------------------------------------------------
# The tests: the real files pass every rule
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return read_dockerfile()


@pytest.mark.parametrize("rule", DOCKERFILE_RULES, ids=lambda rule: rule.__name__)
def test_dockerfile_rule(rule: Callable[[list[Stage]], list[str]], stages: list[Stage]) -> None:
    assert rule(stages) == []


def test_dockerfile_stages_are_builder_then_runtime(stages: list[Stage]) -> None:
    assert [s.name for s in stages] == ["builder", "runtime"]
    runtime = stages[-1]
    assert {c.flags.get("from") for c in runtime.all("COPY")} == {"builder"}


def test_the_console_script_is_the_cli() -> None:
    """The image's ENTRYPOINT, ``raidline``, runs the CLI these tests parse with."""
    module, _, attribute = PYPROJECT["project"]["scripts"]["raidline"].partition(":")
    assert getattr(importlib.import_module(module), attribute) is main


def test_the_image_commands_exist_in_the_cli() -> None:
    """`run` (the default CMD) and `migrate` (docker compose's migrate service) parse."""
    parser = build_parser()
    assert parser.parse_args(["run"]).command == "run"
    assert parser.parse_args(["migrate"]).command == "migrate"


def test_dependencies_in_pyproject_are_locked() -> None:
    """The image installs pyproject's dependencies constrained by requirements.lock: each one
    must be pinned there, or it would be installed at whatever version is newest."""

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    locked = {
        normal(line.partition("==")[0])
        for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    wanted = {
        normal(re.split(r"[\[<>=!~;\s]", dependency, maxsplit=1)[0])
        for dependency in PYPROJECT["project"]["dependencies"]
    }
    assert sorted(wanted - locked) == []


@pytest.mark.parametrize("path", SET_UP_FILES, ids=lambda path: path.name)
def test_comments_point_only_at_documents_that_exist(path: Path) -> None:
    assert reference_problems(path.read_text(encoding="utf-8"), path.name) == []


def test_the_hash_lock_covers_the_runtime_dependencies_at_the_locked_versions() -> None:
    assert hash_lock_problems((ROOT / HASHES).read_text(encoding="utf-8")) == []


def test_dockerignore(stages: list[Stage]) -> None:
    assert dockerignore_problems(DOCKERIGNORE.read_text(encoding="utf-8"), stages) == []


def test_compose() -> None:
    assert compose_problems(read_compose()) == []


def test_compose_reader_reads_the_whole_file() -> None:
    document = read_compose()
    assert set(document) == {"name", "services", "volumes"}
    assert set(document["services"]) == {"db", "migrate", "raidline"}
    db = document["services"]["db"]
    assert db["healthcheck"]["retries"] == 10
    assert db["healthcheck"]["test"][0] == "CMD-SHELL"
    assert document["volumes"] == {"pgdata": None}


def test_env_example() -> None:
    assert env_example_problems(ENV_EXAMPLE.read_text(encoding="utf-8")) == []


def test_env_example_is_a_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copied to .env unchanged, it loads (through pydantic-settings' own .env reader)."""
    for name in settings_variables():
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(env_file=ENV_EXAMPLE)
    assert settings.model_dump() == load_settings({}).model_dump()


def test_compose_variables_are_found() -> None:
    names = compose_variables(COMPOSE.read_text(encoding="utf-8"))
    assert {"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB"} <= names
    assert "POSTGRES_USER" in compose_variables("x: $${POSTGRES_USER} ${POSTGRES_USER:-a}")
    assert compose_variables("x: $${POSTGRES_USER}") == set()


# ------------------------------------------------------------------------------------------
# The rules can fail: break a copy of each real file and see the right complaint
# ------------------------------------------------------------------------------------------


def _break(path: Path, pattern: str, replacement: str) -> str:
    text = path.read_text(encoding="utf-8")
    broken, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count, f"the pattern {pattern!r} no longer matches {path.name}; update this test"
    return broken


DOCKERFILE_BREAKS = [
    ("one stage", r"^FROM .* AS builder$[\s\S]*?(?=^FROM )", "", "multi-stage"),
    ("unnamed stage", r"^(FROM \S+) AS runtime$", r"\1", "has no `AS name`"),
    ("latest", r"^FROM python:\S+ AS runtime$", "FROM python:latest AS runtime", "DL3007"),
    ("untagged", r"^FROM python:\S+ AS builder$", "FROM python AS builder", "DL3006"),
    (
        "not slim",
        r"^FROM python:(\S+)-slim(\S*) AS runtime$",
        r"FROM python:\1\2 AS runtime",
        "not a slim image",
    ),
    (
        "source first",
        r"^COPY requirements.hashes.txt ./$",
        "COPY . ./",
        "copied before the dependencies",
    ),
    ("deps reinstalled", r"--no-deps (--no-build-isolation \.)", r"\1", "use --no-deps"),
    ("build isolation", r"--no-build-isolation \.", ".", "use --no-build-isolation"),
    ("no pip check", r"\n    && pip check \\", "", "no `pip check`"),
    ("hashes off", r"--require-hashes ", "", "neither hash-locked"),
    (
        "constraints only",
        r"--require-hashes --no-deps --only-binary=:all: -r requirements.hashes.txt",
        "-c requirements.lock -r requirements.runtime.txt",
        "neither hash-locked",
    ),
    ("no volume", r'^VOLUME \["/app/data"\]\n', "", "declares no VOLUME /app/data"),
    ("workdir off the volume", r"^WORKDIR /app/data$", "WORKDIR /app", "not on a declared VOLUME"),
    (
        "database off the volume",
        r"^(WORKDIR /app/data)$",
        r"\1\nENV DATABASE_URL=sqlite:////app/raidline.db",
        "not on a declared VOLUME",
    ),
    ("volume not owned", r" /app /app/data$", " /app", "would belong to root"),
    ("a package left out", r"^COPY storage/ storage/$", "", "storage is never copied"),
    ("pip cache", r"pip install --no-cache-dir --require", "pip install --require", "DL3042"),
    (
        "unpinned pip",
        r"^(RUN python -m venv /opt/venv)$",
        r"\1 && pip install --no-cache-dir requests",
        "neither hash-locked",
    ),
    (
        "apt-get",
        r"^(RUN python -m venv /opt/venv)$",
        r"RUN apt-get update && apt-get install -y gcc\n\1",
        "DL3015",
    ),
    (
        "apt lists",
        r"^(RUN python -m venv /opt/venv)$",
        r"RUN apt-get update && apt-get install -y --no-install-recommends gcc\n\1",
        "DL3009",
    ),
    ("ADD url", r"^(WORKDIR /src)$", r"\1\nADD https://example.com/x.tgz /tmp/", "ADD of a URL"),
    ("cd", r"^(WORKDIR /src)$", r"\1\nRUN cd /tmp && ls", "DL3003"),
    ("pipe", r"^(WORKDIR /src)$", r"\1\nRUN ls | wc -l", "DL4006"),
    ("secret", r"^(WORKDIR /src)$", r"\1\nENV SLACK_BOT_TOKEN=xoxb-1", "no secrets"),
    ("no user", r"^USER .*$", "", "DL3002"),
    ("root", r"^USER .*$", "USER root", "DL3002"),
    ("named user", r"^USER .*$", "USER raidline", "numeric uid"),
    ("user after cmd", r"^(USER .*)\n([\s\S]*)^(CMD .*)$", r"\2\3\n\1", "CMD before USER"),
    (
        "workdir not owned",
        r" \\\n\s*&& install -d -o raidline[^\n]*",
        "",
        "not given to the runtime user",
    ),
    (
        "source in runtime",
        r"^(WORKDIR /app/data)$",
        r"\1\nCOPY bot/ bot/",
        "from the build context",
    ),
    ("unbuffered", r"PYTHONUNBUFFERED=1", "PYTHONUNBUFFERED=0", "PYTHONUNBUFFERED"),
    ("port", r"^EXPOSE 3000$", "EXPOSE 8080", "EXPOSE 3000"),
    ("shell cmd", r'^CMD \["run"\]$', "CMD raidline run", "DL3025"),
    ("wrong cmd", r'^CMD \["run"\]$', 'CMD ["console"]', "not ['raidline', 'run']"),
    ("no healthcheck", r"^HEALTHCHECK[\s\S]*?\]\n", "", "0 HEALTHCHECK"),
    ("healthcheck path", r"/healthz", "/", "does not call /healthz"),
    (
        "curl",
        r'CMD \["python", "-c", "[^\n]*"\]',
        'CMD ["curl", "-f", "http://127.0.0.1:3000/healthz"]',
        "curl/wget",
    ),
    ("copy from nowhere", r"--from=builder", "--from=build", "DL3022"),
]


@pytest.mark.parametrize(
    ("pattern", "replacement", "complaint"),
    [case[1:] for case in DOCKERFILE_BREAKS],
    ids=[case[0] for case in DOCKERFILE_BREAKS],
)
def test_dockerfile_rules_catch(pattern: str, replacement: str, complaint: str) -> None:
    broken = _break(DOCKERFILE, pattern, replacement)
    problems = dockerfile_problems(broken)
    assert any(complaint in p for p in problems), problems


def test_dockerfile_parser_joins_continuations_and_refuses_nonsense() -> None:
    text = 'FROM a:1 AS x\nRUN one \\\n    # a comment\n    && two\nCMD ["x"]\n'
    instructions = parse_dockerfile(text)
    assert [(i.line, i.keyword) for i in instructions] == [(1, "FROM"), (2, "RUN"), (5, "CMD")]
    assert instructions[1].args == "one && two"
    assert instructions[2].exec_form() == ["x"]
    with pytest.raises(ParseError, match="unknown instruction"):
        parse_dockerfile("FROM a:1\nEOF\n")
    with pytest.raises(ParseError, match="ends inside"):
        parse_dockerfile("FROM a:1\nRUN x \\\n")


COMPOSE_BREAKS = [
    ("postgres 15", r"image: postgres:16", "image: postgres:15", "is not postgres:16"),
    ("bind mount", r"- pgdata:/var/lib", "- ./data:/var/lib", "not a named volume"),
    ("volume not declared", r"^volumes:\n  pgdata:\n", "", "not a named volume"),
    ("no pg_isready", r"pg_isready", "true", "pg_isready"),
    (
        "password in file",
        r"POSTGRES_PASSWORD: \$\{[^}]*\}",
        "POSTGRES_PASSWORD: hunter2",
        "take it from .env",
    ),
    ("migrate runs run", r'command: \["migrate"\]', 'command: ["run"]', "is not ['migrate']"),
    (
        "migrate too early",
        r"condition: service_healthy\n    restart: \"no\"",
        'condition: service_started\n    restart: "no"',
        "migrate: does not wait for db",
    ),
    ("restart no unquoted", r'restart: "no"', "restart: no", "is not the string 'no'"),
    (
        "raidline too early",
        r"condition: service_completed_successfully",
        "condition: service_started",
        "does not wait for migrate",
    ),
    (
        "no env_file",
        r"^(  raidline:[\s\S]*?)    env_file:\n      - \.env\n",
        r"\1",
        "raidline: env_file",
    ),
    ("sqlite", r"@db:5432", "@localhost:5432", "does not point at the db service"),
    (
        "no restart policy",
        r"restart: unless-stopped\n    stop_grace",
        "stop_grace",
        "is not unless-stopped",
    ),
    (
        "writable root",
        r"(  raidline:[\s\S]*?)read_only: true",
        r"\1read_only: false",
        "raidline: read_only",
    ),
    (
        "capabilities kept",
        r'(  migrate:[\s\S]*?)cap_drop: \["ALL"\]',
        r'\1cap_drop: ["NET_RAW"]',
        "migrate: cap_drop",
    ),
    (
        "new privileges",
        r'(  raidline:[\s\S]*?)    security_opt: \["no-new-privileges:true"\]\n',
        r"\1",
        "raidline: security_opt lacks no-new-privileges",
    ),
    ("no memory limit", r"    mem_limit: 512m\n", "", "raidline: no memory limit"),
    ("db memory", r"    mem_limit: 1g\n", "", "db: no memory limit"),
    (
        "no tmp",
        r'(  raidline:[\s\S]*?)    tmpfs: \["/tmp:size=16m"\]\n',
        r"\1",
        "raidline: read-only without a tmpfs",
    ),
    (
        "ops port published",
        r'^(      - "\$\{RAIDLINE_PUBLISHED_PORTS:-3000\}:\$\{RAIDLINE_HTTP_PORT:-3000\}")$',
        r'\1\n      - "9464:9464"',
        "operations port 9464 is published",
    ),
]


@pytest.mark.parametrize(
    ("pattern", "replacement", "complaint"),
    [case[1:] for case in COMPOSE_BREAKS],
    ids=[case[0] for case in COMPOSE_BREAKS],
)
def test_compose_rules_catch(pattern: str, replacement: str, complaint: str) -> None:
    broken = _break(COMPOSE, pattern, replacement)
    problems = compose_problems(read_compose(broken))
    assert any(complaint in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: &x 1\n", "outside the YAML subset"),
        ("a: {b: 1}\n", "outside the YAML subset"),
        ("a: |\n  text\n", "outside the YAML subset"),
        ("a:\n  - b: 1\n", "only scalars"),
        ("a: [b, c]\n", "as JSON"),
        ("ports:\n  - 22:22\n", "quote"),
        ("a: 017\n", "quote"),
        ("a: 1.5\n", "quote"),
        ("a: 1_000\n", "quote"),
        ("a: .5\n", "quote"),
        ("a: 1\n  b: 2\n", "unexpected indentation"),
        ("a: 1\na: 2\n", "appears twice"),
        ("a: b: c\n", "cannot hold"),
        ('a: "x" y\n', "read apart"),
        ("a:\n\t- b\n", "tab"),
    ],
)
def test_yaml_reader_refuses_what_it_does_not_know(text: str, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_yaml(text)


def test_yaml_reader_reads_like_yaml() -> None:
    text = (
        "# comment\n"
        "a:\n"
        '  b: "x # not a comment"  # a comment\n'
        "  c: 'it''s'\n"
        "  d: no\n"
        '  e: "no"\n'
        "  f: 10\n"
        '  g: ["CMD", "x"]\n'
        "  h:\n"
        "  - one\n"
        '  - "two"\n'
        "  i:\n"
        "k: ${X:-y}@db:5432/z\n"
    )
    assert parse_yaml(text) == {
        "a": {
            "b": "x # not a comment",
            "c": "it's",
            "d": False,
            "e": "no",
            "f": 10,
            "g": ["CMD", "x"],
            "h": ["one", "two"],
            "i": None,
        },
        "k": "${X:-y}@db:5432/z",
    }


ENV_BREAKS = [
    ("variable missing", r"^RAIDLINE_TICK_SECONDS=.*\n", "", "RAIDLINE_TICK_SECONDS"),
    ("secret filled in", r"^SLACK_BOT_TOKEN=$", "SLACK_BOT_TOKEN=xoxb-1-real", "must be empty"),
    ("password filled in", r"^POSTGRES_PASSWORD=$", "POSTGRES_PASSWORD=x", "must be empty"),
    ("undocumented", r"^# Bot token; enables Discord. Secret.\n", "", "no comment above"),
    ("typo", r"^RAIDLINE_TIMEZONE=", "RAIDLINE_TIMEZON=", "read by nothing"),
    ("twice", r"^(RAIDLINE_LOG_LEVEL=INFO)$", r"\1\n\1", "more than once"),
]


@pytest.mark.parametrize(
    ("pattern", "replacement", "complaint"),
    [case[1:] for case in ENV_BREAKS],
    ids=[case[0] for case in ENV_BREAKS],
)
def test_env_example_rules_catch(pattern: str, replacement: str, complaint: str) -> None:
    problems = env_example_problems(_break(ENV_EXAMPLE, pattern, replacement))
    assert any(complaint in p for p in problems), problems


def test_dockerignore_rules_catch(stages: list[Stage]) -> None:
    text = DOCKERIGNORE.read_text(encoding="utf-8")
    broken = re.sub(r"^\.env$", "", text, flags=re.MULTILINE)
    assert any("exclude .env" in p for p in dockerignore_problems(broken, stages))
    broken = text + "\nREADME.md\n"
    assert any("copies README.md" in p for p in dockerignore_problems(broken, stages))


REFERENCE_BREAKS = [
    (DOCKERFILE, r'README.md, "Running with Docker"', "docs/docker.md", "does not exist"),
    (DOCKERFILE, r'README.md, "Running with Docker"', 'README.md, "Docker"', "no section 'Docker'"),
    (COMPOSE, r'README.md, "Several replicas"', "README: Several replicas", "name a README"),
    (ENV_EXAMPLE, r'\(README.md, "Slack"\)', "(README: Slack)", "name a README section"),
    (DOCKERFILE, r"tests/unit/test_container_files.py", "tests/test_docker.py", "does not exist"),
    (
        ROOT / "slack-manifest.yml",
        r'README.md, "Slack" has',
        "docs/slack.md has",
        "points at docs/slack.md, which does not exist",
    ),
    # (docs/ exists: it holds the README's screenshot)
    (ROOT / "slack-manifest.yml", r'README.md, "Slack" has', "manuals/ has", "points at manuals/"),
    (
        ROOT / "slack-manifest-http.yml",
        r'README.md, "Renaming the slash commands"',
        'README.md, "Renaming the\n# slash commands"',
        "must end on the line it starts",
    ),
]


@pytest.mark.parametrize(
    ("path", "pattern", "replacement", "complaint"),
    REFERENCE_BREAKS,
    ids=[f"{case[0].name}: {case[3]}" for case in REFERENCE_BREAKS],
)
def test_reference_rules_catch(path: Path, pattern: str, replacement: str, complaint: str) -> None:
    problems = reference_problems(_break(path, pattern, replacement), path.name)
    assert any(complaint in p for p in problems), problems


HASH_BREAKS = [
    (
        "a hash removed",
        r"^(aiosqlite==\S+) \\\n    --hash=\S+$",
        r"\1",
        "aiosqlite==0.22.1 has no --hash",
    ),
    ("not sha256", r"(aiosqlite==\S+ \\\n    --hash=)sha256:", r"\1md5:", "is not a sha256 hash"),
    ("unpinned", r"^aiosqlite==\S+", "aiosqlite>=0.20", "is not pinned"),
    ("old version", r"^aiosqlite==\S+", "aiosqlite==0.20.0", "but requirements.lock has"),
    ("a dependency missing", r"^yarl==\S+ \\\n(    --hash=\S+ \\\n)*    --hash=\S+\n", "", "yarl"),
    (
        "no build backend",
        r"^setuptools==\S+ \\\n(    --hash=\S+ \\\n)*    --hash=\S+\n",
        "",
        "setuptools (the build backend) is missing",
    ),
    ("old build backend", r"^setuptools==\S+", "setuptools==65.5.0", "does not satisfy"),
]


@pytest.mark.parametrize(
    ("pattern", "replacement", "complaint"),
    [case[1:] for case in HASH_BREAKS],
    ids=[case[0] for case in HASH_BREAKS],
)
def test_hash_lock_rules_catch(pattern: str, replacement: str, complaint: str) -> None:
    problems = hash_lock_problems(_break(ROOT / HASHES, pattern, replacement))
    assert any(complaint in p for p in problems), problems
