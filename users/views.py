"""Sign-up; log-in and log-out are Django's own views with this site's templates."""

from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.views.generic import FormView

from users.forms import SignUpForm
from users.services import user_sign_up


class SignUpView(FormView):
    """Create an account and log its owner in."""

    form_class = SignUpForm
    template_name = "registration/signup.html"
    success_url = reverse_lazy("blog:home")

    def form_valid(self, form: SignUpForm) -> HttpResponse:
        user = user_sign_up(
            username=form.cleaned_data["username"],
            email=form.cleaned_data.get("email") or "",
            password=form.cleaned_data["password1"],
        )
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return super().form_valid(form)
