"""Screen recording: ffmpeg records a real Xvfb while the Tk app changes; the file plays (ffprobe, a full
decode) and its frames show the change; bad requests fail with what to do."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from desktop_app import AppState

from devices.desktop import VirtualDesktop
from devices.errors import DeviceUsageError, FfmpegMissing, RecordingFailed
from devices.facade import Devices
from devices.recording import Recording, RecordingConfig

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                  reason="ffmpeg is not installed: apt-get install ffmpeg")


def probe(path: Path) -> dict[str, object]:
    """ffprobe's view of the first video stream: codec, size, decoded frame count, duration."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-of", "json",
         "-show_entries", "stream=codec_type,codec_name,width,height,nb_read_frames:format=duration", str(path)],
        capture_output=True, text=True, check=True, timeout=120).stdout
    found = json.loads(out)
    return {**found["streams"][0], "duration": float(found["format"]["duration"])}


def frame(path: Path, which: str, width: int, height: int) -> bytes:
    """One decoded frame as 8-bit gray pixels: "first" or "last"."""
    where = ["-sseof", "-0.5"] if which == "last" else []
    raw = subprocess.run(["ffmpeg", "-v", "error", *where, "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "gray", "-"], capture_output=True, check=True, timeout=120).stdout
    assert len(raw) == width * height, (len(raw), width, height)
    return raw


@needs_ffmpeg
def test_a_recording_of_the_app_changing_plays_and_shows_the_change(
        devices: Devices, app: AppState, tmp_path: Path) -> None:
    path = tmp_path / "session.mp4"
    x, y = app.center("Submit@20")
    with devices.display.record(path, RecordingConfig(frame_rate=10)) as recording:
        assert recording.alive()
        time.sleep(1.5)  # the app as it started: label "Ready"
        devices.mouse.click(x, y)
        app.wait(lambda s: s["label"] == "Clicked Submit")
        devices.mouse.click(*app.center("entry"))
        devices.keyboard.write("recorded on video")
        app.wait(lambda s: s["entry"] == "recorded on video")
        time.sleep(1.5)  # the changed app stays on screen long enough for the last frames
    assert not recording.alive()
    info = probe(path)
    assert info["codec_type"] == "video" and info["codec_name"] == "h264", info
    assert (info["width"], info["height"]) == (1280, 800), info
    assert float(str(info["duration"])) > 1.0, info
    assert int(str(info["nb_read_frames"])) > 10, info
    decode = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
                            capture_output=True, text=True, timeout=120)
    assert decode.returncode == 0 and decode.stderr.strip() == "", decode.stderr
    first, last = frame(path, "first", 1280, 800), frame(path, "last", 1280, 800)
    left, top, width, height = app.read()["boxes"]["label"]
    changed = sum(abs(first[r * 1280 + c] - last[r * 1280 + c]) > 60
                  for r in range(top, top + height) for c in range(left, left + width))
    assert changed > 50, f"the label's pixels did not change between the first and last frame ({changed})"
    far = sum(abs(a - b) > 60 for a, b in zip(first[-1280 * 100:], last[-1280 * 100:], strict=True))
    assert far < 200, f"the bottom of the screen, where nothing changed, differs in {far} pixels"


@needs_ffmpeg
def test_an_mkv_recording_stopped_by_hand_is_a_file_that_plays(desktop: VirtualDesktop, tmp_path: Path) -> None:
    recording = Recording(desktop.display, tmp_path / "short.mkv", RecordingConfig(frame_rate=5),
                          env=desktop.env()).start()
    time.sleep(1.0)
    assert recording.stop() == tmp_path / "short.mkv"
    info = probe(tmp_path / "short.mkv")
    assert info["codec_type"] == "video" and int(str(info["nb_read_frames"])) >= 1, info


@needs_ffmpeg
def test_a_recording_stops_by_itself_at_its_time_limit(desktop: VirtualDesktop, tmp_path: Path) -> None:
    recording = Recording(desktop.display, tmp_path / "capped.mp4",
                          RecordingConfig(frame_rate=5, max_seconds=1.0)).start()
    deadline = time.monotonic() + 60
    while recording.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not recording.alive(), "ffmpeg kept recording past max_seconds"
    recording.stop()
    assert 0 < float(str(probe(tmp_path / "capped.mp4")["duration"])) <= 1.5


def test_missing_ffmpeg_says_how_to_install_it(desktop: VirtualDesktop, tmp_path: Path) -> None:
    with pytest.raises(FfmpegMissing, match=r"ffmpeg is not installed.*apt-get install ffmpeg"):
        Recording(desktop.display, tmp_path / "x.mp4", RecordingConfig(ffmpeg="no-such-ffmpeg")).start()
    assert not (tmp_path / "x.mp4").exists()


@needs_ffmpeg
def test_a_display_nobody_serves_fails_with_what_ffmpeg_said(tmp_path: Path) -> None:
    with pytest.raises(RecordingFailed, match=r"ffmpeg did not start recording :4999.*said: .*\S"):
        Recording(":4999", tmp_path / "x.mp4").start()


def test_bad_file_names_and_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DeviceUsageError, match=r"\.mp4 or \.mkv.*session\.mp4"):
        Recording(":1", tmp_path / "x.gif")
    with pytest.raises(DeviceUsageError, match="folder .* does not exist"):
        Recording(":1", tmp_path / "nowhere" / "x.mp4").start()
    with pytest.raises(DeviceUsageError, match="frame_rate must be an int from 1 to 60"):
        RecordingConfig(frame_rate=0)
    with pytest.raises(RecordingFailed, match="never started"):
        Recording(":1", tmp_path / "x.mp4").stop()
