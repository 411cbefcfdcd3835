"""Forms of the pages. They only parse input into types; the rules stay in the case services.

Text that a service insists on (a reason, a note) is optional here on purpose: the service
says why it is needed, and the page shows that message next to the field with a 422.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.models import Department
from civicgrid.cases.models import State, Urgency
from civicgrid.cases.services.intake import MAX_DESCRIPTION, MAX_PHOTOS
from civicgrid.geo.coords import CRS

from .selectors import category_name, category_tree, management_grid_choices

PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{2,30}$")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several images in one input. Their content is checked by `upload_create`, not here."""

    widget = MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("At most %(n)d photos.") % {"n": MAX_PHOTOS})
        return files


def photos_field(label: Any, *, camera: bool = True) -> PhotosField:
    field = PhotosField(label=label, required=False, help_text=_("JPEG, PNG or WebP, up to 9."))
    if camera:
        # Opens the back camera straight away on a phone; a desktop shows the file chooser.
        field.widget.attrs["capture"] = "environment"
    return field


def _choices(field: forms.Field, choices: list[Any]) -> None:
    cast(forms.ChoiceField, field).choices = choices


def category_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (f"{major.code} {category_name(major)}", [(c.code, category_name(c)) for c in minors])
        for major, minors in category_tree()
    ]


class ReportForm(forms.Form):
    """One report form in three variants: a resident, an inspector on patrol, a hotline call."""

    reporter_phone = forms.CharField(label=_("Caller phone"), max_length=32, required=False)
    reporter_name = forms.CharField(label=_("Caller name"), max_length=100, required=False)
    major = forms.ChoiceField(label=_("Kind of problem"), required=False)
    category = forms.ChoiceField(label=_("Category"))
    description = forms.CharField(
        label=_("What is wrong?"),
        max_length=MAX_DESCRIPTION,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    address = forms.CharField(
        label=_("Address or landmark"),
        max_length=255,
        required=False,
        help_text=_("For example: the gate of building 12, 100 Huaihai Road."),
    )
    lon = forms.FloatField(
        label=_("Longitude"),
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    lat = forms.FloatField(
        label=_("Latitude"),
        required=False,
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    crs = forms.ChoiceField(
        choices=[(c.value, c.value) for c in CRS],
        initial=CRS.WGS84,
        required=False,
        widget=forms.HiddenInput,
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    photos = photos_field(_("Photos"))
    fixed_on_spot = forms.BooleanField(label=_("I fixed it on the spot"), required=False)
    fix_note = forms.CharField(
        label=_("What did you do?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    VARIANT_FIELDS = {
        "resident": {"reporter_name", "urgency", "fixed_on_spot", "fix_note"},
        "patrol": {"reporter_phone", "reporter_name"},
        "intake": {"fixed_on_spot", "fix_note", "photos"},
    }

    def __init__(self, *args: Any, variant: str = "resident", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.variant = variant
        for name in self.VARIANT_FIELDS[variant]:
            del self.fields[name]
        tree = category_tree()
        if variant == "resident":
            self.fields["reporter_phone"].label = _("Your phone (optional)")
            self.fields["reporter_phone"].help_text = _("Only staff see it, to call you back.")
        _choices(
            self.fields["major"],
            [("", _("All kinds")), *[(m.code, category_name(m)) for m, _c in tree]],
        )
        _choices(self.fields["category"], [("", _("Choose a category")), *category_choices()])
        # Picking a major class narrows the minor select to its classes (two-level picker).
        self.fields["major"].widget.attrs.update(
            {
                "hx-get": reverse("web:category_options"),
                "hx-target": "#id_category",
                "hx-swap": "innerHTML",
            }
        )
        if "reporter_phone" in self.fields:
            self.fields["reporter_phone"].widget.attrs.update(
                {"inputmode": "tel", "autocomplete": "tel"}
            )
        self.fields["description"].widget.attrs["maxlength"] = MAX_DESCRIPTION

    def clean_reporter_phone(self) -> str:
        phone = self.cleaned_data.get("reporter_phone", "").strip()
        if phone and not PHONE_RE.match(phone):
            raise forms.ValidationError(_("Enter a phone number of digits, spaces or dashes."))
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        typed_badly = self.errors.get("lon") or self.errors.get("lat")
        if not typed_badly and (data.get("lon") is None or data.get("lat") is None):
            self.add_error("lon", _("Choose the place: tap the map or use your phone's location."))
        return data


class TrackForm(forms.Form):
    number = forms.CharField(
        label=_("Case number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class SatisfactionField(forms.TypedChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            label=_("How satisfied are you with the result?"),
            choices=[
                (5, _("5 – very satisfied")),
                (4, _("4 – satisfied")),
                (3, _("3 – acceptable")),
                (2, _("2 – dissatisfied")),
                (1, _("1 – very dissatisfied")),
            ],
            coerce=int,
            widget=forms.RadioSelect,
            **kwargs,
        )


class FeedbackForm(forms.Form):
    satisfaction = SatisfactionField()
    text = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput)


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still wrong?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput)


# --- Case actions (staff) ---


def _text(label: Any, rows: int = 2) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": rows})
    )


class NoteForm(forms.Form):
    note = _text(_("Note (optional)"))


class ReasonForm(forms.Form):
    reason = _text(_("Reason"))


class EvidenceForm(forms.Form):
    note = _text(_("What was done?"), rows=3)
    photos = photos_field(_("Photos of the result"))


class VerifyForm(forms.Form):
    ok = forms.TypedChoiceField(
        label=_("Is it fixed?"),
        choices=[("yes", _("Yes, fixed")), ("no", _("No, still wrong"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    note = _text(_("What did you see?"))
    photos = photos_field(_("After photos"))


class MergeForm(forms.Form):
    """`into` comes from the duplicate suggestions (radio buttons); `other` is typed by hand."""

    into = forms.CharField(label=_("Merge into"), required=False, max_length=20)
    other = forms.CharField(label=_("or another case number"), required=False, max_length=20)
    note = _text(_("Note (optional)"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number = (data.get("other") or "").strip() or (data.get("into") or "").strip()
        if not number:
            self.add_error("into", _("Choose the case to merge into."))
        data["into"] = number
        return data


class DispatchForm(forms.Form):
    lead = forms.ModelChoiceField(
        label=_("Lead department"),
        queryset=Department.objects.filter(is_active=True),
        to_field_name="code",
        empty_label=_("Choose a department"),
    )
    co_handlers = forms.ModelMultipleChoiceField(
        label=_("Co-handlers (optional)"),
        queryset=Department.objects.filter(is_active=True),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = _text(_("Instructions (optional)"))


class TransferForm(forms.Form):
    grid = forms.ChoiceField(label=_("To management grid"))
    reason = _text(_("Reason"))

    def __init__(self, *args: Any, exclude_grid: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(
            self.fields["grid"],
            [
                ("", _("Choose a grid")),
                *[(c, label) for c, label in management_grid_choices() if c != exclude_grid],
            ],
        )


class ExtendForm(forms.Form):
    until = forms.DateTimeField(
        label=_("New deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    reason = _text(_("Reason"))

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        return until if timezone.is_aware(until) else timezone.make_aware(until)


class StaffFeedbackForm(forms.Form):
    """An operator records the reporter's rating from a follow-up call (回访)."""

    satisfaction = SatisfactionField()
    text = _text(_("What the reporter said (optional)"))


class CaseFilterForm(forms.Form):
    """Filters of the lists and the map; empty fields filter nothing."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ChoiceField(label=_("Category"), required=False)
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args: Any, grids: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cats: list[tuple[str, Any]] = [("", _("All categories"))]
        for major, minors in category_tree():
            cats.append((major.code, f"{major.code} {category_name(major)}"))
            cats.extend((c.code, f"— {category_name(c)}") for c in minors)
        _choices(self.fields["category"], cats)
        _choices(self.fields["grid"], [("", _("All my grids")), *grids])
        _choices(self.fields["state"], [("", _("All open")), *State.choices])

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for `CaseFilters` (the state is handled by the caller)."""
        if not self.is_valid():
            return {}
        d = self.cleaned_data
        return {
            "q": d["q"] or None,
            "category": d["category"] or None,
            "grid": d["grid"] or None,
            "overdue": True if d["overdue"] else None,
        }
