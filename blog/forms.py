"""Blog forms."""

from __future__ import annotations

from django import forms


class CommentForm(forms.Form):
    """A comment's text; the post and author come from the URL and the session."""

    body = forms.CharField(
        label="Your comment",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        strip=True,
    )
