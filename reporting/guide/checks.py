"""Checks on the guide's content files, with messages for the people who edit them.

Each problem names the file and the place in it ("ar.json, node 'images_age': ..."), so
that an NGO staff member who changed a text can find what to fix without reading code.
The checks are plain Python (no dependency); ``schema.json`` says the same about the
shape of a file, for editors and for people, and the tests keep the two in agreement.

What a schema cannot say is checked here too: every answer leads to a node that exists;
every path from the start ends on advice, within ``MAX_STEPS`` and without a loop;
every node can be reached and every card is shown somewhere; every region has a
listening centre; and all languages hold the same tree, with only the texts differing.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from reporting.facts import Region

MAX_STEPS = 6  # answers (and "go on" links) from the start to the last advice page
KINDS = ("technical", "legal", "psychological")
ACTIONS = ["report", "talk"]  # every card ends with "Make a report" and "Talk to someone"
SHOWABLE = ("emergency_numbers",)
REGIONS = tuple(r.value for r in Region if r != Region.NOT_SAID)

ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
HTML = re.compile(r"<\s*/?\s*[A-Za-z!?]|&(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z]+);")
URL = re.compile(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/[^\s<>\"]*)?$")
NUMBER = re.compile(r"^\+?[0-9]{2,15}$")
PHONE = re.compile(r"^$|^\+?[0-9][0-9 ]{1,19}$")
TEXT_LIMIT = 1200
SHORT_LIMIT = 200
MAX_ANSWERS = 8
MAX_CARDS_PER_PAGE = 8


class Problems:
    """The problems found in one file, each prefixed with the file's name."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.found: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.found.append(f"{self.filename}, {where}: {message}")


def _is(value: object, kind: type) -> bool:
    # JSON true/false are Python bools, and bool is a subclass of int: keep them apart.
    if kind is bool:
        return isinstance(value, bool)
    return isinstance(value, kind) and not isinstance(value, bool)


_TYPE_NAMES = {
    str: "a text in quotes",
    list: "a list [...]",
    dict: "an object {...}",
    bool: "true or false",
}


def _fields(
    p: Problems, where: str, obj: object, required: Mapping[str, type], optional: Mapping[str, type]
) -> bool:
    """Is ``obj`` an object with these fields, of these types, and no others?"""
    if not _is(obj, dict):
        p.add(where, "should be an object {...}")
        return False
    allowed = {**required, **optional, "comment": str}
    ok = True
    for key in required:
        if key not in obj:
            p.add(where, f'"{key}" is missing')
            ok = False
    for key, value in obj.items():
        if key not in allowed:
            known = ", ".join(f'"{k}"' for k in allowed)
            p.add(where, f'"{key}" is not a field here (a typo?); the fields are {known}')
            ok = False
        elif not _is(value, allowed[key]):
            p.add(where, f'"{key}" should be {_TYPE_NAMES[allowed[key]]}')
            ok = False
    return ok


def _text(
    p: Problems, where: str, key: str, value: str, *, limit: int = TEXT_LIMIT, empty: bool = False
) -> None:
    if not value.strip() and not empty:
        p.add(where, f'"{key}" is empty')
    if len(value) > limit:
        p.add(where, f'"{key}" is {len(value)} characters long; keep it under {limit}')
    html = HTML.search(value)
    if html:
        p.add(
            where,
            f'"{key}" looks like HTML ({html.group(0)!r}): write plain text; '
            "a new line (\\n) makes a line break",
        )


def _id(p: Problems, where: str, key: str, value: str) -> bool:
    if not ID.match(value):
        p.add(
            where,
            f'"{key}" {value!r} should be lowercase letters, digits and _, starting with a letter',
        )
        return False
    return True


# --- one file ---------------------------------------------------------------------------


def check_file(filename: str, data: Any, language: str) -> list[str]:
    """Every problem in one language's file (an empty list when it is right)."""
    p = Problems(filename)
    top = {
        "language": str,
        "start": str,
        "nodes": list,
        "cards": list,
        "emergency_numbers": list,
        "listening_centres": list,
    }
    if not _fields(p, "top level", data, top, {"$schema": str}):
        return p.found
    if data["language"] != language:
        p.add("top level", f'"language" is {data["language"]!r} but the file is {filename}')

    nodes = _check_nodes(p, data["nodes"])
    cards = _check_cards(p, data["cards"])
    _check_numbers(p, data["emergency_numbers"])
    _check_centres(p, data["listening_centres"])
    if not p.found:
        _check_tree(p, data["start"], nodes, cards)
    return p.found


def _by_id(p: Problems, items: list, noun: str) -> dict[str, tuple[str, dict]]:
    """The objects of ``items`` that have a good id of their own, by id, each with where
    a problem in it is said to be ("node 'start'"); the others are said to be wrong."""
    found: dict[str, tuple[str, dict]] = {}
    for number, item in enumerate(items, 1):
        where = f"{noun} {number}"
        if not _is(item, dict) or not _is(item.get("id"), str):
            p.add(where, 'should be an object with an "id"')
            continue
        where = f"{noun} {item['id']!r}"
        if not _id(p, where, "id", item["id"]):
            continue
        if item["id"] in found:
            p.add(where, f"this id is used by two {noun}s")
            continue
        found[item["id"]] = (where, item)
    return found


def _check_nodes(p: Problems, items: list) -> dict[str, dict]:
    nodes = _by_id(p, items, "node")
    for where, node in nodes.values():
        kind = node.get("type")
        if kind == "question":
            if _fields(
                p,
                where,
                node,
                {"id": str, "type": str, "text": str, "answers": list},
                {"hint": str},
            ):
                _text(p, where, "text", node["text"], limit=SHORT_LIMIT)
                if "hint" in node:
                    _text(p, where, "hint", node["hint"])
                if not 2 <= len(node["answers"]) <= MAX_ANSWERS:
                    p.add(where, f"a question needs 2 to {MAX_ANSWERS} answers")
                for i, answer in enumerate(node["answers"], 1):
                    _check_go_to(p, f"{where}, answer {i}", answer)
        elif kind == "advice":
            if _fields(
                p,
                where,
                node,
                {"id": str, "type": str, "title": str, "cards": list},
                {"intro": str, "then": dict},
            ):
                _text(p, where, "title", node["title"], limit=SHORT_LIMIT)
                if "intro" in node:
                    _text(p, where, "intro", node["intro"])
                if not 1 <= len(node["cards"]) <= MAX_CARDS_PER_PAGE:
                    p.add(where, f"an advice page shows 1 to {MAX_CARDS_PER_PAGE} cards")
                if not all(_is(c, str) for c in node["cards"]):
                    p.add(where, '"cards" should be a list of card ids in quotes')
                elif len(set(node["cards"])) != len(node["cards"]):
                    p.add(where, "a card is listed twice")
                if "then" in node:
                    _check_go_to(p, f"{where}, then", node["then"])
        else:
            p.add(where, '"type" should be "question" or "advice"')
    return {id_: node for id_, (_, node) in nodes.items()}


def _check_go_to(p: Problems, where: str, go_to: object) -> None:
    if _fields(p, where, go_to, {"text": str, "next": str}, {}):
        _text(p, where, "text", go_to["text"], limit=SHORT_LIMIT)
        _id(p, where, "next", go_to["next"])


def _check_cards(p: Problems, items: list) -> dict[str, dict]:
    cards = _by_id(p, items, "card")
    for where, card in cards.values():
        if not _fields(
            p,
            where,
            card,
            {"id": str, "kind": str, "title": str, "blocks": list, "actions": list},
            {"links": list},
        ):
            continue
        if card["kind"] not in KINDS:
            p.add(where, f'"kind" should be one of {", ".join(KINDS)}')
        _text(p, where, "title", card["title"], limit=SHORT_LIMIT)
        if not card["blocks"]:
            p.add(where, '"blocks" is empty: a card needs at least a paragraph')
        for i, block in enumerate(card["blocks"], 1):
            _check_block(p, f"{where}, block {i}", block)
        for i, link in enumerate(card.get("links", []), 1):
            here = f"{where}, link {i}"
            if _fields(p, here, link, {"text": str, "url": str}, {}):
                _text(p, here, "text", link["text"], limit=SHORT_LIMIT)
                if not URL.match(link["url"]):
                    p.add(here, f'"url" {link["url"]!r} should be a full https:// address')
        if card["actions"] != ACTIONS:
            p.add(
                where,
                f'"actions" should be {ACTIONS}: every card ends with '
                '"Make a report" and "Talk to someone"',
            )
    return {id_: card for id_, (_, card) in cards.items()}


def _check_block(p: Problems, where: str, block: object) -> None:
    if not _is(block, dict):
        p.add(where, 'should be {"text": ...}, {"steps": [...]} or {"show": "emergency_numbers"}')
        return
    kinds = [k for k in ("text", "steps", "show") if k in block]
    if len(kinds) != 1:
        p.add(where, 'should have exactly one of "text", "steps" or "show"')
        return
    kind = kinds[0]
    if not _fields(p, where, block, {kind: {"text": str, "steps": list, "show": str}[kind]}, {}):
        return
    if kind == "text":
        _text(p, where, "text", block["text"])
    elif kind == "steps":
        if not block["steps"]:
            p.add(where, '"steps" is empty')
        for i, step in enumerate(block["steps"], 1):
            if not _is(step, str):
                p.add(where, f"step {i} should be a text in quotes")
            else:
                _text(p, where, f"step {i}", step)
    elif block["show"] not in SHOWABLE:
        p.add(where, f'"show" can only be {", ".join(SHOWABLE)}')


def _check_confirmation(p: Problems, where: str, entry: dict) -> None:
    """Numbers and addresses are confirmed by a person before launch, and say by whom."""
    if entry["confirmed_on"]:
        try:
            datetime.date.fromisoformat(entry["confirmed_on"])
        except ValueError:
            p.add(where, f'"confirmed_on" {entry["confirmed_on"]!r} should be a date: 2025-03-31')
    if not entry["to_confirm"] and not (entry["confirmed_by"].strip() and entry["confirmed_on"]):
        p.add(
            where,
            '"to_confirm" is false: say who confirmed it ("confirmed_by") '
            'and when ("confirmed_on": YYYY-MM-DD)',
        )


_CONFIRMATION = {"to_confirm": bool, "confirmed_by": str, "confirmed_on": str}


def _check_numbers(p: Problems, items: list) -> None:
    if not items:
        p.add("emergency_numbers", "at least one emergency number is needed")
    seen: set[str] = set()
    for number, entry in enumerate(items, 1):
        where = f"emergency number {number}"
        if _is(entry, dict) and _is(entry.get("id"), str):
            where = f"emergency number {entry['id']!r}"
        if not _fields(
            p,
            where,
            entry,
            {"id": str, "name": str, "number": str, **_CONFIRMATION},
            {"note": str},
        ):
            continue
        if _id(p, where, "id", entry["id"]) and entry["id"] in seen:
            p.add(where, "this id is used twice")
        seen.add(entry["id"])
        _text(p, where, "name", entry["name"], limit=SHORT_LIMIT)
        if "note" in entry:
            _text(p, where, "note", entry["note"], limit=SHORT_LIMIT)
        if not NUMBER.match(entry["number"]):
            p.add(where, f'"number" {entry["number"]!r} should be digits only, as dialled')
        _check_confirmation(p, where, entry)


def _check_centres(p: Problems, items: list) -> None:
    covered: set[str] = set()
    for number, entry in enumerate(items, 1):
        where = f"listening centre {number}"
        if _is(entry, dict) and _is(entry.get("region"), str):
            where = f"listening centre {number} ({entry['region']})"
        if not _fields(
            p,
            where,
            entry,
            {
                "region": str,
                "name": str,
                "description": str,
                "phone": str,
                "address": str,
                **_CONFIRMATION,
            },
            {},
        ):
            continue
        if entry["region"] not in REGIONS:
            p.add(where, f'"region" should be one of {", ".join(REGIONS)}')
        covered.add(entry["region"])
        _text(p, where, "name", entry["name"], limit=SHORT_LIMIT)
        _text(p, where, "description", entry["description"])
        _text(p, where, "address", entry["address"], empty=True)
        if not PHONE.match(entry["phone"]):
            p.add(where, f'"phone" {entry["phone"]!r} should be digits and spaces, or empty')
        _check_confirmation(p, where, entry)
    for region in REGIONS:
        if region not in covered:
            p.add("listening_centres", f"no listening centre for the region {region}")


def _next_ids(node: dict) -> list[str]:
    if node["type"] == "question":
        return [a["next"] for a in node["answers"]]
    return [node["then"]["next"]] if "then" in node else []


def _check_tree(p: Problems, start: str, nodes: dict[str, dict], cards: dict[str, dict]) -> None:
    """References, then every path from the start: no loop, not too long, ends on advice."""
    if start not in nodes:
        p.add("top level", f'"start" is {start!r}, but there is no node with that id')
        return
    broken = False
    for node_id, node in nodes.items():
        for target in _next_ids(node):
            if target not in nodes:
                p.add(
                    f"node {node_id!r}", f"leads to {target!r}, but there is no node with that id"
                )
                broken = True
        for card_id in node.get("cards", []) if node["type"] == "advice" else []:
            if card_id not in cards:
                p.add(f"node {node_id!r}", f"shows the card {card_id!r}, which does not exist")
    if broken:
        return

    reached: set[str] = set()

    def walk(node_id: str, path: tuple[str, ...]) -> None:
        if node_id in path:
            p.add(f"node {path[-1]!r}", f"leads back to {node_id!r}: a path must not loop")
            return
        path = (*path, node_id)
        if len(path) - 1 > MAX_STEPS:
            p.add(
                f"node {node_id!r}",
                f"is {len(path) - 1} steps from the start ({' > '.join(path)}); "
                f"keep every path within {MAX_STEPS}",
            )
            return
        reached.add(node_id)
        for target in _next_ids(nodes[node_id]):
            walk(target, path)

    walk(start, ())
    for node_id in nodes:
        if node_id not in reached:
            p.add(f"node {node_id!r}", "cannot be reached from the start: no answer leads to it")
    shown = {c for n in nodes.values() if n["type"] == "advice" for c in n["cards"]}
    for card_id in cards:
        if card_id not in shown:
            p.add(f"card {card_id!r}", "is not shown on any advice page")


# --- all languages together --------------------------------------------------------------


def _shape(data: dict) -> dict[str, Any]:
    """Everything in a file but its texts: what must be the same in every language."""
    nodes = {}
    for node in data["nodes"]:
        if node["type"] == "question":
            nodes[node["id"]] = {
                "type": "question",
                "answers lead to": _next_ids(node),
                "has a hint": "hint" in node,
            }
        else:
            nodes[node["id"]] = {
                "type": "advice",
                "cards": node["cards"],
                "then leads to": _next_ids(node),
                "has an intro": "intro" in node,
            }
    cards = {
        card["id"]: {
            "kind": card["kind"],
            "blocks": [
                "text"
                if "text" in b
                else f"{len(b['steps'])} steps"
                if "steps" in b
                else f"show {b['show']}"
                for b in card["blocks"]
            ],
            "links": [link["url"] for link in card.get("links", [])],
            "actions": card["actions"],
        }
        for card in data["cards"]
    }
    same = ("to_confirm", "confirmed_by", "confirmed_on")
    numbers = {
        n["id"]: {"number": n["number"], "has a note": "note" in n, **{k: n[k] for k in same}}
        for n in data["emergency_numbers"]
    }
    centres = {
        f"{i} ({c['region']})": {
            "region": c["region"],
            "phone": c["phone"],
            **{k: c[k] for k in same},
        }
        for i, c in enumerate(data["listening_centres"], 1)
    }
    return {
        "start": data["start"],
        "node": nodes,
        "card": cards,
        "emergency number": numbers,
        "listening centre": centres,
    }


def check_same_tree(files: Mapping[str, dict], reference: str) -> list[str]:
    """Every file holds the reference file's tree; only texts differ.

    ``files`` maps file names to their (already checked) content.
    """
    problems: list[str] = []
    expected = _shape(files[reference])
    for filename, data in files.items():
        if filename == reference:
            continue
        shape = _shape(data)
        if shape["start"] != expected["start"]:
            problems.append(
                f"{filename}, top level: starts at {shape['start']!r}, "
                f"but {reference} starts at {expected['start']!r}"
            )
        for section in ("node", "card", "emergency number", "listening centre"):
            problems += _compare(filename, reference, section, shape[section], expected[section])
    return problems


def _compare(
    filename: str, reference: str, section: str, mine: dict, theirs: dict
) -> Iterable[str]:
    for key in theirs:
        if key not in mine:
            yield f"{filename}, {section} {key!r}: missing here, but it is in {reference}"
    for key, value in mine.items():
        if key not in theirs:
            yield (
                f"{filename}, {section} {key!r}: not in {reference}; add it there too, or remove it"
            )
            continue
        for field, here in value.items():
            there = theirs[key][field]
            if here != there:
                yield (
                    f"{filename}, {section} {key!r}: {field} {here!r} here, "
                    f"but {there!r} in {reference}"
                )
