"""Who may do what: people's access profiles, system tokens, and the append-only audit log.

The rules themselves live in `blueprint.access`; these tables only hold who is who.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["Role", "Interface", "ADMIN_ROLES", "AccessProfile", "ApiToken", "AuditEntry", "PasswordHistory",
           "ServiceLogEntry", "Alert"]


class Role(models.TextChoices):
    # 三员分立: three administrators, none able to do another's job.
    SYSTEM_ADMIN = "system_admin", _("system administrator (系统管理员)")
    SECURITY_ADMIN = "security_admin", _("security administrator (安全管理员)")
    AUDIT_ADMIN = "audit_admin", _("audit administrator (审计管理员)")
    # Deprecated alias of the system administrator (profiles were migrated to system_admin).
    ADMINISTRATOR = "administrator", _("administrator (管理员, deprecated: system administrator)")
    CITY_PLANNER = "city_planner", _("city planner (市级规划人员)")
    COUNTY_PLANNER = "county_planner", _("county planner (区县规划人员)")
    APPLICANT = "applicant", _("applicant (建设单位)")
    SYSTEM = "system", _("external system (外部系统)")
    ANONYMOUS = "anonymous", _("anonymous (匿名)")


class Interface(models.TextChoices):
    """What an external system's token may call."""

    OGC_READ = "ogc_read", _("OGC API reads, tiles, imagery (图层服务读取)")
    GATE = "gate", _("acceptance gate (受理闸口)")
    CHECKS = "checks", _("REST compliance checks and reports (合规性检查)")
    COMPLIANCE_PROCESS = "compliance_process", _("OGC site-compliance process (合规性检查处理服务)")
    EXCHANGE_NOTIFY = "exchange_notify", _("province's feedback notification (省级回执通知)")
    DATA_SUBMISSION = "data_submission", _("a county's layer data submissions (县级数据报送)")
    STATISTICS = "statistics", _("statistics for the province (统计分析)")
    METRICS = "metrics", _("Prometheus metrics for monitoring (监控指标)")


ADMIN_ROLES = (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.ADMINISTRATOR)
STAFF_ROLES = (*ADMIN_ROLES, Role.CITY_PLANNER, Role.COUNTY_PLANNER)
PEOPLE_ROLES = [(r.value, r.label) for r in Role
                if r not in (Role.SYSTEM, Role.ANONYMOUS, Role.ADMINISTRATOR)]


class AccessProfile(models.Model):
    """A person's role and scope. The superuser flag grants nothing in the policy: a superuser
    without a profile is a security administrator (who can then name the other two)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                                related_name="access")
    role = models.CharField(_("role"), max_length=32, choices=PEOPLE_ROLES, default=Role.APPLICANT)
    districts = ArrayField(models.CharField(max_length=12), verbose_name=_("districts (GB/T 2260 codes)"),
                           default=list, blank=True,
                           help_text=_("County planners: the districts they work in, e.g. 370811"))
    organisation = models.CharField(_("organisation (建设单位)"), max_length=300, blank=True,
                                    help_text=_("Applicants: the projects of this applicant are theirs"))

    class Meta:
        verbose_name = _("access profile")
        verbose_name_plural = _("access profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.sync_staff(self.user)

    @staticmethod
    def sync_staff(user) -> None:
        """Admin-site access follows the role: administrators and planners, not applicants."""
        role = AccessProfile.objects.filter(user=user).values_list("role", flat=True).first()
        staff = role in STAFF_ROLES or (role is None and user.is_superuser)
        type(user).objects.filter(pk=user.pk).update(is_staff=staff)
        user.is_staff = staff


class ApiToken(models.Model):
    """A token for an external system; only the SHA-256 of the secret is stored."""

    name = models.CharField(_("system name"), max_length=100, unique=True)
    prefix = models.CharField(_("token prefix"), max_length=12, editable=False)
    token_hash = models.CharField(_("token hash (SHA-256)"), max_length=64, unique=True, editable=False)
    interfaces = ArrayField(models.CharField(max_length=32, choices=Interface.choices),
                            verbose_name=_("interfaces"), default=list)
    layers = ArrayField(models.SlugField(max_length=64), verbose_name=_("non-public layers it may read"),
                        default=list, blank=True)
    districts = ArrayField(models.CharField(max_length=12), verbose_name=_("districts (empty: all)"),
                           default=list, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(_("requests per minute"), default=120)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    created_by = models.CharField(_("created by"), max_length=150, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    # A fixed one-minute window, counted in one UPDATE so that every worker shares it.
    window_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    window_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("system token")
        verbose_name_plural = _("system tokens")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class AuditEntry(models.Model):
    """One audited event; a database trigger refuses UPDATE and DELETE."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.CharField(_("who"), max_length=160, db_index=True)
    role = models.CharField(_("role"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=48, db_index=True)
    target = models.CharField(_("what"), max_length=300, blank=True)
    bbox = models.CharField(_("bbox"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    path = models.CharField(_("request"), max_length=500, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["action", "actor", "at"], name="audit_throttle")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"


class PasswordHistory(models.Model):
    """The hashes of a person's earlier passwords (no reuse of the last PASSWORD_HISTORY) and when
    the password was last changed (a forced change after PASSWORD_MAX_AGE_DAYS)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="password_history")
    password = models.CharField(_("password hash"), max_length=128)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("password history")
        verbose_name_plural = _("password history")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} {self.changed_at:%Y-%m-%d}"


class ServiceLogEntry(models.Model):
    """One line of the access log (a request answered) or of the error log (an ERROR record),
    kept LOG_RETENTION_DAYS for operators to search in the admin (blueprint/ops/requestlog.py)."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("access (访问日志)")
        ERROR = "error", _("error (错误日志)")

    at = models.DateTimeField(_("time"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    level = models.CharField(_("level"), max_length=10, blank=True)
    logger = models.CharField(_("logger"), max_length=100, blank=True)
    method = models.CharField(_("method"), max_length=8, blank=True)
    route = models.CharField(_("route"), max_length=200, blank=True)
    path = models.CharField(_("request"), max_length=500, blank=True)
    status = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    duration_ms = models.FloatField(_("duration (ms)"), null=True, blank=True)
    user = models.CharField(_("who"), max_length=160, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("service log entry")
        verbose_name_plural = _("service log (访问与错误日志)")
        ordering = ["-at", "-id"]
        # A BRIN index on time (rows arrive in time order: tiny, cheap to keep up on insert) and
        # btrees for the admin's filters, each ending in time.
        indexes = [BrinIndex(fields=["at"], name="servicelog_at"),
                   models.Index(fields=["status", "at"], name="servicelog_status"),
                   models.Index(fields=["route", "at"], name="servicelog_route"),
                   models.Index(fields=["user", "at"], name="servicelog_user")]

    def __str__(self) -> str:
        what = self.path or self.logger
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.method} {what} {self.status or self.level}"


class Alert(models.Model):
    """An alert raised by a rule kind of blueprint/ops/alerts.py: open while its condition holds,
    resolved when it stops; acknowledged (and audited) by an operator."""

    kind = models.CharField(_("rule"), max_length=48)
    severity = models.CharField(_("severity"), max_length=16)
    message = models.TextField(_("message"))
    value = models.FloatField(_("value"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.CharField(_("acknowledged by"), max_length=160, blank=True)
    notified = models.JSONField(_("notifications"), default=dict, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts (告警)")
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind"], condition=models.Q(resolved_at__isnull=True),
                                               name="alert_one_open_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M}"
class Backup(models.Model):
    """A backup in the pgBackRest repository, as `scripts/backup.sh` records it after each run
    (blueprint/backups.py): what the operator page and the alerts read, on any app machine."""

    class Kind(models.TextChoices):
        FULL = "full", _("full")
        DIFF = "diff", _("differential")
        INCR = "incr", _("incremental")

    label = models.CharField(_("label"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), db_index=True)
    database_bytes = models.BigIntegerField(_("database size"))
    stored_bytes = models.BigIntegerField(_("stored in the repository"))
    wal_start = models.CharField(_("first WAL segment"), max_length=24)
    wal_stop = models.CharField(_("last WAL segment"), max_length=24)

    class Meta:
        verbose_name = _("backup")
        verbose_name_plural = _("backups")
        ordering = ["-finished_at"]

    def __str__(self) -> str:
        return f"{self.label} ({self.kind})"
