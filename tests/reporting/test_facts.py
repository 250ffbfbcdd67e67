"""The routing facts a victim chooses from, in her language."""

from __future__ import annotations

import pytest
from django.utils import translation

from reporting import facts

VOCABULARIES = [
    facts.Category,
    facts.Region,
    facts.Language,
    facts.AgeBand,
    facts.Service,
    facts.UrgencySignal,
    facts.GBVIMSType,
]


def test_every_category_counts_under_one_gbvims_core_type():
    assert set(facts.GBVIMS_TYPE) == set(facts.Category)
    assert set(facts.GBVIMS_TYPE.values()) <= set(facts.GBVIMSType)


def test_the_twelve_regions_of_morocco_are_offered_and_one_may_decline():
    regions = [r for r in facts.Region if r != facts.Region.NOT_SAID]
    assert len(regions) == 12


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_every_choice_reads_in_arabic_script(vocabulary):
    with translation.override("ar"):
        labels = [str(label) for label in vocabulary.labels]
    for label in labels:
        arabic = sum("\u0600" <= c <= "\u06ff" for c in label)
        assert arabic > len(label) / 3, f"not translated to Arabic: {label!r}"


@pytest.mark.parametrize(
    "vocabulary", [v for v in VOCABULARIES if v is not facts.Region], ids=lambda v: v.__name__
)
def test_every_choice_reads_in_french(vocabulary):
    # Regions are proper names, written the same in French and English.
    with translation.override("en"):
        english = [str(label) for label in vocabulary.labels]
    with translation.override("fr"):
        french = [str(label) for label in vocabulary.labels]
    same = [e for e, f in zip(english, french, strict=True) if e == f]
    assert same == []
