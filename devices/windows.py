"""The windows device: list, find, activate, close, move and resize top-level windows; launch an app.

It speaks X11 through python-xlib , with its own connection. With a
window manager that follows EWMH (openbox, xfwm4, mutter, KWin...) the list is the manager's
(`_NET_CLIENT_LIST`, in stacking order) and every request goes through it, as a pager's would.
On a bare X server (Xvfb with no manager) the list is the root's mapped children that have a title,
focus is set directly and geometry is configured directly.

Every request waits until the X server shows its effect (the window active, at the new place, gone)
and raises WindowError if it does not within `WindowsConfig.settle_seconds`: a model that is told
"done" can rely on it.

A window is named by its id (an int, as `list()` gives) or by part of its title (case-insensitive);
a title that matches several windows is refused with the list of matches.

`launch` starts a program on this display. It runs on the machine of the devices, so it is not
on the computer.* whitelist that sandboxed code reaches (devices.calls.CALLS): host-side callers
(`Computer`, a device actor) use it directly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from devices.errors import DeviceError, DeviceUsageError, NoDisplay, TargetNotFound

log = logging.getLogger(__name__)

WindowInfo = dict[str, Any]
#: the class has a list() method, which hides the builtin in its annotations
WindowList = list[WindowInfo]
Ids = list[int]


class WindowError(DeviceError):
    """The X server or the window manager did not do what was asked (the message says what it saw)."""


class WindowNotFound(TargetNotFound):
    """No window has that id or title; the message lists the open windows."""


@dataclass(frozen=True)
class WindowsConfig:
    """How long to wait for window requests to take effect."""

    settle_seconds: float = 3.0  #: time for the server or manager to show a request's effect
    launch_timeout: float = 20.0  #: default time for a launched app to map its first window


class Windows:
    """The top-level windows of one X display."""

    def __init__(self, display: str, config: WindowsConfig | None = None, xauthority: str | None = None) -> None:
        self.display = display
        self.config = config or WindowsConfig()
        self._xauthority = xauthority
        self._x: Any = None
        self._lock = threading.Lock()
        self._atoms: dict[str, int] = {}

    # -- the connection ---------------------------------------------------------------------------
    def _conn(self) -> Any:
        if self._x is None:
            from Xlib import error as xerror
            from Xlib.display import Display as XDisplay

            from devices.xinput import ensure_xauthority

            # python-xlib refuses to connect when XAUTHORITY names a missing file, such as that of a
            # desktop this process started and stopped before (one per docker sandbox, one after another)
            ensure_xauthority(self._xauthority)
            try:
                self._x = XDisplay(self.display)
            except (xerror.DisplayError, xerror.ConnectionClosedError) as exc:
                raise NoDisplay(f"cannot connect to X display {self.display!r} to manage windows: {exc}") from exc
        return self._x

    def _atom(self, name: str) -> int:
        if name not in self._atoms:
            self._atoms[name] = self._conn().intern_atom(name)
        return self._atoms[name]

    def _root(self) -> Any:
        return self._conn().screen().root

    def _window(self, wid: int) -> Any:
        return self._conn().create_resource_object("window", wid)

    def _prop(self, window: Any, name: str, kind: int) -> Any:
        from Xlib import error as xerror

        try:
            found = window.get_full_property(self._atom(name), kind)
        except (xerror.BadWindow, xerror.BadDrawable):
            return None
        return None if found is None else found.value

    def close_connection(self) -> None:
        """Drop the X connection (the next call reopens it)."""
        with self._lock:
            if self._x is not None:
                self._x.close()
                self._x = None

    # -- root window text properties (AT_SPI_BUS: where the display's accessibility bus is) ---------
    def root_text(self, name: str) -> str | None:
        """The text (STRING) property `name` of the root window, or None when it is not set."""
        from Xlib import Xatom

        with self._lock, self._x_errors():
            value = self._prop(self._root(), name, Xatom.STRING)
        return _text(value) or None

    def set_root_text(self, name: str, value: str | None) -> None:
        """Set (or, with None, delete) the text property `name` of the root window."""
        from Xlib import Xatom

        with self._lock, self._x_errors():
            root = self._root()
            if value is None:
                root.delete_property(self._atom(name))
            else:
                root.change_property(self._atom(name), Xatom.STRING, 8, value.encode())
            self._conn().sync()

    # -- reading ----------------------------------------------------------------------------------
    def manager(self) -> str | None:
        """The name of the EWMH window manager running on the display, or None on a bare server."""
        with self._lock, self._x_errors():
            return self._manager()

    def _manager(self) -> str | None:
        from Xlib import Xatom

        check = self._prop(self._root(), "_NET_SUPPORTING_WM_CHECK", Xatom.WINDOW)
        if not check:
            return None
        child = self._window(int(check[0]))
        name = self._prop(child, "_NET_WM_NAME", self._atom("UTF8_STRING"))
        return _text(name) or "unnamed window manager"

    def list(self) -> WindowList:
        """The top-level windows, bottom to top: id, title, app (WM_CLASS), pid, x, y, width, height, active."""
        with self._lock, self._x_errors():
            return self._list()

    def _list(self) -> WindowList:
        active = self._active_id()
        return [info for wid in self._client_ids() if (info := self._info(wid, active)) is not None]

    def _client_ids(self) -> Ids:
        from Xlib import X, Xatom

        root = self._root()
        if self._manager() is not None:
            stacked = self._prop(root, "_NET_CLIENT_LIST_STACKING", Xatom.WINDOW)
            if stacked is None:
                stacked = self._prop(root, "_NET_CLIENT_LIST", Xatom.WINDOW)
            return [int(w) for w in stacked or ()]
        ids: Ids = []
        for child in root.query_tree().children:
            try:
                attrs = child.get_attributes()
                titled = self._title(child)
            except DeviceError:
                continue
            if attrs.map_state == X.IsViewable and not attrs.override_redirect and titled:
                ids.append(int(child.id))
        return ids

    def _active_id(self) -> int | None:
        from Xlib import Xatom

        if self._manager() is not None:
            found = self._prop(self._root(), "_NET_ACTIVE_WINDOW", Xatom.WINDOW)
            return int(found[0]) if found and int(found[0]) else None
        focus = self._conn().get_input_focus().focus
        if isinstance(focus, int):  # PointerRoot or None
            return None
        ids = set(self._client_ids())
        window = focus
        while window is not None and int(window.id) not in ids:  # focus may sit on a child of the client
            parent = window.query_tree().parent
            top = not hasattr(parent, "id") or int(parent.id) == int(self._root().id)  # X gives 0 above root
            window = None if top else parent
        return None if window is None else int(window.id)

    def _title(self, window: Any) -> str:
        name = _text(self._prop(window, "_NET_WM_NAME", self._atom("UTF8_STRING")))
        if name:
            return name
        from Xlib import error as xerror

        try:
            legacy = window.get_wm_name()
        except (xerror.BadWindow, xerror.BadDrawable) as exc:
            raise WindowError(f"window {int(window.id)} went away") from exc
        return _text(legacy)

    def _info(self, wid: int, active: int | None) -> WindowInfo | None:
        from Xlib import Xatom
        from Xlib import error as xerror

        window = self._window(wid)
        try:
            title = self._title(window)
            app = window.get_wm_class()
            geometry = window.get_geometry()
            origin = window.translate_coords(self._root(), 0, 0)
        except (WindowError, xerror.BadWindow, xerror.BadDrawable):
            return None  # closed between the list and now
        pid = self._prop(window, "_NET_WM_PID", Xatom.CARDINAL)
        return {
            "id": wid,
            "title": title,
            "app": app[1] if app else "",
            "pid": int(pid[0]) if pid else None,
            # translate_coords gives the root's origin in the window's frame: negate for the window's
            "x": -int(origin.x),
            "y": -int(origin.y),
            "width": int(geometry.width),
            "height": int(geometry.height),
            "active": wid == active,
        }

    def active(self) -> WindowInfo | None:
        """The window with the input focus, or None."""
        with self._lock, self._x_errors():
            active = self._active_id()
            return None if active is None else self._info(active, active)

    def find(self, title: str | None = None, *, app: str | None = None) -> WindowList:
        """Windows whose title (and/or app, WM_CLASS) contains the text, case-insensitive."""
        if title is None and app is None:
            raise DeviceUsageError("find() needs title= or app=; list() gives every window")
        for name, value in (("title", title), ("app", app)):
            if value is not None and not isinstance(value, str):
                raise DeviceUsageError(f"{name} must be text, got {type(value).__name__}")
        return [w for w in self.list() if _matches(w, title, app)]

    # -- acting -----------------------------------------------------------------------------------
    def activate(self, window: int | str) -> WindowInfo:
        """Raise the window and give it the input focus; returns it once it is active."""
        with self._lock, self._x_errors():
            target = self._resolve(window)
            wid = target["id"]
            if self._manager() is not None:
                self._ask_manager(wid, "_NET_ACTIVE_WINDOW", [2, 0, 0, 0, 0])  # 2: a pager/tool asks
            else:
                from Xlib import X

                handle = self._window(wid)
                handle.configure(stack_mode=X.Above)
                handle.set_input_focus(X.RevertToParent, X.CurrentTime)
            self._conn().flush()
            return self._settle(wid, lambda w: bool(w and w["active"]), f"activate {_label(target)}")

    def close(self, window: int | str) -> WindowInfo:
        """Ask the window to close, as its title bar's close button would; returns it once it is gone.

        An app may ask the user first (an unsaved document): then it stays open and WindowError says so.
        """
        with self._lock, self._x_errors():
            target = self._resolve(window)
            wid = target["id"]
            if self._manager() is not None:
                self._ask_manager(wid, "_NET_CLOSE_WINDOW", [0, 2, 0, 0, 0])
            else:
                self._delete(wid)
            self._conn().flush()
            self._settle(wid, lambda w: w is None, f"close {_label(target)}",
                         hint="the app may be asking the user something (a dialog) before it closes")
            return target

    def move(self, window: int | str, x: int, y: int) -> WindowInfo:
        """Move the window's top-left corner (its content, not the frame) to x, y on the screen."""
        _check_ints(x=x, y=y)
        with self._lock, self._x_errors():
            target = self._resolve(window)
            self._place(target, x=x, y=y)
            return self._settle(target["id"], lambda w: bool(w and (w["x"], w["y"]) == (x, y)),
                                f"move {_label(target)} to {x}, {y}")

    def resize(self, window: int | str, width: int, height: int) -> WindowInfo:
        """Resize the window's content to width x height pixels (apps may enforce a minimum)."""
        _check_ints(width=width, height=height)
        if width < 1 or height < 1:
            raise DeviceUsageError(f"a window is at least 1x1 pixels, got {width}x{height}")
        with self._lock, self._x_errors():
            target = self._resolve(window)
            self._place(target, width=width, height=height)
            return self._settle(target["id"], lambda w: bool(w and (w["width"], w["height"]) == (width, height)),
                                f"resize {_label(target)} to {width}x{height}",
                                hint="the app may have a minimum or maximum size")

    def launch(self, command: str | Sequence[str], *, title: str | None = None,
               timeout: float | None = None) -> WindowInfo:
        """Start a program on this display and return its first window once it is mapped.

        `command` is an argv list or a shell-like string (split, not run by a shell). The window is
        the first new one whose _NET_WM_PID is the program's, or whose title contains `title`; its
        "pid" is the program's when the app declares none (list() then says None).
        Host-side only: this is not reachable from sandboxed code.
        """
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        if not argv:
            raise DeviceUsageError("launch() needs a command, e.g. launch('xterm') or launch(['gedit', 'notes.txt'])")
        wait = self.config.launch_timeout if timeout is None else timeout
        if not isinstance(wait, (int, float)) or wait <= 0:
            raise DeviceUsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
        with self._lock, self._x_errors():
            before = set(self._client_ids())
        env = dict(os.environ, DISPLAY=self.display)
        if self._xauthority:
            env["XAUTHORITY"] = self._xauthority
        try:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise DeviceUsageError(f"cannot launch {argv[0]!r}: {exc.strerror}") from exc
        deadline = time.monotonic() + wait
        while True:
            with self._lock, self._x_errors():
                active = self._active_id()
                fresh = [i for wid in self._client_ids() if wid not in before
                         and (i := self._info(wid, active)) is not None]
            mine = [w for w in fresh if (w["pid"] == proc.pid) or (title is not None and _matches(w, title, None))]
            if title is not None:
                mine = [w for w in mine if _matches(w, title, None)]
            if title is None and not mine and fresh and all(w["pid"] is None for w in fresh):
                mine = fresh  # the app sets no _NET_WM_PID (Tk does not): the first new window is its
            if mine:
                log.info("launched %s: window %s %r", argv[0], mine[0]["id"], mine[0]["title"])
                return {**mine[0], "pid": mine[0]["pid"] or proc.pid}
            code = proc.poll()
            if code is not None and not fresh:
                said = proc.stderr.read().decode(errors="replace").strip()[-500:] if proc.stderr else ""
                raise WindowError(f"{argv[0]} exited with status {code} before it opened a window"
                                  + (f": {said}" if said else ""))
            if time.monotonic() >= deadline:
                what = f"a window titled like {title!r}" if title else "a window"
                raise WindowError(f"{argv[0]} (pid {proc.pid}) opened no {what} within {wait:g} s; it is still "
                                  "running. Raise timeout= for a slow app, or check its title with list()")
            time.sleep(0.05)

    # -- helpers ----------------------------------------------------------------------------------
    def _resolve(self, window: object) -> WindowInfo:
        windows = self._list()
        if isinstance(window, bool) or not isinstance(window, (int, str)):
            raise DeviceUsageError(f"name a window by its id (int) or part of its title (str), got {window!r}")
        if isinstance(window, int):
            found = [w for w in windows if w["id"] == window]
        else:
            found = [w for w in windows if _matches(w, window, None)]
        if len(found) == 1:
            return found[0]
        listed = "; ".join(_label(w) for w in windows) or "none"
        if not found:
            raise WindowNotFound(f"no window {window!r}; open windows: {listed}")
        raise DeviceUsageError(f"{len(found)} windows match {window!r}: "
                               + "; ".join(_label(w) for w in found) + ". Name one by its id")

    def _ask_manager(self, wid: int, message: str, data: Ids) -> None:
        from Xlib import X
        from Xlib.protocol import event

        request = event.ClientMessage(window=self._window(wid), client_type=self._atom(message), data=(32, data))
        self._root().send_event(request, event_mask=X.SubstructureRedirectMask | X.SubstructureNotifyMask)

    def _delete(self, wid: int) -> None:
        from Xlib.protocol import event

        handle = self._window(wid)
        protocols = handle.get_wm_protocols() or ()
        delete = self._atom("WM_DELETE_WINDOW")
        if delete in protocols:
            message = event.ClientMessage(window=handle, client_type=self._atom("WM_PROTOCOLS"),
                                          data=(32, [delete, 0, 0, 0, 0]))
            handle.send_event(message)
        else:
            handle.kill_client()  # an app that cannot be asked: what xkill does

    def _place(self, target: WindowInfo, **change: int) -> None:
        wid = target["id"]
        if self._manager() is not None and self._atom("_NET_MOVERESIZE_WINDOW") in self._supported():
            # flags: bits 8-11 say which of x, y, width, height are given; bit 13: from a pager/tool;
            # gravity 10 (static): x, y are the content's place, not the frame's
            fields = ("x", "y", "width", "height")
            flags = 10 | (2 << 12)
            for bit, name in enumerate(fields):
                if name in change:
                    flags |= 1 << (8 + bit)
            self._ask_manager(wid, "_NET_MOVERESIZE_WINDOW", [flags] + [change.get(name, 0) for name in fields])
        else:
            self._window(wid).configure(**change)
        self._conn().flush()

    def _supported(self) -> set[int]:
        from Xlib import Xatom

        return {int(a) for a in self._prop(self._root(), "_NET_SUPPORTED", Xatom.ATOM) or ()}

    def _settle(self, wid: int, done: Callable[[WindowInfo | None], bool], what: str,
                hint: str = "") -> WindowInfo:
        deadline = time.monotonic() + self.config.settle_seconds
        while True:
            active = self._active_id()
            now = self._info(wid, active) if wid in self._client_ids() else None
            if done(now):
                return now if now is not None else {"id": wid}
            if time.monotonic() >= deadline:
                manager = self._manager() or "no window manager"
                seen = "gone" if now is None else _label(now) + f" at {now['x']}, {now['y']} " \
                    f"{now['width']}x{now['height']}{' (active)' if now['active'] else ''}"
                raise WindowError(f"could not {what} within {self.config.settle_seconds:g} s ({manager}); "
                                  f"the window is {seen}" + (f"; {hint}" if hint else ""))
            time.sleep(0.02)

    @contextlib.contextmanager
    def _x_errors(self) -> Iterator[None]:
        """Map a lost X connection to NoDisplay and protocol errors to WindowError."""
        from Xlib import error as xerror

        try:
            yield
        except (xerror.ConnectionClosedError, BrokenPipeError, ConnectionResetError) as exc:
            self._x = None  # reopen on the next call (the desktop may have been restarted)
            raise NoDisplay(f"lost the connection to X display {self.display}: {exc}") from exc
        except xerror.XError as exc:
            raise WindowError(f"X display {self.display} refused a window request: {exc}") from exc


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _matches(window: WindowInfo, title: str | None, app: str | None) -> bool:
    return (title is None or title.lower() in window["title"].lower()) and (
        app is None or app.lower() in window["app"].lower())


def _label(window: WindowInfo) -> str:
    return f"{window['id']} {window['title']!r}" + (f" ({window['app']})" if window.get("app") else "")


def _check_ints(**values: object) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise DeviceUsageError(f"{name} must be a whole number of pixels, got {value!r}")

