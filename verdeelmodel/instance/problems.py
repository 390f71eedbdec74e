"""Problems found in input: where (file, row, column), what (value) and what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    location: str  # file name, or workbook[sheet]
    row: int | None  # row number as the user sees it in the file (header = row 1)
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        parts = [self.location]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            is_setting = self.location.endswith((".yaml", "[instance]"))
            parts.append(f"{'setting' if is_setting else 'column'} '{self.column}'")
        where = ", ".join(parts)
        got = f": value {self.value!r}" if self.value is not None else ""
        return f"{where}{got} -- expected {self.expected}"


class InstanceError(Exception):
    """Raised when an instance has problems; carries all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the instance:\n" + "\n".join(f"  - {p}" for p in problems))
