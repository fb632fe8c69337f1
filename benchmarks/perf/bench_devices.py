"""Screen device timings on a real Xvfb, next to the targets and Open Interpreter's fixed delays.

Run: flock /tmp/lmc-heavy.lock python benchmarks/perf/bench_devices.py [--repeat N] [--part all|table|actors]
Prints one table: each measure's median, its target, and ours / target; for
typing and clicking also the fixed delays Open Interpreter adds (a 2 s eased
glide per mouse move, 0.15 s around every key), as a lower bound of its time.
Then (benchmarks/perf/device_actors.py, on a local Ray) a screenshot's round trip through a
device actor next to in-process, and how many desktops one node holds with each answering a
screenshot within 1 s; those are also saved to benchmarks/results/devices/actors.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from devices.desktop import DesktopConfig, VirtualDesktop
from devices.facade import Devices
from devices.ocr.cache import OCRCache
from devices.ocr.rapid import RapidOCRConfig, RapidOCREngine
from devices.xinput import XInput

BUTTONS = (
    "Submit Cancel Open Save File Edit View Help Window Tools Options Search Replace Format "
    "Insert Delete Copy Paste Print Export Import Settings Profile Logout Login Account Network "
    "Display Sound Power Battery Keyboard Mouse Printer Camera Music Video Photos Documents "
    "Downloads Desktop Trash Archive Calendar Contacts Messages Weather Clock"
)
# a 1280x800 window of 48 labelled buttons and a text field holding a 49th word
_APP = r"""
import tkinter as tk
words = BUTTONS.split()
root = tk.Tk()
root.geometry("1280x800+0+0")
for i, word in enumerate(words):
    tk.Button(root, text=word, font=("DejaVu Sans", 12)).place(x=20 + (i % 8) * 155, y=20 + (i // 8) * 80)
entry = tk.Entry(root, font=("DejaVu Sans", 14), width=60)
entry.insert(0, "Quokka")
entry.place(x=20, y=560)
root.mainloop()
""".replace("BUTTONS", repr(BUTTONS))

WORDS = [*BUTTONS.split(), "Quokka"]  # what a full read must find: 49 words

OI_GLIDE_S = 2.0  # Open Interpreter moves the mouse with a 2-second eased glide
OI_KEY_S = 0.15  # and sleeps 0.15 s around every key


@dataclass
class Row:
    """One line of the table."""

    name: str
    ours: tuple[float, float]  #: median (wall ms, CPU ms of this process)
    target_ms: float | None = None
    oi_ms: float | None = None


def median_ms(
    action: Callable[[], object], repeat: int, before: Callable[[], object] | None = None
) -> tuple[float, float]:
    """Median wall and CPU milliseconds of `action`; `before` runs untimed before each try.

    CPU time (all threads of this process) shows the cost apart from other
    load on a shared machine; Xvfb's and the app's share is not in it.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return (1e3 * statistics.median(walls), 1e3 * statistics.median(cpus))


def undelivered(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """median_ms of `action` with clicks returning as soon as sent, as they did before the delivery wait."""
    wait = XInput._delivered
    XInput._delivered = lambda self: None  # type: ignore[method-assign]
    try:
        return median_ms(action, repeat)
    finally:
        XInput._delivered = wait  # type: ignore[method-assign]


def measure(devices: Devices, repeat: int) -> list[Row]:
    """Run every measure on the prepared screen."""
    display = devices.display
    engine = display.ocr.engine
    assert isinstance(engine, RapidOCREngine)
    entry = (400, 575)

    def cold() -> None:
        display.ocr = OCRCache(engine)
        engine.forget()

    def changed() -> None:
        # a new character in the field: a new screenshot whose other lines were read before
        devices.mouse.click(*entry)
        devices.keyboard.write("x")
        display.ocr = OCRCache(engine)

    first = median_ms(lambda: display.find_text("Submit"), 1)
    cold()
    read = {word.text for word in display.get_text()}
    print(f"words read on the benchmark screen: {len(read & set(WORDS))}/{len(WORDS)}"
          f" (missing: {sorted(set(WORDS) - read) or 'none'})")
    # the same cold read with earlier settings, side by side with ours in this run
    def cold_with(config: RapidOCRConfig) -> tuple[float, float]:
        other = RapidOCREngine(config)
        other.read(display.grab().rgb())  # load its models outside the timing

        def forget() -> None:
            display.ocr = OCRCache(other)
            other.forget()

        return median_ms(lambda: display.find_text("Weather"), repeat, forget)

    whole = cold_with(replace(engine.config, blank_margin=0, rec_workers=1))
    padded = cold_with(replace(engine.config, blank_margin=0, rec_workers=1, rec_min_width=320))
    cold()
    text = "The quick brown fox jumps over the lazy dog 42"
    find = lambda: display.find_text("Weather")  # noqa: E731
    click = lambda: devices.mouse.click(text="Clock")  # noqa: E731
    fast = repeat * 5
    return [
        Row("screenshot -> jpeg image 1280x800", median_ms(lambda: display.screenshot("jpeg"), fast), 10),
        Row("screenshot -> png image 1280x800", median_ms(lambda: display.screenshot("png"), fast), 60),
        Row("find_text, first call (loads models)", first),
        Row("find_text cold (no line seen before)", median_ms(find, repeat, cold), 700),
        Row("find_text cold, whole-screen detection, 1 rec worker", whole, 700),
        Row("find_text cold, and rapidocr's 320 px rec padding", padded, 700),
        Row("find_text after a small screen change", median_ms(find, repeat, changed), 700),
        Row("find_text cached (same screen)", median_ms(find, fast), 5),
        Row("click(text=) end to end, cold", median_ms(click, repeat, cold), 1000, OI_GLIDE_S * 1e3),
        Row(
            "click(text=) end to end, screen changed",
            median_ms(click, repeat, changed),
            1000,
            OI_GLIDE_S * 1e3,
        ),
        Row("click(x, y)", median_ms(lambda: devices.mouse.click(*entry), fast), None, OI_GLIDE_S * 1e3),
        Row("click(x, y), not waiting for delivery (before)", undelivered(lambda: devices.mouse.click(*entry), fast)),
        Row(
            f"write {len(text)} chars",
            median_ms(lambda: devices.keyboard.write(text), repeat),
            None,
            OI_KEY_S * len(text) * 1e3,
        ),
    ]


def show(rows: list[Row]) -> None:
    """Print the table (rich)."""
    from rich.console import Console
    from rich.table import Table

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    table = Table(title=f"devices on Xvfb 1280x800, median ms ({os.cpu_count()} cores, load average {load})")
    for column in ("measure", "ours", "ours CPU", "target", "ours/target", "OI fixed delays", "OI/ours"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for row in rows:
        target = f"{row.target_ms:.0f}" if row.target_ms else "-"
        wall, cpu = row.ours
        ratio = f"{wall / row.target_ms:.2f}" if row.target_ms else "-"
        oi = f"{row.oi_ms:.0f}" if row.oi_ms else "-"
        speedup = f"{row.oi_ms / wall:.1f}x" if row.oi_ms else "-"
        table.add_row(row.name, f"{wall:.1f}", f"{cpu:.1f}", target, ratio, oi, speedup)
    Console(width=120).print(table)


def main() -> None:
    """Start a desktop and the app, measure, print; then the device actors' figures (device_actors)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="tries per slow measure (fast ones run 5x more)")
    add_actor_options(parser)
    args = parser.parse_args()
    if args.part in ("all", "table"):
        table(args.repeat)
    if args.part in ("all", "actors"):
        run_actors(args)


def add_actor_options(parser: argparse.ArgumentParser) -> None:
    """The options of the device actor figures."""
    parser.add_argument("--part", choices=("all", "table", "actors"), default="all",
                        help="the screen device table (OCR, clicks, typing), the device actor figures, or both")
    parser.add_argument("--round-trips", type=int, default=100,
                        help="screenshots per side in the round trip; 0 skips it")
    parser.add_argument("--desktops", default="1,2,4,6,8,10,12,14,16",
                        help="desktop counts to try, ascending; stops after the first not held")
    parser.add_argument("--seconds", type=float, default=10.0, help="screenshots back to back per level")
    parser.add_argument("--out", default="benchmarks/results/devices", help="folder for actors.json")
    parser.add_argument("--worker-niceness", type=int, default=None,
                        help="nice value of Ray's workers, device actors included (default: Ray's own, 15)")


def run_actors(args: argparse.Namespace) -> None:
    """Screenshot round trip through a device actor, and desktops one node holds (Ray, in device_actors)."""
    from benchmarks.perf import device_actors

    try:
        counts = [int(n) for n in args.desktops.split(",") if n.strip()]
    except ValueError:
        raise SystemExit(f"--desktops takes counts separated by commas, like 1,2,4; got {args.desktops!r}") from None
    if args.seconds <= 0 or args.round_trips < 0:
        raise SystemExit(f"--seconds must be above 0 and --round-trips at least 0; got {args.seconds}, "
                         f"{args.round_trips}")
    if counts != sorted(counts) or any(n < 1 for n in counts):
        raise SystemExit(f"--desktops must be ascending counts of at least 1, like 1,2,4; got {args.desktops!r}")
    device_actors.run(_APP, args.round_trips, counts, args.seconds, Path(args.out), args.worker_niceness)


def table(repeat: int) -> None:
    """The table: a desktop with the app, every measure."""
    with VirtualDesktop(DesktopConfig(width=1280, height=800)) as desktop:
        app = subprocess.Popen([sys.executable, "-c", _APP], env=dict(os.environ, **desktop.env()))
        try:
            time.sleep(2.0)  # let Tk map its window
            devices = Devices(desktop.display, xauthority=desktop.env()["XAUTHORITY"])
            show(measure(devices, repeat))
        finally:
            app.terminate()
            app.wait(timeout=5)


if __name__ == "__main__":
    main()
