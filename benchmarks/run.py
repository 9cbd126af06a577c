"""plptms benchmarks, written to docs/benchmarks.md.

Safety engine: time to check 100,000 random protocols. Because this machine is shared
and noisy, each figure is also given as a ratio to a baseline run side by side in
the same process: validating the same protocols with pydantic (the cost any checked
protocol pays anyway). Best of several repeats is reported.

The crash campaign (benchmarks/crash_campaign.py) kills the real session CLI; run
only it, replacing just its section of the output, with ``--only crash``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from plptms import __version__
from plptms.protocol import Protocol
from plptms.safety import check_protocol, max_train_duration, max_train_duration_array

if TYPE_CHECKING:
    from collections.abc import Callable

N_PROTOCOLS = 100_000
REPEATS = 3


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} "
        f"{platform.release()}; Python {sys.version.split()[0]}; plptms {__version__}"
    )


def _random_documents(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    freqs = rng.choice([1.0, 5.0, 10.0, 20.0], size=n) * rng.choice(
        [1.0, 1.0, 1.5], size=n
    )
    docs = []
    for k in range(n):
        docs.append(
            {
                "id": f"bench-{k}",
                "name": "benchmark",
                "condition": "active",
                "blocks": [
                    {
                        "label": "M1",
                        "dose": {
                            "pattern": "rtms",
                            "target": "m1_hand",
                            "laterality": "contralateral",
                            "frequency_hz": float(freqs[k]),
                            "intensity_pct_rmt": float(rng.uniform(70, 130)),
                            "pulses_per_train": int(rng.integers(1, 120)),
                            "trains_per_session": int(rng.integers(1, 60)),
                            "inter_train_interval_s": float(rng.uniform(0.5, 40)),
                        },
                        "sessions": 10,
                        "sessions_per_week": 5,
                        "course_weeks": 2,
                    }
                ],
            }
        )
    return docs


def _best(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_safety() -> list[str]:
    docs = _random_documents(N_PROTOCOLS)
    protocols = [Protocol.model_validate(d) for d in docs]
    t_validate = _best(lambda: [Protocol.model_validate(d) for d in docs])
    t_check = _best(lambda: [check_protocol(p) for p in protocols])
    t_both = _best(lambda: [check_protocol(Protocol.model_validate(d)) for d in docs])
    decisions: dict[str, int] = {}
    for p in protocols:
        dec = check_protocol(p).decision.value
        decisions[dec] = decisions.get(dec, 0) + 1

    f = np.array([p.blocks[0].dose.frequency_hz for p in protocols], dtype=float)
    i = np.array([p.blocks[0].dose.intensity_pct_rmt for p in protocols], dtype=float)
    pairs = list(zip(f.tolist(), i.tolist(), strict=True))
    uncached = max_train_duration.__wrapped__  # time the lookup, not the cache
    t_scalar = _best(lambda: [uncached(a, b) for a, b in pairs])
    t_vector = _best(lambda: max_train_duration_array(f, i))
    n = N_PROTOCOLS
    return [
        "## Safety engine: checking 100,000 random protocols",
        "",
        "Random conventional rTMS protocols (1-30 Hz, 70-130 % RMT, 1-119 pulses per "
        "train, 1-59 trains, 0.5-40 s pauses); decisions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(decisions.items()))
        + ". Best of 3 runs.",
        "",
        "| step | total (s) | per protocol (us) | ratio to pydantic validation |",
        "| --- | --- | --- | --- |",
        f"| validate only (baseline) | {t_validate:.2f} | {t_validate / n * 1e6:.1f} "
        "| 1.00 |",
        f"| check_protocol (every rule, verdict built) | {t_check:.2f} | "
        f"{t_check / n * 1e6:.1f} | {t_check / t_validate:.2f} |",
        f"| validate + check | {t_both:.2f} | {t_both / n * 1e6:.1f} | "
        f"{t_both / t_validate:.2f} |",
        f"| train-limit lookup, scalar | {t_scalar:.3f} | {t_scalar / n * 1e6:.2f} | "
        f"{t_scalar / t_validate:.3f} |",
        f"| train-limit lookup, vectorised (NumPy) | {t_vector:.4f} | "
        f"{t_vector / n * 1e6:.3f} | {t_vector / t_validate:.4f} |",
        "",
        f"Vectorised lookup is {t_scalar / t_vector:.0f}x the scalar lookup "
        "(same results, tested). A closed-loop trigger needs only the train-limit "
        "lookup: "
        f"{t_scalar / n * 1e6:.1f} us scalar.",
        "",
    ]


CRASH_HEADER = "## Delivery: crash campaign"


def replace_section(text: str, header: str, section: list[str]) -> str:
    """Replace the section whose title starts with ``header`` (or add it).

    The section runs from its ``## `` title to the next ``## `` title; a missing
    section goes before the registry section, or at the end.
    """
    lines = text.split("\n")
    start = next((k for k, ln in enumerate(lines) if ln.startswith(header)), None)
    if start is None:
        at = next(
            (k for k, ln in enumerate(lines) if ln.startswith("## Registry")),
            len(lines),
        )
        end = at
        start = at
    else:
        end = next(
            (k for k in range(start + 1, len(lines)) if lines[k].startswith("## ")),
            len(lines),
        )
    return "\n".join([*lines[:start], *section, *lines[end:]])


#: Benchmarks ``--only`` can re-run: name -> (module, function) giving its lines.
ONLY = {
    "safety": ("run", "bench_safety"),
    "threshold": ("bench_threshold", "run"),
    "efield": ("bench_efield", "run"),
    "closedloop": ("bench_closedloop", "run"),
    "meta": ("bench_meta", "run"),
    "delivery": ("bench_delivery", "run"),
    "randomisation": ("bench_randomisation", "run"),
    "mmrm": ("bench_mmrm", "run"),
    "batch": ("bench_batch", "run"),
    "vtrial": ("bench_vtrial_study", "run"),
    "registry": ("bench_registry", "run"),
    "trials": ("bench_trials", "run"),
    "web": ("bench_web", "run"),
}


def split_sections(lines: list[str]) -> list[list[str]]:
    """Split a benchmark's lines into its ``## `` sections (text before the first
    title, if any, is dropped)."""
    sections: list[list[str]] = []
    for line in lines:
        if line.startswith("## "):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
    return sections


def _section_key(text: str, title: str) -> str:
    """The prefix of ``title`` that finds its old section in ``text``.

    The whole title when the file has it; else the title up to its first digit
    (a size in the title changed), when that prefix starts exactly one title.
    """
    titles = [ln for ln in text.split("\n") if ln.startswith("## ")]
    if title in titles:
        return title
    stem = title
    for k, ch in enumerate(title):
        if ch.isdigit():
            stem = title[:k]
            break
    if sum(t.startswith(stem) for t in titles) == 1:
        return stem
    return title


def splice(text: str, lines: list[str]) -> str:
    """Replace each ``## `` section of ``lines`` in ``text`` (or add it)."""
    for section in split_sections(lines):
        text = replace_section(text, _section_key(text, section[0]), section)
    return text


def bench_crash(args: argparse.Namespace) -> list[str]:
    """The crash campaign's section (see benchmarks/crash_campaign.py)."""
    import crash_campaign

    result = crash_campaign.run_campaign(
        kills=args.crash_kills,
        targeted=args.crash_targeted,
        parallel=args.crash_parallel,
        writers=args.crash_writers,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if args.crash_json is not None:
        import json

        args.crash_json.write_text(json.dumps(result.to_json(), indent=1))
    argv = list(sys.argv[1:])
    if "--crash-json" in argv:  # where the raw figures went: not part of the run
        k = argv.index("--crash-json")
        del argv[k : k + 2]
    command = "python benchmarks/run.py " + " ".join(argv)
    return crash_campaign.section(result, command.strip(), _machine())


RERUN_PREFIX = "Sections re-run since"


def _note_rerun(text: str, names: list[str]) -> str:
    """Say in the header which sections were re-run on which day (each name
    once, with the day it was last re-run)."""
    lines = text.split("\n")
    today = dt.date.today().isoformat()
    at = next((k for k, ln in enumerate(lines) if ln.startswith(RERUN_PREFIX)), None)
    when: dict[str, str] = {}
    if at is not None:
        body = lines[at].split(": ", 1)[1].rstrip(".")
        for part in body.split("; "):
            group, _, rest = part.partition(" on ")
            day = rest.split(" ")[0]
            for name in group.split(", "):
                when[name] = day
    for name in names:
        when.pop(name, None)
        when[name] = today
    days: dict[str, list[str]] = {}
    for name, day in when.items():
        days.setdefault(day, []).append(name)
    note = "; ".join(
        f"{', '.join(group)} on {day} (same machine)" for day, group in days.items()
    )
    line = f"{RERUN_PREFIX} (`python benchmarks/run.py --only ...`): {note}."
    if at is not None:
        lines[at] = line
    else:
        gen = next(
            (k for k, ln in enumerate(lines) if ln.startswith("Generated by")), 0
        )
        lines[gen + 1 : gen + 1] = ["", line]
    return "\n".join(lines)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import crash_campaign

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--skip-registry",
        action="store_true",
        help="Skip the (slow) registry benchmark.",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="Run only these benchmarks (comma separated: crash, "
        + ", ".join(ONLY)
        + ") and replace their sections in --output (the other sections are kept "
        "as they are, and the header says which were re-run when).",
    )
    parser.add_argument(
        "--skip-crash", action="store_true", help="Skip the crash campaign."
    )
    parser.add_argument(
        "--crash-kills",
        type=int,
        default=crash_campaign.BENCH_KILLS,
        help="Crash campaign: random kills.",
    )
    parser.add_argument(
        "--crash-targeted",
        type=int,
        default=crash_campaign.BENCH_TARGETED,
        help="Crash campaign: kills aimed at each targeted window.",
    )
    parser.add_argument(
        "--crash-parallel", type=int, default=crash_campaign.DEFAULT_PARALLEL
    )
    parser.add_argument(
        "--crash-writers", type=int, default=crash_campaign.DEFAULT_WRITERS
    )
    parser.add_argument(
        "--crash-json", type=Path, default=None, help="Crash campaign: every figure."
    )
    args = parser.parse_args()
    if args.only is not None:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n != "crash" and n not in ONLY]
        if bad or not names:
            parser.error(
                f"Invalid value for '--only': got {args.only!r}; allowed: a comma "
                f"separated list of crash, {', '.join(ONLY)}."
            )
        text = args.output.read_text() if args.output.exists() else ""
        os.environ.setdefault(
            "PLPTMS_BENCH_FIGURES", str(Path("docs/figures").resolve())
        )
        for name in names:
            if name == "crash":
                section = bench_crash(args)
                text = replace_section(text, CRASH_HEADER, section)
            else:
                import importlib

                module, func = ONLY[name]
                mod = (
                    sys.modules[__name__]
                    if module == "run"
                    else (importlib.import_module(module))
                )
                section = getattr(mod, func)()
                text = splice(text, section)
            print("\n".join(section), flush=True)
        text = _note_rerun(text, names)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        return
    lines = [
        "# plptms benchmarks",
        "",
        f"Generated by `make bench` on {dt.date.today().isoformat()}.",
        "",
        f"Machine: {_machine()}.",
        "",
        "Figures are timings on a shared machine: compare the ratios, which are "
        "measured side by side in the same run.",
        "",
    ]
    lines += bench_safety()
    import bench_efield
    import bench_threshold

    lines += bench_threshold.run()
    lines += bench_efield.run()
    os.environ.setdefault("PLPTMS_BENCH_FIGURES", str(Path("docs/figures").resolve()))
    import bench_batch
    import bench_closedloop
    import bench_delivery
    import bench_meta
    import bench_mmrm
    import bench_randomisation

    lines += bench_closedloop.run()
    lines += bench_meta.run()
    lines += bench_delivery.run()
    lines += bench_randomisation.run()
    lines += bench_mmrm.run()
    lines += bench_batch.run()
    import bench_vtrial_study

    lines += bench_vtrial_study.run()
    if not args.skip_crash:
        lines += bench_crash(args)
    if not args.skip_registry:
        import bench_registry
        import bench_trials
        import bench_web

        lines += bench_registry.run()
        lines += bench_trials.run()
        lines += bench_web.run()
    text = "\n".join(lines)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
