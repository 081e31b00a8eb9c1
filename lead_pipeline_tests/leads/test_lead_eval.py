"""Per-field accuracy of lead intelligence on the labelled evaluation set (sample inbox + lead_eval).

The labels (fixtures/lead_labels.csv, conventions in lead_labels_notes.md) are a person's reading of
each message. Routes and duplicate groups must be exact; the other fields are reported in the
terminal summary and must not fall below their floors.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from lead_pipeline.runner import run_pipeline
from lead_pipeline_tests.leads.accuracy_report import ACCURACY
from lead_pipeline.settings import SAMPLE_INBOX, Settings

FIXTURES = Path(__file__).parents[1] / "fixtures"
FOLDERS = {"sample_inbox": SAMPLE_INBOX, "lead_eval": FIXTURES / "lead_eval"}
# Floors under today's accuracy: a change that makes extraction worse fails here.
FLOORS = {
    "sender_email": 1.0, "company_domain": 1.0, "intent": 0.95, "phone": 0.9, "role": 0.85, "company": 0.85,
    "budget_amount": 0.9, "budget_currency": 0.9, "timeline": 0.8, "team_size": 0.8,
}


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    """Run the whole graph once over every labelled file; map each file to the lead it became."""
    root = tmp_path_factory.mktemp("lead_eval")
    inbox = root / "inbox"
    for prefix, folder in FOLDERS.items():
        shutil.copytree(folder, inbox / prefix)
    settings = Settings.from_env({"LEAD_PIPELINE_HOME": str(root / "home"), "LEAD_PIPELINE_INBOX": str(inbox)})
    with dg.instance_for_test() as instance:
        run_pipeline(settings, instance)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        lead_of_file = {
            "/".join(Path(ref).parts[-2:]): lead_id
            for ref, lead_id in conn.execute("SELECT source_ref, lead_id FROM messages").fetchall()
        }
        columns = [row[0] for row in conn.execute("DESCRIBE leads").fetchall()]
        leads = {row[0]: dict(zip(columns, row)) for row in conn.execute("SELECT * FROM leads").fetchall()}
    with open(FIXTURES / "lead_labels.csv", newline="", encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))
    return labels, lead_of_file, leads


def test_every_labelled_file_became_a_lead(evaluation):
    labels, lead_of_file, leads = evaluation
    missing = [row["file"] for row in labels if lead_of_file.get(row["file"]) not in leads]
    assert not missing


def test_duplicate_groups_are_exact(evaluation):
    labels, lead_of_file, _ = evaluation
    expected, found = defaultdict(set), defaultdict(set)
    for row in labels:
        expected[row["lead_group"]].add(row["file"])
        found[lead_of_file.get(row["file"])].add(row["file"])
    assert {frozenset(g) for g in found.values()} == {frozenset(g) for g in expected.values()}


def _accuracy(evaluation, field: str) -> float:
    labels, lead_of_file, leads = evaluation
    wrong = []
    for row in labels:
        got = _plain(leads.get(lead_of_file.get(row["file"]), {}).get(field))
        want = row[field].strip()
        if field in ("company", "role"):
            got, want = got.casefold(), want.casefold()
        if got != want:
            wrong.append(f"{row['file']}: want {row[field]!r}, got {got!r}")
    ACCURACY[field] = (len(labels) - len(wrong), len(labels), wrong)
    return 1 - len(wrong) / len(labels)


def test_routes_are_exact(evaluation):
    _accuracy(evaluation, "route")
    assert not ACCURACY["route"][2], "\n".join(ACCURACY["route"][2])


@pytest.mark.parametrize("field", sorted(FLOORS))
def test_field_accuracy_stays_above_its_floor(evaluation, field):
    assert _accuracy(evaluation, field) >= FLOORS[field], "\n".join(ACCURACY[field][2])
