"""``{% extra_staff_links as links %}``: the staff menu's links that other apps add
(casework/extensions.py).  A tag, not a context processor: the menu is on every staff
page, whichever view renders it, and only staff pages pay for it."""

from django import template

from casework import extensions

register = template.Library()


@register.simple_tag(takes_context=True)
def extra_staff_links(context) -> list[str]:
    return extensions.staff_links(context["request"])
