"""Audit every change of who may do what, wherever it is made (the admin, a command, the shell):
a person's role, districts and organisation, the superuser / staff / active flags, and Django's
groups and permissions. Connected in BlueprintConfig.ready()."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save, pre_save

from blueprint import audit
from blueprint.models import AccessProfile

__all__ = ["connect"]

PROFILE_FIELDS = ("role", "districts", "organisation")
USER_FIELDS = ("is_superuser", "is_staff", "is_active")
_NOT_OURS = object()  # a save that touches none of the fields (a fixture load, last_login …)


def _values(instance, fields) -> dict:
    return {name: _plain(getattr(instance, name)) for name in fields}


def _plain(value):
    if isinstance(value, list | tuple):
        return list(value)
    return value if value is None or isinstance(value, bool | int) else str(value)


def _changes(before: dict | None, after: dict) -> dict:
    return {name: [before.get(name) if before else None, value] for name, value in after.items()
            if before is None or before.get(name) != value}


def _remember(fields):
    def before_save(sender, instance, raw=False, update_fields=None, **kwargs):
        if raw or (update_fields is not None and not set(update_fields) & set(fields)):
            instance._grants_before = _NOT_OURS
            return
        row = sender.objects.filter(pk=instance.pk).values(*fields).first() if instance.pk else None
        instance._grants_before = {k: _plain(v) for k, v in row.items()} if row else None
    return before_save


def _record(fields, username):
    def after_save(sender, instance, created, raw=False, **kwargs):
        before = getattr(instance, "_grants_before", None)
        if before is _NOT_OURS:
            return
        changes = _changes(before, _values(instance, fields))
        if created and sender is not AccessProfile:  # a new account: only grants worth stating
            changes = {k: v for k, v in changes.items() if k != "is_active" and v[1]}
        if changes:
            audit.record("role.change", target=username(instance), model=sender._meta.label,
                         created=created, changes=changes)
    return after_save


def _relation_changed(relation: str):
    def changed(sender, instance, action, reverse, model, pk_set, **kwargs):
        if action not in ("post_add", "post_remove", "pre_clear"):
            return
        names = sorted(str(obj) for obj in model.objects.filter(pk__in=pk_set)) if pk_set else []
        audit.record("permission.change", target=str(instance), relation=relation,
                     change=action.split("_")[1], members=names or "all")
    return changed


def connect() -> None:
    """Connect the receivers (once; Django's dispatch_uid makes it idempotent)."""
    user_model = get_user_model()
    pre_save.connect(_remember(PROFILE_FIELDS), sender=AccessProfile, weak=False,
                     dispatch_uid="grant_audit.profile.pre")
    post_save.connect(_record(PROFILE_FIELDS, lambda p: p.user.get_username()), sender=AccessProfile,
                      weak=False, dispatch_uid="grant_audit.profile.post")
    pre_save.connect(_remember(USER_FIELDS), sender=user_model, weak=False,
                     dispatch_uid="grant_audit.user.pre")
    post_save.connect(_record(USER_FIELDS, lambda u: u.get_username()), sender=user_model, weak=False,
                      dispatch_uid="grant_audit.user.post")
    for relation in ("groups", "user_permissions"):
        m2m_changed.connect(_relation_changed(relation), sender=getattr(user_model, relation).through,
                            weak=False, dispatch_uid=f"grant_audit.{relation}")
