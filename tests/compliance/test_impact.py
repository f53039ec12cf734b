"""The impact of a layer version before activation, checked against actually re-running the checks.

A candidate red line is built from the fixture file (a new patch over one project's site, the
patches another project occupies removed), staged, previewed, activated; then the stale checks are
re-run by procrastinate's worker and every project's new verdict and changed findings compared
with the preview.
"""

import json

import numpy as np
import pyogrio.raw
import pytest
import shapely

from blueprint.models import AuditEntry
from blueprint.tasks import run_until_idle
from compliance import impact
from compliance.models import Check
from compliance.services import check_project, compare_checks, gate
from layers.importers import import_layer
from layers.models import Layer, Project
from layers.versions import activate_version, impact_of
from tests.compliance import oracle

pytestmark = pytest.mark.django_db
SLUG = "ecological_redline"


def current_checks() -> dict[str, Check]:
    return {p.code: check_project(p, created_by="impact-test") for p in Project.objects.order_by("code")}


def redline_status(check: Check) -> tuple[str, list[int]]:
    finding = check.findings.get(rule_id=SLUG)
    return finding.status, [row["fid"] for row in finding.features]


def candidate_file(small_data, tmp_path, checks: dict[str, Check]) -> tuple:
    """The fixture red line with a patch over a clear project's site and without the patches an
    occupying project meets (when one does)."""
    meta, fids, wkb, fields = pyogrio.raw.read(str(small_data / f"{SLUG}.gpkg"), return_fids=True)
    statuses = {code: redline_status(check) for code, check in checks.items()}
    clear = next(code for code, (status, _) in statuses.items() if status == "pass")
    occupying = next((code for code, (status, _) in statuses.items() if status == "fail"), None)
    drop = set(statuses[occupying][1]) if occupying else set()
    keep = np.array([int(fid) not in drop for fid in fids])
    site = shapely.from_wkb(bytes(checks[clear].geom.wkb))
    patch = shapely.MultiPolygon([shapely.box(*site.buffer(0.001).bounds)])
    geoms = np.append(np.array(wkb, dtype=object)[keep], shapely.to_wkb(patch))
    # The new patch carries a kept patch's attributes and its own BSM: the import's quality rules
    # (an identifier present, none twice) hold, so that the version may go live.
    first = int(np.flatnonzero(keep)[0])
    columns = [np.append(np.array(column, dtype=object)[keep],
                         ["IMPACT-NEW-1" if name == "BSM" else column[first]])
               for name, column in zip(meta["fields"], fields, strict=True)]
    path = tmp_path / "redline_v2.gpkg"
    pyogrio.raw.write(str(path), geoms, columns, list(meta["fields"]), driver="GPKG", crs="EPSG:4490",
                      geometry_type="MultiPolygon")
    return path, clear, occupying


def test_the_preview_says_what_re_running_the_checks_then_says(small_data, tmp_path):
    checks = current_checks()
    path, clear, occupying = candidate_file(small_data, tmp_path, checks)
    summary = import_layer(SLUG, path, coverage=oracle.covered_counties(small_data), activate=False)
    layer = Layer.objects.select_related("active_version").get(slug=SLUG)
    version = layer.versions.get(number=summary.version)
    assert layer.active_version_id != version.pk

    predicted = impact.preview(layer, version)
    by_code = {p.project_code: p for p in predicted.projects}
    assert predicted.checks_evaluated == len(checks)
    assert by_code[clear].verdict_after == "fail"  # the new patch lies over its site
    if occupying:
        assert any(f["rule_id"] == SLUG and f["before"] == "fail" for f in by_code[occupying].findings)
    assert Layer.objects.get(slug=SLUG).active_version_id == layer.active_version_id  # nothing switched

    activate_version(layer, version, actor="impact-test", impact=impact_of(layer, version))
    assert {c.pk for c in impact.stale_checks(SLUG)} == {c.pk for c in checks.values()}
    decision = gate(clear, "1")
    assert decision.stale and any("图层数据已更新" in r for r in decision.reasons)

    assert impact.queue_reruns(SLUG, actor="impact-test") == len(checks)
    assert impact.queue_reruns(SLUG, actor="impact-test") == 0  # queued once only
    run_until_idle(["checks"])
    for code, old in checks.items():
        new = Check.objects.filter(rerun_of=old).get()
        expected = by_code.get(code)
        assert new.verdict == (expected.verdict_after if expected else old.verdict), code
        changed = {c["rule_id"] for c in compare_checks(old, new)}
        assert changed == ({f["rule_id"] for f in expected.findings} if expected else set()), code
        assert new.layer_versions[SLUG] == version.pk
    assert impact.stale_checks(SLUG) == []
    entry = AuditEntry.objects.filter(action="layer.activate", target=SLUG).latest("id")
    shown = json.dumps(entry.detail["impact"], ensure_ascii=False)
    assert clear in shown  # the impact shown was recorded with the switch


def test_a_rollback_preview_undoes_the_new_version(small_data, tmp_path):
    checks = current_checks()
    path, clear, _ = candidate_file(small_data, tmp_path, checks)
    summary = import_layer(SLUG, path, coverage=oracle.covered_counties(small_data))
    layer = Layer.objects.select_related("active_version").get(slug=SLUG)
    new_checks = {code: check_project(Project.objects.get(code=code)) for code in checks}
    earlier = layer.versions.filter(number__lt=summary.version).order_by("-number").first()
    back = {p.project_code: p for p in impact.preview(layer, earlier).projects}
    for code, check in new_checks.items():
        assert back.get(code, None) is None or back[code].verdict_after == checks[code].verdict
        if checks[code].verdict != check.verdict:
            assert back[code].verdict_before == check.verdict
    assert back[clear].verdict_before == "fail" and back[clear].verdict_after == checks[clear].verdict
