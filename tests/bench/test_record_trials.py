"""`lmc bench run --record`: a desktop trial's screen is recorded into its trial folder as a video that plays."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.harness.runner import RECORDING, TRIALS, RunConfig, run_bench
from benchmarks.harness.suite import BUILTIN


@pytest.mark.desktop
@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("Xvfb") is None,
                    reason="needs ffmpeg and Xvfb: apt-get install ffmpeg xvfb")
def test_a_recorded_desktop_trial_leaves_a_video_that_plays(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = RunConfig(suite=BUILTIN, output=out, models=("oracle",), tasks=("desktop-counter", "files-create-hello"),
                       parallel=2, sandbox="local", record=True)
    rows = {r.task: r for r in run_bench(config)}
    assert {t: r.reward for t, r in rows.items()} == {"desktop-counter": 1.0, "files-create-hello": 1.0}, rows
    video = out / str(rows["desktop-counter"].trial_dir) / RECORDING
    assert video.is_file() and video.stat().st_size > 0
    probed = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-of", "json",
         "-show_entries", "stream=codec_type,nb_read_frames:format=duration", str(video)],
        capture_output=True, text=True, check=True, timeout=120).stdout)
    assert probed["streams"][0]["codec_type"] == "video", probed
    assert int(probed["streams"][0]["nb_read_frames"]) > 1 and float(probed["format"]["duration"]) > 0, probed
    # a task without a desktop has no screen to record
    assert not list((out / TRIALS).glob(f"files-create-hello*/{RECORDING}"))
