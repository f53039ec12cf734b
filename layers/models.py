"""The layer registry, its immutable versions and features, districts and projects."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from layers.codes import validate_unified_project_code
from layers.styles import validate_field_labels, validate_style

__all__ = ["Layer", "LayerVersion", "Feature", "FeaturePart", "District", "Project", "SiteRevision",
           "Scene", "ConflictRule", "ConflictPatch", "CurrentSite"]


class Layer(models.Model):
    """One entry of the registry: a control line, a zone, districts, imagery, project sites."""

    class Kind(models.TextChoices):
        VECTOR = "vector", _("vector")
        RASTER = "raster", _("raster")

    class Access(models.TextChoices):
        PUBLIC = "public", _("public")
        INTERNAL = "internal", _("internal")
        RESTRICTED = "restricted", _("restricted")

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    title_zh = models.CharField(_("Chinese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.VECTOR)
    geometry_type = models.CharField(_("geometry type"), max_length=32, default="MultiPolygon")
    fields = models.JSONField(_("attribute schema"), default=dict, blank=True,
                              help_text=_("Field name → string | integer | number | date"))
    access_level = models.CharField(_("access level"), max_length=16, choices=Access.choices,
                                    default=Access.INTERNAL)
    source = models.CharField(_("source"), max_length=500, blank=True)
    # Cartography of this layer over its built-in default (layers/styles.py): map, legend, PDF.
    style = models.JSONField(_("style"), default=dict, blank=True, validators=[validate_style],
                             help_text=_('e.g. {"color": "#1f78b4", "weight": 2, "dashArray": "8 4", '
                                         '"fillColor": "#a6cee3", "fillOpacity": 0.3, "hatch": "diagonal", '
                                         '"group": "control", "on": true}'))
    field_labels = models.JSONField(_("field labels"), default=dict, blank=True,
                                    validators=[validate_field_labels],
                                    help_text=_('Field name → Chinese name, or {"zh": …, "en": …, '
                                                '"unit": "m2", "hidden": true, "values": {"code": "name"}}'))
    licence = models.CharField(_("licence"), max_length=200, blank=True)
    # The attributes that name the same feature across versions, comma-separated (farmland:
    # ZLDWDM,TBBH — a patch number is unique within its village): version diffs match by them;
    # without them (or when they are not unique) by geometry.
    feature_key = models.CharField(_("feature key fields"), max_length=200, blank=True)
    active_version = models.ForeignKey("LayerVersion", verbose_name=_("active version"),
                                       null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("layer")
        verbose_name_plural = _("layers")
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.title_zh} ({self.slug})"


class LayerVersion(models.Model):
    """An immutable snapshot of a layer written by one import."""

    layer = models.ForeignKey(Layer, verbose_name=_("layer"), on_delete=models.PROTECT,
                              related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64)
    source_name = models.CharField(_("source file"), max_length=500)
    source_crs = models.CharField(_("source CRS"), max_length=64)
    feature_count = models.PositiveIntegerField(_("features"), default=0)
    area_m2 = models.FloatField(_("total area (m²)"), default=0)
    extent = models.PolygonField(_("extent"), srid=4490, null=True, blank=True)
    # Where the data speaks: outside it a check says "not covered", never "pass".
    coverage = models.MultiPolygonField(_("coverage"), srid=4490, null=True, blank=True)
    repaired = models.JSONField(_("repaired features"), default=list, blank=True)
    rejected = models.JSONField(_("rejected features"), default=list, blank=True)
    imported_by = models.CharField(_("imported by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("layer version")
        verbose_name_plural = _("layer versions")
        ordering = ["layer", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "number"], name="unique_version_number"),
            models.UniqueConstraint(fields=["layer", "content_hash"], name="unique_version_content"),
        ]

    def __str__(self) -> str:
        return f"{self.layer.slug} v{self.number}"


class Feature(models.Model):
    """A feature of one layer version; never updated (a database trigger refuses it).

    The table is partitioned by version (one partition per import, created and indexed in bulk
    by the importer and attached in its transaction), so "the active version of layer L in this
    envelope" reads one partition through its own GiST index. The migration creates it.
    """

    id = models.BigIntegerField(primary_key=True)
    version = models.ForeignKey(LayerVersion, on_delete=models.DO_NOTHING, related_name="features",
                                db_constraint=False)
    fid = models.BigIntegerField(_("source feature id"))
    properties = models.JSONField(_("attributes"), default=dict)
    area_m2 = models.FloatField(_("ellipsoidal area (m²)"), null=True)
    # True when the feature has more vertices than SUBDIVIDE_MAX_VERTICES and is cut into parts.
    subdivided = models.BooleanField(default=False)
    geom = models.GeometryField(srid=4490, spatial_index=False)

    class Meta:
        managed = False
        db_table = "layers_feature"
        verbose_name = _("feature")
        verbose_name_plural = _("features")

    def __str__(self) -> str:
        return f"{self.version} #{self.fid}"


class FeaturePart(models.Model):
    """A piece of a heavy feature cut by ST_Subdivide, so overlays touch few vertices."""

    id = models.BigIntegerField(primary_key=True)
    feature = models.ForeignKey(Feature, on_delete=models.DO_NOTHING, related_name="parts",
                                db_constraint=False)
    version = models.ForeignKey(LayerVersion, on_delete=models.DO_NOTHING, db_constraint=False)
    geom = models.GeometryField(srid=4490, spatial_index=False)

    class Meta:
        managed = False
        db_table = "layers_featurepart"


class District(models.Model):
    """An administrative district (行政区划) with its GB/T 2260 code and parent."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("province")
        CITY = "city", _("city")
        COUNTY = "county", _("county")
        TOWNSHIP = "township", _("township")

    code = models.CharField(_("GB/T 2260 code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name=_("parent"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="children")
    geom = models.MultiPolygonField(_("boundary"), srid=4490, null=True, blank=True)

    class Meta:
        verbose_name = _("administrative district")
        verbose_name_plural = _("administrative districts")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Project(models.Model):
    """A construction project known by its unified project code (统一项目代码)."""

    class ProjectType(models.TextChoices):
        APPROVAL = "01", _("approval (审批)")
        AUTHORISATION = "02", _("authorisation (核准)")
        FILING = "03", _("filing (备案)")

    class Stage(models.TextChoices):
        LAND_USE_PLANNING = "1", _("land-use planning permit (立项用地规划许可)")
        CONSTRUCTION_PLANNING = "2", _("construction planning permit (工程建设许可)")
        CONSTRUCTION = "3", _("construction permit (施工许可)")
        COMPLETION = "4", _("completion acceptance (竣工验收)")
        PARALLEL = "5", _("parallel (并行推进)")

    class Category(models.TextChoices):
        URBAN = "urban_construction", _("urban construction (城镇建设)")
        LINEAR = "linear_infrastructure", _("separately sited infrastructure (单独选址)")
        STATE_COUNCIL = "major_state_council", _("State-Council-approved major project")

    code = models.CharField(_("unified project code"), max_length=24, unique=True,
                            validators=[validate_unified_project_code])
    name = models.CharField(_("project name"), max_length=300)
    applicant = models.CharField(_("applicant"), max_length=300)
    project_type = models.CharField(_("project type"), max_length=2, choices=ProjectType.choices)
    stage = models.CharField(_("stage"), max_length=1, choices=Stage.choices,
                             default=Stage.LAND_USE_PLANNING)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices,
                                default=Category.URBAN)
    district = models.ForeignKey(District, verbose_name=_("district"), on_delete=models.PROTECT,
                                 related_name="projects")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def current_site(self) -> "SiteRevision | None":
        return self.site_revisions.order_by("-number").first()


class SiteRevision(models.Model):
    """One drawing of a project's site boundary (用地红线); redraws add revisions."""

    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.PROTECT,
                                related_name="site_revisions")
    number = models.PositiveIntegerField(_("revision"))
    geom = models.MultiPolygonField(_("site boundary"), srid=4490)
    area_m2 = models.FloatField(_("ellipsoidal area (m²)"))
    source_format = models.CharField(_("source format"), max_length=32, blank=True)
    source_crs = models.CharField(_("source CRS"), max_length=64, blank=True)
    geometry_hash = models.CharField(_("geometry hash"), max_length=64)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("site revision")
        verbose_name_plural = _("site revisions")
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="unique_site_revision"),
        ]

    def __str__(self) -> str:
        return f"{self.project.code} r{self.number}"


class CurrentSite(models.Model):
    """The current (latest) site revision of a project, in a layer feature's shape: the view
    `layers_current_site` (layers/sites.py), read by the `project_site` collection and tiles."""

    id = models.BigIntegerField(primary_key=True)  # the revision's id
    fid = models.BigIntegerField()  # the project's id: the feature id of the collection and tiles
    project = models.ForeignKey(Project, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    properties = models.JSONField(default=dict)
    area_m2 = models.FloatField()
    geom = models.MultiPolygonField(srid=4490, spatial_index=False)

    class Meta:
        managed = False
        db_table = "layers_current_site"


class Scene(models.Model):
    """One image of a raster layer (遥感影像), stored as a Cloud-Optimised GeoTIFF.

    Each import adds one scene and one layer version (the version's number orders the scenes);
    the layer's scenes as of version N are those written by versions up to N.
    """

    layer = models.ForeignKey(Layer, verbose_name=_("layer"), on_delete=models.PROTECT,
                              related_name="scenes")
    version = models.OneToOneField(LayerVersion, verbose_name=_("layer version"),
                                   on_delete=models.PROTECT, related_name="scene")
    acquired = models.DateField(_("acquisition date"))
    sensor = models.CharField(_("sensor"), max_length=200, blank=True)
    resolution_m = models.FloatField(_("ground resolution (m)"))
    bands = models.JSONField(_("band names"), default=list)
    dtype = models.CharField(_("data type"), max_length=16)
    crs = models.CharField(_("CRS"), max_length=200)
    width = models.PositiveIntegerField(_("width (px)"))
    height = models.PositiveIntegerField(_("height (px)"))
    footprint = models.PolygonField(_("footprint"), srid=4490)
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64)
    cog_path = models.CharField(_("COG file (relative to IMAGERY_DIR)"), max_length=500)
    cog_bytes = models.BigIntegerField(_("COG size (bytes)"))
    # Per band [low, high] (2nd and 98th percentiles) for display of 16-bit data.
    display_range = models.JSONField(_("display range"), default=list, blank=True)
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("scene")
        verbose_name_plural = _("scenes")
        ordering = ["layer", "-acquired", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "content_hash"], name="unique_scene_content"),
        ]

    def __str__(self) -> str:
        return f"{self.layer.slug} {self.acquired:%Y-%m-%d} ({self.sensor})"


class ConflictRule(models.Model):
    """A pair of layers whose overlap is a 多规合一 conflict (e.g. farmland inside the development
    boundary); administrators add pairs as data. Its patches follow the layers' active versions."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    title_zh = models.CharField(_("Chinese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200)
    layer_a = models.ForeignKey(Layer, verbose_name=_("first layer"), on_delete=models.PROTECT,
                                related_name="+")
    layer_b = models.ForeignKey(Layer, verbose_name=_("second layer"), on_delete=models.PROTECT,
                                related_name="+")
    note = models.TextField(_("note (legal basis, how to resolve)"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    computed_version_a = models.ForeignKey(LayerVersion, null=True, blank=True, editable=False,
                                           on_delete=models.SET_NULL, related_name="+")
    computed_version_b = models.ForeignKey(LayerVersion, null=True, blank=True, editable=False,
                                           on_delete=models.SET_NULL, related_name="+")
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("conflict rule (多规合一)")
        verbose_name_plural = _("conflict rules (多规合一)")
        ordering = ["slug"]
        constraints = [models.CheckConstraint(condition=~models.Q(layer_a=models.F("layer_b")),
                                              name="conflict_two_layers")]

    def __str__(self) -> str:
        return f"{self.title_zh} ({self.slug})"


class ConflictPatch(models.Model):
    """One conflict patch (冲突图斑): where a feature of one layer meets a feature of the other,
    cut by county, with its ellipsoidal area. Recomputed whole when either layer switches version."""

    rule = models.ForeignKey(ConflictRule, on_delete=models.CASCADE, related_name="patches")
    district = models.ForeignKey(District, verbose_name=_("county"), on_delete=models.PROTECT,
                                 related_name="+")
    a_fid = models.BigIntegerField(_("first layer feature"))
    b_fid = models.BigIntegerField(_("second layer feature"))
    a_properties = models.JSONField(_("first layer attributes"), default=dict)
    b_properties = models.JSONField(_("second layer attributes"), default=dict)
    area_m2 = models.FloatField(_("ellipsoidal area (m²)"))
    geom = models.MultiPolygonField(_("conflict"), srid=4490)

    class Meta:
        verbose_name = _("conflict patch (冲突图斑)")
        verbose_name_plural = _("conflict patches (冲突图斑)")
        indexes = [models.Index(fields=["rule", "district"], name="conflict_by_county")]
from layers.quality.models import QualityFailure, QualityReport, QualityRule, Submission, VersionReview  # noqa: E402,F401  (the quality models belong to this app)
