"""The outbox: one row per row the city writes into the province's front database."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from compliance.models import Check
from layers.models import District, Layer, LayerVersion, Project, SiteRevision

__all__ = ["Table", "State", "OutboxRow"]


class Table(models.TextChoices):
    """The three 多规 tables of the data-sharing standard that belong to the blueprint."""

    CONTROL_LINE = "SPGL_DFGHKZXXXB", "地方规划控制线信息表 (control lines)"
    SITE = "SPGL_XMYDHXJZXXB", "项目用地红线界址信息表 (site boundaries)"
    OPINION = "SPGL_XMQQYJXXB", "项目前期意见信息表 (pre-application opinions)"


class State(models.TextChoices):
    PENDING = "pending", "待上传 (to send)"
    LOCAL_FAILED = "local_failed", "本地校验失败 (failed the local check)"
    SENT = "sent", "已上传 (sent)"
    ACCEPTED = "accepted", "省级已接收 (accepted by the province)"
    REJECTED = "rejected", "省级校验失败 (rejected by the province)"


class OutboxRow(models.Model):
    """A row to write into the front database, written in the transaction of its business event.

    Its key there (地方数据主键 DFSJZJ) is derived from this row's id, so a retried push never
    writes it twice. The row's content is built when it is sent, from immutable sources (a layer
    version, a site revision, a stored check). `valid=False` is the first row of the standard's
    two-row correction: it marks `supersedes` invalid (SJYXBS = 0).
    """

    table = models.CharField(_("table"), max_length=32, choices=Table.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    valid = models.BooleanField(_("valid (SJYXBS)"), default=True)
    supersedes = models.ForeignKey("self", verbose_name=_("supersedes"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="superseded_by")
    district = models.ForeignKey(District, verbose_name=_("district"), on_delete=models.PROTECT)
    layer = models.ForeignKey(Layer, verbose_name=_("layer"), null=True, blank=True,
                              on_delete=models.PROTECT)
    layer_version = models.ForeignKey(LayerVersion, null=True, blank=True, on_delete=models.PROTECT)
    project = models.ForeignKey(Project, verbose_name=_("project"), null=True, blank=True,
                                on_delete=models.PROTECT)
    site_revision = models.ForeignKey(SiteRevision, null=True, blank=True, on_delete=models.PROTECT)
    check_result = models.ForeignKey(Check, null=True, blank=True, on_delete=models.PROTECT)
    problem = models.TextField(_("local check failure"), blank=True)
    province_status = models.SmallIntegerField(_("SJSCZT"), null=True, blank=True)
    province_reason = models.TextField(_("SBYY"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    feedback_at = models.DateTimeField(_("feedback at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shared row")
        verbose_name_plural = _("shared rows (数据共享)")
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "id"], name="outbox_state")]

    def __str__(self) -> str:
        return f"{self.key} {self.get_table_display()}"

    @property
    def key(self) -> str:
        """地方数据主键 DFSJZJ: the city's prefix and this row's number."""
        return f"{settings.BLUEPRINT['EXCHANGE_KEY_PREFIX']}{self.pk:012d}"
