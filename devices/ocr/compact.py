"""Blank bands taken out of a screenshot before text detection, and boxes mapped back.

Detection costs in proportion to the pixels it is given, and a GUI screen is mostly
blank between its rows of text: the space between rows of buttons, the empty lower
half of a dialog. Every run of rows with no edge in it, longer than twice `margin`,
keeps `margin` rows at each end and loses its middle. Text is never cut: a row with
an edge in it is always kept, so every glyph survives whole, with `margin` blank rows
of context around it. Boxes found on the shorter image are mapped back to the
screenshot's coordinates (`Compacted.restore`).

Only rows: blank columns cut the same way joined words far apart on one row into one
line ("Quokka" and "Settings" 230 px apart read as "QuokkaSettings"), and on the
benchmark screen they would have saved 9% more.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

EDGE = 12
"""Smallest step between neighbouring pixels (any channel, 0-255) that counts as an edge: faint grey text on
white steps by 60 or more, a smooth gradient by 1 or 2."""


@dataclass(frozen=True)
class Compacted:
    """A screenshot with its blank bands taken out, and where each kept row came from."""

    image: np.ndarray  #: the shorter (h, w, 3) image
    rows: np.ndarray  #: rows[i] is the screenshot row that the image's row i came from
    height: int  #: the screenshot's height

    @property
    def kept(self) -> float:
        """The share of the screenshot's rows the image kept (0..1)."""
        return len(self.rows) / self.height

    def restore(self, quads: np.ndarray) -> np.ndarray:
        """Detected quadrilaterals (n, 4, 2) of (x, y) on the image, in the screenshot's coordinates.

        A box belongs to one stretch of kept rows (no line of text crosses a blank
        band), the one its centre lies in: its points move by that stretch's offset and
        are held inside the stretch, so a box drawn a little larger than its text never
        reaches across a band to the text beyond.
        """
        out = np.asarray(quads, dtype=np.float32).copy()
        if not len(out):
            return out
        ys = out[..., 1]
        # stretch s covers image rows [first[s], end[s]) and starts at screenshot row rows[first[s]]
        first = np.concatenate(([0], np.flatnonzero(np.diff(self.rows) > 1) + 1))
        end = np.concatenate((first[1:], [len(self.rows)]))
        centre = ys.mean(axis=1, keepdims=True)
        stretch = np.clip(np.searchsorted(first, np.floor(centre), side="right") - 1, 0, len(first) - 1)
        out[..., 1] = np.clip(ys, first[stretch], end[stretch]) + (self.rows[first[stretch]] - first[stretch])
        return out


def compact(rgb: np.ndarray, margin: int = 8, worth: float = 0.85) -> Compacted | None:
    """The screenshot without its blank bands, or None when that would keep more than `worth` of its rows
    (then detecting on the screenshot itself costs about the same and needs no mapping)."""
    height = rgb.shape[0]
    if height < 4 * margin or rgb.shape[1] < 2:
        return None
    across = cv2.absdiff(rgb[:, 1:], rgb[:, :-1])  # (h, w-1, 3): steps to the right neighbour
    down = cv2.absdiff(rgb[1:], rgb[:-1])  # (h-1, w, 3): steps to the neighbour below
    edges = across.reshape(height, -1).max(axis=1) >= EDGE
    below = down.reshape(height - 1, -1).max(axis=1) >= EDGE
    edges[:-1] |= below
    edges[1:] |= below
    rows = _keep(edges, margin)
    if not len(rows) or len(rows) > worth * height:
        return None
    return Compacted(np.ascontiguousarray(rgb[rows]), rows, height)


def _keep(edges: np.ndarray, margin: int) -> np.ndarray:
    """Rows to keep: all with edges, and `margin` at each end of every blank run."""
    keep = edges.copy()
    blank = np.flatnonzero(~edges)
    if not len(blank):
        return np.arange(len(edges))
    # runs of blank indices: split where consecutive blanks are not neighbours
    breaks = np.flatnonzero(np.diff(blank) > 1)
    starts = np.concatenate(([blank[0]], blank[breaks + 1]))
    ends = np.concatenate((blank[breaks], [blank[-1]])) + 1
    for start, end in zip(starts, ends, strict=True):
        if end - start <= 2 * margin:
            keep[start:end] = True
        else:
            keep[start:start + margin] = True
            keep[end - margin:end] = True
    return np.flatnonzero(keep)
