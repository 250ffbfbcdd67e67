"""The intake steps.  Each form holds routing facts, except the last, which holds her
words (sealed on arrival, never kept in the session).

The questions are written once each, in small forms that the API reuses for its
messages; a page of the steps asks several of them (``SituationForm``, ``AboutYouAndHelpForm``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from reporting import facts

# Django puts ":" after a label unless it ends with one of these characters (it reads them
# through gettext).  The Arabic catalogue adds "؟", so an Arabic question ends "؟", not "؟:".
LABEL_ENDINGS = gettext_noop(":?.!")

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
# Characters.  A pasted chat or a long account must go in whole: about forty pages.
NARRATIVE_LIMIT = 100_000
SHORT_LIMIT = 2_000
# Her browser must not keep what she types here (Chrome's session files, form restore on
# Back, suggestions to whoever types in the box next on her phone).
PRIVATE = {"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}


class _KeepsHerWords:
    """Text boxes without the ``maxlength`` attribute: with it, the browser cuts a paste
    silently; without it, a text over the limit comes back whole with a message."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("maxlength", None)


class UrgencyForm(forms.Form):
    urgency = forms.MultipleChoiceField(
        label=_("Tick what is true now, if anything."),
        choices=[c for c in facts.UrgencySignal.choices if c[0] != facts.UrgencySignal.MINOR],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class WhatHappenedForm(forms.Form):
    category = forms.ChoiceField(
        label=_("What is happening to you?"),
        choices=facts.Category.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose what is closest to what is happening.")},
    )


class AboutYouForm(forms.Form):
    region = forms.ChoiceField(
        label=_("Where do you live?"),
        choices=[("", _("Choose a region")), *facts.Region.choices],
        error_messages={"required": _("Please choose a region, or “I prefer not to say”.")},
    )
    language = forms.ChoiceField(
        label=_("In which language should we answer you?"),
        choices=facts.Language.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose a language.")},
    )
    age_band = forms.ChoiceField(
        label=_("How old are you?"),
        choices=facts.AgeBand.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose an age, or “I prefer not to say”.")},
    )


class HelpForm(forms.Form):
    services = forms.MultipleChoiceField(
        label=_("What help would you like?"),
        choices=facts.Service.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Please choose at least one kind of help.")},
    )
    consent_share = forms.ChoiceField(
        label=_("May we pass your report to a partner or a lawyer who can help you?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please answer yes or no.")},
    )
    consent_statistics = forms.ChoiceField(
        label=_("May we count it, without anything that identifies you, in national statistics?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please answer yes or no.")},
    )


class SituationForm(UrgencyForm, WhatHappenedForm):
    """The first page: whether she is safe now (always the first question), then what
    is happening."""

    field_order = ["urgency", "category"]


class AboutYouAndHelpForm(AboutYouForm, HelpForm):
    """The second page: where she lives, the language to answer her in (it comes
    answered with the page's language), her age, the help she wants, and both consents
    (never answered for her)."""

    field_order = [
        "region",
        "language",
        "age_band",
        "services",
        "consent_share",
        "consent_statistics",
    ]


TOO_LONG = _(
    "This text has %(show_value)d characters; it can hold %(limit_value)d. Nothing was "
    "sent and your text is still here: shorten it, and send the rest later as a message."
)


class TellUsForm(_KeepsHerWords, forms.Form):
    narrative = forms.CharField(
        label=_("What happened? In any language."),
        widget=forms.Textarea(attrs={"rows": 8, **PRIVATE}),
        max_length=NARRATIVE_LIMIT,
        error_messages={
            "required": _("Please tell us, even in a few words, what happened."),
            "max_length": TOO_LONG,
        },
    )
    identifiers = forms.CharField(
        label=_("Who is doing this? Account names, phone numbers, links (optional)"),
        widget=forms.Textarea(attrs={"rows": 3, **PRIVATE}),
        max_length=SHORT_LIMIT,
        required=False,
        error_messages={"max_length": TOO_LONG},
    )
    contact = forms.CharField(
        label=_("A safe way to reach you (optional)"),
        help_text=_("Only if nobody else reads it."),
        max_length=SHORT_LIMIT,
        required=False,
        error_messages={"max_length": TOO_LONG},
        widget=forms.TextInput(attrs=PRIVATE),
    )

    def clean(self):
        cleaned = super().clean()
        for name in ("narrative", "identifiers", "contact"):
            value = cleaned.get(name)
            # NUL cannot be stored; U+FFFD is what undecodable bytes (not UTF-8) became.
            if value and ("\x00" in value or "\ufffd" in value):
                self.add_error(name, _("This text contains characters we cannot keep."))
        return cleaned


class ReceiptForm(forms.Form):
    code = forms.CharField(
        label=_("Your receipt code"),
        max_length=64,
        # Left to right in every language, as on her receipt and her paper: in an Arabic
        # page the four groups would otherwise show in reverse order.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "dir": "ltr", **PRIVATE}),
        error_messages={"required": _("Please type the 16 digits of your receipt code.")},
    )


class MessageForm(_KeepsHerWords, forms.Form):
    text = forms.CharField(
        label=_("Write to the person helping you"),
        widget=forms.Textarea(attrs={"rows": 4, **PRIVATE}),
        max_length=NARRATIVE_LIMIT,
        error_messages={
            "required": _("Please write your message before sending it."),
            "max_length": TOO_LONG,
        },
    )

    def clean_text(self):
        text = self.cleaned_data["text"]
        if "\x00" in text or "\ufffd" in text:
            raise forms.ValidationError(_("This text contains characters we cannot keep."))
        return text


class ConsentAnswerForm(forms.Form):
    """Her yes or no to a question about passing her report on (two buttons)."""

    question = forms.IntegerField(widget=forms.HiddenInput)
    answer = forms.ChoiceField(choices=YES_NO)
