"""The urgency rubric: how soon a case must be looked at, and why.  Pure functions over
routing facts, computed once when the case opens and shown on it with its reasons.

Immediate — any danger sign she ticked, or being under 18: physical danger now, a
threat naming a time or a place, intimate images being spread now, an extortion
deadline, thoughts of self-harm, her phone or location tracked, a minor.
High — no sign ticked, but harm that grows by the hour once it starts: intimate images,
sextortion, threats, published personal details.
Normal — everything else.

Each level has its acknowledgement delay (settings CASEWORK_SLA_URGENT_HOURS,
CASEWORK_SLA_HIGH_HOURS, CASEWORK_SLA_HOURS).  docs/CASEWORK.md explains the rubric to
caseworkers; change it there and here together.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from reporting.facts import Category, UrgencySignal


class Priority(models.IntegerChoices):
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    IMMEDIATE = 3, _("Immediate")


# Why, in the caseworker's words (the signals' own labels speak to the reporter).
REASONS = {
    UrgencySignal.PHYSICAL_DANGER: _("She says she is in physical danger now"),
    UrgencySignal.THREAT_TIME_PLACE: _("A threat names a time or a place"),
    UrgencySignal.IMAGES_SPREADING: _("Intimate images of her are being spread now"),
    UrgencySignal.EXTORTION_DEADLINE: _("Someone demands something from her by a deadline"),
    UrgencySignal.SELF_HARM: _("She has thoughts of hurting herself"),
    UrgencySignal.LOCATION_TRACKING: _("Her phone or where she is is being tracked"),
    UrgencySignal.MINOR: _("She is under 18"),
    Category.INTIMATE_IMAGES: _("Intimate images: harm grows as they spread"),
    Category.SEXTORTION: _("Sextortion: blackmailers often set short deadlines"),
    Category.THREATS: _("Threats can turn into violence"),
    Category.DOXXING: _("Her address or personal details are public"),
}
HIGH_CATEGORIES = (
    Category.INTIMATE_IMAGES,
    Category.SEXTORTION,
    Category.THREATS,
    Category.DOXXING,
)


@dataclass(frozen=True)
class Assessment:
    priority: int
    reasons: list[str]  # keys of REASONS, in the order of the rubric

    @property
    def sla_hours(self) -> int:
        return {
            Priority.IMMEDIATE: settings.CASEWORK_SLA_URGENT_HOURS,
            Priority.HIGH: settings.CASEWORK_SLA_HIGH_HOURS,
        }.get(self.priority, settings.CASEWORK_SLA_HOURS)


def assess(signals: list[str], category: str) -> Assessment:
    ticked = [signal for signal in UrgencySignal.values if signal in signals]
    if ticked:
        return Assessment(Priority.IMMEDIATE, ticked)
    if category in HIGH_CATEGORIES:
        return Assessment(Priority.HIGH, [category])
    return Assessment(Priority.NORMAL, [])


def reason_labels(reasons: list[str]) -> list[str]:
    return [str(REASONS[r]) for r in reasons if r in REASONS]
