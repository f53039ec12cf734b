"""Optional OpenID Connect sign-in through the provincial government-service portal (统一认证).

Off by default. `OIDC_ENABLED=true` turns it on and then requires the provider's endpoints and
this client's credentials (see README "Configuration"); `oidc_settings` validates them so that a
half-configured deployment fails at start-up with the names of what is missing. Imported by
settings: no Django models here (the backend is blueprint.oidc_backend).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

__all__ = ["REQUIRED", "oidc_settings"]

REQUIRED = ["OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT"]
_ENDPOINTS = ["OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT",
              "OIDC_OP_JWKS_ENDPOINT"]
_TRUE = {"1", "true", "yes", "on"}


def oidc_settings(env: Mapping[str, str]) -> dict:
    """Return the Django settings for OpenID Connect from environment values ({} when off)."""
    if str(env.get("OIDC_ENABLED", "")).strip().lower() not in _TRUE:
        return {}
    missing = [name for name in REQUIRED if not env.get(name)]
    algo = env.get("OIDC_RP_SIGN_ALGO", "RS256")
    if algo.startswith("RS") and not env.get("OIDC_OP_JWKS_ENDPOINT"):
        missing.append("OIDC_OP_JWKS_ENDPOINT")
    if missing:
        raise ImproperlyConfigured(f"OIDC_ENABLED is set but {', '.join(missing)} missing: set them to"
                                   " the portal's endpoints and this client's credentials, or unset"
                                   " OIDC_ENABLED.")
    insecure = [n for n in _ENDPOINTS if env.get(n) and not env[n].startswith("https://")]
    if insecure and str(env.get("OIDC_ALLOW_HTTP", "")).lower() not in _TRUE:
        raise ImproperlyConfigured(f"{', '.join(insecure)} must be https:// URLs (tokens travel there).")
    values = {name: env[name] for name in REQUIRED}
    values.update({"OIDC_RP_SIGN_ALGO": algo, "OIDC_RP_SCOPES": env.get("OIDC_RP_SCOPES", "openid profile"),
                   "OIDC_CREATE_USER": True, "LOGIN_REDIRECT_URL": "/maps/start", "LOGOUT_REDIRECT_URL": "/"})
    if env.get("OIDC_OP_JWKS_ENDPOINT"):
        values["OIDC_OP_JWKS_ENDPOINT"] = env["OIDC_OP_JWKS_ENDPOINT"]
    return values
