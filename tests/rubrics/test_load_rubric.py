"""manage.py load_rubric / export_rubric and the load service."""

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.rubrics.models import Area, Criterion, Question, RubricVersion, ScaleLevel
from apps.rubrics.rubric_file import parse_rubric_text
from apps.rubrics.selectors import spec_from_version
from tests.factories import rubric_document

pytestmark = pytest.mark.django_db
SHIPPED = sorted((Path(settings.BASE_DIR) / "rubrics").glob("*.yaml"))


def write(tmp_path, document, name="rubric.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def load(path, *args) -> str:
    out = StringIO()
    call_command("load_rubric", str(path), *args, stdout=out)
    return out.getvalue()


def content_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (RubricVersion, Area, Question, ScaleLevel, Criterion))


def test_load_creates_a_published_version(tmp_path):
    output = load(write(tmp_path, rubric_document()))
    assert "tiny 1 created (published; 2 areas, 3 questions, 3 scale levels)" in output
    version = RubricVersion.objects.get(rubric__slug="tiny", label="1")
    assert version.is_published and version.published_at is not None
    assert version.questions.count() == 3
    assert Criterion.objects.filter(question__version=version).count() == 9
    features = version.questions.get(key="data-features")
    assert features.na_allowed and features.na_criterion_ja == "特徴量なし"


def test_reloading_the_identical_file_is_a_no_op(tmp_path, django_assert_max_num_queries):
    path = write(tmp_path, rubric_document())
    load(path)
    before = content_counts()
    version = RubricVersion.objects.get()
    with django_assert_max_num_queries(12):
        output = load(path)
    assert "unchanged" in output
    assert content_counts() == before
    assert RubricVersion.objects.get().published_at == version.published_at


def test_changed_file_over_a_published_version_is_refused_and_writes_nothing(tmp_path):
    load(write(tmp_path, rubric_document()))
    before = content_counts()
    changed = rubric_document()
    changed["areas"][0]["questions"][0]["criteria"][1] = "Schema checked by hand, weekly"
    with pytest.raises(CommandError) as caught:
        load(write(tmp_path, changed, "changed.yaml"))
    message = str(caught.value)
    assert "tiny 1 is published" in message
    assert "question data-schema changed" in message and "new version label" in message
    assert content_counts() == before
    assert Criterion.objects.filter(text_en="Schema checked by hand, weekly").count() == 0


def test_a_changed_file_loads_as_a_new_version_beside_the_old(tmp_path):
    load(write(tmp_path, rubric_document()))
    changed = rubric_document(version="2")
    changed["areas"][1]["questions"][0]["key"] = "monitoring-drift"
    assert "tiny 2 created" in load(write(tmp_path, changed, "v2.yaml"))
    assert list(RubricVersion.objects.order_by("label").values_list("label", flat=True)) == [
        "1",
        "2",
    ]


def test_draft_can_be_reloaded_with_changes_then_published(tmp_path):
    assert "created (draft" in load(write(tmp_path, rubric_document()), "--draft")
    changed = rubric_document()
    changed["areas"][1]["title"] = "Monitoring and alerting"
    assert "replaced (draft" in load(write(tmp_path, changed, "b.yaml"), "--draft")
    version = RubricVersion.objects.get()
    assert version.areas.get(key="monitoring").title_en == "Monitoring and alerting"
    assert Question.objects.count() == 3  # replaced, not added to
    assert "published (published" in load(write(tmp_path, changed, "b.yaml"))
    version.refresh_from_db()
    assert version.is_published


def test_malformed_file_exits_non_zero_names_the_problem_and_writes_nothing(tmp_path):
    document = rubric_document()
    document["areas"][0]["questions"][0]["criteria"] = ["only", "two"]
    with pytest.raises(CommandError) as caught:
        load(write(tmp_path, document))
    message = str(caught.value)
    assert "1 problem(s), nothing loaded" in message
    assert "areas[0].questions[0].criteria: 2 criteria given, but the scale has 3 levels" in message
    assert content_counts() == (0, 0, 0, 0, 0)


def test_missing_and_non_utf8_files_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        load(tmp_path / "missing.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        load(path)


def test_process_exit_code_is_non_zero_for_a_malformed_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("rubric: Bad Slug\n", "utf-8")
    result = subprocess.run(
        [sys.executable, "manage.py", "load_rubric", str(path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"},
    )
    assert result.returncode == 1
    assert "rubric: expected a key of lowercase letters" in result.stderr


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_shipped_rubric_loads_and_exports_to_the_same_content(tmp_path, path):
    load(path)
    original = parse_rubric_text(path.read_text("utf-8"))
    exported = tmp_path / "exported.yaml"
    call_command(
        "export_rubric", original.rubric, "--version", original.version, "-o", str(exported)
    )
    assert parse_rubric_text(exported.read_text("utf-8")) == original
    # ...and loading the export over the published version is the identical-file no-op.
    assert "unchanged" in load(exported)


def test_shipped_rubrics_are_the_expected_four():
    specs = {
        (s.rubric, s.version): s for s in (parse_rubric_text(p.read_text("utf-8")) for p in SHIPPED)
    }
    assert set(specs) == {
        ("ml-test-score", "2017"),
        ("mlopsscore", "v1"),
        ("mlopsscore", "v2"),
        ("mlops-maturity", "2023"),
    }
    paper = specs["ml-test-score", "2017"]
    assert [len(a.questions) for a in paper.areas] == [7, 7, 7, 7]
    assert [str(level.value) for level in paper.scale] == ["0", "0.5", "1"]
    assert (paper.area_aggregation, paper.overall_rule) == ("sum", "min")
    assert [b.max for b in paper.bands] == [0, 1, 2, 3, 5, None]
    assert not any(q.not_applicable for a in paper.areas for q in a.questions)
    v1, v2 = specs["mlopsscore", "v1"], specs["mlopsscore", "v2"]
    keys = lambda spec: {q.key for a in spec.areas for q in a.questions}  # noqa: E731
    assert len(keys(v1)) == len(keys(v2)) == 28
    assert len(keys(v1) & keys(v2)) == 26
    assert v1.not_applicable_policy == "rescale"
    assert any(q.not_applicable for a in v1.areas for q in a.questions)
    maturity = specs["mlops-maturity", "2023"]
    assert [len(a.questions) for a in maturity.areas] == [8, 20, 10, 8, 7, 4, 3]
    assert [level.label.en for level in maturity.scale] == ["No", "Yes"]
    assert (maturity.area_aggregation, maturity.overall_rule) == ("mean", "mean")


def test_reloading_an_old_versions_file_does_not_rename_the_rubric(tmp_path):
    from apps.rubrics.models import Rubric

    old = write(tmp_path, rubric_document(), "v1.yaml")
    load(old)
    load(write(tmp_path, rubric_document(version="2", name="Tiny, renamed"), "v2.yaml"))
    assert "unchanged" in load(old)
    assert Rubric.objects.get().name_en == "Tiny, renamed"


def test_a_failure_while_writing_leaves_nothing(tmp_path):
    from apps.rubrics.rubric_file import parse_rubric_document
    from apps.rubrics.services import load_rubric
    from tests.conftest import fail_inserts_into

    fail_inserts_into("rubrics_criterion")  # the criteria insert fails, after the others
    from django.db import IntegrityError

    # No atomic() around the call: only the service's own transaction can undo its writes.
    with pytest.raises(IntegrityError, match="t_fail"):
        load_rubric(spec=parse_rubric_document(rubric_document()))
    assert content_counts() == (0, 0, 0, 0, 0)


def test_export_of_unknown_version_lists_known_ones(tmp_path):
    load(write(tmp_path, rubric_document()))
    expected = "No version '9' of rubric 'tiny'. Known versions: 1"
    with pytest.raises(CommandError, match=re.escape(expected)):
        call_command("export_rubric", "tiny", "--version", "9")


def test_spec_from_version_reads_in_constant_queries(tmp_path, django_assert_num_queries):
    load(write(tmp_path, rubric_document()))
    version = RubricVersion.objects.get()
    with django_assert_num_queries(6):
        spec_from_version(version)
