"""DRF learns who calls: a bearer token authenticated by blueprint's AccessMiddleware, or a session."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication

__all__ = ["SystemUser", "BearerTokenAuthentication", "BearerTokenScheme"]


class SystemUser:
    """The request.user of an external system calling with a token (not a database user)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, token) -> None:
        self.token = token

    def get_username(self) -> str:
        return f"token:{self.token.name}"

    def __str__(self) -> str:
        return self.get_username()


class BearerTokenAuthentication(BaseAuthentication):
    """Use the token the middleware already checked (so DRF does not ask for a CSRF token)."""

    def authenticate(self, request):
        token = getattr(request._request, "access_token", None)
        return (SystemUser(token), token) if token is not None else None

    def authenticate_header(self, request):
        return 'Bearer realm="one-blueprint"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Document the bearer token in the OpenAPI description."""

    target_class = "api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "外部系统令牌 (a system token issued by an administrator)"}
