"""The intake steps.  Each form holds routing facts, except the last, which holds her
words (sealed on arrival, never kept in the session)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from reporting import facts

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
NARRATIVE_LIMIT = 20_000  # characters: about eight pages, far more than anyone types
SHORT_LIMIT = 2_000


class UrgencyForm(forms.Form):
    urgency = forms.MultipleChoiceField(
        label=_("Tick everything that is true now. You can tick nothing."),
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
        label=_("May we pass your report to a partner association or a lawyer if that helps you?"),
        help_text=_("Only with a partner who can help with what you asked for."),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please answer yes or no.")},
    )
    consent_statistics = forms.ChoiceField(
        label=_(
            "May we count your report, without anything that identifies you, "
            "in national statistics on online violence?"
        ),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please answer yes or no.")},
    )


class TellUsForm(forms.Form):
    narrative = forms.CharField(
        label=_("What happened? Write it in your own words, in any language."),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=NARRATIVE_LIMIT,
        error_messages={
            "required": _("Please tell us, even in a few words, what happened."),
            "max_length": _(
                "Please keep it under %(limit_value)d characters; "
                "you can add more later with your receipt code."
            ),
        },
    )
    identifiers = forms.CharField(
        label=_("Who is doing this? Account names, phone numbers, links (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=SHORT_LIMIT,
        required=False,
    )
    contact = forms.CharField(
        label=_("A safe way to reach you, if you want one (optional)"),
        help_text=_(
            "Only if nobody else reads it. You can also just come back with your receipt code."
        ),
        max_length=SHORT_LIMIT,
        required=False,
        # Her browser must not remember her safe contact and offer it to whoever types
        # in this box next on her phone.
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
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
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"required": _("Please type the 16 digits of your receipt code.")},
    )


class MessageForm(forms.Form):
    text = forms.CharField(
        label=_("Write to the person helping you"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=SHORT_LIMIT * 5,
        error_messages={"required": _("Please write your message before sending it.")},
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
