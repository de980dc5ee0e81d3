"""The rubric file format (YAML): parse and validate it into a RubricSpec, and write one back.

A rubric file is reviewed like code, so every problem is reported with its line and its path
in the document (``line 42, areas[1].questions[3].criteria: …``), all at once, and nothing is
written unless the whole file is valid. See README "Rubric files" for the format.
"""

from apps.rubrics.rubric_file.dump import dump_rubric, spec_to_document
from apps.rubrics.rubric_file.load import (
    MAX_FILE_BYTES,
    parse_rubric_document,
    parse_rubric_text,
    size_problem,
)
from apps.rubrics.rubric_file.spec import (
    AreaSpec,
    BandSpec,
    LevelSpec,
    QuestionSpec,
    RubricFileError,
    RubricSpec,
    Text,
)

__all__ = [
    "MAX_FILE_BYTES",
    "AreaSpec",
    "BandSpec",
    "LevelSpec",
    "QuestionSpec",
    "RubricFileError",
    "RubricSpec",
    "Text",
    "dump_rubric",
    "parse_rubric_document",
    "parse_rubric_text",
    "size_problem",
    "spec_to_document",
]
