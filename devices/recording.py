"""Screen recording: ffmpeg's x11grab encodes one X display to a video file (H.264 in .mp4 or .mkv).

    with Recording(":101", Path("session.mp4")):   # or rec = Recording(...).start(); ...; rec.stop()
        ...                                        # whatever happens on :101 is recorded

Bounded by default: 5 frames per second, at most an hour and 500 MB (ffmpeg stops by itself at
either limit). stop() asks ffmpeg to finish ('q' on its stdin, then SIGINT), so the file's index is
written; an .mp4 is written fragmented, so even a recording whose ffmpeg was killed still plays.
Host-side only: the file is written on the machine of the display, so sandboxed code has no
computer.* call for it (it would write files outside its sandbox).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from devices.errors import DeviceUsageError, FfmpegMissing, RecordingFailed
from devices.process import end, log_tail

log = logging.getLogger(__name__)

#: container options by file suffix; fragmented MP4 stays playable if ffmpeg dies before finishing
FORMATS: dict[str, list[str]] = {
    ".mp4": ["-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof"],
    ".mkv": ["-f", "matroska"],
}


@dataclass(frozen=True)
class RecordingConfig:
    """How a screen is recorded: frame rate, limits, quality."""

    frame_rate: int = 5  #: frames per second, 1 to 60
    max_seconds: float = 3600.0  #: ffmpeg stops by itself after this long
    max_bytes: int = 500_000_000  #: ffmpeg stops by itself once the file reaches this size
    crf: int = 30  #: H.264 quality, 0 (lossless) to 51 (smallest); screens compress well at 30
    draw_mouse: bool = True  #: show the pointer in the video
    ffmpeg: str = "ffmpeg"  #: the ffmpeg executable, a name on PATH or a path
    start_timeout: float = 15.0  #: seconds to wait for ffmpeg to open the display and the file
    stop_timeout: float = 15.0  #: seconds to wait for ffmpeg to finish the file after 'q'

    def __post_init__(self) -> None:
        if not isinstance(self.frame_rate, int) or not 1 <= self.frame_rate <= 60:
            raise DeviceUsageError(f"recording frame_rate must be an int from 1 to 60, got {self.frame_rate!r}")
        if not self.max_seconds > 0 or not self.max_bytes > 0:
            raise DeviceUsageError(f"recording limits must be positive, got max_seconds={self.max_seconds!r} "
                                   f"max_bytes={self.max_bytes!r}")
        if not isinstance(self.crf, int) or not 0 <= self.crf <= 51:
            raise DeviceUsageError(f"recording crf must be an int from 0 to 51, got {self.crf!r}")


def ffmpeg_missing(config: RecordingConfig | None = None) -> str | None:
    """Why no screen can be recorded here (ffmpeg not installed), or None when it can."""
    name = (config or RecordingConfig()).ffmpeg
    if shutil.which(name) is None:
        return f"ffmpeg is not installed (looked for {name!r} on PATH): 'apt-get install ffmpeg'"
    return None


class Recording:
    """ffmpeg recording one X display into a video file; start() it, stop() it (or use `with`)."""

    def __init__(self, display: str, path: Path | str, config: RecordingConfig | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.display = display
        self.path = Path(path)
        self.config = config or RecordingConfig()
        self._env = env or {}
        if self.path.suffix.lower() not in FORMATS:
            raise DeviceUsageError(f"a recording is written as {' or '.join(FORMATS)}; got {str(self.path)!r} "
                                   "(name the file e.g. session.mp4)")
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The ffmpeg command line that records the display into the file."""
        cfg = self.config
        return [
            cfg.ffmpeg, "-hide_banner", "-nostats", "-loglevel", "warning", "-y",
            "-f", "x11grab", "-draw_mouse", "1" if cfg.draw_mouse else "0", "-framerate", str(cfg.frame_rate),
            "-i", self.display,
            "-t", f"{cfg.max_seconds:g}", "-fs", str(cfg.max_bytes),
            # H.264 in 4:2:0 needs even sizes; a keyframe every 2 s keeps seeking (and fragments) short
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:v", "libx264", "-preset", "ultrafast",
            "-crf", str(cfg.crf), "-pix_fmt", "yuv420p", "-g", str(2 * cfg.frame_rate),
            *FORMATS[self.path.suffix.lower()], str(self.path),
        ]

    def start(self) -> Recording:
        """Start ffmpeg and wait until it has opened the display and the file."""
        if self.alive():
            return self
        if not self.path.parent.is_dir():
            raise DeviceUsageError(f"cannot record to {self.path}: its folder {self.path.parent} does not exist")
        missing = ffmpeg_missing(self.config)
        if missing is not None:
            raise FfmpegMissing(f"cannot record {self.display}: {missing}")
        self.path.unlink(missing_ok=True)  # ffmpeg creates the file once it has the display: that is the sign
        self._dir = Path(tempfile.mkdtemp(prefix="lmc-record-"))
        with open(self._dir / "ffmpeg.log", "wb") as out:
            self._proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=out, stderr=out,
                                          env={**os.environ, **self._env, "DISPLAY": self.display})
        deadline = time.monotonic() + self.config.start_timeout
        while not self.path.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                said = self._log_tail()
                self._end()
                raise RecordingFailed(f"ffmpeg did not start recording {self.display} into {self.path} within "
                                      f"{self.config.start_timeout:g} s; it said: {said}")
            time.sleep(0.05)
        log.info("recording %s into %s at %d fps", self.display, self.path, self.config.frame_rate)
        return self

    def alive(self) -> bool:
        """Whether ffmpeg is still recording (it stops by itself at max_seconds or max_bytes)."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> Path:
        """Ask ffmpeg to finish the file ('q', then SIGINT, then terminate); the file's path."""
        proc = self._proc
        if proc is None:
            raise RecordingFailed(f"the recording of {self.display} was never started; call start() first")
        said = ""
        try:
            if proc.poll() is None:
                try:
                    if proc.stdin is not None:
                        proc.stdin.write(b"q")
                        proc.stdin.flush()
                except OSError:
                    log.debug("ffmpeg's stdin is closed; it gets SIGINT instead of 'q'")
                for ask in ("q", "SIGINT"):
                    if ask == "SIGINT":
                        log.warning("ffmpeg did not finish %s within %g s of 'q'; sending SIGINT", self.path,
                                    self.config.stop_timeout)
                        proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(timeout=self.config.stop_timeout)
                        break
                    except subprocess.TimeoutExpired:
                        continue
            said = self._log_tail()
        finally:
            self._end()
        if not self.path.exists() or self.path.stat().st_size == 0:
            raise RecordingFailed(f"the recording of {self.display} left no video in {self.path}; ffmpeg said: {said}")
        log.info("recording of %s finished: %s (%d bytes)", self.display, self.path, self.path.stat().st_size)
        return self.path

    def _end(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    log.debug("ffmpeg's stdin was already broken")
            end(proc, grace=self.config.stop_timeout)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _log_tail(self) -> str:
        return log_tail(self._dir / "ffmpeg.log", 3) if self._dir is not None else "(nothing)"

    def __enter__(self) -> Recording:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            self.stop()
