"""The first-response guide for a messaging bot: the same tree as the pages, as JSON.

A bot asks the start node, shows the question with its answers as buttons, and asks the
node each answer leads to, until it reaches advice: cards, each ending with "make a
report" and "talk to someone" (the emergency numbers and listening centres, from the
talk endpoint).  Nothing is kept: no account, no session, no cookie; the bot carries the
node id, as the page's address does on the website.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reporting import guide
from reporting.facts import Region
from reporting.guide import KIND_LABELS, node_url
from reporting.serializers import ErrorSerializer, GuideNodeSerializer, GuideTalkSerializer

LANG = OpenApiParameter(
    "lang",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=sorted(guide.language_files()),
    description="The guide's language. Every language holds the same tree (the same "
    "node ids); only the texts differ.",
)
NODE_ID = OpenApiParameter(
    "node_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="A node id, from an answer's or a `then`'s `next`.",
)
REGION = OpenApiParameter(
    "region",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    enum=[r.value for r in Region if r != Region.NOT_SAID],
    description="Only the listening centres of this region.",
)
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No guide in this language, no such node, or no such region."
)


def _tree(lang: str) -> guide.Guide:
    found = guide.for_language(lang)
    if found is None:
        raise NotFound
    return found


def _numbers(tree: guide.Guide) -> list[dict]:
    return [{"name": e.name, "number": e.number, "note": e.note} for e in tree.emergency_numbers]


def _block(tree: guide.Guide, block: guide.Block) -> dict:
    return {
        "format": block.kind,
        "text": block.text,
        "steps": list(block.steps),
        "numbers": _numbers(tree) if block.kind == "emergency_numbers" else [],
    }


def _node(request: Request, tree: guide.Guide, node: guide.Node) -> dict:
    # Labels and addresses in the guide's language, whatever the request's
    # Accept-Language: the web addresses carry it too (/ar/guide/...).
    with translation.override(tree.language):
        labels = {
            "report": str(translation.gettext("Make a report")),
            "talk": str(translation.gettext("Talk to someone")),
        }
        talk = f"{reverse('reporting:guide_talk')}?from={node.id}"
        urls = {"report": reverse("reporting:intake"), "talk": talk}
        data = {
            "language": tree.language,
            "id": node.id,
            "type": node.type,
            "parent": tree.parents.get(node.id),
            "url": request.build_absolute_uri(node_url(tree, node.id)),
            "answers": [],
            "cards": [],
            "then": None,
        }
        if isinstance(node, guide.Question):
            data |= {
                "text": node.text,
                "hint": node.hint,
                "answers": [{"text": a.text, "next": a.next} for a in node.answers],
            }
            return data
        data |= {
            "text": node.title,
            "hint": node.intro,
            "then": {"text": node.then.text, "next": node.then.next} if node.then else None,
            "cards": [
                {
                    "id": card.id,
                    "kind": card.kind,
                    "kind_label": str(KIND_LABELS[card.kind]),
                    "title": card.title,
                    "blocks": [_block(tree, b) for b in card.blocks],
                    "links": [{"text": link.text, "url": link.url} for link in card.links],
                    "actions": [
                        {
                            "action": action,
                            "label": labels[action],
                            "url": request.build_absolute_uri(urls[action]),
                        }
                        for action in card.actions
                    ],
                }
                for card in node.cards
            ],
        }
        return data


class _GuideView(APIView):
    # Anyone may read the guide: no authentication (so no session is read or written)
    # and, against the project's IsAuthenticated default, AllowAny.
    authentication_classes = []
    permission_classes = [AllowAny]


class GuideStart(_GuideView):
    @extend_schema(
        operation_id="guide_start",
        summary="The guide's first question",
        description="Start here, then follow each answer's `next` to "
        "/api/guide/{lang}/nodes/{next}/ until a node of type advice.",
        parameters=[LANG],
        responses={200: GuideNodeSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, lang: str) -> Response:
        tree = _tree(lang)
        return Response(GuideNodeSerializer(_node(request, tree, tree.nodes[tree.start])).data)


class GuideNode(_GuideView):
    @extend_schema(
        operation_id="guide_node",
        summary="A question, or an advice page with its cards",
        parameters=[LANG, NODE_ID],
        responses={200: GuideNodeSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, lang: str, node_id: str) -> Response:
        tree = _tree(lang)
        node = tree.node(node_id)
        if node is None:
            raise NotFound
        return Response(GuideNodeSerializer(_node(request, tree, node)).data)


class GuideTalk(_GuideView):
    @extend_schema(
        operation_id="guide_talk",
        summary="Talk to someone: emergency numbers and listening centres",
        description="The emergency numbers (show them first), and the listening centres "
        "of every region, or of one.",
        parameters=[LANG, REGION],
        responses={200: GuideTalkSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, lang: str) -> Response:
        tree = _tree(lang)
        region = request.query_params.get("region", "")
        if region and region not in REGION.enum:
            raise NotFound
        centres = tree.centres_in(region) if region else tree.listening_centres
        with translation.override(tree.language):
            names = {value: str(label) for value, label in Region.choices}
            body = {
                "language": tree.language,
                "emergency_numbers": _numbers(tree),
                "listening_centres": [
                    {
                        "region": c.region,
                        "region_name": names[c.region],
                        "name": c.name,
                        "description": c.description,
                        "phone": c.phone,
                        "address": c.address,
                    }
                    for c in centres
                ],
            }
        return Response(GuideTalkSerializer(body).data)
