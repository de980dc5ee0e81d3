"""Writes of rubric content: load a rubric file into a version, publish a draft."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.utils import timezone

from apps.rubrics.models import (
    Area,
    Band,
    Criterion,
    PublishedVersionError,
    Question,
    Rubric,
    RubricVersion,
    ScaleLevel,
)
from apps.rubrics.rubric_file import (
    RubricFileError,
    RubricSpec,
    parse_rubric_document,
    spec_to_document,
)
from apps.rubrics.selectors import spec_from_version


class RubricContentError(Exception):
    """A draft version whose content is not a valid rubric (e.g. after edits in the admin)."""


Outcome = Literal["created", "unchanged", "replaced", "published"]


@dataclass(frozen=True)
class LoadResult:
    version: RubricVersion
    outcome: Outcome


def load_rubric(*, spec: RubricSpec, publish: bool = True) -> LoadResult:
    """Create or update the version described by `spec`; a published version is never changed."""
    with transaction.atomic():
        rubric, _created = Rubric.objects.get_or_create(
            slug=spec.rubric, defaults={"name_en": spec.name.en, "name_ja": spec.name.ja}
        )
        version = (
            RubricVersion.objects.select_for_update()
            .filter(rubric=rubric, label=spec.version)
            .first()
        )
        if version is None:
            version = _create_version(rubric=rubric, spec=spec)
            outcome: Outcome = "created"
        else:
            current = spec_from_version(version)
            # The rubric's name belongs to the rubric, not to one version: compare the rest.
            same = dataclasses.replace(current, name=spec.name) == spec
            if version.is_published and not same:
                raise PublishedVersionError(
                    f"{spec.rubric} {spec.version} is published and this file differs from it "
                    f"({describe_difference(current, spec)}). Published versions never change: "
                    "give the file a new version label to publish a revision."
                )
            if same and (version.is_published or not publish):
                # An old version's file must not rename the rubric: a no-op stays a no-op.
                return LoadResult(version=version, outcome="unchanged")
            outcome = "unchanged"
            if not same:
                _replace_content(version=version, spec=spec)
                outcome = "replaced"
        _rename(rubric, spec)
        if publish:
            publish_version(version=version)
            outcome = "published" if outcome != "created" else outcome
        return LoadResult(version=version, outcome=outcome)


def publish_version(*, version: RubricVersion) -> RubricVersion:
    """Validate a draft's content as a whole rubric and publish it (then it is immutable)."""
    if version.is_published:
        return version
    try:
        parse_rubric_document(spec_to_document(spec_from_version(version)))
    except RubricFileError as error:
        raise RubricContentError(
            f"{version} cannot be published: " + "; ".join(error.problems)
        ) from None
    version.state = RubricVersion.State.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["state", "published_at"])
    return version


def describe_difference(old: RubricSpec, new: RubricSpec) -> str:
    """A short human description of the first places where two specs differ."""
    differences = [
        name
        for name in ("scale", "area_aggregation", "not_applicable_policy", "overall_rule", "bands")
        if getattr(old, name) != getattr(new, name)
    ]
    old_areas = {area.key: area for area in old.areas}
    new_areas = {area.key: area for area in new.areas}
    if list(old_areas) != list(new_areas):
        differences.append(f"areas {list(old_areas)} → {list(new_areas)}")
    for key in old_areas.keys() & new_areas.keys():
        old_area, new_area = old_areas[key], new_areas[key]
        if old_area.title != new_area.title:
            differences.append(f"title of area {key}")
        old_questions = {q.key: q for q in old_area.questions}
        new_questions = {q.key: q for q in new_area.questions}
        for question_key in sorted(old_questions.keys() ^ new_questions.keys()):
            side = "removed" if question_key in old_questions else "added"
            differences.append(f"question {question_key} {side}")
        for question_key in sorted(old_questions.keys() & new_questions.keys()):
            if old_questions[question_key] != new_questions[question_key]:
                differences.append(f"question {question_key} changed")
        if [q.key for q in old_area.questions] != [q.key for q in new_area.questions] and all(
            q in new_questions for q in old_questions
        ):
            differences.append(f"question order in area {key}")
    shown = differences[:5]
    more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
    return ", ".join(shown) + more if shown else "no difference"


def _rename(rubric: Rubric, spec: RubricSpec) -> None:
    if (rubric.name_en, rubric.name_ja) != (spec.name.en, spec.name.ja):
        rubric.name_en, rubric.name_ja = spec.name.en, spec.name.ja
        rubric.save(update_fields=["name_en", "name_ja"])


def _create_version(*, rubric: Rubric, spec: RubricSpec) -> RubricVersion:
    version = RubricVersion.objects.create(
        rubric=rubric,
        label=spec.version,
        area_aggregation=spec.area_aggregation,
        not_applicable_policy=spec.not_applicable_policy,
        overall_rule=spec.overall_rule,
    )
    _write_content(version=version, spec=spec)
    return version


def _replace_content(*, version: RubricVersion, spec: RubricSpec) -> None:
    """Swap a draft's content for the spec's (drafts have no answers, rounds need published)."""
    Area.objects.filter(version=version).delete()  # cascades to questions and criteria
    ScaleLevel.objects.filter(version=version).delete()
    Band.objects.filter(version=version).delete()
    RubricVersion.objects.filter(pk=version.pk).update(
        area_aggregation=spec.area_aggregation,
        not_applicable_policy=spec.not_applicable_policy,
        overall_rule=spec.overall_rule,
    )
    version.refresh_from_db()
    _write_content(version=version, spec=spec)


def _write_content(*, version: RubricVersion, spec: RubricSpec) -> None:
    levels = ScaleLevel.objects.bulk_create(
        ScaleLevel(
            version=version,
            order=order,
            value=level.value,
            label_en=level.label.en,
            label_ja=level.label.ja,
        )
        for order, level in enumerate(spec.scale)
    )
    Band.objects.bulk_create(
        Band(
            version=version,
            order=order,
            upper_bound=band.max,
            label_en=band.label.en,
            label_ja=band.label.ja,
        )
        for order, band in enumerate(spec.bands)
    )
    areas = Area.objects.bulk_create(
        Area(version=version, key=a.key, order=i, title_en=a.title.en, title_ja=a.title.ja)
        for i, a in enumerate(spec.areas)
    )
    question_specs = [
        (area, q, order)
        for area, a in zip(areas, spec.areas, strict=True)
        for order, q in enumerate(a.questions)
    ]
    questions = Question.objects.bulk_create(
        Question(
            version=version,
            area=area,
            key=q.key,
            order=order,
            text_en=q.text.en,
            text_ja=q.text.ja,
            guidance_en=q.guidance.en if q.guidance else "",
            guidance_ja=q.guidance.ja if q.guidance else "",
            na_allowed=q.not_applicable is not None,
            na_criterion_en=q.not_applicable.en if q.not_applicable else "",
            na_criterion_ja=q.not_applicable.ja if q.not_applicable else "",
            capabilities=list(q.capabilities),
        )
        for area, q, order in question_specs
    )
    Criterion.objects.bulk_create(
        Criterion(question=question, level=level, text_en=text.en, text_ja=text.ja)
        for question, (_area, q, _order) in zip(questions, question_specs, strict=True)
        for level, text in zip(levels, q.criteria, strict=True)
    )
