"""Request-wide security: bearer tokens and their rate limits, the access rule of each endpoint,
CSRF on /ogc/ for sessions, the rate limits of people, the audit context (refused access and token
use), response caching and Vary, and the Content Security Policy of pages."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.cache import patch_vary_headers

from blueprint import audit, ratelimits, tokens
from blueprint.access import principal
from blueprint.access_rules import decide, rule_for
from blueprint.errors import Forbidden, TooManyRequests, Unauthenticated, error_response, face

__all__ = ["AccessMiddleware", "ResponsePolicyMiddleware", "ContentSecurityPolicyMiddleware", "deny"]

_ERRORS = {401: Unauthenticated, 403: Forbidden, 429: TooManyRequests}
_MESSAGES = {
    401: "需要登录或提供令牌 (Authorization: Bearer …)。"
         " (Sign in, or send a token: Authorization: Bearer ….)",
    403: "当前账号或令牌无权调用此接口。 (Your account or token may not call this endpoint.)",
}
_CSRF_MISSING = ("缺少或无效的 CSRF 令牌：登录会话发出的请求须带 X-CSRFToken 头（取自 csrftoken Cookie），"
                 "外部系统请用 Authorization: Bearer 令牌。 (CSRF token missing or incorrect: a signed-in"
                 " session must send the X-CSRFToken header from the csrftoken cookie; systems send"
                 " Authorization: Bearer.) [{reason}]")


def deny(request, status: int, detail: str, headers: dict | None = None) -> HttpResponse:
    """Refuse a request through the error boundary: problem+json, OGC exception JSON or a page
    (a person without a session is sent to the login page instead)."""
    request._refusal = detail  # what the audit entry of a refused access says (AccessMiddleware)
    if status == 401 and face(request) == "page" and "Authorization" not in request.headers:
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?next={quote(request.get_full_path())}")
    return error_response(request, _ERRORS[status](detail, headers=headers))


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, answering the reason of a refusal instead of a page."""

    def _reject(self, request, reason):
        return reason


def _csrf_refusal(request) -> str | None:
    # pygeoapi exempts its execution and job views from CSRF (they are API calls); a signed-in
    # browser session calling them is still a browser, so the check runs here (tokens skip it).
    if not request.path.startswith("/ogc/") or not getattr(request, "user", None) \
            or not request.user.is_authenticated:
        return None
    return _CsrfCheck(lambda r: None).process_view(request, None, (), {})


class AccessMiddleware:
    """Authenticate bearer tokens, count rates, bind the audit context, apply the rule table,
    and audit refused access and every use of a token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bound = audit.bind_request(request)
        try:
            response = self._authenticate(request) or self.get_response(request)
            _audit_outcome(request, response)
            return response
        finally:
            audit.unbind(bound)

    def _authenticate(self, request) -> HttpResponse | None:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() != "bearer ":
            return None
        try:
            token = tokens.authenticate(header[7:])
        except tokens.Unauthenticated as exc:
            return deny(request, 401, exc.detail)
        request.access_token = token
        # A bearer token is never sent by a browser on its own: no cross-site forgery to stop.
        request._dont_enforce_csrf_checks = True
        retry_after = tokens.consume(token)
        if retry_after is None:
            return None
        limit = token.rate_limit_per_minute
        return deny(request, 429, f"令牌 {token.prefix}… 已超过每分钟 {limit} 次的调用上限，"
                                  f"请 {retry_after} 秒后重试。 (Rate limit of {limit} requests"
                                  f" per minute exceeded: retry in {retry_after} s.)",
                    {"Retry-After": str(retry_after)})

    def process_view(self, request, view_func, view_args, view_kwargs):
        route = request.resolver_match.route
        rule = rule_for(route)
        who = principal(request)
        status = decide(rule, who)
        if rule is None:
            return deny(request, 403, f"该地址尚未配置访问规则，已拒绝。 (No access rule for {route!r}:"
                                      " add one to blueprint/access_rules.py.)")
        if status != 200:
            return deny(request, status, _MESSAGES[status])
        reason = None if who.is_token else _csrf_refusal(request)
        if reason:
            return deny(request, 403, _CSRF_MISSING.format(reason=reason))
        exceeded = None if who.is_token else ratelimits.count(request, route)
        if exceeded:
            return deny(request, 429, exceeded.detail, {"Retry-After": str(exceeded.retry_after)})
        return None


def _audit_outcome(request, response) -> None:
    """Audit a refused access (401, 403) and a token's use: which interface, which layer."""
    status = response.status_code
    match = getattr(request, "resolver_match", None)
    route = match.route if match else ""
    if status in (401, 403):
        audit.refused(status, target=route or request.path, request=request,
                      reason=getattr(request, "_refusal", ""))
    token = getattr(request, "access_token", None)
    if token is not None:
        rule = rule_for(route) if route else None
        kwargs = match.kwargs if match else {}
        audit.record("token.use", target=token.name, request=request, status=status, route=route,
                     interface=rule.interface if rule and rule.interface in token.interfaces else None,
                     layer=kwargs.get("collection_id") or kwargs.get("slug"))


class ResponsePolicyMiddleware:
    """What no response may leave out: who decides the answer (Vary) and who may keep it.

    Every answer may depend on the caller's session or token, so it varies on both. An answer
    that did not say how to cache it (tiles of public layers do) is kept by nobody:
    `private, no-store`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_vary_headers(response, ("Authorization", "Cookie"))
        if "Cache-Control" not in response:
            response["Cache-Control"] = "private, no-store"
        return response


def _csp(request, nonce: str) -> str:
    # The admin's map widget (Django's OpenLayers template) has inline scripts without a nonce.
    script = "'self' 'unsafe-inline'" if request.path.startswith("/admin/") else f"'self' 'nonce-{nonce}'"
    return ("default-src 'self'; "
            f"script-src {script}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")


class ContentSecurityPolicyMiddleware:
    """Pages load only our own files; an inline script needs `request.csp_nonce`.

    A view that needs another policy sets the header itself; it is then left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get("Content-Type", "").startswith(
                "text/html"):
            response["Content-Security-Policy"] = _csp(request, request.csp_nonce)
        return response
