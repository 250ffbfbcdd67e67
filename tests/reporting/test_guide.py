"""The first-response guide (issue 8): its content is checked like code, its pages work
without scripts and keep nothing, and a messaging bot walks the same tree through the API.

NGO staff run this file after editing reporting/guide/content/*.json (docs/GUIDE.md).
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command

from reporting import guide
from reporting.guide import checks

pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in settings.LANGUAGES]


def schema_errors(data: object) -> list[str]:
    schema = json.loads(guide.SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def content(language: str, directory: Path = guide.CONTENT_DIR) -> dict:
    return json.loads((directory / f"{language}.json").read_text(encoding="utf-8"))


def by_id(items: list[dict], item_id: str) -> dict:
    return next(item for item in items if item.get("id") == item_id)


# --- the content files ------------------------------------------------------------------


def test_there_is_a_guide_in_every_language_of_the_site_and_all_pass_the_checks():
    assert set(guide.load()) == set(LANGUAGES)


def test_the_schema_is_a_valid_json_schema():
    schema = json.loads(guide.SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_content_file_follows_the_schema(language):
    assert schema_errors(content(language)) == []


def _answer_to_nowhere(data):
    by_id(data["nodes"], "images_age")["answers"][0]["next"] = "images_minr"


def _card_without_talk(data):
    by_id(data["cards"], "stopncii")["actions"] = ["report"]


def _html_in_a_title(data):
    by_id(data["cards"], "evidence")["title"] = "<b>احتفظي</b> بالأدلة"


def _question_without_text(data):
    del by_id(data["nodes"], "what")["text"]


def _a_loop(data):
    by_id(data["nodes"], "images_age")["answers"][1]["next"] = "start"


def _a_path_ending_on_a_question(data):
    # Every path must end on advice: a question with a single answer is refused.
    by_id(data["nodes"], "other_age")["answers"].pop()


def _an_extra_card_in_one_language(data):
    by_id(data["nodes"], "images_adult")["cards"].append("take_it_down")


def _another_police_number(data):
    by_id(data["emergency_numbers"], "police")["number"] = "190"


def _confirmed_by_nobody(data):
    data["listening_centres"][0]["to_confirm"] = False


def _a_region_without_a_centre(data):
    data["listening_centres"] = [
        c for c in data["listening_centres"] if c["region"] != "souss_massa"
    ]


def _a_link_to_a_script(data):
    by_id(data["cards"], "stopncii")["links"][0]["url"] = "javascript:alert(1)"


def _a_typo_in_a_field_name(data):
    by_id(data["cards"], "feelings")["titel"] = by_id(data["cards"], "feelings").pop("title")


BROKEN = [
    # (what is wrong, the edit, what the message says, does the JSON Schema see it too)
    (_answer_to_nowhere, "ar.json, node 'images_age': leads to 'images_minr'", False),
    (_card_without_talk, "ar.json, card 'stopncii': \"actions\" should be", True),
    (_html_in_a_title, "ar.json, card 'evidence': \"title\" looks like HTML", True),
    (_question_without_text, "ar.json, node 'what': \"text\" is missing", True),
    (_a_loop, "ar.json, node 'images_age': leads back to 'start'", False),
    (_a_path_ending_on_a_question, "ar.json, node 'other_age': a question needs 2", True),
    (_an_extra_card_in_one_language, "ar.json, node 'images_adult': cards", False),
    (_another_police_number, "ar.json, emergency number 'police': number '190' here", False),
    (_confirmed_by_nobody, "ar.json, listening centre 1 (tanger_tetouan_al_hoceima)", True),
    (
        _a_region_without_a_centre,
        "ar.json, listening_centres: no listening centre for the region souss_massa",
        False,
    ),
    (_a_link_to_a_script, "ar.json, card 'stopncii', link 1: \"url\"", True),
    (_a_typo_in_a_field_name, "ar.json, card 'feelings': \"titel\" is not a field", True),
]


def broken_copy(tmp_path: Path, edit: Callable[[dict], None], language: str = "ar") -> Path:
    directory = tmp_path / "content"
    shutil.copytree(guide.CONTENT_DIR, directory)
    data = content(language, directory)
    edit(data)
    (directory / f"{language}.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return directory


@pytest.mark.parametrize(
    ("edit", "message", "schema_sees_it"), BROKEN, ids=[b[0].__name__.strip("_") for b in BROKEN]
)
def test_a_broken_copy_is_refused_with_a_message_naming_the_file_and_the_node(
    tmp_path, edit, message, schema_sees_it
):
    directory = broken_copy(tmp_path, edit)

    with pytest.raises(guide.GuideError) as refused:
        guide.load(directory)

    assert message in str(refused.value)
    assert bool(schema_errors(content("ar", directory))) == schema_sees_it


def test_a_json_syntax_error_names_the_file_and_the_line(tmp_path):
    directory = tmp_path / "content"
    shutil.copytree(guide.CONTENT_DIR, directory)
    text = (directory / "fr.json").read_text(encoding="utf-8")
    # A comma forgotten between two answers, as a person editing by hand would.
    text = text.replace('"next": "danger"},', '"next": "danger"}', 1)
    (directory / "fr.json").write_text(text, encoding="utf-8")

    with pytest.raises(guide.GuideError) as refused:
        guide.load(directory)

    assert re.search(r"fr\.json, line \d+, column \d+: Expecting ','", str(refused.value))


def test_a_fixed_file_is_served_again_without_restarting(tmp_path):
    directory = broken_copy(tmp_path, lambda data: None, language="fr")
    assert guide.guides(directory)["fr"].nodes["start"].text == "Êtes-vous en danger en ce moment ?"

    data = content("fr", directory)
    by_id(data["nodes"], "start")["text"] = "Êtes-vous en danger maintenant ?"
    (directory / "fr.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    assert guide.guides(directory)["fr"].nodes["start"].text == "Êtes-vous en danger maintenant ?"


# --- the tree ---------------------------------------------------------------------------


def paths(tree: guide.Guide) -> Iterator[list[str]]:
    """Every way from the start to an advice page with nothing after it."""

    def walk(path: list[str]) -> Iterator[list[str]]:
        following = guide.next_ids(tree.nodes[path[-1]])
        if not following:
            yield path
        for node_id in following:
            assert node_id not in path, f"{path} loops back to {node_id}"
            yield from walk([*path, node_id])

    return walk([tree.start])


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_path_from_the_start_reaches_advice_cards_within_six_steps(language):
    tree = guide.load()[language]
    every = list(paths(tree))

    assert len(every) >= 14  # seven situations, under 18 or not, with or without danger
    for path in every:
        last = tree.nodes[path[-1]]
        assert isinstance(last, guide.Advice), path
        assert last.cards, path
        assert len(path) - 1 <= checks.MAX_STEPS, path
    reached = {node_id for path in every for node_id in path}
    assert reached == set(tree.nodes)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_card_ends_with_make_a_report_and_talk_to_someone(client, language):
    tree = guide.load()[language]
    for node in tree.nodes.values():
        if not isinstance(node, guide.Advice):
            continue
        page = Page(client.get(f"/{language}/guide/{node.id}/"))
        assert [card.id for card in node.cards] == page.card_ids
        for card in node.cards:
            assert card.actions == ("report", "talk")
            last_two = page.links_in_card[card.id][-2:]
            assert last_two == [
                f"/{language}/report/",
                f"/{language}/guide/talk-to-someone/?from={node.id}",
            ], (node.id, card.id)


def test_the_three_languages_hold_the_same_tree():
    guides = guide.load()
    shapes = {
        language: {
            node_id: (
                type(node).__name__,
                guide.next_ids(node),
                [c.id for c in getattr(node, "cards", ())],
            )
            for node_id, node in tree.nodes.items()
        }
        for language, tree in guides.items()
    }
    assert shapes["ar"] == shapes["fr"] == shapes["en"]


# --- the pages, without scripts ----------------------------------------------------------


class Page(HTMLParser):
    """What a browser without scripts can follow on a page, and what it would load."""

    def __init__(self, response) -> None:
        super().__init__()
        assert response.status_code == 200, response.status_code
        self.response = response
        self.html = response.content.decode()
        self.text = html.unescape(self.html)  # what she reads
        self.answers: dict[str, str] = {}  # text -> href
        self.links: list[dict[str, str]] = []
        self.loads: list[str] = []  # every address the page makes the browser fetch
        self.card_ids: list[str] = []
        self.links_in_card: dict[str, list[str]] = {}
        self._in_answer: str | None = None
        self._card: str | None = None
        self._depth = 0
        self.feed(self.html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            if "data-card" in attrs:
                self._card = attrs["data-card"]
                self.card_ids.append(self._card)
                self.links_in_card[self._card] = []
                self._depth = 0
            self._depth += 1
        if tag == "a":
            self.links.append(attrs)
            if self._card:
                self.links_in_card[self._card].append(attrs.get("href"))
            if "guide-answer" in attrs.get("class", ""):
                self._in_answer = attrs["href"]
        for name in ("src", "srcset", "data", "poster"):
            if attrs.get(name):
                self.loads.append(attrs[name])
        if tag == "link" and attrs.get("href"):
            self.loads.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "section" and self._card:
            self._depth -= 1
            if self._depth == 0:
                self._card = None
        if tag == "a":
            self._in_answer = None

    def handle_data(self, data):
        if self._in_answer and data.strip():
            self.answers[data.strip()] = self._in_answer

    def follow(self, client, answer: str) -> Page:
        assert answer in self.answers, f"{answer!r} not among {list(self.answers)}"
        return Page(client.get(self.answers[answer]))


def test_no_danger_then_images_then_adult_leads_to_the_stopncii_card(client):
    page = Page(client.get("/fr/guide/"))
    page = page.follow(client, "Non, pas en ce moment")
    page = page.follow(client, "Des images intimes de moi ont été partagées, ou risquent de l'être")
    page = page.follow(client, "Non, j'ai 18 ans ou plus")

    assert page.response.request["PATH_INFO"] == "/fr/guide/images_adult/"
    assert "stopncii" in page.card_ids
    assert "take_it_down" not in page.card_ids
    assert "StopNCII : empêcher le partage de vos images intimes" in page.text
    assert "La photo ne quitte jamais votre téléphone" in page.text
    assert {"href": "https://stopncii.org", "rel": "noopener noreferrer"} in page.links
    # The cards keep their order: what to do first comes first.
    assert page.card_ids[:2] == ["evidence", "stopncii"]


def test_under_18_leads_to_take_it_down_and_you_did_nothing_wrong(client):
    page = Page(client.get("/fr/guide/what/"))
    page = page.follow(client, "Des images intimes de moi ont été partagées, ou risquent de l'être")
    page = page.follow(client, "Oui, j'ai moins de 18 ans")

    assert page.card_ids[0] == "trusted_adult"
    assert "take_it_down" in page.card_ids
    assert "stopncii" not in page.card_ids
    assert "vous n'avez rien fait de mal" in page.text
    assert {"href": "https://takeitdown.ncmec.org", "rel": "noopener noreferrer"} in page.links


def test_under_18_and_blackmailed_also_gets_take_it_down(client):
    page = Page(client.get("/en/guide/what/"))
    page = page.follow(client, "Someone is blackmailing me")
    page = page.follow(client, "Yes, I am under 18")

    assert page.card_ids[:3] == ["trusted_adult", "blackmail", "take_it_down"]
    assert "Do not pay" in page.text


def test_in_danger_the_emergency_numbers_come_first_then_she_can_go_on(client):
    page = Page(client.get("/fr/guide/"))
    page = page.follow(client, "Oui, ou je ne suis pas sûre")

    assert page.card_ids[0] == "emergency"
    calls = [link["href"] for link in page.links if link["href"].startswith("tel:")]
    assert calls[:3] == ["tel:19", "tel:177", "tel:15"]
    # Before anything else she can tap on the page (the site's own header aside).
    main = page.html[page.html.index("<main") :]
    first_link = re.search(r'<a [^>]*href="([^"]+)"', main).group(1)
    assert first_link == "tel:19"
    # Once safe, she goes on to "what is happening".
    assert {"class": "button primary", "href": "/fr/guide/what/"} in page.links


def test_the_talk_page_shows_emergency_numbers_then_the_centre_of_her_region(client):
    page = Page(
        client.get("/fr/guide/talk-to-someone/", {"region": "souss_massa", "from": "images_adult"})
    )

    html = page.html
    assert html.index('href="tel:19"') < html.index("L&#x27;association partenaire de la région")
    assert '<option value="souss_massa" selected>Souss-Massa</option>' in html
    assert '<input type="hidden" name="from" value="images_adult">' in html
    assert {"class": "back", "href": "/fr/guide/images_adult/"} in page.links
    assert {"class": "button primary", "href": "/fr/report/"} in page.links
    assert html.count("<h3>") == 1  # one placeholder centre per region for now


def test_the_talk_page_ignores_what_it_does_not_know(client):
    page = Page(client.get("/fr/guide/talk-to-someone/", {"region": "atlantis", "from": "x<y"}))

    assert "<h3>" not in page.html
    assert 'name="from"' not in page.html
    assert not any(link.get("class") == "back" for link in page.links)


def test_an_unknown_node_is_not_found(client):
    assert client.get("/fr/guide/nowhere/").status_code == 404


def test_the_guide_writes_no_session_and_no_cookie_and_is_not_cached(client):
    addresses = [
        "/ar/guide/",
        "/ar/guide/danger/",
        "/ar/guide/what/",
        "/ar/guide/blackmail_age/",
        "/ar/guide/blackmail_minor/",
        "/ar/guide/talk-to-someone/?region=oriental&from=blackmail_minor",
        "/api/guide/ar/",
        "/api/guide/ar/nodes/blackmail_minor/",
        "/api/guide/ar/talk/",
    ]
    for address in addresses:
        response = client.get(address)
        assert response.status_code == 200, address
        assert dict(response.cookies) == {}, address
        assert response["Cache-Control"] == "no-store", address
        assert "Set-Cookie" not in response, address
    assert dict(client.cookies) == {}
    assert Session.objects.count() == 0


def test_the_arabic_guide_is_right_to_left_and_speaks_to_her_in_the_feminine(client):
    start = client.get("/ar/guide/").content.decode()
    assert '<html lang="ar" dir="rtl">' in start
    assert "هل أنتِ في خطر الآن؟" in start

    advice = client.get("/ar/guide/images_adult/").content.decode()
    assert '<html lang="ar" dir="rtl">' in advice
    assert "احتفظي بالأدلة بأمان" in advice  # "keep" (feminine imperative) the evidence
    assert "لستِ مضطرة إلى فعل كل شيء اليوم" in advice  # "you (f.) do not have to..."


@pytest.mark.parametrize("language", LANGUAGES)
def test_external_links_send_no_referrer_and_nothing_is_loaded_from_another_host(client, language):
    tree = guide.load()[language]
    addresses = [f"/{language}/guide/{node_id}/" for node_id in tree.nodes]
    addresses += [f"/{language}/guide/", f"/{language}/guide/talk-to-someone/?region=oriental"]
    external = set()
    for address in addresses:
        page = Page(client.get(address))
        for link in page.links:
            href = link.get("href", "")
            if href.startswith(("http:", "https:", "//")) and "data-quick-exit" not in link:
                external.add(href)
                assert link.get("rel") == "noopener noreferrer", (address, href)
                assert "target" not in link, (address, href)
        assert page.loads, address  # the site's own stylesheet and script at least
        for loaded in page.loads:
            same_site = loaded.startswith("/") and not loaded.startswith("//")
            assert same_site or loaded.startswith("data:"), (address, loaded)
        assert not re.search(r"<(img|iframe|object|embed|video|audio)\b", page.html), address
    assert {"https://stopncii.org", "https://takeitdown.ncmec.org"} <= external


def test_the_home_page_leads_to_the_guide(client):
    page = Page(client.get("/fr/"))
    assert any(link.get("href") == "/fr/guide/" for link in page.links)


def test_texts_are_shown_as_text_with_their_line_breaks(client, tmp_path, monkeypatch):
    def edit(data):
        by_id(data["nodes"], "start")["hint"] = "Première ligne\nseconde ligne & 2 < 3"

    directory = broken_copy(tmp_path, edit, language="fr")
    monkeypatch.setattr(guide, "CONTENT_DIR", directory)

    html = client.get("/fr/guide/").content.decode()

    assert "Première ligne<br>seconde ligne &amp; 2 &lt; 3" in html


# --- the API, for a messaging bot -----------------------------------------------------------


def walk_api(client, language: str) -> dict[str, dict]:
    """Every node reachable from the start through the API alone, by id."""
    start = client.get(f"/api/guide/{language}/")
    assert start.status_code == 200
    found = {start.json()["id"]: start.json()}
    queue = [start.json()]
    while queue:
        node = queue.pop()
        following = [a["next"] for a in node["answers"]]
        if node["then"]:
            following.append(node["then"]["next"])
        for node_id in following:
            if node_id in found:
                continue
            response = client.get(f"/api/guide/{language}/nodes/{node_id}/")
            assert response.status_code == 200, node_id
            assert dict(response.cookies) == {}
            found[node_id] = response.json()
            queue.append(response.json())
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_bot_walking_the_api_reaches_the_same_cards_as_the_pages(client, language):
    tree = guide.load()[language]

    nodes = walk_api(client, language)

    assert set(nodes) == set(tree.nodes)
    for node_id, node in nodes.items():
        expected = tree.nodes[node_id]
        assert node["language"] == language
        assert node["type"] == expected.type
        assert node["url"] == (
            f"http://testserver/{language}/guide/"
            + ("" if node_id == tree.start else f"{node_id}/")
        )
        if isinstance(expected, guide.Question):
            assert node["text"] == expected.text
            assert [a["next"] for a in node["answers"]] == [a.next for a in expected.answers]
            assert node["cards"] == []
        else:
            assert node["text"] == expected.title
            assert [c["id"] for c in node["cards"]] == [c.id for c in expected.cards]
            for card in node["cards"]:
                assert [a["action"] for a in card["actions"]] == ["report", "talk"]
                assert card["actions"][0]["url"] == f"http://testserver/{language}/report/"
                assert card["actions"][1]["url"].startswith(
                    f"http://testserver/{language}/guide/talk-to-someone/?from="
                )


def test_the_api_gives_the_stopncii_card_with_its_steps_and_link(client):
    node = client.get("/api/guide/en/nodes/images_adult/").json()
    card = next(c for c in node["cards"] if c["id"] == "stopncii")

    assert card["kind"] == "technical"
    assert card["links"] == [{"text": "StopNCII.org", "url": "https://stopncii.org"}]
    steps = next(b for b in card["blocks"] if b["format"] == "steps")
    assert steps["steps"][0] == "Open stopncii.org on the phone where the photo or video is."
    assert node["parent"] == "images_age"


def test_the_api_danger_node_carries_the_emergency_numbers_first(client):
    node = client.get("/api/guide/ar/nodes/danger/").json()

    first = node["cards"][0]
    numbers = next(b for b in first["blocks"] if b["format"] == "emergency_numbers")["numbers"]
    assert [n["number"] for n in numbers] == ["19", "177", "15"]
    assert numbers[0]["name"] == "الشرطة"
    assert node["then"] == {"text": "عندما تكونين في أمان: نصائح لما يحدث لكِ", "next": "what"}


def test_the_api_talk_endpoint_gives_the_numbers_and_her_regions_centre(client):
    everything = client.get("/api/guide/fr/talk/").json()
    assert len(everything["listening_centres"]) >= 12
    assert [n["number"] for n in everything["emergency_numbers"]] == ["19", "177", "15"]

    oriental = client.get("/api/guide/fr/talk/", {"region": "oriental"}).json()
    assert [c["region"] for c in oriental["listening_centres"]] == ["oriental"]
    assert oriental["listening_centres"][0]["region_name"] == "L'Oriental"
    # Nothing of the confirmation flags reaches her, nor a bot.
    assert "to_confirm" not in json.dumps(everything)

    assert client.get("/api/guide/fr/talk/", {"region": "atlantis"}).status_code == 404


@pytest.mark.parametrize(
    "address", ["/api/guide/xx/", "/api/guide/zgh/", "/api/guide/fr/nodes/nowhere/"]
)
def test_the_api_answers_not_found_for_an_unknown_language_or_node(client, address):
    response = client.get(address)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_the_api_is_read_only(client):
    response = client.post("/api/guide/fr/", {}, content_type="application/json")
    assert response.status_code == 405


def test_the_openapi_schema_describes_the_guide_and_is_valid_without_warnings(client, tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/guide/{lang}/",
        "/api/guide/{lang}/nodes/{node_id}/",
        "/api/guide/{lang}/talk/",
    ):
        assert set(paths[path]) == {"get"}
        assert set(paths[path]["get"]["responses"]) == {"200", "404"}
        assert paths[path]["get"]["security"] == [{}]  # open to anyone
    lang = next(p for p in paths["/api/guide/{lang}/"]["get"]["parameters"] if p["name"] == "lang")
    assert lang["schema"]["enum"] == sorted(LANGUAGES)
    assert "cards" in schema["components"]["schemas"]["GuideNode"]["properties"]


def test_article_numbers_keep_their_order_in_arabic(client):
    # Without a left-to-right mark, "الفصل 447-1" is displayed as "الفصل 1-447".
    arabic = client.get("/ar/guide/images_adult/").content.decode()
    french = client.get("/fr/guide/images_adult/").content.decode()

    assert "الفصل \u200e447-1:" in arabic
    assert "الفصل \u200e503-1-1:" in arabic
    assert "Article 447-1 :" in french  # nothing added where it is not needed
    assert "\u200e" not in french


def test_the_staff_check_command_lists_what_is_still_to_confirm():
    out = io.StringIO()
    call_command("check_guide", stdout=out)
    out = out.getvalue()
    assert "every check passed" in out
    assert "fr.json: 15 still to confirm before launch" in out
    assert "  - emergency number police (19)" in out
