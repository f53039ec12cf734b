"""Rule sets, immutable check results with their findings, and the gate's decision log."""

import uuid

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from layers.models import District, LayerVersion, Project, SiteRevision

__all__ = ["RuleSet", "Status", "Check", "Finding", "GateDecision", "Job", "MonthlyReport"]


class RuleSet(models.Model):
    """A version of the rules, stored as validated data with its hash; one is active."""

    name = models.CharField(_("name"), max_length=200)
    version = models.CharField(_("version"), max_length=50)
    source_yaml = models.TextField(_("rules (YAML)"))
    content = models.JSONField(_("parsed rules"))
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64, unique=True)
    is_active = models.BooleanField(_("active"), default=False)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                               name="one_active_ruleset")]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.content_hash[:8]})"


class Status(models.TextChoices):
    """A finding's outcome, listed from best to worst: the verdict is the worst finding."""

    PASS = "pass", _("pass")
    INFO = "info", _("info")
    WARN = "warn", _("warning")
    NEEDS_REVIEW = "needs_review", _("needs review")
    NOT_COVERED = "not_covered", _("not covered")
    ERROR = "error", _("error")
    FAIL = "fail", _("fail")


STATUS_ORDER = [s.value for s in Status]


class Check(models.Model):
    """One immutable compliance check of a site against a rule set and layer versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, verbose_name=_("project"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="checks")
    site_revision = models.ForeignKey(SiteRevision, verbose_name=_("site revision"), null=True,
                                      blank=True, on_delete=models.PROTECT, related_name="checks")
    category = models.CharField(_("project category"), max_length=32)
    input_format = models.CharField(_("input format"), max_length=32)
    source_crs = models.CharField(_("source CRS"), max_length=64)
    geom = models.MultiPolygonField(_("site"), srid=4490)
    input_hash = models.CharField(_("input hash"), max_length=64, db_index=True)
    site_area_m2 = models.FloatField(_("site area (m²)"))
    repair = models.TextField(_("repair"), blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    ruleset = models.ForeignKey(RuleSet, verbose_name=_("rule set"), on_delete=models.PROTECT)
    ruleset_hash = models.CharField(_("rule set hash"), max_length=64)
    layer_versions = models.JSONField(_("layer versions"), default=dict)
    verdict = models.CharField(_("verdict"), max_length=16, choices=Status.choices)
    result_hash = models.CharField(_("result hash"), max_length=64)
    duration_ms = models.FloatField(_("duration (ms)"))
    rerun_of = models.ForeignKey("self", verbose_name=_("re-run of"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="reruns")
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("checked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("compliance check")
        verbose_name_plural = _("compliance checks")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["site_revision", "-created_at"], name="check_latest_per_site")]

    def __str__(self) -> str:
        return f"{self.id} {self.verdict}"

    def findings_with_versions(self):
        """The findings with their layer versions, in one query (a serializer reads each version)."""
        return self.findings.select_related("layer_version")


class Finding(models.Model):
    """The outcome of one rule in one check."""

    check_result = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="findings")
    order = models.PositiveSmallIntegerField()
    rule_id = models.CharField(_("rule"), max_length=100)
    kind = models.CharField(_("rule kind"), max_length=32)
    layer = models.CharField(_("layer"), max_length=64)
    layer_version = models.ForeignKey(LayerVersion, null=True, blank=True, on_delete=models.PROTECT)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    severity = models.CharField(_("severity"), max_length=8)
    message_zh = models.TextField(_("finding"))
    message_en = models.TextField(_("finding (English)"), blank=True)
    measures = models.JSONField(_("measures"), default=dict)
    features = models.JSONField(_("features hit"), default=list)
    conflict_geom = models.MultiPolygonField(_("conflict"), srid=4490, null=True, blank=True)
    rule = models.JSONField(_("rule as applied"))

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["check_result", "order"]


class GateDecision(models.Model):
    """An append-only record of every answer the acceptance gate gave."""

    project_code = models.CharField(_("unified project code"), max_length=24, db_index=True)
    stage = models.CharField(_("stage"), max_length=1, blank=True)
    decision = models.CharField(_("decision"), max_length=16)
    reasons = models.JSONField(_("reasons"), default=list)
    check_result = models.ForeignKey(Check, null=True, blank=True, on_delete=models.PROTECT)
    stale = models.BooleanField(_("stale"), default=False)
    caller = models.CharField(_("caller"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("gate decision")
        verbose_name_plural = _("gate decisions")
        ordering = ["-created_at"]


class Job(models.Model):
    """The record of a background check (huge sites, or `Prefer: respond-async`).

    procrastinate queues, locks, retries and runs the work (its job is `queue_job_id`); this row
    keeps what the OGC job list and REST need and procrastinate does not: the owner, the stored
    check it produced, the problem it failed with, and its times.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    payload = models.JSONField(_("payload"))
    check_result = models.ForeignKey(Check, null=True, blank=True, on_delete=models.PROTECT)
    error = models.JSONField(_("error"), null=True, blank=True)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # procrastinate's attempt that owns the record: an older attempt coming back may not finish it.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    queue_job_id = models.BigIntegerField(_("queue job (procrastinate)"), null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["state", "created_at"], name="job_queue")]


class MonthlyReport(models.Model):
    """A monthly statistics report (月报) of a city or a county, kept as PDF and Excel files.

    Built by the background queue (compliance.tasks.build_monthly_reports); the files live under
    the data directory (compliance.statistics.monthly.REPORTS_DIR), named by scope and month.
    """

    district = models.ForeignKey(District, verbose_name=_("district"), on_delete=models.PROTECT,
                                 related_name="monthly_reports")
    month = models.DateField(_("month (its first day)"))
    pdf_file = models.CharField(_("PDF file"), max_length=300)
    xlsx_file = models.CharField(_("Excel file"), max_length=300)
    figures = models.JSONField(_("compared figures"), default=list)
    created_at = models.DateTimeField(_("built at"), auto_now_add=True)

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["-month", "district"]
        constraints = [models.UniqueConstraint(fields=["district", "month"], name="one_report_per_month")]

    def __str__(self) -> str:
        return f"{self.district_id} {self.month:%Y-%m}"
