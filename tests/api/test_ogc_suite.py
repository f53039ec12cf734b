"""The OGC API – Features Part 1 test suite from PyPI (`ogctests`, a Python port of the OGC's
Java ETS) against the live server. It runs in its own venv (scripts/setup.sh --test: its pins
are older than ours) and reports JUnit XML; every abstract test passes except those named in
KNOWN_FAILURES, each with its reason (also in the README's OGC section)."""

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
SUITE_PYTHON = Path(__file__).resolve().parents[2] / ".venv" / "ogctests" / "bin" / "python"
RUN = """
import sys
from ogctests.main import run_ogctests
sys.exit(run_ogctests("features/core", sys.argv[1], ["-q", "-p", "no:cacheprovider", "--tb=line",
                                                      "--junit-xml=" + sys.argv[2]]))
"""
KNOWN_FAILURES = {
    # The suite asks /items of every collection, and ours include coverages (itemType: coverage,
    # OGC API – Common Part 2 allows them); their /items is a 404 by design, where the suite wants
    # 200 (ast13, ast22, ast23) or, for `limit=unlimited`, 400 (ast20).
    "test_ast13": "items of the coverage collections",
    "test_ast20": "items of the coverage collections",
    "test_ast22": "items of the coverage collections",
    "test_ast23": "items of the coverage collections",
    # The suite resolves the OpenAPI document's external $refs over the Internet; pygeoapi's
    # `datetime` parameter is one (the OpenAPI is being made self-contained on the errors branch).
    "test_ast18": "external $ref in the OpenAPI document",
}


@pytest.mark.skipif(not SUITE_PYTHON.exists(), reason="the suite's venv is made by scripts/setup.sh --test")
def test_features_core_suite(server, tmp_path):
    report = tmp_path / "ogctests.xml"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "DJANGO", "VIRTUAL_ENV"))}
    subprocess.run([str(SUITE_PYTHON), "-c", RUN, f"{server}/ogc", str(report)], cwd=tmp_path, env=env,
                   capture_output=True, text=True, timeout=600)
    cases = ET.parse(report).getroot().iter("testcase")
    outcome = {case.get("name"): _outcome(case) for case in cases}
    failed = {name for name, result in outcome.items() if result == "failed"}
    assert len(outcome) >= 29  # the suite's abstract tests /ats/core/…: a shrinking run shows
    assert failed <= set(KNOWN_FAILURES), sorted(failed - set(KNOWN_FAILURES))
    passed = {name for name, result in outcome.items() if result == "passed"}
    # Named ones that must pass: landing page, conformance, collections, bbox by geometry
    # (ast15), limit (ast17), query-param-unknown (ast21), features by id (ast27, ast28).
    assert {"test_ast3", "test_ast7", "test_ast9", "test_ast15", "test_ast17", "test_ast21",
            "test_ast27", "test_ast28"} <= passed


def _outcome(case) -> str:
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    return "skipped" if case.find("skipped") is not None else "passed"
