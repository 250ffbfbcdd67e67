"""The first-response guide: a few questions, then advice cards (issue 8).

A decision tree, no language model: reliable, and the same for everyone who gives the
same answers.  The tree is data, one JSON file per language under ``content/``, edited by
NGO staff without touching code (docs/GUIDE.md).  The pages (reporting/guide/views.py)
and the messaging-bot API (reporting/guide/api.py) read it through this module only; it
imports neither.

Loading checks every file (reporting/guide/checks.py) and refuses the whole guide if any
file is wrong: a half-translated tree would send her down a path that does not exist in
her language.  What was loaded is kept until a content file changes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.conf.locale import LANG_INFO
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from reporting.guide import checks

CONTENT_DIR = Path(__file__).resolve().parent / "content"
SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"
# The other languages are compared with this one.  French: the language most partner
# associations write in, so the one they will edit first.
REFERENCE_LANGUAGE = "fr"


class GuideError(Exception):
    """The content files are not a valid guide; ``problems`` says where and why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:50]
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__("The guide's content has problems:\n" + "\n".join(shown) + more)


@dataclass(frozen=True)
class GoTo:
    text: str
    next: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    hint: str
    answers: tuple[GoTo, ...]
    type = "question"


@dataclass(frozen=True)
class Block:
    """A paragraph (``text``), numbered ``steps``, or the ``emergency_numbers``."""

    kind: str
    text: str = ""
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    text: str
    url: str

    @property
    def host(self) -> str:
        """Shown beside the link, so she knows it leaves this site and where to."""
        return urlsplit(self.url).hostname or ""

    @property
    def names_its_host(self) -> bool:
        """Does the text already say where it goes ("StopNCII.org")?"""
        return self.host.lower().removeprefix("www.") in self.text.lower()


@dataclass(frozen=True)
class Card:
    id: str
    kind: str
    title: str
    blocks: tuple[Block, ...]
    links: tuple[Link, ...]
    actions: tuple[str, ...]


# A card's kind as the pages and the API name it (checks.KINDS lists the kinds).
KIND_LABELS = {
    "technical": _("Technical"),
    "legal": _("Legal"),
    "psychological": _("Psychological"),
}


@dataclass(frozen=True)
class Advice:
    id: str
    title: str
    intro: str
    cards: tuple[Card, ...]
    then: GoTo | None
    type = "advice"


Node = Question | Advice


@dataclass(frozen=True)
class EmergencyNumber:
    id: str
    name: str
    number: str
    note: str


@dataclass(frozen=True)
class ListeningCentre:
    region: str
    name: str
    description: str
    phone: str
    address: str

    @property
    def dial(self) -> str:
        return self.phone.replace(" ", "")


@dataclass(frozen=True)
class Guide:
    """One language's tree.  Confirmation flags are not kept: they are for staff."""

    language: str
    start: str
    nodes: Mapping[str, Node]
    # The node before each one on the shortest way from the start: her "Back" link,
    # found without remembering where she came from.
    parents: Mapping[str, str]
    emergency_numbers: tuple[EmergencyNumber, ...]
    listening_centres: tuple[ListeningCentre, ...]

    def node(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def centres_in(self, region: str) -> tuple[ListeningCentre, ...]:
        return tuple(c for c in self.listening_centres if c.region == region)


def node_url(tree: Guide, node_id: str) -> str:
    """The page of a node (the start has the guide's own address); the API links to it too."""
    if node_id == tree.start:
        return reverse("reporting:guide")
    return reverse("reporting:guide_node", args=[node_id])


# --- reading and checking the files -----------------------------------------------------


def language_files(directory: Path = CONTENT_DIR) -> dict[str, Path]:
    """Language code -> file, for every ``<code>.json`` in the content folder."""
    return {
        path.stem: path
        for path in sorted(directory.glob("*.json"))
        if path.stem.isalpha() and path.stem.islower() and 2 <= len(path.stem) <= 3
    }


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f'"{key}" appears twice in the same object')
        seen[key] = value
    return seen


def read_files(directory: Path = CONTENT_DIR) -> dict[str, Any]:
    """Language code -> parsed JSON, after every check; raises GuideError naming each
    file and node with a problem."""
    files = language_files(directory)
    if not files:
        raise GuideError([f"{directory}: no language file (fr.json, ar.json...)"])
    problems: list[str] = []
    raw: dict[str, Any] = {}
    for language, path in files.items():
        try:
            text = path.read_text(encoding="utf-8")
            raw[language] = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except UnicodeDecodeError:
            problems.append(f"{path.name}: not saved as UTF-8; save it again as UTF-8")
        except json.JSONDecodeError as error:
            problems.append(
                f"{path.name}, line {error.lineno}, column {error.colno}: {error.msg} "
                '(often a missing comma, an extra comma before } or ], or a " not closed)'
            )
        except ValueError as error:
            problems.append(f"{path.name}: {error}")
    for language, data in raw.items():
        problems += checks.check_file(files[language].name, data, language)
    if problems:
        raise GuideError(problems)
    reference = REFERENCE_LANGUAGE if REFERENCE_LANGUAGE in raw else next(iter(raw))
    problems = checks.check_same_tree(
        {files[lang].name: data for lang, data in raw.items()}, files[reference].name
    )
    if problems:
        raise GuideError(problems)
    return raw


# "447-1", "103.13", "2025-03-31": digits joined by a separator.
_JOINED_NUMBER = re.compile(r"(?<![\d\u200e])\d+(?:[-./]\d+)+")
_LRM = "\u200e"


def _numbers_in_order(text: str) -> str:
    """Keep "447-1" from showing as "1-447" in right-to-left text.

    After Arabic letters, the Unicode bidirectional algorithm makes digits "Arabic
    numbers", and a hyphen between two of those separates them, so "الفصل 447-1"
    displays as "الفصل 1-447".  A left-to-right mark before the number keeps it whole.
    It is invisible, understood by every browser and messaging app, and added here so
    that nobody editing the files has to type an invisible character.
    """
    return _JOINED_NUMBER.sub(lambda m: _LRM + m.group(0), text)


def _build(data: dict[str, Any]) -> Guide:
    bidi = LANG_INFO.get(data["language"], {}).get("bidi", False)
    t: Callable[[str], str] = _numbers_in_order if bidi else str
    cards = {
        c["id"]: Card(
            id=c["id"],
            kind=c["kind"],
            title=t(c["title"]),
            blocks=tuple(
                Block("text", text=t(b["text"]))
                if "text" in b
                else Block("steps", steps=tuple(t(step) for step in b["steps"]))
                if "steps" in b
                else Block(b["show"])
                for b in c["blocks"]
            ),
            links=tuple(Link(t(link["text"]), link["url"]) for link in c.get("links", [])),
            actions=tuple(c["actions"]),
        )
        for c in data["cards"]
    }
    nodes: dict[str, Node] = {}
    for n in data["nodes"]:
        if n["type"] == "question":
            nodes[n["id"]] = Question(
                id=n["id"],
                text=t(n["text"]),
                hint=t(n.get("hint", "")),
                answers=tuple(GoTo(t(a["text"]), a["next"]) for a in n["answers"]),
            )
        else:
            then = n.get("then")
            nodes[n["id"]] = Advice(
                id=n["id"],
                title=t(n["title"]),
                intro=t(n.get("intro", "")),
                cards=tuple(cards[card_id] for card_id in n["cards"]),
                then=GoTo(t(then["text"]), then["next"]) if then else None,
            )
    return Guide(
        language=data["language"],
        start=data["start"],
        nodes=MappingProxyType(nodes),
        parents=MappingProxyType(_parents(data["start"], nodes)),
        emergency_numbers=tuple(
            EmergencyNumber(e["id"], t(e["name"]), e["number"], t(e.get("note", "")))
            for e in data["emergency_numbers"]
        ),
        listening_centres=tuple(
            ListeningCentre(
                c["region"], t(c["name"]), t(c["description"]), c["phone"], t(c["address"])
            )
            for c in data["listening_centres"]
        ),
    )


def next_ids(node: Node) -> list[str]:
    """Where she can go from this node: its answers, or the advice page's "go on"."""
    if isinstance(node, Question):
        return [a.next for a in node.answers]
    return [node.then.next] if node.then else []


def _parents(start: str, nodes: Mapping[str, Node]) -> dict[str, str]:
    parents: dict[str, str] = {}
    queue = [start]
    for node_id in queue:  # breadth first: the first way found is a shortest one
        for target in next_ids(nodes[node_id]):
            if target != start and target not in parents:
                parents[target] = node_id
                queue.append(target)
    return parents


def load(directory: Path = CONTENT_DIR) -> dict[str, Guide]:
    """Every language's guide, checked; raises GuideError."""
    return {language: _build(data) for language, data in read_files(directory).items()}


@functools.lru_cache(maxsize=2)
def _load_cached(directory: Path, stamp: tuple) -> dict[str, Guide]:
    return load(directory)


def guides(directory: Path | None = None) -> dict[str, Guide]:
    """The guides, loaded once and again whenever a content file changes (a staff
    member's edit shows on the next page, without restarting the server)."""
    directory = directory or CONTENT_DIR
    stamp = tuple(
        (path.name, path.stat().st_mtime_ns, path.stat().st_size)
        for path in language_files(directory).values()
    )
    return _load_cached(directory, stamp)


def for_language(language: str) -> Guide | None:
    """The guide in this language, or None if there is no file for it."""
    return guides().get(language)
