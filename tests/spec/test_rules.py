"""The product's pure rules and real store agree with the reference on every case of the table:
`streams.evaluator.Evaluator` (with the case's field types) fed the case's steps, its upserts
written by `SqlStore` (SQLite), the store read back row for row and trait for trait."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.spec.builders import Case
from tests.spec.cases import CASES
from tests.spec.compare import differences
from tests.spec.product import migrated, run
from tests.spec.reference import expected


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated(tmp_path_factory.mktemp("spec") / "empty.db")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_given_a_case_of_the_table_when_the_product_runs_it_then_its_store_equals_the_reference(
    case: Case, empty_store: Path, tmp_path: Path
) -> None:
    database = Path(shutil.copy(empty_store, tmp_path / "gather.db"))
    want = expected(case.config, case.types, case.steps, case.existing)

    got = run(case, database)

    assert differences(got.rows, want.rows) == [], case.guide
    counted = {obj for obj, reason in got.skipped if reason == "no_id"}
    assert counted == {obj for obj, _ in want.no_id}, "records with an empty id are counted"
