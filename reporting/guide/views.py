"""The first-response guide's pages: a few questions, then advice cards (issue 8).

Nothing she chooses is kept.  The page she is on *is* her place in the tree (its node id
is in the address), so these views read no session, write no cookie and post no form:
links and one GET form, complete without scripts.  The security middleware's
``Cache-Control: no-store`` keeps the pages out of the browser's cache, like every page.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from reporting import guide
from reporting.facts import Region
from reporting.guide import KIND_LABELS, node_url


def _guide() -> guide.Guide:
    found = guide.for_language(get_language())
    if found is None:
        raise Http404
    return found


def _render_node(request: HttpRequest, tree: guide.Guide, node: guide.Node) -> HttpResponse:
    parent = tree.parents.get(node.id)
    back = node_url(tree, parent) if parent else None
    start = node_url(tree, tree.start)
    context = {
        "guide": tree,
        "node": node,
        "at_start": node.id == tree.start,
        "back": back,
        # One link is enough when the previous question is the first one.
        "restart": start if node.id != tree.start and back != start else None,
    }
    if isinstance(node, guide.Question):
        context["answers"] = [(a.text, node_url(tree, a.next)) for a in node.answers]
        return render(request, "reporting/guide/question.html", context)
    context["cards"] = [(card, KIND_LABELS[card.kind]) for card in node.cards]
    context["then_url"] = node_url(tree, node.then.next) if node.then else None
    context["talk_url"] = f"{reverse('reporting:guide_talk')}?from={node.id}"
    return render(request, "reporting/guide/advice.html", context)


@require_safe
def guide_start(request: HttpRequest) -> HttpResponse:
    tree = _guide()
    return _render_node(request, tree, tree.nodes[tree.start])


@require_safe
def guide_node(request: HttpRequest, node_id: str) -> HttpResponse:
    tree = _guide()
    node = tree.node(node_id)
    if node is None:
        raise Http404
    return _render_node(request, tree, node)


@require_safe
def guide_talk(request: HttpRequest) -> HttpResponse:
    """Emergency numbers first, then the listening centre of the region she picks."""
    tree = _guide()
    regions = [(value, label) for value, label in Region.choices if value != Region.NOT_SAID]
    region = request.GET.get("region", "")
    if region not in dict(regions):
        region = ""
    came_from = request.GET.get("from", "")
    if tree.node(came_from) is None:
        came_from = ""
    return render(
        request,
        "reporting/guide/talk.html",
        {
            "guide": tree,
            "regions": regions,
            "region": region,
            "region_label": dict(regions).get(region, ""),
            "centres": tree.centres_in(region) if region else (),
            "came_from": came_from,
            "back": node_url(tree, came_from) if came_from else None,
            "restart": node_url(tree, tree.start),
        },
    )
