"""The vocabularies of routing facts: coarse, non-identifying, stored in plaintext.

Routing, triage, deadlines and statistics run on these alone (../shared/DESIGN.md).
Everything a reporter writes in her own words is content, and is sealed instead.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class GBVIMSType(models.TextChoices):
    """The six core incident types of the GBV Information Management System, so that
    counts stay comparable with other GBV services.  GBVIMS classifies by what happened,
    not by the channel: technology-facilitated violence maps onto the same six types."""

    RAPE = "rape", _("Rape")
    SEXUAL_ASSAULT = "sexual_assault", _("Sexual assault")
    PHYSICAL_ASSAULT = "physical_assault", _("Physical assault")
    FORCED_MARRIAGE = "forced_marriage", _("Forced marriage")
    DENIAL_OF_RESOURCES = "denial_of_resources", _("Denial of resources, opportunities or services")
    PSYCHOLOGICAL = "psychological", _("Psychological or emotional abuse")


class Category(models.TextChoices):
    CYBERHARASSMENT = "cyberharassment", _("Harassment online")
    DOXXING = "doxxing", _("My address or personal details were published")
    INTIMATE_IMAGES = "intimate_images", _("Intimate images shared without my consent")
    SEXTORTION = "sextortion", _("Blackmail with intimate images (sextortion)")
    IMPERSONATION = "impersonation", _("Someone pretends to be me")
    THREATS = "threats", _("Threats")
    ACCOUNT_TAKEOVER = "account_takeover", _("Someone took over my account")
    OTHER = "other", _("Something else")


# GBVIMS "sexual assault" requires physical contact, so image-based abuse and sextortion
# are psychological abuse there; losing control of one's accounts (and often of money
# and contacts with them) is a denial of resources.  "Other" takes the broadest
# non-contact type until a caseworker classifies it.
GBVIMS_TYPE = {
    Category.CYBERHARASSMENT: GBVIMSType.PSYCHOLOGICAL,
    Category.DOXXING: GBVIMSType.PSYCHOLOGICAL,
    Category.INTIMATE_IMAGES: GBVIMSType.PSYCHOLOGICAL,
    Category.SEXTORTION: GBVIMSType.PSYCHOLOGICAL,
    Category.IMPERSONATION: GBVIMSType.PSYCHOLOGICAL,
    Category.THREATS: GBVIMSType.PSYCHOLOGICAL,
    Category.ACCOUNT_TAKEOVER: GBVIMSType.DENIAL_OF_RESOURCES,
    Category.OTHER: GBVIMSType.PSYCHOLOGICAL,
}


class Region(models.TextChoices):
    """Morocco's twelve regions (2015 division)."""

    TANGER_TETOUAN_AL_HOCEIMA = "tanger_tetouan_al_hoceima", _("Tanger-Tétouan-Al Hoceïma")
    ORIENTAL = "oriental", _("Oriental")
    FES_MEKNES = "fes_meknes", _("Fès-Meknès")
    RABAT_SALE_KENITRA = "rabat_sale_kenitra", _("Rabat-Salé-Kénitra")
    BENI_MELLAL_KHENIFRA = "beni_mellal_khenifra", _("Béni Mellal-Khénifra")
    CASABLANCA_SETTAT = "casablanca_settat", _("Casablanca-Settat")
    MARRAKECH_SAFI = "marrakech_safi", _("Marrakech-Safi")
    DRAA_TAFILALET = "draa_tafilalet", _("Drâa-Tafilalet")
    SOUSS_MASSA = "souss_massa", _("Souss-Massa")
    GUELMIM_OUED_NOUN = "guelmim_oued_noun", _("Guelmim-Oued Noun")
    LAAYOUNE_SAKIA_EL_HAMRA = "laayoune_sakia_el_hamra", _("Laâyoune-Sakia El Hamra")
    DAKHLA_OUED_ED_DAHAB = "dakhla_oued_ed_dahab", _("Dakhla-Oued Ed-Dahab")
    NOT_SAID = "not_said", _("I prefer not to say")


class Language(models.TextChoices):
    """The language she wants to be answered in."""

    ARABIC = "ar", _("Arabic or Darija")
    FRENCH = "fr", _("French")
    AMAZIGH = "zgh", _("Amazigh (Tamazight)")
    ENGLISH = "en", _("English")


class AgeBand(models.TextChoices):
    UNDER_18 = "under_18", _("Under 18")
    FROM_18_TO_24 = "18_24", _("18 to 24")
    FROM_25_TO_34 = "25_34", _("25 to 34")
    FROM_35_TO_49 = "35_49", _("35 to 49")
    FROM_50 = "50_plus", _("50 or over")
    NOT_SAID = "not_said", _("I prefer not to say")


class Service(models.TextChoices):
    LISTENING = "listening", _("Someone to listen to me")
    PSYCHOLOGICAL = "psychological", _("Psychological support")
    LEGAL = "legal", _("Legal advice")
    TAKEDOWN = "takedown", _("Help taking content down")


class UrgencySignal(models.TextChoices):
    """Asked first, each as a yes/no question; any of them makes a case urgent."""

    # The question says "now" once (forms.UrgencyForm); each signal need not repeat it.
    PHYSICAL_DANGER = "physical_danger", _("I am in physical danger")
    THREAT_TIME_PLACE = "threat_time_place", _("A threat names a time or a place")
    IMAGES_SPREADING = "images_spreading", _("Intimate images of me are being spread")
    EXTORTION_DEADLINE = "extortion_deadline", _("Someone demands something from me by a deadline")
    SELF_HARM = "self_harm", _("I have thoughts of hurting myself")
    LOCATION_TRACKING = "location_tracking", _("Someone is tracking my phone or where I am")
    MINOR = "minor", _("I am under 18")
