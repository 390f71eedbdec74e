"""Numbers as controllers type them: ``4500000``, ``4.500.000``, ``0,2``, ``€ 4.600.000,50``.

The instance format's own numbers use '.' as the decimal point and no grouping (``4500000.5``);
those are read as before. A cell typed the Dutch way is read where that is unambiguous, and where a
cell could mean two numbers the reader takes one and says which (the reading is listed with the
cell, so a controller sees it before trusting a result):

| typed | read as | why |
|---|---|---|
| ``4500000``, ``0.2``, ``1e6`` | as typed | the format's own numbers |
| ``4.500.000``, ``€ 4.600.000`` | 4500000, 4600000 | dots in groups of three: Dutch thousands |
| ``0,2``, ``12,50`` | 0.2, 12.5 | one comma, not followed by exactly three digits: a decimal comma |
| ``4.500.000,50`` | 4500000.5 | Dutch thousands and decimal comma |
| ``1,500`` | 1.5, said | a decimal comma, or English thousands (1500): the Dutch reading is taken |
| ``80.000`` (euros, inhabitants, clients) | 80000, said | Dutch thousands, or the decimal 80.0: amounts and counts of people are thousands |
| ``80.000`` (other) | 80.0, said | in a share, ratio or volume column the decimal point |
| ``4,500,000``, ``4,500,000.50`` | 4500000, 4500000.5, said | English thousands (commas in groups of three) |
| ``4.50.0``, ``1,2,3``, ``4.5,00.0`` | rejected | no reading fits |
"""

from __future__ import annotations

import re

from verdeelmodel.fmt import t as t_

_GROUPED_DOTS = re.compile(r"^\d{1,3}(\.\d{3})+$")
_GROUPED_COMMAS = re.compile(r"^\d{1,3}(,\d{3})+$")
_PLAIN = re.compile(r"^\d+$")
_MACHINE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def read_number(text: str, unit: str | None = None) -> tuple[str | None, str | None, str | None]:
    """(the number in the format's own notation, a note on an ambiguous reading, a problem).

    ``unit``: the column's unit ("eur" for euros); it decides how ``80.000`` is read."""
    t = text.strip()
    if not t:
        return t, None, None
    raw = t
    for sym in ("€", "EUR", "eur", "Eur"):
        t = t.replace(sym, "")
    t = t.replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    sign = ""
    if t[:1] in "+-":
        sign, t = ("-" if t[0] == "-" else ""), t[1:]
    if not t:
        return None, None, None
    if _MACHINE.match(t) and t.count(".") <= 1 and "," not in t:
        if t.count(".") == 1 and re.fullmatch(r"[1-9]\d{0,2}\.\d{3}", t):  # 80.000: thousands or a decimal?
            whole = t.replace(".", "")
            if unit in THOUSANDS_UNITS:
                return (
                    sign + whole,
                    t_(
                        f"'{raw}' gelezen als {sign}{int(whole):,} (Nederlandse duizendtallen); schrijf {sign}{whole} om dat zeker te stellen",
                        f"'{raw}' read as {sign}{int(whole):,} (Dutch thousands); write {sign}{whole} to say so",
                    ).replace(",", "."),
                    None,
                )
            return (
                sign + t,
                t_(
                    f"'{raw}' gelezen als {sign}{t.replace('.', ',')} (de punt als decimaalteken); bedoelt u {sign}{t.replace('.', '')}, schrijf dan {sign}{t.replace('.', '')}",
                    f"'{raw}' read as {sign}{t} (decimal point); in Dutch notation that is {sign}{t.replace('.', ',')}",
                ),
                None,
            )
        return sign + t, None, None
    if "." in t and "," in t:
        if t.rfind(",") > t.rfind("."):  # Dutch: 4.500.000,50
            whole, frac = t.rsplit(",", 1)
            if _GROUPED_DOTS.match(whole) and _PLAIN.match(frac):
                return sign + whole.replace(".", "") + "." + frac, None, None
        else:  # English: 4,500,000.50
            whole, frac = t.rsplit(".", 1)
            if _GROUPED_COMMAS.match(whole) and _PLAIN.match(frac):
                v = sign + whole.replace(",", "") + "." + frac
                return v, _english_thousands(raw, v), None
        return None, None, _expected(raw)
    if "," in t:
        if t.count(",") == 1:
            whole, frac = t.split(",")
            if _PLAIN.match(whole or "0") and _PLAIN.match(frac):
                v = sign + (whole or "0") + "." + frac
                if len(frac) == 3 and whole and whole != "0":
                    return (
                        v,
                        t_(
                            f"'{raw}' gelezen als {v.replace('.', ',')} (decimale komma), niet als {sign}{whole}{frac}; schrijf {sign}{whole}{frac} als u dat bedoelt",
                            f"'{raw}' read as {v.replace('.', ',')} (decimal comma), not {sign}{whole}{frac}; write {sign}{whole}{frac} for that",
                        ),
                        None,
                    )
                return v, None, None
        if _GROUPED_COMMAS.match(t):
            v = sign + t.replace(",", "")
            return v, _english_thousands(raw, v), None
        return None, None, _expected(raw)
    if _GROUPED_DOTS.match(t):  # 4.500.000
        return sign + t.replace(".", ""), None, None
    if re.fullmatch(r"[\d.,]+", t):  # digits and separators that fit no notation
        return None, None, _expected(raw)
    return None, None, None  # not a number at all: the schema reports it with the column's type


#: units where ``80.000`` means eighty thousand (amounts, and counts of people: 80 point 000 inhabitants is no one's meaning)
THOUSANDS_UNITS = ("eur", "inhabitants", "clients")


def _english_thousands(raw: str, v: str) -> str:
    return t_(
        f"'{raw}' gelezen als {v.replace('.', ',')} (Engelse duizendtalscheiding)", f"'{raw}' read as {v} (English thousands separators)"
    )


def _expected(raw: str) -> str:
    return (
        f"a number ('{raw}' fits no notation): e.g. 4500000, 4.500.000, 4.500.000,50 or 0,2 "
        "(Dutch: '.' for thousands, ',' for decimals) or 4500000.50"
    )
