"""Quality rules per layer, their reports per version, the review of a new version before it is
activated, and counties' submissions (县级报送) with the city's feedback."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from layers.quality import kinds  # noqa: F401  (registers the kinds before the choices are read)
from layers.quality.registry import choices

__all__ = ["QualityRule", "QualityReport", "QualityFailure", "VersionReview", "Submission"]


class QualityRule(models.Model):
    """One configured rule of a layer: a registered kind with its parameters."""

    layer = models.ForeignKey(
        "layers.Layer", verbose_name=_("layer"), on_delete=models.CASCADE, related_name="quality_rules"
    )
    code = models.SlugField(_("rule id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=32, choices=choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    blocking = models.BooleanField(
        _("blocking (阻断启用)"),
        default=False,
        help_text=_("A failure of a blocking rule keeps the version from going live"),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("quality rule")
        verbose_name_plural = _("quality rules")
        ordering = ["layer", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["layer", "code"], name="unique_quality_rule")]

    def __str__(self) -> str:
        return f"{self.layer.slug}:{self.code}"


class QualityReport(models.Model):
    """One run of a layer's rules on one version: counts by rule and by county."""

    class Trigger(models.TextChoices):
        IMPORT = "import", _("import")
        ON_DEMAND = "on_demand", _("on demand")
        SUBMISSION = "submission", _("county submission")

    version = models.ForeignKey(
        "layers.LayerVersion",
        verbose_name=_("layer version"),
        on_delete=models.PROTECT,
        related_name="quality_reports",
    )
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    run_by = models.CharField(_("run by"), max_length=150, blank=True)
    rules = models.JSONField(_("rules as run"), default=list)
    counts = models.JSONField(_("failures by rule"), default=dict)
    county_counts = models.JSONField(_("failures by county and rule"), default=dict)
    blocking_failures = models.PositiveIntegerField(_("blocking failures"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    created_at = models.DateTimeField(_("run at"), auto_now_add=True)

    class Meta:
        verbose_name = _("quality report")
        verbose_name_plural = _("quality reports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} quality #{self.pk}"


class QualityFailure(models.Model):
    """One failing feature (or, for gaps and the CRS, one finding without a feature)."""

    report = models.ForeignKey(QualityReport, on_delete=models.CASCADE, related_name="failures")
    rule = models.CharField(_("rule id"), max_length=64)
    fid = models.BigIntegerField(_("feature id"), null=True)
    county = models.CharField(_("county"), max_length=12, blank=True, db_index=True)
    reason_zh = models.TextField(_("reason"))
    reason_en = models.TextField(_("reason (English)"), blank=True)
    details = models.JSONField(_("details"), null=True)
    geom = models.GeometryField(_("geometry of the problem"), srid=4490, null=True)

    class Meta:
        verbose_name = _("quality failure")
        verbose_name_plural = _("quality failures")
        indexes = [models.Index(fields=["report", "rule"])]


class VersionReview(models.Model):
    """The preview and decision of a new version: what it maps and whether it went live."""

    class State(models.TextChoices):
        PENDING = "pending", _("awaiting confirmation (待确认)")
        HELD = "held", _("held by blocking failures (阻断)")
        ACTIVATED = "activated", _("activated (已启用)")
        DISCARDED = "discarded", _("discarded (已放弃)")

    version = models.OneToOneField("layers.LayerVersion", on_delete=models.PROTECT, related_name="review")
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    missing_fields = models.JSONField(_("schema fields missing from the file"), default=list)
    extra_fields = models.JSONField(_("file fields not in the schema"), default=list)
    access_level = models.CharField(_("access level on activation"), max_length=16, blank=True)
    county = models.CharField(_("county part replaced"), max_length=12, blank=True)
    fid_floor = models.BigIntegerField(_("fids above this are the county's new features"), default=0)
    base_version = models.ForeignKey(
        "layers.LayerVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    override_reason = models.TextField(_("override reason"), blank=True)
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("version review")
        verbose_name_plural = _("version reviews")


class Submission(models.Model):
    """A county's new version of its part of a layer (县级数据报送), with the city's decision."""

    class State(models.TextChoices):
        PENDING = "pending", _("awaiting review (待审核)")
        ACCEPTED = "accepted", _("accepted (已采纳)")
        RETURNED = "returned", _("returned for correction (已退回整改)")
        RESUBMITTED = "resubmitted", _("superseded by a resubmission (已重新报送)")

    layer = models.ForeignKey(
        "layers.Layer", verbose_name=_("layer"), on_delete=models.PROTECT, related_name="submissions"
    )
    county = models.ForeignKey(
        "layers.District", verbose_name=_("county"), on_delete=models.PROTECT, related_name="submissions"
    )
    version = models.OneToOneField(
        "layers.LayerVersion",
        verbose_name=_("candidate city version"),
        on_delete=models.PROTECT,
        related_name="submission",
    )
    file_name = models.CharField(_("file"), max_length=500)
    note = models.TextField(_("note from the county"), blank=True)
    submitted_by = models.CharField(_("submitted by"), max_length=150)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    reasons = models.TextField(_("reasons for return (退回理由)"), blank=True)
    deadline = models.DateField(_("correction deadline (整改期限)"), null=True, blank=True)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("resubmission of"),
    )
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("county submission")
        verbose_name_plural = _("county submissions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.layer.slug} {self.county_id} #{self.pk}"
