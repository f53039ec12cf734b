"""DRF learns who calls: a bearer token authenticated by blueprint's AccessMiddleware, or a session."""

from rest_framework.authentication import BaseAuthentication

__all__ = ["SystemUser", "BearerTokenAuthentication"]


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
