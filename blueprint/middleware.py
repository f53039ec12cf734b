"""Request-wide security: bearer tokens and their rate limits, the access rule of each endpoint,
the audit context, and the Content Security Policy of pages."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect

from blueprint import audit, tokens
from blueprint.access import principal
from blueprint.access_rules import decide, rule_for
from blueprint.errors import Forbidden, TooManyRequests, Unauthenticated, error_response, face

__all__ = ["AccessMiddleware", "ContentSecurityPolicyMiddleware", "deny"]

_ERRORS = {401: Unauthenticated, 403: Forbidden, 429: TooManyRequests}
_MESSAGES = {
    401: "需要登录或提供令牌 (Authorization: Bearer …)。"
         " (Sign in, or send a token: Authorization: Bearer ….)",
    403: "当前账号或令牌无权调用此接口。 (Your account or token may not call this endpoint.)",
}


def deny(request, status: int, detail: str, headers: dict | None = None) -> HttpResponse:
    """Refuse a request through the error boundary: problem+json, OGC exception JSON or a page
    (a person without a session is sent to the login page instead)."""
    if status == 401 and face(request) == "page" and "Authorization" not in request.headers:
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?next={quote(request.get_full_path())}")
    return error_response(request, _ERRORS[status](detail, headers=headers))


class AccessMiddleware:
    """Authenticate bearer tokens, count their rate, bind the audit context, apply the rule table."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            try:
                token = tokens.authenticate(header[7:])
            except tokens.Unauthenticated as exc:
                return deny(request, 401, exc.detail)
            request.access_token = token
            # A bearer token is never sent by a browser on its own: no cross-site forgery to stop.
            request._dont_enforce_csrf_checks = True
            retry_after = tokens.consume(token)
            if retry_after is not None:
                limit = token.rate_limit_per_minute
                return deny(request, 429, f"令牌 {token.prefix}… 已超过每分钟 {limit} 次的调用上限，"
                                          f"请 {retry_after} 秒后重试。 (Rate limit of {limit} requests"
                                          f" per minute exceeded: retry in {retry_after} s.)",
                            {"Retry-After": str(retry_after)})
        bound = audit.bind_request(request)
        try:
            return self.get_response(request)
        finally:
            audit.unbind(bound)

    def process_view(self, request, view_func, view_args, view_kwargs):
        route = request.resolver_match.route
        rule = rule_for(route)
        status = decide(rule, principal(request))
        if status == 200:
            return None
        if rule is None:
            return deny(request, 403, f"该地址尚未配置访问规则，已拒绝。 (No access rule for {route!r}:"
                                      " add one to blueprint/access_rules.py.)")
        return deny(request, status, _MESSAGES[status])


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
