"""Command line: ``verdeelmodel validate|solve|convert|benchmark|generate-synthetic``.

Exit codes: 0 done; 2 invalid input or usage; 3 no allocation possible (explained);
1 internal error (a short message; the traceback only with --debug).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from verdeelmodel._gc import pause as pause_gc
from verdeelmodel._gc import resume as resume_gc
from verdeelmodel.errors import InstanceError, UsageError

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INFEASIBLE = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors too; keep its message short
        self.print_usage(sys.stderr)
        print(f"verdeelmodel: {_t('fout', 'error')}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USER)


def _whole(lo: int, hi: int):
    """An argparse type: a whole number from ``lo`` to ``hi`` (exit 2 at parse time otherwise)."""

    def parse(text: str) -> int:
        from verdeelmodel.fmt import t

        try:
            v = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(t(f"{text!r}: verwacht een geheel getal", f"{text!r}: expected a whole number")) from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(
                t(f"{text}: verwacht een geheel getal van {lo} tot en met {hi}", f"{text}: expected a whole number from {lo} to {hi}")
            )
        return v

    parse.__name__ = f"whole number {lo}..{hi}"
    return parse


def _number(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False):
    """An argparse type: a finite number in [lo, hi] (or open at an end)."""

    def parse(text: str) -> float:
        from verdeelmodel.fmt import t

        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(t(f"{text!r}: verwacht een getal", f"{text!r}: expected a number")) from None
        ok = math.isfinite(v) and (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)
        if not ok:
            left, right = "(" if lo_open else "[", ")" if hi_open else "]"
            raise argparse.ArgumentTypeError(
                t(
                    f"{text}: verwacht een eindig getal in {left}{lo}, {hi}{right}",
                    f"{text}: expected a finite number in {left}{lo}, {hi}{right}",
                )
            )
        return v

    parse.__name__ = "number"
    return parse


#: limits of the options (beyond them a run is a mistake, or would exhaust the machine)
SEED = _whole(0, 2**63 - 1)
SCENARIOS = _whole(1, 10_000_000)
SHARE = _number(0, 1, lo_open=True, hi_open=True)
WORKERS = _whole(1, 256)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="verdeelmodel", description="Distribute the integratie-uitkering sociaal domein over gemeenten, populations and lots.")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    p.add_argument(
        "--lang",
        choices=["nl", "en"],
        default=None,
        help="language of what a person reads (default nl: Dutch, € 1.234.567; or set VERDEELMODEL_LANG=en)",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__import__('verdeelmodel').__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser("validate", help="check an instance and report every problem")
    v.add_argument("instance", help="instance folder (instance.yaml + CSVs) or .xlsx workbook")

    s = sub.add_parser("solve", help="solve the allocation model and write the results")
    s.add_argument("instance", help="instance folder (instance.yaml + CSVs) or .xlsx workbook")
    s.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>)")
    s.add_argument("--time-limit", type=_number(0, 1e7, lo_open=True), default=None, help="HiGHS time limit in seconds per stage")
    s.add_argument("--threads", type=WORKERS, default=None, help="HiGHS threads")
    s.add_argument("--quiet", action="store_true", help="print only the status line")

    pl = sub.add_parser("pool", help="settle pooled costs (risicoverevening): charges per gemeente under the agreed and candidate rules")
    pl.add_argument("instance", help="instance folder or .xlsx workbook with pools.csv")
    pl.add_argument(
        "--costs",
        type=Path,
        default=None,
        help="realised costs CSV (gemeente, lot, year, clients, cost_eur); default: planned costs from need.csv",
    )
    pl.add_argument(
        "--year",
        type=_whole(1900, 2200),
        default=None,
        help="year of --costs to settle (default: the file's only year, else the instance year)",
    )
    pl.add_argument(
        "--rule", action="append", default=None, metavar="NAME", help="a candidate rule to compare (repeatable); profijt is built in"
    )
    pl.add_argument(
        "--pool",
        action="append",
        default=None,
        metavar="POOL",
        help="only this pool (repeatable): for candidate rules whose amounts (minimum, fixed costs, fund cap) belong to one pool",
    )
    pl.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>-pool)")

    rv = sub.add_parser(
        "reserves", help="size the reserves (weerstandsvermogen) each gemeente needs under each pooling rule, by Monte Carlo"
    )
    rv.add_argument("instance")
    rv.add_argument("--scenarios", type=SCENARIOS, default=10_000, help="Monte Carlo scenarios (default 10000)")
    rv.add_argument(
        "--confidence", type=SHARE, nargs="+", action="extend", default=None, help="confidence level(s), e.g. 0.9 (default) or 0.8 0.9 0.95"
    )
    rv.add_argument(
        "--rule",
        action="append",
        default=None,
        metavar="NAME",
        help="a candidate rule to compare with profijt and the agreed rules (repeatable)",
    )
    rv.add_argument(
        "--pool",
        action="append",
        default=None,
        metavar="POOL",
        help="apply the candidate rules only to this pool (repeatable); other pools keep their agreed rule",
    )
    rv.add_argument("--seed", type=SEED, default=20261122, help="random seed: the same seed gives the same numbers")
    rv.add_argument(
        "--plan",
        choices=["allocation", "need"],
        default="allocation",
        help="what the gemeenten budgeted: the optimal allocation (default) or the expected cost of need",
    )
    rv.add_argument(
        "--bootstrap",
        action="store_true",
        help="historical bootstrap: scale demand by a year drawn from use_history.csv (lots with history)",
    )
    rv.add_argument(
        "--measure",
        choices=["var", "cvar"],
        default="var",
        help="risk = VaR (default, as NARIS) or CVaR (tail-coherent) of the tekort, above the expected tekort",
    )
    rv.add_argument(
        "--target-se",
        default=None,
        metavar="EUR|PCT%",
        help="draw scenarios (doubling from --scenarios) until every risk figure's standard error is at most this: euros, or a percentage of the figure (e.g. 1%%)",
    )
    rv.add_argument("--max-scenarios", type=SCENARIOS, default=None, help="upper limit for --target-se (default 200000)")
    rv.add_argument("--region", default=None, help="region to plot (default: all gemeenten when 16 or fewer, else the first region)")
    rv.add_argument("--no-plots", action="store_true")
    rv.add_argument("--joint", action="store_true", help=argparse.SUPPRESS)  # withdrawn: it decided nothing (see `contract`)
    rv.add_argument(
        "--optimise-key",
        default=None,
        metavar="RULE=LO:HI",
        help="choose the own-cost weight of a mixed rule within agreed bounds that minimises the total reserve, no gemeente worse off than alone and the split in the core (fairness) -> key_weight.csv",
    )
    rv.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>-reserves)")

    fa = sub.add_parser(
        "fairness",
        help="the pooling agreement as a cooperative game: stand-alone, the rule's split, Shapley, Euler, nucleolus and the core check",
    )
    fa.add_argument("instance")
    fa.add_argument("--scenarios", type=SCENARIOS, default=10_000, help="Monte Carlo scenarios (default 10000)")
    fa.add_argument("--seed", type=SEED, default=20261122, help="random seed: the same seed gives the same numbers")
    fa.add_argument("--confidence", type=SHARE, default=0.9, help="CVaR level of the coalition values (default 0.9)")
    fa.add_argument(
        "--rule", action="append", default=None, metavar="NAME", help="a candidate rule to assess beside the agreed one (repeatable)"
    )
    fa.add_argument("--pool", action="append", default=None, metavar="POOL", help="only this pool (repeatable)")
    fa.add_argument("--plan", choices=["allocation", "need"], default="allocation", help="the plan whose substitution shapes the scenarios")
    fa.add_argument("--region", action="append", default=None, metavar="REGION", help="only the games of this region (repeatable)")
    fa.add_argument(
        "--permutations", type=_whole(1, 10_000_000), default=1000, help="sampled orders for Shapley above 16 gemeenten (default 1000)"
    )
    fa.add_argument("--no-plots", action="store_true")
    fa.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>-fairness)")

    pn = sub.add_parser(
        "plan", help="meerjarenraming: plan the horizon of years.csv year by year, with the reserve path and the Iv3 taakvelden"
    )
    pn.add_argument("instance")
    pn.add_argument("--years", type=_whole(1, 100), default=None, help="plan the first N years of the horizon (default all)")
    pn.add_argument(
        "--paths",
        type=_whole(0, 10_000_000),
        default=0,
        help="also this many demand scenario paths over the years: the chance the reserve is exhausted",
    )
    pn.add_argument("--seed", type=SEED, default=20261122, help="random seed of the paths")
    pn.add_argument(
        "--level",
        type=SHARE,
        default=0.05,
        help="the opening reserve that keeps exhaustion in some year at most this likely (default 0.05)",
    )
    pn.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>-plan)")

    cl = sub.add_parser(
        "close",
        help="jaarrekening: close the instance's year with realised costs, roll the reserve and the use history forward, re-plan the rest",
    )
    cl.add_argument("instance")
    cl.add_argument(
        "--year", type=_whole(1900, 2200), default=None, help="the year to close: the instance's own year (years are closed in order)"
    )
    cl.add_argument("--costs", required=True, help="realised costs (gemeente, lot, year, clients, cost_eur), as for `pool --costs`")
    cl.add_argument(
        "--next", type=Path, default=None, help="folder for the next year's instance (default: out/<its name>, e.g. out/nijmegen-2019)"
    )
    cl.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>-close-<year>)")

    ct = sub.add_parser(
        "contract", help="choose the funding form per contracted lot and area under demand uncertainty (contract_options.csv)"
    )
    ct.add_argument("instance")
    ct.add_argument("--scenarios", type=SCENARIOS, default=1000, help="Monte Carlo scenarios (default 1000)")
    ct.add_argument("--seed", type=SEED, default=20261122)
    ct.add_argument("--confidence", type=SHARE, default=0.9, help="CVaR level of the reserve (default 0.9)")
    ct.add_argument("--risk-aversion", type=_number(0, 1e6), default=0.1, help="cost of capital per euro of reserve (default 0.1)")
    ct.add_argument(
        "--reserve-limit", type=_number(0, 1e15), default=None, help="instead: every gemeente's reserve at most this many euros"
    )
    ct.add_argument("--no-plots", action="store_true")
    ct.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>-contract)")

    sw = sub.add_parser("sweep", help="re-solve the allocation over a grid of inputs without rebuilding the model")
    sw.add_argument("instance")
    sw.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="NAME=START:STOP:POINTS",
        help="demand:<lot|domain|*>, tariff:<lot>, budget:<gemeente>|<domain>, limit:<family>:<index>, w_own:<rule>; values START:STOP:POINTS or V1,V2,... (repeat for a full grid)",
    )
    sw.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>-sweep)")

    c = sub.add_parser("convert", help="convert an instance folder to one .xlsx workbook, or a workbook to a folder")
    c.add_argument("source")
    c.add_argument("target")

    b = sub.add_parser("benchmark", help="time build, translation and HiGHS on an instance (default nl-synthetic)")
    b.add_argument("instance", nargs="?", default=None)
    b.add_argument("--repeat", type=_whole(1, 1000), default=3)
    b.add_argument("--pooling", action="store_true", help="time the risicoverevening engine on scenarios instead of the allocation solve")
    b.add_argument(
        "--scenarios",
        type=SCENARIOS,
        default=10_000,
        help="scenarios for --pooling, --reserves, --fairness and --contract (the issue-12 measure: 1000)",
    )
    b.add_argument("--contract", action="store_true", help="time verdeelmodel contract on the bundled regions (use --scenarios 1000)")
    b.add_argument(
        "--scale",
        nargs="*",
        type=_whole(1, 1000),
        default=None,
        metavar="N",
        help="the allocation at buurt level: nl-synthetic with about N sub-areas per gemeente (default 2 4 8 16; 2 is today's size), "
        "each size in a fresh process",
    )
    b.add_argument(
        "--contract-oos",
        action="store_true",
        help="the contract choice out of sample: in-sample against fresh objectives for 250, 1000 and 4000 scenarios (5 replications each)",
    )
    b.add_argument(
        "--plan", action="store_true", help="time the meerjarenraming (plan over the horizon, and --scenarios paths) against one year"
    )
    b.add_argument(
        "--fairness", action="store_true", help="time fairness on the largest pooling region, then on every region (default nl-synthetic)"
    )
    b.add_argument(
        "--reserves",
        action="store_true",
        help="time reserves (given allocation), the joint sizing LP (1,000 scenarios) and a 100-point sweep",
    )
    b.add_argument("--joint-scenarios", type=SCENARIOS, default=1_000, help="scenarios of the joint sizing LP in --reserves (default 1000)")
    b.add_argument(
        "--executors",
        nargs="*",
        choices=["serial", "processes", "dask"],
        default=None,
        metavar="BACKEND",
        help="time reserves on nl-synthetic (--scenarios) with each executor backend: serial, processes, dask (default all three; "
        "2 workers), each in a fresh process",
    )
    b.add_argument(
        "--startup",
        action="store_true",
        help="time the command line itself (--help, validate, solve) as fresh processes; default instance nijmegen-2018",
    )

    tp = sub.add_parser("template", help="write an empty instance workbook to fill in (descriptions, allowed values, formats)")
    tp.add_argument("target", type=Path, help="the workbook to write (.xlsx)")

    rp = sub.add_parser(
        "report",
        help="the council report: one self-contained HTML page per region in Dutch (and a PDF by headless Chromium), with its tables as CSV",
    )
    rp.add_argument("instance")
    rp.add_argument("--gemeente", default=None, help="only this gemeente's section (with its region's first page)")
    rp.add_argument("--region", default=None, help="only this region (default: every region of the instance)")
    rp.add_argument("--scenarios", type=SCENARIOS, default=2000, help="Monte Carlo scenarios for the reserves and fairness (default 2000)")
    rp.add_argument("--seed", type=SEED, default=20261122, help="random seed: the same seed gives the same numbers")
    rp.add_argument("--confidence", type=SHARE, default=0.9, help="confidence level of the reserves (default 0.9, as NARIS)")
    rp.add_argument(
        "--rule",
        action="append",
        default=None,
        metavar="NAME",
        help="a candidate rule (repeatable); default: every rule of pooling_rules.csv no pool agreed, without an amount for one region",
    )
    rp.add_argument("--no-fairness", action="store_true", help="leave out the fairness section (it takes the longest)")
    rp.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    rp.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    rp.add_argument("--out", type=Path, default=None, help="output folder (default: out/<instance name>-rapport)")

    d = sub.add_parser("docs", help="regenerate docs/instance-format.md and docs/formulation.md from the code")
    d.add_argument("--out", type=Path, default=Path("docs"))

    g = sub.add_parser("generate-synthetic", help="(re)generate the seeded synthetic national instance")
    g.add_argument("--seed", type=SEED, default=None)
    g.add_argument("--out", type=Path, required=True)
    g.add_argument(
        "--areas-per-gemeente",
        type=_whole(1, 1000),
        default=None,
        metavar="N",
        help="split every population into sub-areas, about N per gemeente (wijk/buurt level, for the scale benchmarks); "
        "the folder must be new",
    )
    g.add_argument(
        "--lots",
        type=_whole(1, 100_000),
        default=None,
        metavar="L",
        help="split every lot into sub-lots, about L lots in all (at least the instance's own number; for the scale benchmarks); "
        "combines with --areas-per-gemeente; the folder must be new",
    )
    for name in ("solve", "pool", "reserves", "fairness", "plan", "close", "contract", "sweep"):
        c = sub.choices[name]
        c.add_argument(
            "--xlsx", action="store_true", help="also write the results workbook resultaten.xlsx (Dutch headers, formats, Toelichting)"
        )
        c.add_argument(
            "--csv-dialect",
            choices=["machine", "nl"],
            default="machine",
            help="CSV for machines (default: ',' and '.') or for a Dutch Excel (nl: ';', decimal comma, UTF-8 BOM); column names stay the same",
        )
        if name != "solve":  # solve's --quiet says more (only the status line)
            c.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    for name in ("solve", "report", "reserves", "fairness", "plan", "sweep"):
        c = sub.choices[name]
        c.add_argument(
            "--scheduler",
            type=_scheduler,
            default=None,
            metavar="serial|processes|dask|tcp://HOST:PORT",
            help="where the independent work runs (scenario chunks, games, paths, allocation blocks): "
            "processes (default: local worker processes when the work pays), serial, dask (a Dask LocalCluster of --workers), "
            "or the address of a running Dask scheduler; results are the same on each",
        )
        c.add_argument("--workers", type=WORKERS, default=None, help="worker processes (default: the CPUs; 1: serial)")
        c.add_argument("--processes", dest="workers", type=WORKERS, default=None, help=argparse.SUPPRESS)  # its old name
    return p


def _scheduler(text: str) -> str:
    """An argparse type: serial, processes, dask or a Dask scheduler address."""
    import re

    from verdeelmodel.fmt import t

    if text in ("serial", "processes", "dask") or re.fullmatch(r"(tcp|tls|ws|wss|ucx)://[A-Za-z0-9_.\-\[\]:]+", text):
        return text
    raise argparse.ArgumentTypeError(
        t(
            f"{text!r}: verwacht serial, processes, dask of het adres van een Dask-scheduler (tcp://host:8786)",
            f"{text!r}: expected serial, processes, dask or the address of a Dask scheduler (tcp://host:8786)",
        )
    )


def _executor_of(args):
    """The executor of a command's --scheduler/--workers (made once; closed by main)."""
    ex = getattr(args, "_executor", None)
    if ex is None:
        from verdeelmodel.executors import executor

        scheduler = getattr(args, "scheduler", None)
        try:
            ex = executor(scheduler, getattr(args, "workers", None))
        except (OSError, TimeoutError, RuntimeError) as e:
            raise UsageError(
                f"--scheduler {scheduler}: cannot start or reach the Dask cluster: {e}",
                f"--scheduler {scheduler}: het Dask-cluster is niet te starten of te bereiken: {e}",
            ) from None
        args._executor = ex
        if ex.name == "processes" and ex.workers > 1:
            from verdeelmodel.executors import warm_up

            warm_up()  # the workers' imports while this process loads and solves
    return ex


def main(argv: list[str] | None = None) -> int:
    from verdeelmodel import fmt

    with fmt.using(_argv_lang(sys.argv[1:] if argv is None else argv)):  # an argparse error in the language asked for
        args = _parser().parse_args(argv)
    before = fmt.language()
    env = os.environ.get(fmt.LANG_ENV, "").strip().lower()
    if args.lang is None and env and env not in fmt.LOCALES:
        print(f"verdeelmodel: {fmt.LANG_ENV}={env!r}: expected nl or en (or leave it unset)", file=sys.stderr)
        return EXIT_USER
    args.lang = args.lang or fmt.default_language()
    fmt.set_language(args.lang)
    _QUIET[0] = bool(getattr(args, "quiet", False))
    pause_gc()  # the start creates many long-lived objects; each command resumes once it has them
    on_term = _on_sigterm()
    try:
        return _run(args)
    except SystemExit:
        raise
    except BrokenPipeError:  # output piped into `head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"verdeelmodel: {_t('onderbroken', 'interrupted')}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as e:  # the last line of defence: a short message, traceback on --debug
        if isinstance(e, InstanceError):
            _print_problems(e)
            return EXIT_USER
        if isinstance(e, UsageError):
            print(f"verdeelmodel: {e}", file=sys.stderr)
            return EXIT_USER
        if args.debug:
            import traceback

            traceback.print_exc()
        msg = str(e)
        msg = msg if len(msg) <= 300 else msg[:300] + " ..."
        print(
            _t(
                f"verdeelmodel: interne fout: {type(e).__name__}: {msg}" + ("" if args.debug else " (met --debug ziet u de traceback)"),
                f"verdeelmodel: internal error: {type(e).__name__}: {msg}"
                + ("" if args.debug else " (run with --debug for the traceback)"),
            ),
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        ex = getattr(args, "_executor", None)
        if ex is not None:
            ex.close()
        if on_term is not None:
            import signal

            for sig, handler in on_term.items():
                signal.signal(sig, handler)
        resume_gc()  # main() may be called in-process (tests, notebooks): leave the collector as found
        fmt.set_language(before)  # and the language


def _on_sigterm():
    """Ctrl-C and SIGTERM (a scheduler, `kill`) end the run through every ``finally``, so no
    temporary output folder stays behind, and never in the middle of an output swap
    (verdeelmodel._atomic.on_stop_signal). Returns the previous handlers (None off the main thread)."""
    import signal
    import threading

    from verdeelmodel._atomic import on_stop_signal

    if threading.current_thread() is not threading.main_thread():
        return None
    return {sig: signal.signal(sig, on_stop_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def _argv_lang(argv: list[str]) -> str:
    """The --lang of a command line not yet parsed (nl unless it asks for en)."""
    for i, a in enumerate(argv):
        if a == "--":
            break
        if a.startswith("--lang="):
            return "en" if a == "--lang=en" else "nl"
        if a == "--lang" and i + 1 < len(argv):
            return "en" if argv[i + 1] == "en" else "nl"
    from verdeelmodel import fmt

    return fmt.default_language()


def _print_problems(e) -> None:
    from verdeelmodel.instance.problems import problems_headline

    print(f"verdeelmodel: {problems_headline(e.problems)}:", file=sys.stderr)
    for line in problem_lines(e.problems):
        print(line, file=sys.stderr)


def problem_lines(problems, per_kind: int = 10, most: int = 200) -> list[str]:
    """The problems as printed: at most ``per_kind`` of one kind (same file, column and
    expectation) and ``most`` in all, each cut followed by how many more there are (100,000
    duplicate rows are one kind of problem, not 18 MB of messages)."""
    from collections import Counter

    kind = Counter((p.location, p.column, p.expected) for p in problems)
    shown: Counter = Counter()
    lines, hidden, announced = [], 0, 0
    for p in problems:
        k = (p.location, p.column, p.expected)
        shown[k] += 1
        if shown[k] > per_kind or len(lines) >= most:
            hidden += 1
            continue
        lines.append(f"  - {p}")
        if shown[k] == per_kind and kind[k] > per_kind:
            more = kind[k] - per_kind
            announced += more
            lines.append(_t(f"    ... en nog {more} van deze soort ({p.location})", f"    ... and {more} more like this ({p.location})"))
    rest = hidden - announced
    if rest > 0:
        lines.append(_t(f"  ... en nog {rest} andere problemen", f"  ... and {rest} other problems"))
    return lines


def method_nl(method: str) -> str:
    """How a fairness figure was computed (models/fairness.py says it in English) in Dutch."""
    import re

    out = method
    for pattern, dutch in (
        (r"exact over ([\d,]+) coalitions", r"exact over \1 coalities"),
        (r"exhaustive \(([\d,]+) coalitions\)", r"volledig (\1 coalities)"),
        (
            r"sampled: ([\d,]+) orders \(antithetic pairs\), with standard errors",
            r"steekproef: \1 volgordes (antithetische paren), met standaardfouten",
        ),
        (r"separation MIP \(HiGHS\) over the scenario samples", "separatie-MIP (HiGHS) over de scenario's"),
        (r"\((\d+) rounds?, ([\d,]+) of ([\d,]+) scenarios kept\)", r"(\1 ronde(s), \2 van \3 scenario's bewaard)"),
        (r"; the largest excess found is ", "; het grootste gevonden overschot is "),
        (r"separation MIP with cuts \(no weight in the core\)", "separatie-MIP met sneden (geen gewicht in de kern)"),
        (r"separation MIP with cuts \(exact\)", "separatie-MIP met sneden (exact)"),
    ):
        out = re.sub(pattern, dutch, out)
    # numbers the Dutch way: 1,024.50 -> 1.024,50
    return re.sub(r"\d[\d,]*(\.\d+)?", lambda m: m.group(0).replace(",", "#").replace(".", ",").replace("#", "."), out)


def _check_outputs(args) -> None:
    """Every output path of the command line checked before any work (exit 2): a results folder must
    be writable and new, empty or written by verdeelmodel; a new instance folder or workbook must not
    exist yet (it may hold a user's instance)."""
    from verdeelmodel._atomic import check_file_target, check_target

    if args.command in ("docs", "generate-synthetic"):
        return  # they write into the repository's own folders
    if getattr(args, "out", None) is not None:
        check_target(args.out)
    if getattr(args, "next", None) is not None:
        check_target(args.next, "--next", replace=False)
    if args.command == "convert":
        dst = Path(args.target)
        if dst.suffix.lower() == ".xlsx":
            if dst.exists():
                raise UsageError(
                    f"{dst} exists: convert does not overwrite a workbook (it may hold your instance); give a new name",
                    f"{dst} bestaat al: convert schrijft niet over een werkboek heen (het kan uw instantie bevatten); geef een nieuwe naam",
                )
            check_file_target(dst, "convert")
        elif not dst.suffix:
            check_target(dst, "convert", replace=False)


def default_out(name: str, suffix: str = "") -> Path:
    """``out/<name><suffix>`` for an instance name, made safe as one folder name: the name is data
    (it may hold ``/``, ``..`` or control characters) and never leads a write outside ``out/``."""
    import re
    import unicodedata

    safe = re.sub(r"[^\w.-]+", "-", unicodedata.normalize("NFC", str(name))).strip(".-")[:80] or "instantie"
    return Path("out") / f"{safe}{suffix}"


def _run(args) -> int:
    commands = {
        "validate": _validate,
        "solve": _solve,
        "convert": _convert,
        "pool": _pool,
        "reserves": _reserves,
        "fairness": _fairness,
        "plan": _plan,
        "close": _close,
        "contract": _contract,
        "report": _report,
        "template": _template,
        "sweep": _sweep,
    }
    _check_outputs(args)
    if args.command in commands:
        return commands[args.command](args)
    if args.command == "benchmark":
        from verdeelmodel.benchmark import run_benchmark, run_pooling_benchmark

        if args.executors is not None:
            from verdeelmodel.benchmark import run_executor_benchmark

            return run_executor_benchmark(args.scenarios, repeat=max(1, args.repeat), backends=args.executors or None)
        if args.scale is not None:
            from verdeelmodel.benchmark import run_scale_benchmark

            return run_scale_benchmark(args.scale or None, repeat=max(1, args.repeat))
        if args.pooling:
            return run_pooling_benchmark(args.instance, scenarios=args.scenarios)
        if args.startup:
            from verdeelmodel.benchmark import run_startup_benchmark

            return run_startup_benchmark(args.instance, repeat=max(args.repeat, 5))
        if args.contract_oos:
            from verdeelmodel.benchmark import run_contract_oos

            return run_contract_oos([args.instance] if args.instance else None)
        if args.contract:
            from verdeelmodel.benchmark import run_contract_benchmark

            return run_contract_benchmark(
                [args.instance] if args.instance else None, scenarios=min(args.scenarios, 100_000), repeat=max(1, args.repeat)
            )
        if args.plan:
            from verdeelmodel.benchmark import run_plan_benchmark

            return run_plan_benchmark(args.instance, paths=args.scenarios, repeat=max(1, args.repeat))
        if args.fairness:
            from verdeelmodel.benchmark import run_fairness_benchmark

            return run_fairness_benchmark(args.instance, scenarios=args.scenarios)
        if args.reserves:
            from verdeelmodel.benchmark import run_issue4_benchmark

            return run_issue4_benchmark(args.instance, scenarios=args.scenarios, joint_scenarios=args.joint_scenarios)
        return run_benchmark(args.instance, repeat=args.repeat)
    if args.command == "docs":
        from verdeelmodel.docs import write_docs

        for p in write_docs(args.out):
            print(f"wrote {p}")
        return EXIT_OK
    if args.command == "generate-synthetic":
        from verdeelmodel import synthetic

        kw = {} if args.seed is None else {"seed": args.seed}
        if args.areas_per_gemeente is None and args.lots is None:
            synthetic.generate(args.out, **kw)
        else:
            import tempfile

            from verdeelmodel._atomic import check_target
            from verdeelmodel.instance.io import write_folder
            from verdeelmodel.instance.validate import load_instance
            from verdeelmodel.scale import split_areas, split_lots

            check_target(args.out, replace=False)
            with tempfile.TemporaryDirectory() as base:
                synthetic.generate(Path(base) / "base", **kw)
                inst = load_instance(Path(base) / "base")
                n = len(inst.lots)
                if args.lots is not None and args.lots < n:
                    raise UsageError(
                        f"--lots {args.lots}: at least the instance's {n} lots (lots are split, never merged)",
                        f"--lots {args.lots}: minstens de {n} percelen van de instantie (percelen worden gesplitst, nooit samengevoegd)",
                    )
                if args.areas_per_gemeente is not None:
                    inst = split_areas(inst, args.areas_per_gemeente, **kw)
                if args.lots is not None:
                    inst = split_lots(inst, args.lots, **kw)
                write_folder(inst, args.out)
        print(_t(f"geschreven: {args.out}", f"wrote {args.out}"))
        return EXIT_OK
    raise UsageError(f"unknown command {args.command}", f"onbekende opdracht {args.command}")


def _validate(args) -> int:

    inst = _load(args.instance)
    from verdeelmodel.models.pooling import check_pooling

    check_pooling(inst)  # agreed rules applicable: history years present, keys with weight
    from verdeelmodel import fmt

    counts = ", ".join(f"{fmt.num(len(df))} {name}" for name, df in inst.tables.items() if len(df))
    print(_wrap(_t(f"{inst.name}: geldig ({counts})", f"{inst.name}: valid ({counts})")))
    return EXIT_OK


def _solve(args) -> int:

    inst = _load(args.instance)  # validate before importing the model stack

    from verdeelmodel import fmt
    from verdeelmodel.api import AllocationModel, SolveOptions
    from verdeelmodel.models.manifest import QUADRATIC_STAGES
    from verdeelmodel.reports import manifest, provenance_summary, write_all

    resume_gc()
    out_dir = args.out or default_out(inst.name)
    # the blocks in threads here (HiGHS releases the GIL), or sent where --scheduler says
    ex = _executor_of(args) if args.scheduler else None
    opts = SolveOptions(time_limit=args.time_limit, threads=args.threads, workers=args.workers, executor=ex)
    res = AllocationModel(inst, opts, blocks=True).solve()
    man = manifest(inst, "solve", {"time_limit": args.time_limit, "threads": args.threads})
    files = write_all(res, out_dir, man, inst=inst, xlsx=args.xlsx, csv_dialect=args.csv_dialect)
    t = res.timings
    status = _t({"optimal": "optimaal", "infeasible": "geen toewijzing mogelijk"}.get(res.status, res.status), res.status)
    secs = [fmt.num(t.get(k, 0), 2) for k in ("build_seconds", "translate_seconds", "highs_seconds")]
    print(
        _t(
            f"{inst.name}: {status} (opbouw {secs[0]} s, vertaling {secs[1]} s, HiGHS {secs[2]} s)",
            f"{inst.name}: {status} (build {secs[0]} s, translate {secs[1]} s, HiGHS {secs[2]} s)",
        )
    )
    if inst.meta.synthetic:
        print(
            _t(
                "  let op: deze instance is synthetisch; de bedragen zijn gegenereerd, niet echt.",
                "  note: this instance is synthetic; its numbers are generated, not real.",
            )
        )
    prov = provenance_summary(inst, fmt.language())
    print(_t(f"  herkomst van de invoerrijen: {prov} (zie sources.csv)", f"  provenance of the input rows: {prov} (see sources.csv)"))
    if not res.optimal:
        for line in res.explanation:
            print(line)
        print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}")))
        return EXIT_INFEASIBLE
    if args.quiet:
        return EXIT_OK
    if fmt.language() == "en":
        return _solve_lines_en(res, files, out_dir)
    from verdeelmodel.explain import describe_binding

    stages = {
        "tekort": "tekort",
        "plafondoverschrijding": "plafondoverschrijding",
        "unmet": "gewogen niet-gefinancierd",
        "deviation": "afwijking referentie",
        "spend": "uitgaven",
    }
    euro = {k: v for k, v in res.objective.items() if k not in QUADRATIC_STAGES}
    print(_wrap("doelstelling per fase: " + "; ".join(f"{stages.get(k, k)} {fmt.eur(v)}" for k, v in euro.items())))
    print("  (daarna gelijke behandeling: een rangschikking bij gelijke uitkomsten, geen bedrag)")
    b = res.budgets.copy()
    keys = [c for c in ("gemeente", "domain") if c in b.columns]
    un = res.allocation.groupby(keys)["unmet_eur"].sum()
    b["unmet_eur"] = [float(un.get(k if len(k) > 1 else k[0], 0.0)) for k in b[keys].itertuples(index=False, name=None)]
    cols = {
        "gemeente": "gemeente",
        "domain": "domein",
        "budget_eur": "budget",
        "allocated_eur": "toegewezen",
        "tekort_eur": "tekort",
        "headroom_eur": "ruimte",
        "plafondoverschrijding_eur": "plafondoverschr.",
        "unmet_eur": "niet gefin.",
    }
    print("\nbudget, toewijzing, tekort en plafondoverschrijding per gemeente (niet gefin. = niet-wettelijke behoefte zonder budget):")
    print(_table(b[[c for c in cols if c in b.columns]].head(40), cols))
    if len(b) > 40:
        print(f"  (eerste 40 van {fmt.num(len(b))} budgetregels; alle in budgets.csv)")
    u = res.unmet_by_lot()
    ns = u[~u["lot"].map(dict(zip(res.allocation["lot"], res.allocation["statutory"])))]
    if len(ns):
        base = (ns["need_eur"] + ns["substituted_in_eur"] - ns["substituted_out_eur"]).where(lambda v: v > 0)
        ns = ns.assign(gefinancierd=ns["amount_eur"] / base)
        print("\nniet-wettelijke percelen (preventie, algemene voorzieningen): behoefte, gefinancierd en niet gefinancierd:")
        print(
            _table(
                ns[["lot", "need_eur", "amount_eur", "unmet_eur", "gefinancierd"]],
                {
                    "lot": "perceel",
                    "need_eur": "behoefte",
                    "amount_eur": "gefinancierd",
                    "unmet_eur": "niet gefin.",
                    "gefinancierd": "deel",
                },
            )
        )
    print("\nbindende regels en hun schaduwprijs, in de fase waar ze ertoe doen:")
    for line in describe_binding(res.constraints):
        print(_wrap(line))
    if len(res.pooling):
        pl = res.pooling
        rules = pl.drop_duplicates(["pool", "region"])["rule"].value_counts().sort_index()
        print(
            _wrap(
                f"\nrisicoverevening: {pl[['pool', 'region']].drop_duplicates().shape[0]} pool(s) × regio; afgesproken regels: "
                + ", ".join(f"{r} {n}" for r, n in rules.items())
                + " (de bijdrage vervangt het eigen gebruik in de budgetregel)"
            )
        )
        top = pl.reindex(pl["transfer_eur"].abs().sort_values(ascending=False, kind="stable").index).head(5)
        for r in top.itertuples(index=False):
            sign = "betaalt" if r.transfer_eur > 0 else "ontvangt"
            print(
                _wrap(
                    f"  - {r.gemeente} {sign} {fmt.eur(abs(r.transfer_eur))} voor {r.pool} ({r.rule}): bijdrage "
                    f"{fmt.eur(r.charge_eur)} tegenover eigen gebruik {fmt.eur(r.profijt_eur)}"
                )
            )
        print("  (alle gemeenten in pooling.csv; werkelijke kosten afrekenen of regels vergelijken met `verdeelmodel pool`)")
    t = res.totals
    print(
        _wrap(
            f"\ntotaal: behoefte {fmt.eur(t['need'])}, toegewezen {fmt.eur(t['allocated'])} (wettelijke zorg volledig), tekort "
            f"{fmt.eur(t['tekort'])}, plafondoverschrijding {fmt.eur(t['plafondoverschrijding'])}, niet-gefinancierde "
            f"niet-wettelijke behoefte {fmt.eur(t['unmet'])}, ruimte {fmt.eur(t['headroom'])}"
        )
    )
    print(_wrap(f"geschreven naar {out_dir}: {', '.join(files)}"))
    return EXIT_OK


#: the console's width: tables and lines fit it
WIDTH = 120


def _wrap(text: str) -> str:
    import textwrap

    lead = text[: len(text) - len(text.lstrip(" \n"))]
    indent = " " * (len(lead.replace("\n", "")) + (4 if lead.strip(" \n") == "" and text.lstrip().startswith("- ") else 0))
    return (
        lead
        + textwrap.fill(
            text.lstrip(" \n"),
            WIDTH - len(lead.replace("\n", "")),
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        ).lstrip()
    )


def _table(df, names: dict[str, str]) -> str:
    """A table as a person reads it: Dutch headers, € amounts, shares as %, text cut to fit WIDTH."""
    from verdeelmodel import fmt

    out = pd_frame = df.copy()
    for c in pd_frame.columns:
        if c.endswith("_eur"):
            out[c] = pd_frame[c].map(fmt.eur)
        elif c in ("gefinancierd", "share"):
            out[c] = pd_frame[c].map(fmt.pct)
        else:
            out[c] = pd_frame[c].astype(str).map(lambda v: v if len(v) <= 34 else v[:33] + "…")
    out = out.rename(columns=names)
    text = out.to_string(index=False)
    return "\n".join(line[:WIDTH] for line in text.splitlines())


def _solve_lines_en(res, files, out_dir) -> int:
    """The rest of the solve console in English (--lang en)."""
    import pandas as pd

    from verdeelmodel import fmt
    from verdeelmodel.explain import describe_binding
    from verdeelmodel.models.manifest import QUADRATIC_STAGES

    euro = {k: v for k, v in res.objective.items() if k not in QUADRATIC_STAGES}
    print("objective per stage: " + "; ".join(f"{k} {fmt.eur(v)}" for k, v in euro.items()))
    with pd.option_context("display.width", WIDTH, "display.max_rows", 60):
        b = res.budgets.copy()
        print("\nbudget, allocation, tekort and plafondoverschrijding per gemeente:")
        print(_table(b, {}))
    print("\nbinding rules and their shadow price, in the stage where each matters:")
    for line in describe_binding(res.constraints):
        print(line)
    tt = res.totals
    print(
        f"\ntotal need {fmt.eur(tt['need'])}, allocated {fmt.eur(tt['allocated'])} (statutory care in full), tekort {fmt.eur(tt['tekort'])}, "
        f"plafondoverschrijding {fmt.eur(tt['plafondoverschrijding'])}, unmet non-statutory need {fmt.eur(tt['unmet'])}, headroom {fmt.eur(tt['headroom'])}"
    )
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}")))
    return EXIT_OK


def _pool(args) -> int:

    inst = _load(args.instance)
    from verdeelmodel.reports import manifest, write_all
    from verdeelmodel.workflows import pool

    resume_gc()
    result = pool(inst, costs=args.costs, rules=args.rule, pools=args.pool, year=args.year)
    out_dir = args.out or default_out(inst.name, "-pool")
    man = manifest(
        inst, "pool", {"costs": str(args.costs) if args.costs else None, "year": result.year, "rules": args.rule, "pools": args.pool}
    )
    files = write_all(result, out_dir, man, inst=inst, xlsx=args.xlsx, csv_dialect=args.csv_dialect)
    if args.costs:
        name = Path(str(args.costs)).name
        basis = _t(f"werkelijke kosten {name}, jaar {result.year}", f"realised costs {name}, year {result.year}")
    else:
        basis = _t(
            f"geplande kosten (volume × tarief uit need.csv), {result.year}", f"planned costs (need.csv volume x tariff), {result.year}"
        )
    print(_t(f"{inst.name}: afrekening van de gepoolde kosten op {basis}", f"{inst.name}: settlement of pooled costs on {basis}"))
    labels = dict(zip(inst.pooling_rules["rule"], inst.pooling_rules["label"])) if len(inst.pooling_rules) else {}
    for line in settlement_lines(result.settlement, labels):
        print(line)
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}")))
    return EXIT_OK


#: --quiet of the command running: no progress lines
_QUIET = [False]


def _progress(label: str, min_total: int = 2000):
    """A progress line on stderr for long runs (at most every 10%; only when there are at least
    ``min_total`` steps)."""
    state = {"decile": 0}

    def report(done: int, total: int) -> None:
        decile = 10 * done // total
        if total >= min_total and decile > state["decile"] and not _QUIET[0]:
            from verdeelmodel import fmt

            name = {
                "scenarios": "scenario's",
                "years": "jaren",
                "paths": "paden",
                "points": "punten",
                "games": "spellen (pool × regio × regel)",
            }.get(label, label)
            name = name if fmt.language() == "nl" else label
            print(f"  {name}: {fmt.num(done)}/{fmt.num(total)} ({fmt.pct(done / total, 0)})", file=sys.stderr, flush=True)
            state["decile"] = decile

    return report


def _reserves(args) -> int:

    inst = _load(args.instance, args)
    from verdeelmodel.reports import manifest, write_all
    from verdeelmodel.workflows import NoAllocation, reserves

    key_args = None
    if args.optimise_key:
        name, _eq, rng = args.optimise_key.partition("=")
        try:
            lo, hi = (float(v) for v in rng.split(":"))
        except ValueError:
            raise UsageError(
                "--optimise-key takes RULE=LO:HI, e.g. mixed_eigen_inwoners=0.2:0.8",
                "--optimise-key verwacht REGEL=LAAG:HOOG, bijv. mixed_eigen_inwoners=0.2:0.8",
            ) from None
        key_args = (name, lo, hi)
    conf = sorted(set(args.confidence or [0.9]))
    target, relative = None, False
    if args.target_se is not None:
        text = args.target_se.strip()
        relative = text.endswith("%")
        try:
            target = float(text[:-1]) / 100.0 if relative else float(text)
        except ValueError:
            raise UsageError(
                f"--target-se takes euros (e.g. 5000) or a percentage (e.g. 1%), not {args.target_se!r}",
                f"--target-se verwacht euro's (bijv. 5000) of een percentage (bijv. 1%), niet {args.target_se!r}",
            ) from None
        if not math.isfinite(target) or target <= 0:
            raise UsageError(
                f"--target-se must be a positive number, not {args.target_se!r}",
                f"--target-se moet een positief getal zijn, niet {args.target_se!r}",
            )
    resume_gc()
    try:
        rv = reserves(
            inst,
            scenarios=args.scenarios,
            seed=args.seed,
            confidence=conf,
            rules=args.rule,
            pools=args.pool,
            plan=args.plan,
            bootstrap=args.bootstrap,
            measure=args.measure,
            joint=args.joint,
            executor=_executor_of(args),
            optimise_key=key_args,
            progress=_progress("scenarios"),
            target_se=target,
            target_relative=relative,
            max_scenarios=args.max_scenarios,
        )
    except NoAllocation as e:
        return _no_allocation(
            e.result,
            f"{inst.name}: geen toewijzing mogelijk ({e.result.status}); gebruik --plan need, of zie `verdeelmodel solve`",
            f"{inst.name}: no allocation possible ({e.result.status}); use --plan need, or see `verdeelmodel solve`",
        )
    joint = rv.joint
    if joint is not None and joint.status != "optimal":
        print(f"{inst.name}: the joint sizing LP is {joint.status}; reserves below are for the given plan only")
    out_dir = args.out or default_out(inst.name, "-reserves")
    man = manifest(
        inst,
        "reserves",
        {
            "scenarios": args.scenarios,
            "confidence": conf,
            "rules": args.rule,
            "pools": args.pool,
            "plan": args.plan,
            "measure": args.measure,
            "bootstrap": args.bootstrap,
            "target_se": args.target_se,
            "max_scenarios": args.max_scenarios,
            "scenarios_used": rv.scenarios,
        },
        seed=args.seed,
    )
    files = write_all(
        rv, out_dir, man, inst=inst, plots=not args.no_plots, region=args.region, xlsx=args.xlsx, csv_dialect=args.csv_dialect
    )
    _reserves_lines(inst, rv, args, conf, files, out_dir)
    return EXIT_OK


def _fairness(args) -> int:

    inst = _load(args.instance, args)
    from verdeelmodel.reports import manifest, write_all
    from verdeelmodel.workflows import NoAllocation, fairness

    resume_gc()
    try:
        fr = fairness(
            inst,
            scenarios=args.scenarios,
            seed=args.seed,
            confidence=args.confidence,
            rules=args.rule,
            pools=args.pool,
            plan=args.plan,
            permutations=args.permutations,
            progress=_progress("scenarios"),
            executor=_executor_of(args),
            regions=args.region,
            game_progress=_progress("games", min_total=10),
        )
    except NoAllocation as e:
        return _no_allocation(
            e.result,
            f"{inst.name}: geen toewijzing mogelijk ({e.result.status}); gebruik --plan need, of zie `verdeelmodel solve`",
            f"{inst.name}: no allocation possible ({e.result.status}); use --plan need, or see `verdeelmodel solve`",
        )
    out_dir = args.out or default_out(inst.name, "-fairness")
    man = manifest(
        inst,
        "fairness",
        {
            "scenarios": args.scenarios,
            "confidence": args.confidence,
            "rules": args.rule,
            "pools": args.pool,
            "plan": args.plan,
            "permutations": args.permutations,
            "regions": args.region,
        },
        seed=args.seed,
    )
    files = write_all(fr, out_dir, man, inst=inst, plots=not args.no_plots, xlsx=args.xlsx, csv_dialect=args.csv_dialect)

    _fairness_lines(inst, fr, args, files, out_dir)
    return EXIT_OK


def _fairness_lines(inst, fr, args, files, out_dir) -> None:
    """The fairness console (Dutch, or English with --lang en): per pool, region and rule what each
    gemeente needs alone, what the rule gives it, Shapley, Euler and the nucleolus, and the core
    verdict with the blocking group and whether it is beyond the Monte Carlo noise."""
    from verdeelmodel import fmt

    print(
        _wrap(
            _t(
                f"{inst.name}: eerlijkheid van de verevening uit {fmt.num(fr.scenarios)} gesimuleerde jaren (zaad {args.seed}); "
                f"de waarde van een groep = CVaR {fmt.pct(args.confidence, 0)} van haar gepoolde kosten (verwachte kosten plus "
                f"reserve als zij alleen zou poolen) ({fmt.num(fr.seconds, 2)} s)",
                f"{inst.name}: fairness of the pooling agreement from {fmt.num(fr.scenarios)} scenarios (seed {args.seed}); value of "
                f"a group = CVaR at {fmt.pct(args.confidence, 0)} of its pooled cost (expected cost + reserve if it pooled alone) "
                f"({fmt.num(fr.seconds, 2)} s)",
            )
        )
    )
    f = fr.to_frames()["fairness"]
    names = {
        "stand_alone_eur": _t("alleen", "alone"),
        "rule_split_eur": _t("onder de regel", "under the rule"),
        "shapley_eur": "Shapley",
        "euler_eur": "Euler",
        "nucleolus_eur": "nucleolus",
        "gain_vs_alone_eur": _t("winst t.o.v. alleen", "gain vs alone"),
    }
    for pg in fr.games:
        g = pg.game
        which = _t("afgesproken", "agreed") if pg.rule_set == "agreed" else _t("kandidaat", "candidate")
        together, alone_all = fmt.eur(g.value_all), fmt.eur(g.stand_alone.sum())
        saves = fmt.eur(g.stand_alone.sum() - g.value_all)
        print(
            _wrap(
                _t(
                    f"\n{pg.pool}, {pg.region}, {which} ({pg.rule}): samen {together}, ieder alleen {alone_all} (samen poolen "
                    f"scheelt {saves}); Shapley {method_nl(g.shapley_method)}",
                    f"\n{pg.pool}, {pg.region}, {which} ({pg.rule}): together {together}, alone {alone_all} (pooling saves "
                    f"{saves}); Shapley {g.shapley_method}",
                )
            )
        )
        sel = f[(f["pool"] == pg.pool) & (f["region"] == pg.region) & (f["rule_set"] == pg.rule_set)]
        print(_table(sel[["gemeente", *names]].head(40), {"gemeente": "gemeente", **names}))
        if len(sel) > 40:
            print(
                _t(
                    f"  (eerste 40 van {len(sel)} gemeenten; alle in fairness.csv)",
                    f"  (first 40 of {len(sel)} gemeenten; all in fairness.csv)",
                )
            )
        if g.core.in_core:
            print(
                _t(
                    f"  in de kern ({method_nl(g.core.method)}): geen groep gemeenten betaalt samen meer dan zij alleen nodig zou hebben",
                    f"  in the core ({g.core.method}): no group of gemeenten pays more together than it would need alone",
                )
            )
            continue
        members, pays, alone = g.core.blocking[0]
        who = ", ".join(g.members[j] for j in members)
        se = g.core.excess_se[0] if g.core.excess_se else float("nan")
        noise = ""
        if se == se:
            beyond = pays - alone > 2 * se
            noise = _t(
                f"; standaardfout {fmt.eur(se)}: "
                + ("buiten de Monte-Carlo-ruis" if beyond else "binnen de ruis, meer scenario's kunnen het beslechten"),
                f"; standard error {fmt.eur(se)}: "
                + ("beyond Monte Carlo noise" if beyond else "within Monte Carlo noise, more scenarios may settle it"),
            )
        print(
            _wrap(
                _t(
                    f"  NIET in de kern ({method_nl(g.core.method)}): {who} betalen samen {fmt.eur(pays)} onder de regel en zouden alleen "
                    f"{fmt.eur(alone)} nodig hebben ({fmt.eur(pays - alone)} meer{noise}); de blokkerende groepen staan in coalitions.csv",
                    f"  NOT in the core ({g.core.method}): {who} pay {fmt.eur(pays)} together under the rule and would need "
                    f"{fmt.eur(alone)} pooling alone ({fmt.eur(pays - alone)} more{noise}); blocking groups in coalitions.csv",
                )
            )
        )
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}")))


def _plan(args) -> int:

    inst = _load(args.instance, args)
    from verdeelmodel.reports import manifest, write_all
    from verdeelmodel.workflows import plan

    resume_gc()
    pr = plan(
        inst,
        years=args.years,
        progress=_progress("years"),
        paths=args.paths,
        seed=args.seed,
        level=args.level,
        path_progress=_progress("paths"),
        executor=_executor_of(args),
    )
    p = pr.plan
    if not pr.optimal:
        bad = next(y for y in p.plans if not y.result.optimal)
        return _no_allocation(
            bad.result,
            f"{inst.name}: geen toewijzing mogelijk in {bad.year} ({bad.result.status}); het plan stopt daar",
            f"{inst.name}: no allocation possible in {bad.year} ({bad.result.status}); the plan stops there",
        )
    out_dir = args.out or default_out(inst.name, "-plan")
    man = manifest(inst, "plan", {"years": args.years, "paths": args.paths, "level": args.level}, seed=args.seed if args.paths else None)
    files = write_all(pr, out_dir, man, inst=inst, xlsx=args.xlsx, csv_dialect=args.csv_dialect)
    from verdeelmodel import fmt

    nl = fmt.language() == "nl"
    years = ", ".join(map(str, p.years))
    print(f"{inst.name}: plan over {years} ({fmt.num(p.timings['seconds'], 2)} s)")
    rp = p.reserve_path
    per_year = (
        rp.groupby("year")[["tekort_eur", "onttrekking_eur", "algemene_middelen_eur", "dotatie_eur", "closing_eur"]].sum().reset_index()
    )
    names = (
        {"year": "jaar", "tekort_eur": "tekort", "onttrekking_eur": "uit reserve", "algemene_middelen_eur": "algemene middelen",
         "dotatie_eur": "naar reserve", "closing_eur": "reserve eind jaar"}
        if nl
        else {"year": "year", "tekort_eur": "tekort", "onttrekking_eur": "from reserves", "algemene_middelen_eur": "algemene middelen",
              "dotatie_eur": "to reserves", "closing_eur": "reserves at year end"}
    )  # fmt: skip
    print(_t("per jaar, alle gemeenten samen:", "per year, all gemeenten:"))
    print(_indent(_table(per_year, names)))
    short = rp[rp["algemene_middelen_eur"] > 0.5]
    if len(short):
        print(
            _t(
                "reserve lager dan het tekort vraagt (de rest komt uit de algemene middelen):",
                "reserve below what the tekort needs (the rest goes to the algemene middelen):",
            )
        )
        for r in short.head(40).itertuples(index=False):
            print(
                _wrap(
                    _t(
                        f"  {r.gemeente} {r.year}: tekort {fmt.eur(r.tekort_eur)}, reserve {fmt.eur(r.opening_eur)} (ondergrens "
                        f"{fmt.eur(r.floor_eur)}), algemene middelen {fmt.eur(r.algemene_middelen_eur)}",
                        f"  {r.gemeente} {r.year}: tekort {fmt.eur(r.tekort_eur)}, reserve {fmt.eur(r.opening_eur)} (floor "
                        f"{fmt.eur(r.floor_eur)}), algemene middelen {fmt.eur(r.algemene_middelen_eur)}",
                    )
                )
            )
        if len(short) > 40:
            print(_t(f"  (eerste 40 van {len(short)}; alle in reserve_path.csv)", f"  (first 40 of {len(short)}; all in reserve_path.csv)"))
    if len(p.contract_sums):
        print(
            _t(
                "contractsommen over meerdere jaren (die jaren als één model opgelost):",
                "contract sums over years (the years solved as one model):",
            )
        )
        for r in p.contract_sums.itertuples(index=False):
            over = (
                f", {fmt.eur(r.plafondoverschrijding_eur)} " + _t("erboven (plafondoverschrijding)", "above it (plafondoverschrijding)")
                if r.plafondoverschrijding_eur > 0.5
                else ""
            )
            print(_wrap(f"  {r.label}: {fmt.eur(r.used_eur)} " + _t("van", "of") + f" {fmt.eur(r.ceiling_eur)}{over}"))
    m = p.meerjarenraming
    wide = m.pivot_table(index=["taakveld", "taakveld_label"], columns="year", values="amount_eur", aggfunc="sum").reset_index()
    wide.columns = [str(c) if not isinstance(c, str) else c for c in wide.columns]
    print(
        _t(
            "meerjarenraming per Iv3-taakveld, alle gemeenten (per gemeente in meerjarenraming.csv):",
            "meerjarenraming per Iv3 taakveld, all gemeenten (per gemeente in meerjarenraming.csv):",
        )
    )
    wide = wide.rename(columns={c: f"{c}_eur" for c in wide.columns if c.isdigit()})
    print(_indent(_table(wide, {"taakveld": "taakveld", "taakveld_label": _t("naam", "name"), **{f"{y}_eur": str(y) for y in p.years}})))
    if pr.exhaustion is not None:
        ex = pr.exhaustion.pivot_table(index="gemeente", columns="year", values="p_exhausted", sort=False)
        need = pr.reserve_needed.set_index("gemeente")
        ex.columns = [str(c) for c in ex.columns]
        view = ex.apply(lambda col: col.map(lambda v: fmt.pct(v))).reset_index()
        view["opening"] = need["opening_eur"].reindex(ex.index).map(fmt.eur).to_numpy()
        view["needed"] = need["needed_opening_eur"].reindex(ex.index).map(fmt.eur).to_numpy()
        print(
            _wrap(
                _t(
                    f"op {fmt.num(args.paths)} vraagpaden (zaad {args.seed}): de kans dat de reserve het tekort van het jaar niet kan dragen, "
                    f"per jaar; en de beginstand waarmee dat in {fmt.pct(1 - args.level, 0)} van de paden in geen enkel jaar gebeurt:",
                    f"on {fmt.num(args.paths)} demand paths (seed {args.seed}): chance the reserve cannot carry the year's tekort, per year; "
                    f"and the opening reserve with which that happens in no year in {fmt.pct(1 - args.level, 0)} of the paths:",
                )
            )
        )
        heads = {
            "gemeente": "gemeente",
            **{c: c for c in ex.columns},
            "opening": _t("beginstand", "opening reserve"),
            "needed": _t(f"nodig (kans ≤ {fmt.pct(args.level, 0)})", f"needed at {fmt.pct(args.level, 0)}"),
        }
        print(_indent(_table(view.head(40), heads)))
        if len(view) > 40:
            print(
                _t(
                    f"  (eerste 40 van {len(view)} gemeenten; alle in reserve_needed.csv)",
                    f"  (first 40 of {len(view)} gemeenten; all in reserve_needed.csv)",
                )
            )
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}")))
    return EXIT_OK


def _t(nl: str, en: str) -> str:
    """The text in the language of what a person reads (--lang)."""
    from verdeelmodel import fmt

    return fmt.t(nl, en)


def _indent(text: str, pad: str = "  ") -> str:
    return "\n".join(pad + line for line in text.splitlines())


def _close(args) -> int:

    inst = _load(args.instance)
    from verdeelmodel._atomic import check_target
    from verdeelmodel.instance.io import write_folder
    from verdeelmodel.reports import manifest, write_all
    from verdeelmodel.workflows import close

    resume_gc()
    cr = close(inst, args.costs, args.year)
    c = cr.closing
    if c.replan is not None and not c.replan.optimal:
        bad = next(y for y in c.replan.plans if not y.result.optimal)
        return _no_allocation(
            bad.result,
            f"{inst.name}: na het afsluiten van {c.year} geen toewijzing mogelijk in {bad.year} ({bad.result.status})",
            f"{inst.name}: after closing {c.year}, no allocation possible in {bad.year} ({bad.result.status})",
        )
    out_dir = args.out or default_out(inst.name, f"-close-{c.year}")
    nxt = None
    if c.rolled is not None:  # a new instance folder: never written over (it may hold edits); said before writing anything
        nxt = args.next or default_out(c.rolled.meta.name)
        check_target(nxt, "--next", replace=False)
    man = manifest(inst, "close", {"year": c.year, "costs": str(args.costs)}, seed=None)
    files = write_all(cr, out_dir, man, inst=inst, xlsx=args.xlsx, csv_dialect=args.csv_dialect)
    if nxt is not None:
        write_folder(c.rolled, nxt)
    from verdeelmodel import fmt

    s = cr.summary()
    print(
        _wrap(
            _t(
                f"{inst.name}: jaarrekening {c.year}: tekort {fmt.eur(s['realised_tekort_eur'])} tegenover {fmt.eur(s['planned_tekort_eur'])} "
                f"gepland; {fmt.eur(s['onttrekking_eur'])} uit de reserves, {fmt.eur(s['algemene_middelen_eur'])} uit de algemene middelen",
                f"{inst.name}: jaarrekening {c.year}: tekort {fmt.eur(s['realised_tekort_eur'])} against {fmt.eur(s['planned_tekort_eur'])} "
                f"planned; {fmt.eur(s['onttrekking_eur'])} from the reserves, {fmt.eur(s['algemene_middelen_eur'])} from the algemene middelen",
            )
        )
    )
    r = c.reserve[["gemeente", "opening_eur", "tekort_eur", "onttrekking_eur", "algemene_middelen_eur", "dotatie_eur", "closing_eur"]]
    names = {"gemeente": "gemeente", "opening_eur": _t("beginstand", "opening"), "tekort_eur": "tekort", "onttrekking_eur": _t("uit reserve", "from reserve"),
             "algemene_middelen_eur": "algemene middelen", "dotatie_eur": _t("naar reserve", "to reserve"), "closing_eur": _t("eindstand", "closing")}  # fmt: skip
    print(_indent(_table(r.head(40), names)))
    if len(c.changes):
        ch = (
            c.changes.groupby("year")[["tekort_before_eur", "tekort_after_eur", "closing_before_eur", "closing_after_eur"]]
            .sum()
            .reset_index()
        )
        print(
            _wrap(
                _t(
                    "de overige jaren opnieuw gepland vanuit de afgesloten stand (voorjaarsnota), alle gemeenten (per gemeente in changes.csv):",
                    "the remaining years re-planned from the closed state (voorjaarsnota), all gemeenten (per gemeente in changes.csv):",
                )
            )
        )
        heads = {"year": _t("jaar", "year"), "tekort_before_eur": _t("tekort, oud plan", "tekort, previous plan"), "tekort_after_eur": _t("tekort, nieuw plan", "tekort, re-plan"),
                 "closing_before_eur": _t("eindstand, oud", "reserves at year end, previous"), "closing_after_eur": _t("eindstand, nieuw", "reserves at year end, re-plan")}  # fmt: skip
        print(_indent(_table(ch, heads)))
    tail = (
        _t(f"; de instance van {c.year + 1} naar {nxt}", f"; the instance of {c.year + 1} to {nxt}")
        if nxt
        else _t("; de horizon eindigt hier", "; the horizon ends here")
    )
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}") + tail))
    return EXIT_OK


def _contract(args) -> int:

    inst = _load(args.instance, args)
    from verdeelmodel.reports import manifest, write_all
    from verdeelmodel.workflows import NoAllocation, contract

    resume_gc()
    try:
        cr = contract(
            inst,
            scenarios=args.scenarios,
            seed=args.seed,
            confidence=args.confidence,
            risk_aversion=args.risk_aversion,
            reserve_limit=args.reserve_limit,
        )
    except NoAllocation as e:
        return _no_allocation(
            e.result,
            f"{inst.name}: geen toewijzing mogelijk ({e.result.status}); zie `verdeelmodel solve`",
            f"{inst.name}: no allocation possible ({e.result.status}); see `verdeelmodel solve`",
        )
    out_dir = args.out or default_out(inst.name, "-contract")
    man = manifest(
        inst,
        "contract",
        {
            "scenarios": args.scenarios,
            "confidence": args.confidence,
            "risk_aversion": args.risk_aversion,
            "reserve_limit": args.reserve_limit,
        },
        seed=args.seed,
    )
    files = write_all(cr, out_dir, man, inst=inst, plots=not args.no_plots, xlsx=args.xlsx, csv_dialect=args.csv_dialect)
    from verdeelmodel import fmt

    how = (
        _t(f"reserve ten hoogste {fmt.eur(args.reserve_limit)} per gemeente", f"reserve at most {fmt.eur(args.reserve_limit)} per gemeente")
        if args.reserve_limit is not None
        else _t(
            f"kapitaalkosten {fmt.num(args.risk_aversion, 2)} per euro reserve", f"cost of capital {args.risk_aversion:g} per reserve euro"
        )
    )
    print(
        _wrap(
            _t(
                f"{inst.name}: contractvormen uit {fmt.num(args.scenarios)} scenario's (zaad {args.seed}), {how} ({fmt.num(cr.seconds, 2)} s)",
                f"{inst.name}: funding forms from {fmt.num(args.scenarios)} scenarios (seed {args.seed}), {how} ({fmt.num(cr.seconds, 2)} s)",
            )
        )
    )
    for r in cr.contracts.itertuples(index=False):
        form = f"{r.form} {r.variant}" if getattr(r, "variant", "") else r.form
        print(
            _wrap(
                _t(
                    f"  {r.region}: {r.lot} in {r.area}: {form} (verwacht {fmt.eur(r.expected_pay_eur)}, waarvan premie {fmt.eur(r.premium_paid_eur)})",
                    f"  {r.region}: {r.lot} in {r.area}: {form} (expected {fmt.eur(r.expected_pay_eur)}, of which premium {fmt.eur(r.premium_paid_eur)})",
                )
            )
        )
    for region, grp in cr.out_of_sample.groupby("region", sort=False):
        ins, out = grp.iloc[0], grp.iloc[1]
        print(
            _wrap(
                _t(
                    f"  {region}: in de steekproef verwacht {fmt.eur(ins.expected_pay_eur)}, reserve {fmt.eur(ins.reserve_eur)}; op verse "
                    f"scenario's {fmt.eur(out.expected_pay_eur)} (± {fmt.eur(out.expected_pay_se_eur)}), reserve {fmt.eur(out.reserve_eur)} "
                    f"(± {fmt.eur(out.reserve_se_eur)})",
                    f"  {region}: in sample expected {fmt.eur(ins.expected_pay_eur)}, reserve {fmt.eur(ins.reserve_eur)}; on fresh scenarios "
                    f"{fmt.eur(out.expected_pay_eur)} (se {fmt.eur(out.expected_pay_se_eur)}), reserve {fmt.eur(out.reserve_eur)} (se {fmt.eur(out.reserve_se_eur)})",
                )
            )
        )
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}")))
    return EXIT_OK


def _report(args) -> int:

    inst = _load(args.instance, args)
    from verdeelmodel import fmt as F
    from verdeelmodel import report as R
    from verdeelmodel._atomic import atomic_dir
    from verdeelmodel.reports import _csv, _json, manifest

    resume_gc()
    if args.scenarios < 100:
        raise UsageError("--scenarios must be at least 100 for a report", "--scenarios moet voor een rapport minstens 100 zijn")
    if not 0.5 <= args.confidence < 1:
        raise UsageError(
            "the confidence level (--confidence) must be between 0.5 and 1 (e.g. 0.9)",
            "het zekerheidsniveau (--confidence) moet tussen 0.5 en 1 liggen (bijv. 0.9)",
        )
    known = set(inst.pooling_rules["rule"]) if len(inst.pooling_rules) else set()
    unknown = [r for r in args.rule or [] if r not in known]
    if unknown:
        raise UsageError(
            f"--rule {', '.join(unknown)}: not a rule of pooling_rules.csv ({', '.join(sorted(known)) or 'none'})",
            f"--rule {', '.join(unknown)}: geen verdeelregel van pooling_rules.csv ({', '.join(sorted(known)) or 'geen'})",
        )
    browser = None if args.no_pdf else R.chromium()
    if not args.quiet:
        _progress_note(
            _t(
                f"{inst.name}: rapport voorbereiden (verdeling, verevening, {F.num(args.scenarios)} scenario's)",
                f"{inst.name}: preparing the report (allocation, pooling, {F.num(args.scenarios)} scenarios; the report itself is Dutch)",
            )
        )
    with F.using("nl"):  # the council report is Dutch (its text is; --lang changes the console only)
        d = R.gather(
            inst,
            scenarios=args.scenarios,
            seed=args.seed,
            confidence=args.confidence,
            rules=args.rule,
            fair=not args.no_fairness,
            note=None if args.quiet else _progress_note,
            progress=None if args.quiet else _progress("scenarios"),
            game_progress=None if args.quiet else _progress("games", min_total=10),
            executor=_executor_of(args),
            block_executor=_executor_of(args) if args.scheduler else None,
        )
    regions = list(d.regions)
    if args.gemeente is not None:
        owner = [r for r, gs in d.regions.items() if args.gemeente in gs]
        if not owner:
            raise UsageError(
                f"--gemeente {args.gemeente}: not a gemeente of {inst.name}", f"--gemeente {args.gemeente}: geen gemeente van {inst.name}"
            )
        regions = owner[:1]
    if args.region is not None:
        if args.region not in d.regions:
            raise UsageError(
                f"--region {args.region}: not a region of {inst.name} ({', '.join(regions)})",
                f"--region {args.region}: geen regio van {inst.name} ({', '.join(regions)})",
            )
        regions = [args.region]
    out_dir = args.out or default_out(inst.name, "-rapport")
    man = manifest(
        inst,
        "report",
        {"scenarios": args.scenarios, "confidence": args.confidence, "rules": d.rules, "gemeente": args.gemeente, "region": args.region},
        seed=args.seed,
    )
    written = []
    with atomic_dir(out_dir) as tmp:
        for name, df in (("budgets", d.budgets), ("settlement", d.settlement), ("reserves", d.reserves), ("fairness", d.fairness)):
            if len(df):
                (tmp / f"{name}.csv").write_text(_csv(df), encoding="utf-8", newline="")
                written.append(f"{name}.csv")
        (tmp / "manifest.json").write_text(_json(man), encoding="utf-8", newline="")
        written.append("manifest.json")
        stems = R.file_names([r if args.gemeente is None else f"{r}-{args.gemeente}" for r in regions])
        stems = dict(zip(regions, stems.values()))
        for region in regions:
            stem = stems[region]
            html = tmp / f"{stem}.html"
            with F.using("nl"):
                page = R.render(d, region, args.gemeente)
            html.write_text(page, encoding="utf-8", newline="")
            written.append(html.name)
            if browser:
                if not args.quiet:
                    _progress_note(
                        _t(
                            f"  PDF van {region} afdrukken met {Path(browser).name}",
                            f"  printing the PDF of {region} with {Path(browser).name}",
                        )
                    )
                R.print_pdf(html, tmp / f"{stem}.pdf", browser)
                written.append(f"{stem}.pdf")
    for region in regions:
        gs = d.regions[region]
        tek = float(d.budgets[d.budgets["gemeente"].isin(gs)]["tekort_eur"].sum())
        print(_t(f"{region}: {len(gs)} gemeenten, tekort {F.eur(tek)}", f"{region}: {len(gs)} gemeenten, tekort (shortfall) {F.eur(tek)}"))
    if not args.no_pdf and browser is None:
        print(
            _t(
                "geen PDF: geen Chromium gevonden (installeer chromium of zet VERDEELMODEL_CHROMIUM); de HTML is geschreven",
                "no PDF: no Chromium found (install chromium or set VERDEELMODEL_CHROMIUM); the HTML was written",
            )
        )
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(written)}", f"wrote {', '.join(written)} to {out_dir}")))
    return EXIT_OK


def _load(path, args=None):
    """Load and validate an instance; say on stderr how ambiguous Dutch-typed numbers were read.
    With ``args``: the names the command line gives (--region, --gemeente) exist, before any work."""
    from verdeelmodel.instance.validate import load_instance

    inst = load_instance(path)
    if args is not None:
        _check_names(inst, args)
    if inst.readings:
        n = len(inst.readings)
        print(
            _t(
                f"let op: {n} {'getal kon' if n == 1 else 'getallen konden'} op twee manieren gelezen worden; gelezen als:",
                f"note: {n} number{'s' if n != 1 else ''} could be read two ways; read as:",
            ),
            file=sys.stderr,
        )
        for line in inst.readings[:20]:
            print(f"  - {line}", file=sys.stderr)
        if n > 20:
            print(_t(f"  ... en nog {n - 20}", f"  ... and {n - 20} more"), file=sys.stderr)
    return inst


def _check_names(inst, args) -> None:
    regions = sorted(set(inst.budgets["region"])) if len(inst.budgets) else []
    asked = getattr(args, "region", None)
    for r in [asked] if isinstance(asked, str) else asked or []:
        if r not in regions:
            shown = ", ".join(regions[:8]) + (" ..." if len(regions) > 8 else "")
            raise UsageError(f"--region {r}: not a region of {inst.name} ({shown})", f"--region {r}: geen regio van {inst.name} ({shown})")
    g = getattr(args, "gemeente", None)
    if isinstance(g, str) and g not in set(inst.gemeenten["gemeente"]):
        raise UsageError(f"--gemeente {g}: not a gemeente of {inst.name}", f"--gemeente {g}: geen gemeente van {inst.name}")
    _check_memory(inst, args)


def _check_memory(inst, args) -> None:
    """Refuse (exit 2, before any work) a Monte Carlo whose scenario arrays would not fit in the
    memory this machine has free: scenarios x gemeenten x 8 bytes x the arrays kept per scenario
    (measured on nl-synthetic: about 13 KB per scenario for 342 gemeenten and two rule sets)."""
    from verdeelmodel._guards import available_memory

    scenarios = getattr(args, "scenarios", 0) or 0
    if getattr(args, "target_se", None):  # it may double up to --max-scenarios
        scenarios = max(scenarios, getattr(args, "max_scenarios", None) or 200_000)
    paths = (getattr(args, "paths", 0) or 0) * max(1, len(inst.years))
    n = max(scenarios, paths)
    if not n:
        return
    levels = getattr(args, "confidence", None)
    sets = 2 + len(getattr(args, "rule", None) or []) + (len(levels) if isinstance(levels, list) else 1)
    need = n * max(1, len(inst.gemeenten)) * 8 * (sets + 4)
    free = available_memory()
    if free is not None and need > 0.8 * free:
        from verdeelmodel import fmt as F

        gb = need / 2**30
        raise UsageError(
            f"{n:,} scenarios for {len(inst.gemeenten)} gemeenten need about {gb:.1f} GiB; this machine has {free / 2**30:.1f} GiB free. "
            "Use fewer scenarios (--scenarios; --target-se stops as soon as the figures are precise enough)",
            f"{F.num(n, lang='nl')} scenario's voor {len(inst.gemeenten)} gemeenten vragen ongeveer {F.num(gb, 1, lang='nl')} GiB; "
            f"deze machine heeft {F.num(free / 2**30, 1, lang='nl')} GiB vrij. Neem minder scenario's (--scenarios; --target-se "
            "stopt zodra de cijfers precies genoeg zijn)",
        )


def _no_allocation(result, nl: str, en: str) -> int:
    """A command that needs an allocation and got none: say so (in the language of --lang), with
    the explanation from HiGHS's IIS, and exit 3."""
    print(_t(nl, en))
    for line in result.explanation:
        print(line)
    return EXIT_INFEASIBLE


def _progress_note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _reserves_lines(inst, rv, args, conf, files, out_dir) -> None:
    """The reserves console (Dutch, or English with --lang en): per confidence level and rule set
    the structural tekort, the risk with its standard error and the rating, the pooling benefit,
    the key weight when asked, then what was written."""
    from verdeelmodel import fmt

    plan = {
        "allocation": _t("de optimale verdeling", "the optimal allocation"),
        "need": _t("de verwachte kosten van de behoefte", "the expected cost of need"),
    }.get(args.plan, args.plan)
    n, secs, m = fmt.num(rv.scenarios), fmt.num(rv.seconds, 2), args.measure.upper()
    print(
        _wrap(
            _t(
                f"{inst.name}: reserves uit {n} gesimuleerde jaren (zaad {args.seed}); risico = {m} van het tekort boven het "
                f"verwachte; plan = {plan} ({secs} s)",
                f"{inst.name}: reserves from {n} scenarios (seed {args.seed}); risk = {m} of the tekort above its expectation; "
                f"plan = {plan} ({secs} s)",
            )
        )
    )
    if rv.target is not None:
        tg = rv.target
        what = fmt.pct(tg["target_se"], 2) + _t(" van elk cijfer", " of each figure") if tg["relative"] else fmt.eur(tg["target_se"])
        limit = fmt.num(tg["max_scenarios"])
        state = (
            _t("gehaald", "reached")
            if tg["reached"]
            else _t(f"NIET gehaald binnen de grens van {limit} scenario's", f"NOT reached at the limit of {limit} scenarios")
        )
        used = fmt.num(tg["scenarios"])
        print(
            _t(
                f"  doel voor de standaardfout {what}: {state}, met {used} scenario's",
                f"  standard error target {what}: {state} with {used} scenarios",
            )
        )
    labels = {"profijt": _t("profijt (ieder eigen gebruik)", "profijt (own use)"), "agreed": _t("afgesproken regels", "agreed rules")}
    cols = {
        "expected_tekort_eur": _t("verwacht tekort", "expected tekort"),
        "risk_eur": _t("risico", "risk"),
        "risk_se_eur": "± se",
        "ratio": "ratio",
        "rating": _t("waardering", "rating"),
    }
    for a in conf:
        t = rv.table[rv.table["confidence"] == a]
        level = _t(f"{fmt.pct(a, 0)} zekerheid", f"at {fmt.pct(a, 0)}")
        for r in dict.fromkeys(t["rule"]):
            x = t[t["rule"] == r].set_index("gemeente")
            view = x[[c for c in cols if c in x.columns]].copy()
            view["ratio"] = view["ratio"].map(lambda v: fmt.num(v, 2))
            view["rating"] = [
                ("–" if not isinstance(k, str) or not k else k) + (" *" if bool(e) else "")
                for k, e in zip(view["rating"], x.get("near_band_edge", [False] * len(x)))
            ]
            print(f"\n{labels.get(r, r)}, {level}:")
            print(_table(view.head(40).reset_index(), {"gemeente": "gemeente", **cols}))
            if len(view) > 40:
                print(
                    _t(
                        f"  (eerste 40 van {len(view)} gemeenten; alle in reserves.csv)",
                        f"  (first 40 of {len(view)} gemeenten; all in reserves.csv)",
                    )
                )
            et, rk = fmt.eur(x["expected_tekort_eur"].sum()), fmt.eur(x["risk_eur"].sum())
            print(
                _t(
                    f"  regio: verwacht tekort {et} (structureel: in de begroting), risico {rk}",
                    f"  region: expected tekort {et} (structural: into the begroting), risk {rk}",
                )
            )
        tot = t.groupby("rule", sort=False)["risk_eur"].sum()
        if "profijt" in tot:
            for r, v in tot.items():
                if r == "profijt":
                    continue
                diff, base = tot["profijt"] - v, fmt.eur(tot["profijt"])
                word = _t("minder", "less") if diff >= 0 else _t("meer", "more")
                print(
                    _wrap(
                        _t(
                            f"voordeel van de verevening onder {labels.get(r, r)} ({fmt.pct(a, 0)}): {fmt.eur(abs(diff))} {word} "
                            f"risico dan zonder verevening (profijt {base})",
                            f"pooling benefit of {labels.get(r, r)} ({fmt.pct(a, 0)}): {fmt.eur(abs(diff))} {word} risk in total "
                            f"than profijt ({base})",
                        )
                    )
                )
    if (rv.table["rating_basis"] != "whole_profile").all():
        print(
            _wrap(
                _t(
                    "geen waardering: gemeenten.csv geeft geen weerstandscapaciteit_eur voor de hele begroting; een waardering van "
                    "alleen het sociaal domein zou misleiden (de ratio is hele capaciteit / hele risicoprofiel, NARIS)",
                    "no rating: gemeenten.csv gives no weerstandscapaciteit_eur for the whole begroting; a rating of the social "
                    "domain alone would mislead (the ratio is whole capacity / whole risk profile, NARIS)",
                )
            )
        )
    else:
        print(
            _t(
                "waardering: * = binnen 2 standaardfouten van een klassegrens (onzeker)",
                "rating: * = within 2 standard errors of a band edge",
            )
        )
    key = rv.key
    if key is not None:
        lo, hi = key.bounds
        if key.status == "optimal":
            kt = key.table
            opt, inst_w, alone = (
                fmt.eur(kt[c].sum()) for c in ("required_optimal_weight_eur", "required_instance_weight_eur", "required_alone_eur")
            )
            print(
                _wrap(
                    _t(
                        f"sleutelgewicht van {key.rule}: eigen gebruik {fmt.num(key.weight, 4)} binnen [{fmt.num(lo, 2)}, {fmt.num(hi, 2)}] "
                        f"(afspraak {fmt.num(key.agreed_weight, 2)}); totale reserve {opt} tegen {inst_w} bij de afspraak en {alone} "
                        "alleen; geen gemeente slechter af dan alleen; per gemeente in key_weight.csv",
                        f"key weight of {key.rule}: w_own = {fmt.num(key.weight, 4)} within [{fmt.num(lo, 2)}, {fmt.num(hi, 2)}] "
                        f"(instance: {fmt.num(key.agreed_weight, 2)}); total reserve {opt} against {inst_w} at the instance's weight "
                        f"and {alone} alone; no gemeente worse off than alone; per gemeente in key_weight.csv",
                    )
                )
            )
        if key.core_interval is not None and key.status in ("optimal", "core_empty"):
            clo, chi = key.core_interval
            where = f"[{fmt.num(clo, 4)}, {fmt.num(chi, 4)}]" if clo <= chi else _t("geen enkel gewicht", "no weight at all")
            print(
                _wrap(
                    _t(
                        f"  in de kern (geen groep gemeenten betaalt samen meer dan alleen) voor gewichten {where}",
                        f"  in the core (no group of gemeenten pays more together than alone) for w_own in {where}",
                    )
                )
            )
        if key.status not in ("optimal", "core_empty"):
            print(
                _wrap(
                    _t(
                        f"sleutelgewicht van {key.rule}: geen gewicht in [{fmt.num(lo, 2)}, {fmt.num(hi, 2)}] laat elke gemeente "
                        f"minstens zo goed af als alleen ({key.status})",
                        f"key weight of {key.rule}: no weight in [{fmt.num(lo, 2)}, {fmt.num(hi, 2)}] leaves every gemeente no worse "
                        f"off than alone ({key.status})",
                    )
                )
            )
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}")))


def _sweep(args) -> int:

    inst = _load(args.instance)
    from verdeelmodel.models.manifest import Stage
    from verdeelmodel.parameters import grid_from_specs
    from verdeelmodel.reports import manifest, write_all
    from verdeelmodel.workflows import sweep

    notes: list[str] = []
    grid = grid_from_specs(args.param, notes)
    for note in notes:
        print(_t(f"let op: {note}", f"note: {note}"), file=sys.stderr)
    resume_gc()
    sw = sweep(inst, grid, progress=_progress("points") if len(grid) >= 20 else None, executor=_executor_of(args))
    table, build, wall = sw.table, sw.build_seconds, sw.wall_seconds
    out_dir = args.out or default_out(inst.name, "-sweep")
    man = manifest(inst, "sweep", {"param": args.param, "points": len(grid)})
    files = write_all(sw, out_dir, man, xlsx=args.xlsx, csv_dialect=args.csv_dialect)
    from verdeelmodel import fmt

    highs = float(table["highs_seconds"].sum())
    per_point = float(table["wall_seconds"].sum())
    n = len(grid)
    ratio = per_point / max(highs, 1e-9)
    print(
        _wrap(
            _t(
                f"{inst.name}: {fmt.num(n)} punten, model één keer gebouwd in {fmt.num(build, 2)} s; {fmt.num(wall, 2)} s in totaal; "
                f"per punt {fmt.num(per_point / n, 3)} s tegen HiGHS {fmt.num(highs / n, 3)} s ({fmt.num(ratio, 2)}x)",
                f"{inst.name}: {n} points, model built once in {build:.2f} s; {wall:.2f} s in all; "
                f"per point {per_point / n:.3f} s wall vs HiGHS {highs / n:.3f} s ({ratio:.2f}x)",
            )
        )
    )
    params = [c for c in table.columns if ":" in c]
    show = table[params].copy()
    for c in params:
        show[c] = table[c].map(lambda v: fmt.num(v, 4).rstrip("0").rstrip(",.") if v == v else fmt.MISSING)
    status = {"optimal": _t("optimaal", "optimal"), "infeasible": _t("geen toewijzing mogelijk", "infeasible")}
    show["status"] = table["status"].map(lambda v: status.get(v, v))
    for stage, col in ((Stage.tekort, "tekort_eur"), (Stage.plafondoverschrijding, "plafondoverschrijding_eur")):
        if stage.objective in table.columns:
            show[col] = table[stage.objective]
    for col in ("allocated_eur", "unmet_eur"):
        if col in table.columns:
            show[col] = table[col]
    names = {
        "tekort_eur": _t("tekort", "tekort"),
        "plafondoverschrijding_eur": _t("plafondoverschrijding", "plafondoverschrijding"),
        "allocated_eur": _t("toegewezen", "allocated"),
        "unmet_eur": _t("niet gefinancierd", "unmet"),
    }
    if n > 30:
        print(_t(f"de eerste 30 van {fmt.num(n)} punten (alle punten in sweep.csv):", f"the first 30 of {n} points (all in sweep.csv):"))
    print(_table(show.head(30), names))
    print(_wrap(_t(f"geschreven naar {out_dir}: {', '.join(files)}", f"wrote {', '.join(files)} to {out_dir}")))
    return EXIT_OK


def settlement_lines(table, labels: dict[str, str]) -> list[str]:
    """Per pool: what each gemeente pays under each rule, beside its own use (profijt), in euros;
    the rules as short column heads (the agreed rule, K1, K2 ...) with a legend (Dutch, or English
    with --lang en)."""
    import pandas as pd

    from verdeelmodel import fmt

    lines = []
    for pool, t in table.groupby("pool", sort=True):
        t = t.copy()
        agreed = [r for r, s_ in zip(t["rule"], t["rule_set"]) if s_ == "agreed"]
        cands = [r for r in dict.fromkeys(t.loc[t["rule_set"] != "agreed", "rule"]) if r != "profijt"]
        word = _t("afgesproken", "agreed")
        heads = {("agreed", r): f"{word} ({r})" if len(set(agreed)) == 1 else word for r in set(agreed)}
        heads.update({("candidate", r): f"K{k}" for k, r in enumerate(cands, start=1)})
        t["column"] = [heads.get(("agreed" if s_ == "agreed" else "candidate", r), r) for r, s_ in zip(t["rule"], t["rule_set"])]
        t = t[t["rule"] != "profijt"]
        piv = t.pivot_table(index="gemeente", columns="column", values="charge_eur", aggfunc="sum", sort=False)
        prof = table[table["pool"] == pool].drop_duplicates("gemeente").set_index("gemeente")["profijt_eur"]
        piv.insert(0, _t("eigen gebruik", "own use (profijt)"), prof.reindex(piv.index))
        piv.loc[_t("totaal", "total")] = piv.sum(numeric_only=True)
        shown = piv.head(41) if len(piv) > 41 else piv
        view = shown.apply(lambda col: col.map(fmt.eur)).reset_index()
        lines.append(
            _t(
                f"\npool {pool} (percelen {t['lot'].iloc[0]}): bijdrage per gemeente",
                f"\npool {pool} (lots {t['lot'].iloc[0]}): charge per gemeente",
            )
        )
        with pd.option_context("display.width", WIDTH, "display.max_columns", 30):
            lines += [line[:WIDTH] for line in view.to_string(index=False).splitlines()]
        if len(piv) > 41:
            lines.append(
                _t(
                    f"  (eerste 40 van {len(piv) - 1} gemeenten; alle in settlement.csv)",
                    f"  (first 40 of {len(piv) - 1} gemeenten; all in settlement.csv)",
                )
            )
        legend = [f"{heads[('candidate', r)]} = {labels.get(r) or r}" for r in cands]
        if legend:
            lines.append(_wrap("  " + "; ".join(legend)))
    return lines


def _template(args) -> int:
    from verdeelmodel.instance.io import template_workbook

    if args.target.suffix.lower() != ".xlsx":
        raise UsageError(
            f"template writes a workbook: give a name ending in .xlsx, not {args.target}",
            f"template schrijft een werkboek: geef een naam die eindigt op .xlsx, niet {args.target}",
        )
    if args.target.exists():
        raise UsageError(
            f"{args.target} exists: template does not overwrite a workbook (it may hold your instance)",
            f"{args.target} bestaat al: template overschrijft geen werkboek (er kan uw instantie in staan)",
        )
    template_workbook(args.target)
    print(f"geschreven: {args.target} (vul de bladen in; `verdeelmodel validate {args.target}` zegt wat nog ontbreekt)")
    return EXIT_OK


def _convert(args) -> int:
    from verdeelmodel.instance.io import folder_to_workbook, workbook_to_folder
    from verdeelmodel.instance.validate import load_instance

    src, dst = Path(args.source), Path(args.target)
    load_instance(src)  # never convert an invalid instance
    if src.is_dir() and dst.suffix.lower() == ".xlsx":
        folder_to_workbook(src, dst)
    elif src.suffix.lower() == ".xlsx" and not dst.suffix:
        workbook_to_folder(src, dst)
    else:
        raise UsageError(
            "convert takes FOLDER WORKBOOK.xlsx or WORKBOOK.xlsx FOLDER", "convert verwacht MAP WERKBOEK.xlsx of WERKBOEK.xlsx MAP"
        )
    try:
        load_instance(dst)  # the converted instance must load again
    except InstanceError as e:  # our fault, not the user's: take back what was written, exit 1
        import shutil

        shutil.rmtree(dst) if dst.is_dir() else dst.unlink(missing_ok=True)
        raise RuntimeError(f"the converted instance {dst} did not load again (removed): {e.problems[0]}") from e
    print(_t(f"geschreven: {dst}", f"wrote {dst}"))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
