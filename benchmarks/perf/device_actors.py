"""Device actors under load: a screenshot's round trip through a Ray device actor next to the same
call on an in-process DeviceHost, and how many desktops one node holds with each one answering a
screenshot within 1 s.

    flock /tmp/lmc-heavy.lock python benchmarks/perf/bench_devices.py --part actors

- round trip: `display.view` (what a model is shown: PNG, 1280 wide) from the driver, through
  `ray.get(actor.call.remote(...))`, alternating with the same call on a DeviceHost in this process,
  both on a desktop of their own showing the same app; the breakdown says where the time goes
  (grab, encode, pickling the image message, an actor call that carries no image);
- desktops held: 1, 2, 4, ... device actors, each with its own Xvfb and app, all taking screenshots
  back to back from driver threads for some seconds (the worst case: a session screenshots once per
  model step, seconds apart); the answer is the largest count where every desktop's p90 stayed
  within 1 s; memory per desktop is the actor's process tree (Ray worker, Xvfb, its session buses).
"""

from __future__ import annotations

import os
import pickle
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.desktop import DesktopConfig
from orchestrator.ray.device_actor import DeviceHost, DeviceHostConfig, create_device_actor

CALL = "display.view"  #: the screenshot a session shows its model
HELD_P90_S = 1.0  #: a desktop is held while its screenshots' p90 stays within this
ROUND_TRIP_TARGET_MS = 60.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def spread(seconds: list[float]) -> dict[str, float]:
    """p50, p90 and max of some durations, in ms, and how many there were."""
    ms = sorted(1e3 * s for s in seconds)
    if not ms:
        return {"n": 0, "p50_ms": float("nan"), "p90_ms": float("nan"), "max_ms": float("nan")}
    return {"n": len(ms), "p50_ms": statistics.median(ms), "p90_ms": ms[min(len(ms) - 1, int(0.9 * len(ms)))],
            "max_ms": ms[-1]}


def niceness(pid: int) -> int:
    """A process's nice value (Ray starts its workers, device actors included, at 15 unless told otherwise)."""
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[16])


def timed(action: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def host_config(width: int = 1280, height: int = 800) -> DeviceHostConfig:
    """The desktops measured here: the size of bench_devices' screen."""
    return DeviceHostConfig(desktop=DesktopConfig(width=width, height=height))


@dataclass
class Seat:
    """One desktop of the run: a device actor (its own Xvfb) and the app drawn on it."""

    handle: Any
    pid: int  #: the actor's process; Xvfb and the session buses are its descendants
    xvfb: int  #: the desktop's Xvfb
    app: subprocess.Popen[bytes] | None

    @classmethod
    def open(cls, app: str | None, config: DeviceHostConfig) -> Seat:
        """Start an actor and the app on its desktop; return once the app's window is on screen."""
        import ray

        handle = create_device_actor(config)
        health = ray.get(handle.health.remote())
        proc = None
        if app is not None:
            proc = start_app(app, ray.get(handle.env.remote()))
            wait_for_window(lambda: ray.get(handle.call.remote("windows.list")), proc)
        ray.get(handle.call.remote(CALL, [], {}))  # the first one opens the screenshot connection
        return cls(handle, health["pid"], health["xvfb_pid"], proc)

    def close(self) -> None:
        """End the app, then the desktop and the actor."""
        import ray

        if self.app is not None:
            stop_app(self.app)
        with suppress(Exception):  # a dead actor has nothing left to close; kill() below still runs
            ray.get(self.handle.close.remote(), timeout=30)
        ray.kill(self.handle)


def start_app(app: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The Python program `app` drawing on the desktop `env` points at."""
    return subprocess.Popen([sys.executable, "-c", app], env=dict(os.environ, **env))


def stop_app(proc: subprocess.Popen[bytes]) -> None:
    """End an app started by start_app."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_window(windows: Callable[[], object], proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll `windows` (a windows.list call) until the app has a window; fail saying so if it never does."""
    deadline = time.monotonic() + timeout
    while not windows():
        if proc.poll() is not None:
            raise RuntimeError(f"the benchmark app exited with status {proc.returncode} before showing a window")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the benchmark app showed no window within {timeout:.0f} s")
        time.sleep(0.1)
    time.sleep(0.3)  # mapped; let Tk finish drawing its widgets


# -- figure 1: the round trip ---------------------------------------------------------------------
def round_trip(app: str | None, repeat: int, config: DeviceHostConfig | None = None) -> dict[str, Any]:
    """`display.view` on an in-process DeviceHost, through a device actor as Ray starts it (nice 15), and
    through one reniced to 0 (where this process may: root or CAP_SYS_NICE), in turn, `repeat` times each."""
    import ray

    config = config or host_config()
    local = DeviceHost(config)
    local_app = None
    seats: list[Seat] = []
    try:
        if app is not None:
            local_app = start_app(app, local.env())
            wait_for_window(lambda: local.call("windows.list"), local_app)
        seats = [Seat.open(app, config), Seat.open(app, config)]
        reniced = renice_tree(seats[1].pid, 0)

        def remote(seat: Seat, path: str = CALL) -> Callable[[], object]:
            return lambda: ray.get(seat.handle.call.remote(path, [], {}))

        sides = {"in_process": lambda: local.call(CALL), "actor": remote(seats[0])}
        if reniced:
            sides["actor_at_nice_0"] = remote(seats[1])
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(3):  # first calls open X connections and load mss
            for call in sides.values():
                call()
        for _ in range(repeat):
            for name, call in sides.items():
                times[name].append(timed(call))
        got = {name: spread(one) for name, one in times.items()}
        base = got["in_process"]["p50_ms"]
        return {"call": CALL, "repeat": repeat, **got, "actor_at_nice_0": got.get("actor_at_nice_0"),
                "target_p50_ms": ROUND_TRIP_TARGET_MS, "actor_over_in_process_p50": got["actor"]["p50_ms"] / base,
                "breakdown": breakdown(local, local.call(CALL), remote(seats[0], "display.size"), repeat),
                "actor_niceness": niceness(seats[0].pid), "in_process_niceness": os.getpriority(os.PRIO_PROCESS, 0)}
    finally:
        for seat in seats:
            seat.close()
        if local_app is not None:
            stop_app(local_app)
        local.close()


def renice_tree(pid: int, value: int) -> bool:
    """Set every thread of a process and its descendants (Xvfb, the buses) to nice `value`; False if not allowed."""
    try:
        for process in tree(pid):
            for thread in (Path("/proc") / str(process) / "task").iterdir():
                os.setpriority(os.PRIO_PROCESS, int(thread.name), value)  # Linux: nice is per thread
    except PermissionError:
        return False
    return True


def breakdown(local: DeviceHost, image: object, small_call: Callable[[], object], repeat: int) -> dict[str, Any]:
    """Where a screenshot's time goes: grab, grab + encode (in process), pickling its message, a call with no image."""
    blob = pickle.dumps(image)
    grab = [timed(local.devices.display.grab) for _ in range(repeat)]
    view = [timed(lambda: local.call(CALL)) for _ in range(repeat)]
    pickling = [timed(lambda: pickle.loads(pickle.dumps(image))) for _ in range(repeat)]
    small = [timed(small_call) for _ in range(repeat)]
    return {"grab_p50_ms": spread(grab)["p50_ms"], "grab_and_encode_p50_ms": spread(view)["p50_ms"],
            "image_bytes": len(blob), "pickle_round_trip_p50_ms": spread(pickling)["p50_ms"],
            "actor_call_without_image_p50_ms": spread(small)["p50_ms"]}


# -- figure 2: desktops one node holds ------------------------------------------------------------
def hammer(seats: list[Seat], seconds: float) -> list[list[float]]:
    """Every seat's screenshots back to back from a thread of its own for `seconds`: the latencies per seat."""
    import ray

    latencies: list[list[float]] = [[] for _ in seats]
    errors: list[BaseException] = []
    start = threading.Barrier(len(seats))
    stop_at = [0.0]

    def loop(index: int) -> None:
        handle = seats[index].handle
        try:
            start.wait()
            while time.monotonic() < stop_at[0] or not latencies[index]:
                latencies[index].append(timed(lambda: ray.get(handle.call.remote(CALL, [], {}))))
        except BaseException as exc:  # reported below, with the seat
            errors.append(exc)

    stop_at[0] = time.monotonic() + seconds
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(len(seats))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} desktop(s) failed a screenshot under load: {errors[0]!r}") from errors[0]
    return latencies


def tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def tree_memory(pid: int) -> dict[str, float]:
    """RSS and PSS (MiB) of a process and all its descendants: summed RSS counts shared pages once per process."""
    rss = pss = 0.0
    for current in tree(pid):
        with suppress(OSError):
            for line in (Path("/proc") / str(current) / "smaps_rollup").read_text().splitlines():
                if line.startswith(("Rss:", "Pss:")):
                    kib = int(line.split()[1]) / 1024
                    rss, pss = (rss + kib, pss) if line.startswith("Rss:") else (rss, pss + kib)
    return {"rss_mib": rss, "pss_mib": pss}


def level(seats: list[Seat], seconds: float, limit_s: float = HELD_P90_S) -> dict[str, Any]:
    """One level: every desktop hammered at once; its spreads, whether all were held, memory, load."""
    wall = time.monotonic()
    latencies = hammer(seats, seconds)
    wall = time.monotonic() - wall
    per_desktop = [spread(one) for one in latencies]
    memory = [tree_memory(seat.pid) for seat in seats]
    apps = [tree_memory(seat.app.pid)["pss_mib"] for seat in seats if seat.app is not None]
    xvfb = [tree_memory(seat.xvfb)["pss_mib"] for seat in seats]
    return {
        "desktops": len(seats),
        "seconds": wall,
        "screenshots": sum(len(one) for one in latencies),
        "screenshots_per_s": sum(len(one) for one in latencies) / wall,
        "per_desktop": per_desktop,
        "worst_p50_ms": max(s["p50_ms"] for s in per_desktop),
        "worst_p90_ms": max(s["p90_ms"] for s in per_desktop),
        "worst_max_ms": max(s["max_ms"] for s in per_desktop),
        "held": all(s["p90_ms"] <= limit_s * 1e3 for s in per_desktop),
        "rss_mib_per_desktop": statistics.mean(m["rss_mib"] for m in memory),
        "pss_mib_per_desktop": statistics.mean(m["pss_mib"] for m in memory),
        "xvfb_pss_mib": statistics.mean(xvfb),  # a part of pss_mib_per_desktop
        "app_pss_mib": statistics.mean(apps) if apps else 0.0,
        "load_average": list(os.getloadavg()),
        "actor_niceness": niceness(seats[0].pid),
    }


def desktops_held(app: str | None, counts: list[int], seconds: float, config: DeviceHostConfig | None = None,
                  limit_s: float = HELD_P90_S) -> dict[str, Any]:
    """Grow the desktops through `counts`, hammering each level; stop after the first level where a
    desktop's p90 passed `limit_s`."""
    config = config or host_config()
    seats: list[Seat] = []
    levels: list[dict[str, Any]] = []
    try:
        for count in counts:
            while len(seats) < count:
                seats.append(Seat.open(app, config))
            levels.append(level(seats, seconds, limit_s))
            if not levels[-1]["held"]:
                break
    finally:
        for seat in seats:
            seat.close()
    held = [one["desktops"] for one in levels if one["held"]]
    return {"call": CALL, "p90_limit_s": limit_s, "seconds_per_level": seconds, "levels": levels,
            "held": max(held, default=0), "capped": bool(levels) and levels[-1]["held"],
            "cores": os.cpu_count()}


@contextmanager
def local_ray(displays: int, worker_niceness: int | None = None) -> Iterator[None]:
    """A Ray of this machine only (address="local": never another cluster) with `displays` display slots,
    its workers at `worker_niceness` (None: Ray's default, 15)."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if worker_niceness is not None:
        os.environ["RAY_worker_niceness"] = str(worker_niceness)  # read by the raylet this init starts
    import ray

    ray.init(address="local", num_cpus=2, resources={"display": displays}, include_dashboard=False,
             log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


# -- output ---------------------------------------------------------------------------------------
def show(trip: dict[str, Any] | None, held: dict[str, Any] | None) -> None:
    """Print both figures as tables (rich)."""
    from rich.console import Console

    console = Console(width=120)
    if trip is not None:
        show_round_trip(console, trip)
    if held is not None:
        show_held(console, held)


def show_round_trip(console: Any, trip: dict[str, Any]) -> None:
    """The round trip next to in-process, and where its time goes."""
    from rich.table import Table

    table = Table(title=f"{trip['call']} round trip, ms over {trip['repeat']} calls each, alternating "
                        f"({os.cpu_count()} cores, load average {_load()})")
    for column in ("path", "p50", "p90", "max", "x in-process (p50)", "target p50", "p50/target"):
        table.add_column(column, justify="left" if column == "path" else "right")
    base = trip["in_process"]["p50_ms"]
    for name, key in ((f"in-process DeviceHost (nice {trip['in_process_niceness']})", "in_process"),
                      (f"device actor, ray.get (nice {trip['actor_niceness']}, Ray's)", "actor"),
                      ("device actor, ray.get (reniced to 0)", "actor_at_nice_0")):
        got = trip[key]
        if got is None:
            table.add_row(name, "not allowed to renice", *[""] * 5)
            continue
        table.add_row(name, f"{got['p50_ms']:.1f}", f"{got['p90_ms']:.1f}", f"{got['max_ms']:.1f}",
                      f"{got['p50_ms'] / base:.2f}", f"{trip['target_p50_ms']:.0f}",
                      f"{got['p50_ms'] / trip['target_p50_ms']:.2f}")
    console.print(table)
    parts = trip["breakdown"]
    console.print(f"where it goes (p50, in process): grab {parts['grab_p50_ms']:.1f} ms, grab + encode "
                  f"{parts['grab_and_encode_p50_ms']:.1f} ms, pickle + unpickle the "
                  f"{parts['image_bytes'] / 1024:.0f} KiB message {parts['pickle_round_trip_p50_ms']:.2f} ms; "
                  f"an actor call with no image (display.size) {parts['actor_call_without_image_p50_ms']:.1f} ms")


def show_held(console: Any, held: dict[str, Any]) -> None:
    """One row per desktop count, and the count held."""
    from rich.table import Table

    nice = held["levels"][0]["actor_niceness"] if held["levels"] else "-"
    table = Table(title=f"desktops on one node, each its own Xvfb + device actor + app, {held['call']} back to "
                        f"back for {held['seconds_per_level']:.0f} s ({held['cores']} cores, actors at nice {nice})")
    for column in ("desktops", "shots/s", "worst p50", "worst p90", "worst max", "p90 <= 1 s",
                   "MiB/desktop RSS", "PSS", "Xvfb PSS", "app PSS", "load 1/5 min"):
        table.add_column(column, justify="right")
    for one in held["levels"]:
        table.add_row(str(one["desktops"]), f"{one['screenshots_per_s']:.1f}", f"{one['worst_p50_ms']:.0f}",
                      f"{one['worst_p90_ms']:.0f}", f"{one['worst_max_ms']:.0f}", "yes" if one["held"] else "NO",
                      f"{one['rss_mib_per_desktop']:.0f}", f"{one['pss_mib_per_desktop']:.0f}",
                      f"{one['xvfb_pss_mib']:.0f}", f"{one['app_pss_mib']:.0f}",
                      "/".join(f"{x:.1f}" for x in one["load_average"][:2]))
    console.print(table)
    cap = " (the cap: every level held; try more with --desktops)" if held["capped"] else ""
    console.print(f"desktops held with every p90 <= {held['p90_limit_s']:.0f} s: {held['held']}{cap}")


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def write(out: Path, trip: dict[str, Any] | None, held: dict[str, Any] | None) -> Path:
    """Save the figures as actors.json in `out` (made if missing); return its path."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    path = out / "actors.json"
    figures = {"machine": {"cores": os.cpu_count()}, "round_trip": trip, "desktops_held": held}
    path.write_text(json.dumps(figures, indent=1) + "\n")
    return path


def run(app: str | None, repeat: int, counts: list[int], seconds: float, out: Path | None,
        worker_niceness: int | None = None) -> None:
    """Both figures on a local Ray with a display slot for each desktop, printed and saved."""
    with local_ray(max(max(counts, default=0), 2), worker_niceness):
        trip = round_trip(app, repeat) if repeat > 0 else None
        held = desktops_held(app, counts, seconds) if counts else None
    show(trip, held)
    if out is not None:
        print(f"saved {write(out, trip, held)}")
