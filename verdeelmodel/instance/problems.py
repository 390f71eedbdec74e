"""Problems found in input: where (file, row, column), what (value) and what was expected."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: bidirectional overrides, embeddings and isolates: text that reads differently than it is ("Trojan source")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


#: the same as one pattern: Unicode's control characters (category Cc: U+0000-U+001F and
#: U+007F-U+009F) but tab and line ends, and the bidirectional controls (one regex search per
#: cell instead of a category lookup per character: a buurt-level instance has 300,000 cells)
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")


def unsafe_char(text: str) -> str | None:
    """The first character a text from input may not hold: a control character (but tab and line
    ends) or a bidirectional control; None when the text is safe to print and to use as a name."""
    m = _UNSAFE.search(text)
    return m.group() if m else None


def shown(text: str) -> str:
    """A name from input as a message shows it: escaped when it holds anything unprintable."""
    return text if text.isprintable() else repr(text)[1:-1]


#: at most this many characters of a value are shown (printed with repr: control characters escaped)
VALUE_CAP = 200


@dataclass(frozen=True)
class Problem:
    """One problem in the input. ``expected`` is English (stable: tests and programs match on it);
    ``nl`` is the same in Dutch, what a controller reads by default (``--lang``)."""

    location: str  # file name, or workbook[sheet]
    row: int | None  # row number as the user sees it in the file (header = row 1)
    column: str | None
    value: str | None
    expected: str
    nl: str  # required: every message reaches a controller in Dutch too

    def __post_init__(self) -> None:  # a value is data: capped, so one huge cell cannot flood the report
        if self.value is not None and len(str(self.value)) > VALUE_CAP:
            v = str(self.value)
            object.__setattr__(self, "value", f"{v[:VALUE_CAP]}... ({len(v)} characters)")

    def __str__(self) -> str:
        from verdeelmodel.fmt import language

        dutch = language() == "nl"
        parts = [shown(self.location)]
        if self.row is not None:
            parts.append(f"{'rij' if dutch else 'row'} {self.row}")
        if self.column:
            is_setting = self.location.endswith((".yaml", "[instance]"))
            word = ("instelling" if is_setting else "kolom") if dutch else ("setting" if is_setting else "column")
            parts.append(f"{word} '{shown(self.column)}'")
        where = ", ".join(parts)
        got = f": {'waarde' if dutch else 'value'} {self.value!r}" if self.value is not None else ""
        expected = (self.nl or self.expected) if dutch else self.expected
        return f"{where}{got} -- {'verwacht' if dutch else 'expected'} {expected}"


def problems_headline(problems: list[Problem]) -> str:
    """'the instance has 3 problems' (or the command line), in the language of what a person reads."""
    from verdeelmodel.fmt import language

    n = len(problems)
    cmdline = all(p.location in ("--param", "parameter", "--rule", "--pool") for p in problems)
    if language() == "nl":
        what = "de opdrachtregel heeft" if cmdline else "de instantie heeft"
        return f"{what} {n} {'probleem' if n == 1 else 'problemen'}"
    what = "the command line has" if cmdline else "the instance has"
    return f"{what} {n} problem{'s' if n != 1 else ''}"


class InstanceError(Exception):
    """Raised when an instance has problems; carries all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(problems)

    def __str__(self) -> str:  # in the language of the moment, like the problems
        return problems_headline(self.problems) + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
