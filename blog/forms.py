"""Blog forms: a post in the editor, and a comment."""

from __future__ import annotations

from typing import Any

from django import forms

from blog.models import Post, Tag


class PostForm(forms.Form):
    """A post's title, Markdown body and tags; the author comes from the session.

    The button pressed says what to do with it (``action``): preview, save as a draft, publish.
    """

    title = forms.CharField(max_length=200, strip=True)
    body = forms.CharField(
        label="Body (Markdown)",
        widget=forms.Textarea(attrs={"rows": 16}),
        strip=True,
        help_text="Markdown: # headings, **bold**, *italics*, [links](https://example.com), lists and code.",
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.only("id", "name", "slug"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    ACTIONS = ("preview", "draft", "save", "publish", "unpublish")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action = (self.data.get("action") if self.is_bound else None) or "draft"
        if self.action not in self.ACTIONS:
            self.action = "draft"

    @classmethod
    def initial_for(cls, post: Post) -> dict[str, Any]:
        """Return the form's initial values for editing ``post``."""
        return {"title": post.title, "body": post.body, "tags": post.tag_list}


class CommentForm(forms.Form):
    """A comment's text (Markdown); the post and author come from the URL and the session."""

    body = forms.CharField(
        label="Your comment",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        strip=True,
        help_text="Markdown works here: **bold**, *italics*, [links](https://example.com), `code`.",
    )
