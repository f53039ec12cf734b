"""The audit log: one `record(...)` call from the services, append-only in the database.

Who and from where are taken from the request being served (set by AccessMiddleware), so a
service only says what happened: `audit.record("layer.import", target="basic_farmland", ...)`.
Outside a request (commands, the worker) the actor is the one given, or "system".
An entry is written in the caller's transaction: a change and its entry commit together.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from blueprint.models import AuditEntry

__all__ = ["ACTIONS", "record", "refused", "entry", "bind_request", "unbind", "client_ip"]

# Action names (free text is allowed, but these are what the services write).
ACTIONS = {
    "login": "登录 login", "login.failed": "登录失败 failed login", "login.throttled": "登录被限制 throttled",
    "logout": "退出 logout",
    "layer.register": "登记图层 layer registered", "layer.import": "导入图层 layer import",
    "layer.activate": "启用图层版本 layer version activated", "layer.change": "修改图层 layer changed",
    "layer.read": "读取受限图层 restricted-layer read",
    "layer.rollback": "回滚图层版本 layer version rolled back",
    "conflict.recompute": "重算多规冲突 conflicts recomputed",
    "check.rerun_queue": "排队重新检查 re-runs queued",
    "layer.export": "导出图层要素 layer features exported",
    "ruleset.save": "保存规则集 rule set saved", "ruleset.activate": "启用规则集 rule set activated",
    "project.create": "新建项目 project created", "project.change": "修改项目 project changed",
    "site.revise": "修改用地红线 site revised",
    "check.run": "合规性检查 check", "check.rerun": "重新检查 re-run",
    "gate.decision": "受理闸口 gate decision",
    "token.create": "创建令牌 token created", "token.revoke": "吊销令牌 token revoked",
    "user.change": "修改用户 user changed", "admin.change": "后台修改 admin change",
    "audit.export": "导出审计日志 audit log exported",
    "access.refused": "拒绝访问 access refused", "token.use": "令牌调用 token used",
    "report.export": "导出检查报告 report exported", "role.change": "修改角色与范围 role changed",
    "permission.change": "修改权限 permissions changed", "audit.view": "查阅审计日志 audit log read",
    "login.locked": "账号被锁定 sign-in locked out", "login.unlock": "解除锁定 lock-out lifted",
    "password.change": "修改口令 password changed", "otp.enrol": "绑定动态口令 2FA enrolled",
    "otp.verify": "动态口令验证 2FA verified", "otp.failed": "动态口令错误 2FA code refused",
    "otp.reset": "重置动态口令 2FA device reset",
    "quality.run": "质量校验 quality check run", "quality.override": "强制启用（质量阻断） quality override",
    "layer.discard": "放弃图层版本 layer version discarded",
    "submission.create": "县级数据报送 county submission",
    "submission.accept": "采纳报送 submission accepted",
    "submission.return": "退回整改 submission returned",
    "alert.acknowledge": "确认告警 alert acknowledged",
}


@dataclass(frozen=True)
class _Caller:
    actor: str
    role: str
    ip: str | None
    path: str


# The request being served (who and where are read from it only when an entry is written).
_current: contextvars.ContextVar = contextvars.ContextVar("audit_request", default=None)


def client_ip(request) -> str | None:
    """The client address: REMOTE_ADDR, or settings.TRUSTED_PROXY_HEADER set by a reverse proxy
    (the same address django-axes locks sign-ins by)."""
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or None


def _caller_of(request) -> _Caller:
    from blueprint.access import principal

    p = principal(request)
    return _Caller(actor=p.name, role=str(p.role), ip=client_ip(request),
                   path=f"{request.method} {request.get_full_path()}"[:500])


def bind_request(request) -> contextvars.Token:
    """Make `request` the source of who/where for entries recorded while it is served."""
    return _current.set(request)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


def record(action: str, *, target: str = "", actor: str | None = None, request=None, bbox: str = "",
           **detail) -> AuditEntry:
    """Append one entry to the audit log (who, when, what, where from)."""
    written = entry(action, target=target, actor=actor, request=request, bbox=bbox, **detail)
    written.save(force_insert=True)
    return written


def refused(status: int, *, target: str = "", request=None, reason: str = "", **detail) -> AuditEntry:
    """Audit a refused access: a 401 or 403, or a 404 for data that exists but is not the caller's."""
    return record("access.refused", target=target, request=request, status=status,
                  reason=str(reason)[:300], **detail)


def entry(action: str, *, target: str = "", actor: str | None = None, request=None, bbox: str = "",
          **detail) -> AuditEntry:
    """Build, without saving, the entry `record` would append (for a caller that writes it along
    with the change it describes, in one statement)."""
    request = request if request is not None else _current.get()
    caller = _caller_of(request) if request is not None else None
    return AuditEntry(
        action=action, target=str(target)[:300], bbox=str(bbox)[:200],
        actor=(actor or (caller.actor if caller else "system"))[:160],
        role=caller.role if caller and (not actor or actor == caller.actor) else "",
        ip=caller.ip if caller else None, path=caller.path if caller else "",
        detail={k: v for k, v in detail.items() if v is not None})


@receiver(auth_signals.user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record("login", actor=user.get_username(), target=user.get_username(), request=request,
           backend=getattr(user, "backend", None))


@receiver(auth_signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    record("login.failed", actor=username or "?", target=username, request=request)


@receiver(auth_signals.user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record("logout", actor=user.get_username(), target=user.get_username(), request=request)
