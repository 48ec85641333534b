"""``run_ablation.py``: the command line of the grid runner.

Every mistake a user can make (a flag, a spec, a path) ends as one line on stderr and exit code 2, with
no traceback and nothing written; bugs still raise with a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import NoReturn

from pvtlab.errors import UserInputError

from .heartbeat import GRACE_S

PROG = "run_ablation.py"
DEFAULT_SPEC = Path("ablations") / "default.yaml"
EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{PROG}: error: {message} (see --help)\n")


class _Probe(argparse.ArgumentParser):
    """The same flags, parsed quietly: only to find flags nobody defines."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def default_spec() -> Path:
    """ablations/default.yaml of the working directory, else of the checkout pvtlab is imported from."""
    if DEFAULT_SPEC.exists():
        return DEFAULT_SPEC
    return Path(__file__).resolve().parents[2] / DEFAULT_SPEC


def default_workers(device: str) -> int:
    """Two workers of half the cores each keep a 2-core laptop busy; one GPU is not shared between workers."""
    from .plan import available_cpus

    return 1 if device == "cuda" else min(2, available_cpus())


def build_parser(probe: bool = False) -> argparse.ArgumentParser:
    parser = (_Probe if probe else _Parser)(
        prog=PROG, add_help=not probe, allow_abbrev=False,
        description="Run an ablation grid of PVT variants (FLOPs, memory, throughput, accuracy) or write the "
                    "report of one that ran.")
    what = parser.add_mutually_exclusive_group(required=not probe)
    what.add_argument("--grid", nargs="?", const="", metavar="SPEC",
                      help="run the grid spec SPEC (a YAML file; default ablations/default.yaml)")
    what.add_argument("--report", metavar="PATH", help="(re)write the report of results folder PATH and exit")
    what.add_argument("--status", nargs="?", const="", metavar="SPEC",
                      help="print where the grid of SPEC stands in --storage (done / failed / running / waiting per "
                           "group, who holds each running cell, failed cells' errors) and exit")
    parser.add_argument("--results-dir", default="results", metavar="DIR",
                        help="where results/<name>/ goes (default: results)")
    parser.add_argument("--storage", metavar="URL",
                        help="Optuna storage that dispatches cells: a journal file (default: "
                             "results/<name>/optuna.journal), sqlite:///FILE, postgresql://... for many machines")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="local worker processes (default: 2 on a CPU with 2+ cores, 1 with --device cuda); "
                             "1 runs the cells in this process")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch threads per worker (default: CPU cores divided by the workers)")
    parser.add_argument("--worker", action="store_true",
                        help="join a running grid as one more worker (another shell or machine; same spec and "
                             "--storage)")
    parser.add_argument("--retry-failed", action="store_true", help="run failed cells again")
    parser.add_argument("--dry-run", action="store_true",
                        help="per group: cells, how many to run, estimated time; run and write nothing")
    parser.add_argument("--verbose", action="store_true", help="with --dry-run: list every cell")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--grace-s", type=int, default=GRACE_S, metavar="S",
                        help="sqlite/postgresql storage: a running cell whose worker sent no heartbeat for S "
                             "seconds (by the database's clock; the worker died) runs again elsewhere (default %(default)s). "
                             "The journal file needs none: a dead local worker's cell is re-queued at once")
    parser.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    slurm = parser.add_argument_group("SLURM (pip install -e \".[slurm]\"; docs/slurm.md)")
    slurm.add_argument("--slurm", type=int, metavar="N",
                       help="run the grid on N SLURM worker jobs (one job array) instead of local workers; needs a "
                            "--storage database every node reaches")
    slurm.add_argument("--slurm-partition", metavar="NAME", help="partition of the worker jobs")
    slurm.add_argument("--slurm-time", type=int, metavar="MIN", help="time limit of each worker job, minutes")
    slurm.add_argument("--slurm-cpus-per-task", type=int, metavar="N", help="CPUs of each worker job")
    slurm.add_argument("--slurm-gpus-per-task", type=int, metavar="N",
                       help="GPUs of each worker job (default 1 with --device cuda)")
    slurm.add_argument("--slurm-mem", metavar="SIZE", help="memory of each worker job, e.g. 16G")
    return parser


def _unknown_flags(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Name a mistyped flag (and the flag meant) before argparse complains about a missing --grid/--report."""
    try:
        _, unknown = build_parser(probe=True).parse_known_args(argv)
    except ValueError:
        return  # another error; parse_args says it
    flags = [arg for arg in unknown if arg.startswith("-") and arg not in ("-h", "--help")]
    if not flags:
        return
    known = [option for action in parser._actions for option in action.option_strings
             if action.help != argparse.SUPPRESS]
    close = difflib.get_close_matches(flags[0].split("=", 1)[0], known, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    parser.error(f"unrecognized arguments: {' '.join(a for a in unknown if a not in ('-h', '--help'))}{hint}")


SLURM_FLAGS = ("partition", "time", "cpus_per_task", "gpus_per_task", "mem")


def _slurm_flags(args: argparse.Namespace) -> dict[str, object]:
    return {key: getattr(args, f"slurm_{key}") for key in SLURM_FLAGS}


def _check_slurm_flags(args: argparse.Namespace) -> None:
    given = [f"--slurm-{key.replace('_', '-')}" for key, value in _slurm_flags(args).items() if value is not None]
    if args.slurm is None:
        if given:
            raise UserInputError(f"{given[0]} is not allowed without --slurm N; add --slurm N (worker jobs)")
        return
    if args.slurm < 1:
        raise UserInputError(f"--slurm={args.slurm} is not allowed; give the number of worker jobs, an integer >= 1")
    used = [flag for flag, on in (("--worker", args.worker), ("--workers", args.workers is not None),
                                  ("--report", args.report is not None), ("--status", args.status is not None))
            if on]
    if used:
        raise UserInputError(f"{used[0]} is not allowed with --slurm; --slurm N runs the grid on N SLURM jobs")


def _check_flags(args: argparse.Namespace) -> None:
    _check_slurm_flags(args)
    for flag, value in (("--workers", args.workers), ("--threads", args.threads)):
        if value is not None and value < 1:
            raise UserInputError(f"{flag}={value} is not allowed; give an integer >= 1")
    if args.grace_s < 2:
        raise UserInputError(f"--grace-s={args.grace_s} is not allowed; give whole seconds >= 2")
    if args.report is not None:
        used = [flag for flag, on in (("--worker", args.worker), ("--dry-run", args.dry_run),
                                      ("--retry-failed", args.retry_failed), ("--workers", args.workers is not None),
                                      ("--storage", args.storage is not None)) if on]
        if used:
            raise UserInputError(f"{used[0]} is not allowed with --report; --report only writes a report")
    if args.worker and args.workers is not None:
        raise UserInputError(f"--workers={args.workers} is not allowed with --worker; --worker joins as one worker, "
                             f"--workers N starts N of them")
    if args.worker and args.dry_run:
        raise UserInputError("--dry-run is not allowed with --worker; run --dry-run without --worker")


def report_only(path: str) -> int:
    folder = Path(path)
    if not folder.exists():
        raise UserInputError(f"--report: results folder '{path}' not found; give the folder of a grid that ran, "
                             f"such as results/default")
    if not folder.is_dir():
        raise UserInputError(f"--report: '{path}' is a file, not a results folder; give one such as results/default")
    from pvtlab.report import write_report

    print(f"report: {write_report(folder)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        _unknown_flags(parser, argv)
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        _check_flags(args)
        if args.report is not None:
            return report_only(args.report)
        if args.status is not None:
            from .status import status

            return status(Path(args.status) if args.status else default_spec(), args.storage,
                          Path(args.results_dir), sys.stdout)
        from .plan import Options
        from .run import run

        opts = Options(spec_path=Path(args.grid) if args.grid else default_spec(),
                       results_root=Path(args.results_dir), storage=args.storage,
                       workers=args.workers or default_workers(args.device),
                       threads=args.threads, worker=args.worker, retry_failed=args.retry_failed,
                       dry_run=args.dry_run, device=args.device, grace_s=args.grace_s, report=not args.no_report,
                       verbose=args.verbose, slurm=args.slurm, slurm_flags=_slurm_flags(args), argv=tuple(argv))
        return run(opts)
    except UserInputError as exc:
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
