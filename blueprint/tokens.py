"""System tokens: issue (only the hash is kept), revoke, authenticate, rate-limit."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from blueprint import audit
from blueprint.errors import InvalidInput, Unauthenticated
from blueprint.models import ApiToken, Interface

__all__ = ["TOKEN_PREFIX", "Unauthenticated", "create_token", "revoke_token", "authenticate", "consume",
           "hash_token"]

TOKEN_PREFIX = "bp_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def create_token(name: str, *, interfaces: list[str], expires_at: datetime, layers: list[str] = (),
                 districts: list[str] = (), rate_limit_per_minute: int = 120, created_by: str = "",
                 raw: str | None = None) -> tuple[ApiToken, str]:
    """Issue a token for an external system; return it and the secret, shown this once only."""
    unknown = sorted(set(interfaces) - set(Interface.values))
    if unknown or not interfaces:
        raise InvalidInput(f"未知或缺少接口 {unknown}：可选 {', '.join(Interface.values)}。"
                           f" (Unknown or missing interfaces {unknown}: choose from"
                           f" {', '.join(Interface.values)}.)")
    if expires_at <= timezone.now():
        raise InvalidInput("令牌的到期时间必须在将来。 (A token must expire in the future.)")
    raw = raw or TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name, prefix=raw[:10], token_hash=hash_token(raw), interfaces=sorted(interfaces),
        layers=sorted(layers), districts=sorted(districts), rate_limit_per_minute=rate_limit_per_minute,
        expires_at=expires_at, created_by=created_by)
    audit.record("token.create", target=name, actor=created_by or None, interfaces=token.interfaces,
                 layers=token.layers, districts=token.districts, expires_at=expires_at.isoformat(),
                 rate_limit_per_minute=rate_limit_per_minute)
    return token, raw


@transaction.atomic
def revoke_token(token: ApiToken, *, revoked_by: str = "") -> ApiToken:
    """Revoke a token at once (it stays listed, and audited)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
        audit.record("token.revoke", target=token.name, actor=revoked_by or None)
    return token


def authenticate(raw: str) -> ApiToken:
    """Return the usable token for a bearer secret, or raise Unauthenticated saying why."""
    token = ApiToken.objects.filter(token_hash=hash_token(raw.strip())).first()
    if token is None:
        raise Unauthenticated("令牌无效。请检查 Authorization: Bearer 后的令牌。"
                              " (Invalid token: check the value after 'Authorization: Bearer'.)")
    if token.revoked_at is not None:
        raise Unauthenticated(f"令牌 {token.prefix}… 已被吊销，请向管理员申请新令牌。"
                              f" (Token {token.prefix}… was revoked: ask an administrator for a new one.)")
    if token.expires_at <= timezone.now():
        raise Unauthenticated(f"令牌 {token.prefix}… 已于 {token.expires_at:%Y-%m-%d %H:%M} 过期。"
                              f" (Token {token.prefix}… expired: ask an administrator for a new one.)")
    return token


_COUNT_SQL = """
UPDATE blueprint_apitoken SET
  window_count = CASE WHEN window_started_at IS NULL OR window_started_at <= now() - interval '1 minute'
                      THEN 1 ELSE window_count + 1 END,
  window_started_at = CASE WHEN window_started_at IS NULL OR window_started_at <= now() - interval '1 minute'
                           THEN now() ELSE window_started_at END,
  last_used_at = now()
WHERE id = %s
RETURNING window_count, EXTRACT(EPOCH FROM window_started_at + interval '1 minute' - now())
"""


def consume(token: ApiToken) -> int | None:
    """Count one request against the token's per-minute limit; return Retry-After seconds when over."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL, [token.pk])
        count, remaining = cursor.fetchone()
    if count > token.rate_limit_per_minute:
        return max(1, math.ceil(float(remaining)))
    return None
