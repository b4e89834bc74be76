from __future__ import annotations

from django import forms

from stories.models import ContentReport


class DigestSubscribeForm(forms.Form):
    email = forms.EmailField(label="Your e-mail address", max_length=254)


class ContentReportForm(forms.ModelForm):
    class Meta:
        model = ContentReport
        fields = ["target", "reason", "quoted_text", "message", "reporter_email"]
        labels = {
            "target": "Which part of the page",
            "reason": "What is wrong",
            "quoted_text": "The passage (optional)",
            "message": "Tell us more (optional)",
            "reporter_email": "Your e-mail, if you would like an answer (optional)",
        }
        widgets = {
            "quoted_text": forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
            "message": forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
        }

    def clean_quoted_text(self) -> str:
        return self._bounded("quoted_text")

    def clean_message(self) -> str:
        return self._bounded("message")

    def _bounded(self, name: str) -> str:
        value = self.cleaned_data.get(name, "").strip()
        if len(value) > 2000:
            raise forms.ValidationError(f"Keep it under 2000 characters (this has {len(value)}).")
        return value

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        reason = cleaned.get("reason")
        if reason == ContentReport.Reason.OTHER and not cleaned.get("message"):
            self.add_error("message", "Tell us what is wrong when you choose “Other”.")
        return cleaned
