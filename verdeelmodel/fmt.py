"""Numbers as people read them: Dutch by default (``€ 1.234.567``, ``12,5%``), English on request.

Babel's CLDR data does the grouping and decimal signs, never hand formatting. Whole euros by
default (a controller's unit), no ``-0`` (a value that rounds to zero is zero) and a dash for a
figure that does not exist (NaN), never the text ``nan``.

    >>> eur(1234567.4)
    '€\\xa01.234.567'
    >>> pct(0.125)
    '12,5%'
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager

from babel.numbers import format_currency, format_decimal, format_percent

LOCALES = {"nl": "nl_NL", "en": "en_GB"}
#: the environment variable that sets the default language (the command line's --lang overrides it)
LANG_ENV = "VERDEELMODEL_LANG"


def default_language() -> str:
    """The language when none is asked for: $VERDEELMODEL_LANG (nl or en), else nl."""
    v = os.environ.get(LANG_ENV, "").strip().lower()
    return v if v in LOCALES else "nl"


#: the language of everything a person reads: "nl" (default) or "en"
_LANG = [default_language()]
#: a figure that does not exist (no rating without a capacity, a standard error of one batch)
MISSING = "–"


def language() -> str:
    return _LANG[0]


def t(nl: str, en: str) -> str:
    """The text in the language of what a person reads (``--lang``)."""
    return nl if _LANG[0] == "nl" else en


def set_language(lang: str) -> None:
    if lang not in LOCALES:
        raise ValueError(f"language {lang!r}: one of {', '.join(LOCALES)}")
    _LANG[0] = lang


@contextmanager
def using(lang: str):
    """Format in ``lang`` inside the block (the report of one language, a test)."""
    old = language()
    set_language(lang)
    try:
        yield
    finally:
        set_language(old)


def _locale(lang: str | None) -> str:
    return LOCALES[lang or language()]


def _clean(v, digits: int) -> float | None:
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return None
    v = round(v, digits)
    return 0.0 if v == 0 else v  # no -0


def eur(v, digits: int = 0, lang: str | None = None) -> str:
    """Euros: ``€ 1.234.567`` (nl), ``€1,234,567`` (en); ``digits`` decimals (cents: 2)."""
    x = _clean(v, digits)
    if x is None:
        return MISSING
    frac = "." + "0" * digits if digits else ""
    pattern = f"¤\xa0#,##0{frac};¤\xa0-#,##0{frac}" if (lang or language()) == "nl" else f"¤#,##0{frac};-¤#,##0{frac}"
    return format_currency(x, "EUR", format=pattern, locale=_locale(lang), currency_digits=False)


def mln(v, digits: int = 1, lang: str | None = None) -> str:
    """Millions of euros for plot axes and headlines: ``€ 3,5 mln`` (nl), ``€3.5m`` (en)."""
    m = _clean(None if v is None else float(v) / 1e6, digits)
    if m is None:
        return MISSING
    n = format_decimal(m, format="#,##0." + "0" * digits if digits else "#,##0", locale=_locale(lang))
    return f"€\xa0{n}\xa0mln" if (lang or language()) == "nl" else f"€{n}m"


def pct(share, digits: int = 1, lang: str | None = None) -> str:
    """A share (0.125) as a percentage: ``12,5%``."""
    x = _clean(share, digits + 2)
    if x is None:
        return MISSING
    return format_percent(x, format="#,##0." + "0" * digits + "%" if digits else "#,##0%", locale=_locale(lang))


def num(v, digits: int = 0, lang: str | None = None) -> str:
    """A plain number: ``1.234.567`` or ``1,25`` (nl)."""
    x = _clean(v, digits)
    if x is None:
        return MISSING
    return format_decimal(x, format="#,##0." + "0" * digits if digits else "#,##0", locale=_locale(lang))
