"""Linux /proc readers: memory and CPU time of a process tree, CPU pinning.

Why /proc and not psutil: nothing to install, and VmHWM (the kernel's own
peak-RSS mark) catches spikes that periodic sampling would miss.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/PID/status, 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def rss_kb(pid: int) -> int:
    """Current resident set size."""
    return _status_kb(pid, "VmRSS")


def peak_rss_kb(pid: int) -> int:
    """Peak resident set size since the process started (VmHWM)."""
    return _status_kb(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # The command name (field 2) may hold spaces; fields after ")" are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def busy_cpu_seconds() -> float:
    """CPU time all cores have spent busy since boot (everything but idle/iowait).

    Compared with the server's and the load generator's own CPU time, it tells
    how much of the box other work (say, a test suite running meanwhile) took:
    benchmark figures from such a window are noisy.
    """
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def proc_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return "?"


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, []))
    return found


def pin(pid: int, cpus: set[int]) -> None:
    """Restrict ``pid`` (0 = this process) to ``cpus``; children inherit it.

    Silently keeps the current mask when a CPU does not exist (1-core boxes).
    """
    available = os.sched_getaffinity(0) | cpus
    wanted = cpus & set(range(os.cpu_count() or 1))
    if wanted and wanted <= available:
        os.sched_setaffinity(pid, wanted)


@dataclass(slots=True)
class TreeSample:
    """CPU time and memory of a server process and of its descendants."""

    main_cpu: float
    children_cpu: float
    main_rss_kb: int
    children_rss_kb: int


def sample_tree(pid: int) -> TreeSample:
    kids = descendants(pid)
    return TreeSample(
        main_cpu=cpu_seconds(pid),
        children_cpu=sum(cpu_seconds(k) for k in kids),
        main_rss_kb=rss_kb(pid),
        children_rss_kb=sum(rss_kb(k) for k in kids),
    )
