"""Reading a rubric file: strict YAML with a line for every value, then validation into a spec."""

from __future__ import annotations

from typing import Any

import yaml

from apps.rubrics.rubric_file.spec import RubricFileError, RubricSpec
from apps.rubrics.rubric_file.validate import Checker, join_path

# A rubric file is tens of kilobytes; these bounds keep a malformed or hostile one (megabytes
# of text, brackets nested thousands deep) from costing more than a moment to refuse.
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 20  # a rubric is 7 levels deep: areas, questions, criteria, texts
MAX_VALUES = 20_000  # the shipped rubrics have 1,000-1,700 (each text, key, list, mapping)


def size_problem(size: int, what: str = "the file") -> str | None:
    """The problem with a rubric file (or document) of `size` bytes, if it is over the cap."""
    if size > MAX_FILE_BYTES:
        return f"{what} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB ({size:,} bytes)"
    return None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that reports duplicate or non-text mapping keys instead of keeping the last
    one, and refuses aliases (a rubric is plain text, and aliases can expand without end)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.problems: list[str] = []
        self.depth = 0
        self.values = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise RubricFileError(
                [f"line {mark.line + 1}: aliases (*name) are not supported; write the text out"]
            )
        self.values += 1
        if self.values > MAX_VALUES:  # parsing here costs ~30 µs a value: stop before seconds
            mark = self.peek_event().start_mark
            raise RubricFileError(
                [f"line {mark.line + 1}: more than {MAX_VALUES:,} values; is this a rubric?"]
            )
        if not self.check_event(yaml.events.CollectionStartEvent):
            return super().compose_node(parent, index)
        # Composing recurses once per level: refuse deep nesting before Python's stack runs out.
        if self.depth == MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise RubricFileError(
                [
                    f"line {mark.line + 1}, column {mark.column + 1}: "
                    f"nested more than {MAX_DEPTH} levels deep"
                ]
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(f"line {line}: a key must be plain text")
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                self.problems.append(
                    f"line {line}: duplicate key '{key}' (first given on line {seen[key]})"
                )
            seen[key] = line
        if any(not isinstance(k, yaml.ScalarNode) for k, _v in node.value):
            return {}
        return super().construct_mapping(node, deep=deep)


def _line_map(node: yaml.Node, path: str = "", lines: dict[str, int] | None = None):
    """Map each document path (``areas[0].key``) to the line where its value starts."""
    lines = {} if lines is None else lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _line_map(value_node, join_path(path, str(key_node.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, join_path(path, index), lines)
    return lines


def parse_rubric_text(text: str) -> RubricSpec:
    """Parse and validate the text of a rubric file; raise RubricFileError listing every problem."""
    too_big = size_problem(len(text.encode()))
    if too_big:
        raise RubricFileError([too_big])
    if not text.strip():
        raise RubricFileError(["the file is empty"])
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise RubricFileError(["the file is empty"])
        document = loader.construct_document(node)
        if loader.problems:
            raise RubricFileError(loader.problems)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RubricFileError([f"{where}not valid YAML: {error.problem or error}"]) from None
    except yaml.YAMLError as error:
        raise RubricFileError([f"not valid YAML: {error}"]) from None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise RubricFileError([f"not valid YAML: {error}"]) from None
    finally:
        loader.dispose()
    return parse_rubric_document(document, lines=_line_map(node))


def parse_rubric_document(document: Any, lines: dict[str, int] | None = None) -> RubricSpec:
    """Validate an already-loaded rubric document (a dict); raise RubricFileError if invalid."""
    checker = Checker(lines or {})
    spec = checker.rubric(document)
    if checker.problems or spec is None:
        raise RubricFileError(checker.problems)
    return spec
