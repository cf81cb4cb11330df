"""Sign-up, the profile page, and Django's own auth views with this site's templates and messages."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.views.generic import FormView

from users.forms import ProfileForm, SignUpForm
from users.models import User
from users.services import user_sign_up, user_update_profile


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
        messages.success(self.request, f"Welcome, {user.username}: your account is ready.")
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    """Log out on POST; a GET (a typed or bookmarked URL) asks for confirmation instead of a 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return HttpResponseRedirect(reverse("blog:home"))
        return render(request, "registration/logout_confirm.html")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are logged out.")
        return response


class ProfileView(LoginRequiredMixin, FormView):
    """Edit the display name and bio shown on one's author page."""

    form_class = ProfileForm
    template_name = "users/profile.html"

    def get_initial(self) -> dict[str, Any]:
        user = cast(User, self.request.user)
        return {"display_name": user.display_name, "bio": user.bio}

    def form_valid(self, form: ProfileForm) -> HttpResponse:
        user = user_update_profile(user=cast(User, self.request.user), **form.cleaned_data)
        messages.success(self.request, "Your profile is saved.")
        return HttpResponseRedirect(user.get_absolute_url())
