"""The two pictures: requests/job vs median lateness, and a poll timeline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

if TYPE_CHECKING:
    from benchmarks.harness import RunResult

#: Runs shown in the timeline, in row order (the first ones found are used).
TIMELINE_RUNS = (
    ("ours", "plain"),
    ("ours", "long-poll"),
    ("ours", "batch"),
    ("fixed-1s", "plain"),
    ("google", "plain"),
)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both coordinates (both minimised), sorted by x."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points):
        if not front or y < front[-1][1]:
            front.append((x, y))
    return front


def _minor_label(value: float, _: object) -> str:
    """Label the 2x and 5x minor ticks of a log axis, leave the others bare."""
    if value <= 0:
        return ""
    lead = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if lead in (2, 5) else ""


def _front_line(ax: Any, points: list[tuple[float, float]], **style: Any) -> None:
    front = pareto_front(points)
    if len(front) > 1:
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", zorder=2, **style)


#: Marker and colour per strategy in the scatter (ours: red circles, shade by mode).
STYLE: dict[str, tuple[str, str]] = {
    "ours (plain)": ("o", "#f4a582"),
    "ours (hints)": ("o", "#d6604d"),
    "ours (long-poll)": ("o", "#b2182b"),
    "ours (batch)": ("o", "#67001f"),
    "ours-economical (plain)": ("h", "#f4a582"),
    "fixed-1s": ("s", "tab:blue"),
    "fixed-0.1s": ("s", "tab:cyan"),
    "google": ("D", "tab:green"),
    "tenacity": ("^", "tab:purple"),
    "polling2": ("v", "tab:brown"),
    "backoff": ("P", "tab:olive"),
}


def scatter(results: list[RunResult], path: Path) -> None:
    """Requests per job (x) against median lateness (y), one point per run.

    Two Pareto fronts: over every run, and over the plain-server runs only
    (the like-for-like comparison with the baselines).
    """
    ok = [r for r in results if not r.error and not math.isnan(r.lateness_p50)]
    fig, ax = plt.subplots(figsize=(9.5, 5.8))
    pts = {r.label: (r.req_per_job, max(r.lateness_p50 * 1000, 1.0)) for r in ok}
    for r in ok:
        marker, color = STYLE.get(r.label, STYLE.get(r.strategy, ("x", "black")))
        ax.scatter(
            [pts[r.label][0]],
            [pts[r.label][1]],
            s=80 if r.strategy.startswith("ours") else 55,
            marker=marker,
            color=color,
            edgecolors="black",
            linewidths=0.5,
            zorder=3,
            label=f"{r.label}: {r.req_per_job:.2f} req, {r.lateness_p50 * 1000:.0f} ms",
        )
    _front_line(
        ax, list(pts.values()), color="tab:gray", linestyle="--", label="Pareto front, all runs"
    )
    _front_line(
        ax,
        [pts[r.label] for r in ok if r.mode == "plain"],
        color="tab:blue",
        linestyle=":",
        label="Pareto front, plain server only",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(FuncFormatter(_minor_label))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_xlabel("status requests per job (server count, log)")
    ax.set_ylabel("median lateness, ms (log; floored at 1 ms)")
    ax.set_title("Cost vs. delay to learn a job's end (lower-left is better)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pick_jobs(runs: list[RunResult], count: int = 3) -> list[int]:
    """Indices of completed jobs at about the 25th, 60th and 90th duration percentiles."""
    jobs = runs[0].per_job
    done = [i for i, j in enumerate(jobs) if j.get("outcome") == "completed"]
    if not done:
        done = list(range(len(jobs)))
    done.sort(key=lambda i: float(jobs[i]["delay"]))
    picks = []
    for q in (0.25, 0.6, 0.9)[:count]:
        i = done[min(len(done) - 1, int(q * len(done)))]
        if i not in picks:
            picks.append(i)
    return picks


def timeline(results: list[RunResult], path: Path) -> None:
    """Each status request around the job's end, for a few jobs and strategies."""
    by_key = {(r.strategy, r.mode): r for r in results if not r.error and r.per_job}
    runs = [by_key[k] for k in TIMELINE_RUNS if k in by_key]
    if not runs:
        return
    picks = _pick_jobs(runs)
    fig, axes = plt.subplots(
        1, len(picks), figsize=(5 * len(picks), 0.9 + 0.6 * len(runs)), sharey=True, squeeze=False
    )
    for ax, index in zip(axes[0], picks, strict=True):
        delay = 0.0
        right = 1.0
        for row, r in enumerate(runs):
            job: dict[str, Any] = r.per_job[index]
            end = float(job["finishes_at"])
            delay = float(job["delay"])
            times = [t - end for t in job["request_times"]]
            ax.scatter(times, [row] * len(times), marker="|", s=160, color="tab:blue")
            if job.get("learned_at") is not None:
                late = float(job["learned_at"]) - end
                right = max(right, late + 0.5)
                ax.scatter([late], [row], marker="x", s=60, color="tab:red", zorder=3)
            if times:
                right = max(right, max(times) + 0.5)
        ax.axvspan(-delay, 0, color="tab:green", alpha=0.08)
        ax.axvline(0, color="tab:green", linewidth=1)
        ax.set_xlim(-delay - 0.5, right)
        ax.set_title(f"job {index + 1}: {delay:.1f} s", fontsize=9)
        ax.set_xlabel("seconds from the job's end")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(runs)), [r.label for r in runs], fontsize=8)
    axes[0][0].set_ylim(len(runs) - 0.5, -0.5)
    fig.suptitle(
        "Status requests (|) while the job runs (green) and when the caller learned (x)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
