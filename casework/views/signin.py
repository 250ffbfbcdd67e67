"""Staff sign-in: password (which opens her key), then the second factor.

The password step calls Django's login(), which keeps her key in the split-key session
(casework/auth.py), but every staff page also asks ``is_verified()``: until the TOTP
code or a recovery code is accepted, the session opens nothing.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework import services
from casework.audit import Action
from casework.auth import (
    clear_failures,
    count_failure,
    locked_message,
    safe_next,
    sign_in_locked,
    sign_in_wait,
)
from casework.exceptions import WrongPassword
from casework.forms import ChangePasswordForm, CodeForm, EnrolForm, SignInForm
from web.ratelimit import too_many, wait_minutes

RECOVERY_CODES = 10


def _home() -> str:
    return reverse("casework:queue")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "next": safe_next(request, "")}
    if request.method == "POST" and (wait := sign_in_wait()):
        # Passwords are being sprayed over many accounts: nobody's is checked for now.
        message = _(
            "Too many sign-ins failed on this site in the last minute. Wait %(minutes)d "
            "min, then try again."
        ) % {"minutes": wait_minutes(wait)}
        return too_many(
            request, "casework/signin/login.html", {**context, "error": message}, retry_after=wait
        )
    error = None
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        if sign_in_locked(username):
            services.record_refusal(username, Action.LOGIN_LOCKED)
            return too_many(
                request,
                "casework/signin/login.html",
                {**context, "error": locked_message()},
                retry_after=settings.STAFF_LOGIN_LOCK_MINUTES * 60,
            )
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                count_failure(username)
                services.record_refusal(username, Action.LOGIN_FAILED)
                error = _("Wrong username or password.")
            elif user.one_time_password_expired:
                services.record_refusal(user, Action.LOGIN_ONE_TIME_EXPIRED)
                error = _(
                    "This one-time password has expired. Ask your organisation's admin for "
                    "a new one."
                )
            else:
                login(request, user)
                step = "casework:verify" if user_has_device(user) else "casework:enrol"
                target = safe_next(request, _home())
                return redirect(f"{reverse(step)}?{urlencode({'next': target})}")
    return render(
        request,
        "casework/signin/login.html",
        {**context, "error": error},
        status=200 if error is None else 400,
    )


def _locked_out(request: HttpRequest, user) -> HttpResponse:
    """Too many wrong codes or passwords for her account: signed out, and told to wait."""
    services.record_refusal(user, Action.LOGIN_LOCKED)
    logout(request)
    messages.error(request, locked_message())
    return redirect("casework:login")


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect("casework:login")
    if user.is_verified():
        return redirect(safe_next(request, _home()))
    if not user_has_device(user):
        return redirect("casework:enrol")
    form = CodeForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST" and form.is_valid():
        if sign_in_locked(user.username):
            return _locked_out(request, user)
        code = form.cleaned_data["code"].replace(" ", "").strip()
        device = services.spend_second_factor(user, code)
        if device is None:
            count_failure(user.username)
            services.record_refusal(user, Action.LOGIN_OTP_FAILED)
            error = _("This code is not right. Codes change every 30 seconds.")
        else:
            otp_login(request, device)
            # A new session id once she is fully signed in: an id planted or seen before
            # the second factor is worth nothing after it.
            request.session.cycle_key()
            clear_failures(user.username)
            left = services.record_sign_in(user, device=device)
            if left is not None:  # she signed in with a recovery code
                messages.warning(
                    request,
                    _("You signed in with a recovery code. %(left)d remain.") % {"left": left},
                )
            return redirect(safe_next(request, _home()))
    return render(
        request,
        "casework/signin/verify.html",
        {"form": form, "error": error, "next": safe_next(request, "")},
        status=200 if error is None else 400,
    )


def _qr_svg(url: str) -> str:
    # Drawn here as SVG: no script, no outside service sees the secret.
    return segno.make(url, error="m").svg_inline(scale=4, dark="#111", light="#fff")


@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Her authenticator app, the first time: scan, type a code, keep recovery codes."""
    user = request.user
    if not user.is_authenticated:
        return redirect("casework:login")
    if user_has_device(user):
        return redirect("casework:verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = EnrolForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            codes = services.confirm_authenticator(user, device, recovery_codes=RECOVERY_CODES)
            otp_login(request, device)
            request.session.cycle_key()
            # Shown once, in this response, and kept nowhere else in plaintext by us.
            return render(
                request,
                "casework/signin/recovery_codes.html",
                {"codes": codes, "next": safe_next(request, _home())},
            )
        error = _("This code is not right. Check the time on your phone, and try the new code.")
    return render(
        request,
        "casework/signin/enrol.html",
        {
            "form": form,
            "error": error,
            "qr": _qr_svg(device.config_url),
            "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
            "next": safe_next(request, ""),
        },
        status=200 if error is None else 400,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.record_sign_out(request.user)
    logout(request)
    messages.info(request, _("You are signed out. Your key is locked again."))
    return redirect("casework:login")


@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect("casework:login")
    if not user.is_verified():
        return redirect("casework:verify")
    form = ChangePasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if sign_in_locked(user.username):
            # A session left open must not become a way to guess her password.
            return _locked_out(request, user)
        try:
            services.change_password(
                user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except WrongPassword:
            count_failure(user.username)
            services.record_refusal(user, Action.PASSWORD_WRONG)
            form.add_error("old_password", _("This is not your current password."))
        else:
            # The session is bound to the password hash: keep this one signed in.
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password is changed. Your access is kept."))
            return redirect(safe_next(request, _home()))
    return render(
        request,
        "casework/signin/password.html",
        {"form": form, "forced": user.must_change_password, "next": safe_next(request, "")},
        status=400 if form.errors else 200,
    )
