"""The accessibility device: the tree of what apps on one display show (AT-SPI), search by role and name, clicks.

GTK, Qt, Firefox, LibreOffice... publish their widgets on the display's accessibility bus (AT-SPI
over D-Bus): each element has a role ("push button", "text", "menu item"), a name (its label),
states ("focused", "checked", "showing"), a box on the screen, and actions (a button's "click").

Where the bus is: the root window's AT_SPI_BUS property, which every `VirtualDesktop` sets (it runs a
session dbus-daemon per desktop, whose at-spi-bus-launcher starts the accessibility bus; apps started
with the desktop's env() join it, and AT-SPI apps started with only its DISPLAY find it through the
same property). On this machine's own screen (the display in $DISPLAY) AT_SPI_BUS_ADDRESS and the
session bus ($DBUS_SESSION_BUS_ADDRESS, `org.a11y.Bus.GetAddress`) are asked too.

The client is jeepney (pure-Python D-Bus). Every call is bounded: the calls of one tree level go out
together and their replies are awaited for `AccessibilityConfig.call_timeout` at most; an app that
does not answer is marked in the tree ("error") and skipped for the rest of the walk, never waited on
twice. `max_nodes` and `max_depth` bound the walk; a node with children left out says how many ("more").

A node is a dict: id (bus name + object path, for click(id=...)), role, name, states, and, when the
element is on the screen, left, top, width, height and x, y (its center) in screen pixels; children.
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devices.errors import DeviceError, DeviceUsageError, TargetNotFound
from devices.process import end, log_tail

if TYPE_CHECKING:
    from devices.mouse import Mouse
    from devices.windows import Windows

log = logging.getLogger(__name__)

Node = dict[str, Any]
#: the class has a list-returning find(), so name the type apart
Nodes = list[Node]

REGISTRY = "org.a11y.atspi.Registry"
ROOT = "/org/a11y/atspi/accessible/root"
_ACCESSIBLE = "org.a11y.atspi.Accessible"
_COMPONENT = "org.a11y.atspi.Component"
_ACTION = "org.a11y.atspi.Action"
#: the X root window property where a display's accessibility bus address is published
BUS_PROPERTY = "AT_SPI_BUS"
LAUNCHER = Path("/usr/libexec/at-spi-bus-launcher")
#: AT-SPI action names that mean "what a left click does"; others (an entry's "activate" = Enter) get a mouse click
CLICK_ACTIONS = ("click", "press", "toggle", "jump", "open")
INSTALL = "apt-get install dbus-daemon at-spi2-core"

#: AtspiStateType, in bit order (at-spi2-core atspi-constants.h)
STATES = (
    "invalid", "active", "armed", "busy", "checked", "collapsed", "defunct", "editable", "enabled",
    "expandable", "expanded", "focusable", "focused", "has tooltip", "horizontal", "iconified", "modal",
    "multi line", "multiselectable", "opaque", "pressed", "resizable", "selectable", "selected", "sensitive",
    "showing", "single line", "stale", "transient", "vertical", "visible", "manages descendants",
    "indeterminate", "required", "truncated", "animated", "invalid entry", "supports autocompletion",
    "selectable text", "is default", "visited", "checkable", "has popup", "read only",
)
#: states too common to be worth a model's attention (every usable widget has them); "showing" is kept
#: (on the screen now), and an element without "enabled" is said to be "disabled"
_QUIET = {"enabled", "sensitive", "visible", "showing", "focusable", "opaque", "invalid",
          "horizontal", "vertical", "single line", "multi line", "selectable text"}
_SHOWN = 25  # how many elements a not-found or ambiguous error lists


class AccessibilityUnavailable(DeviceError, RuntimeError):
    """The display has no accessibility bus (AT-SPI), or its packages are missing; the message says what to do."""


class ElementNotFound(TargetNotFound):
    """No accessible element matches the role and name; the message lists what is there."""


class AmbiguousElement(TargetNotFound):
    """Several elements match; the message lists them with their ids."""


@dataclass(frozen=True)
class AccessibilityConfig:
    """Bounds of an accessibility-tree walk."""

    call_timeout: float = 2.0  #: seconds to wait for the replies of one round of D-Bus calls
    max_nodes: int = 400  #: default bound of tree(); find() and click() search up to search_nodes
    max_depth: int = 30  #: default depth bound (the screen is depth 0, apps 1, their windows 2)
    search_nodes: int = 3000  #: elements find() and click() look through at most
    connect_timeout: float = 2.0  #: seconds to connect to the bus


# -- the per-desktop session bus (VirtualDesktop runs one) ----------------------------------------
class SessionBus:
    """A private `dbus-daemon --session` for one desktop; its at-spi-bus-launcher runs the accessibility bus.

    The daemon's XDG_RUNTIME_DIR is a private folder of the desktop, so the launcher's socket
    (at-spi/bus_N) is the desktop's own. Stopping the daemon ends the launcher, the accessibility bus
    and the registry with it.
    """

    def __init__(self, proc: subprocess.Popen[bytes], address: str, folder: Path) -> None:
        self.proc = proc
        self.address = address
        self.folder = folder

    @classmethod
    def start(cls, folder: Path, env: dict[str, str], timeout: float) -> SessionBus | None:
        """Start the daemon (None, logged, when dbus-daemon is not installed)."""
        daemon = shutil.which("dbus-daemon")
        if daemon is None:
            log.info("no dbus-daemon: the desktop %s gets no accessibility bus (%s)", env.get("DISPLAY"), INSTALL)
            return None
        runtime = folder / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        read_fd, write_fd = os.pipe()
        command = [daemon, "--session", "--nofork", "--nopidfile", f"--address=unix:path={folder / 'bus'}",
                   f"--print-address={write_fd}"]
        child_env = dict(os.environ, **env, XDG_RUNTIME_DIR=str(runtime))
        child_env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        child_env.pop("AT_SPI_BUS_ADDRESS", None)
        with open(folder / "dbus.log", "wb") as errors:
            proc = subprocess.Popen(command, pass_fds=(write_fd,), env=child_env, stdin=subprocess.DEVNULL,
                                    stdout=errors, stderr=errors, start_new_session=True)
        os.close(write_fd)
        said = b""
        deadline = time.monotonic() + timeout
        try:
            while not said.endswith(b"\n") and (remaining := deadline - time.monotonic()) > 0:
                if not select.select([read_fd], [], [], min(remaining, 0.5))[0]:
                    if proc.poll() is not None:
                        break
                    continue
                chunk = os.read(read_fd, 512)
                if not chunk:
                    break
                said += chunk
        finally:
            os.close(read_fd)
        if not said.endswith(b"\n"):
            end(proc)
            raise AccessibilityUnavailable(f"dbus-daemon did not start within {timeout:g} s: "
                                           f"{log_tail(folder / 'dbus.log')}")
        return cls(proc, said.decode().strip(), folder)

    def accessibility_address(self, timeout: float) -> str | None:
        """The accessibility bus's address (asking starts it); None, logged, when at-spi2-core is missing."""
        try:
            link = _Link(self.address, timeout)
        except (OSError, TimeoutError) as exc:
            log.warning("cannot reach the desktop's session bus %s: %s", self.address, exc)
            return None
        try:
            return _ask_address(link, timeout)
        finally:
            link.close()

    def stop(self) -> None:
        """End the daemon (and with it the accessibility bus it launched)."""
        end(self.proc)


def _ask_address(link: _Link, timeout: float) -> str | None:
    from jeepney import DBusAddress, new_method_call

    bus = DBusAddress("/org/a11y/bus", bus_name="org.a11y.Bus", interface="org.a11y.Bus")
    (reply,) = link.call([new_method_call(bus, "GetAddress")], timeout)
    if reply is None:
        log.warning("org.a11y.Bus did not answer within %g s", timeout)
        return None
    failed = _failure(reply)
    if failed or not _value(reply):
        log.info("no accessibility bus launcher (%s): %s", INSTALL, failed or "no address")
        return None
    return str(_value(reply))


# -- a bounded D-Bus client ---------------------------------------------------------------------
class _Link:
    """One D-Bus connection whose calls go out in batches, each batch waited on for a bounded time."""

    def __init__(self, address: str, timeout: float) -> None:
        try:
            import jeepney  # noqa: F401
        except ImportError as exc:
            raise AccessibilityUnavailable("the accessibility device needs jeepney (a D-Bus client): "
                                           "pip install 'lmc[desktop]' or pip install jeepney") from exc
        from jeepney import Parser
        from jeepney.bus import get_bus
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import prep_socket

        self.address = address
        self.sock: socket.socket = prep_socket(get_bus(address), timeout=timeout)
        self.parser = Parser()
        self.serials = count(1)
        try:
            (hello,) = self.call([message_bus.Hello()], timeout)
        except OSError:
            self.close()
            raise
        if hello is None or _failure(hello):
            self.close()
            raise TimeoutError(f"the bus at {address} did not answer Hello within {timeout:g} s")

    def call(self, messages: Sequence[Any], timeout: float) -> list[Any]:
        """Send every message, then collect replies until all came or `timeout` passed (None: no reply)."""
        from jeepney import HeaderFields

        waiting: dict[int, int] = {}
        for index, message in enumerate(messages):
            serial = next(self.serials)
            waiting[serial] = index
            self.sock.sendall(message.serialise(serial=serial))
        replies: list[Any] = [None] * len(messages)
        deadline = time.monotonic() + timeout
        while waiting:
            message = self.parser.get_next_message()
            if message is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                    break
                data = self.sock.recv(1 << 16)
                if not data:
                    raise ConnectionResetError(f"the bus at {self.address} closed the connection")
                self.parser.add_data(data)
                continue
            slot = waiting.pop(message.header.fields.get(HeaderFields.reply_serial, -1), -1)
            if slot >= 0:
                replies[slot] = message
        return replies

    def close(self) -> None:
        self.sock.close()


def _failure(reply: Any) -> str:
    """The error a reply carries ("" for a normal return)."""
    from jeepney import HeaderFields, MessageType

    if reply.header.message_type != MessageType.error:
        return ""
    name = reply.header.fields.get(HeaderFields.error_name, "error")
    detail = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
    return f"{name}: {detail.strip()}" if detail else str(name)


# -- the device ---------------------------------------------------------------------------------
class Accessibility:
    """The accessibility tree of one X display: tree(), find(role=, name=), click(role=, name=)."""

    def __init__(self, display: str, windows: Windows, mouse: Mouse | None = None,
                 config: AccessibilityConfig | None = None, *, bus: str | None = None) -> None:
        self.display = display
        self.config = config or AccessibilityConfig()
        self._windows = windows
        self._mouse = mouse
        self._bus = bus
        self._link: _Link | None = None
        self._lock = threading.Lock()

    # -- the computer.accessibility calls ---------------------------------------------------------
    def tree(self, window: str | None = None, max_depth: int | None = None, max_nodes: int | None = None) -> Node:
        """The accessibility tree: of the whole screen (window=None), the focused window ("active"),
        or the window whose title contains `window`. Nested dicts: id, role, name, states, left, top,
        width, height, x, y (center), children; "more" counts children left out by the bounds."""
        depth = _bound("max_depth", self.config.max_depth if max_depth is None else max_depth, 0)
        nodes = _bound("max_nodes", self.config.max_nodes if max_nodes is None else max_nodes, 1)
        with self._lock:
            return self._tree(window, depth, nodes)

    def find(self, role: str | None = None, name: str | None = None, window: str | None = None) -> Nodes:
        """Elements whose role is `role` (exact, any case: "push button") and whose name contains `name`
        (any case), in tree order, without their children."""
        _check_query(role, name)
        with self._lock:
            return [_flat(n) for n in self._search(window) if _matches(n, role, name)]

    def click(self, role: str | None = None, name: str | None = None, window: str | None = None,
              id: str | None = None) -> Node:
        """Click the one element with this role and name (or this id, from tree() or find()).

        It is clicked through its accessibility action ("click", "press", "toggle"...) when it has one,
        else with the mouse at its center. Returns the element with "clicked": "action <name>" or "mouse".
        None or several matches: an error listing what is there (an exact name wins over partial ones).
        """
        with self._lock:
            target = self._target(role, name, window, id)
            how = self._activate(target)
        if how == "mouse":
            if self._mouse is None:
                raise AccessibilityUnavailable("this element has no click action and no mouse is attached")
            self._mouse.click(target["x"], target["y"])
        return {**_flat(target), "clicked": how}

    def close(self) -> None:
        """Drop the bus connection (the next call reconnects)."""
        with self._lock:
            self._drop()

    # -- the bus --------------------------------------------------------------------------------
    def _drop(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def _address(self) -> str:
        if self._bus is not None:
            return self._bus
        published = self._windows.root_text(BUS_PROPERTY)
        if published:
            return published
        if self.display == os.environ.get("DISPLAY"):
            return self._host_address()
        raise AccessibilityUnavailable(f"X display {self.display} has no accessibility bus (no {BUS_PROPERTY} "
                                       f"property on its root window). {_remedy()}")

    def _host_address(self) -> str:
        """This machine's own screen: AT_SPI_BUS_ADDRESS, else the session bus's org.a11y.Bus."""
        if os.environ.get("AT_SPI_BUS_ADDRESS"):
            return os.environ["AT_SPI_BUS_ADDRESS"]
        session = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not session:
            raise AccessibilityUnavailable(f"X display {self.display} has no accessibility bus: no {BUS_PROPERTY} "
                                           f"root window property and no DBUS_SESSION_BUS_ADDRESS. {_remedy()}")
        try:
            link = _Link(session, self.config.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise AccessibilityUnavailable(f"cannot reach the session bus {session}: {exc}. {_remedy()}") from exc
        try:
            found = _ask_address(link, self.config.call_timeout)
        finally:
            link.close()
        if not found:
            raise AccessibilityUnavailable(f"the session bus {session} runs no accessibility bus (org.a11y.Bus). "
                                           f"{_remedy()}")
        return found

    def _connect(self) -> _Link:
        address = self._address()
        if self._link is not None and self._link.address != address:
            self._drop()  # the desktop was restarted: a new bus
        if self._link is None:
            try:
                self._link = _Link(address, self.config.connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise AccessibilityUnavailable(f"cannot connect to the accessibility bus of {self.display} "
                                               f"({address}): {exc}. {_remedy()}") from exc
        return self._link

    def _calls(self, messages: list[Any]) -> list[Any]:
        link = self._connect()
        try:
            return link.call(messages, self.config.call_timeout)
        except OSError as exc:
            self._drop()
            raise AccessibilityUnavailable(f"lost the accessibility bus of {self.display}: {exc}") from exc

    # -- walking ---------------------------------------------------------------------------------
    def _tree(self, window: str | None, max_depth: int, max_nodes: int) -> Node:
        if window is None:
            return self._walk((REGISTRY, ROOT), max_depth, max_nodes)
        frame = self._window(window)
        return self._walk((frame["id"].split("/", 1)[0], "/" + frame["id"].split("/", 1)[1]), max_depth, max_nodes)

    def _search(self, window: str | None) -> Nodes:
        top = self._tree(window, self.config.max_depth, self.config.search_nodes)
        return list(_preorder(top))

    def _window(self, window: object) -> Node:
        """The top-level window ("frame") named by `window`: "active", or part of its title."""
        if not isinstance(window, str) or not window:
            raise DeviceUsageError(f"window must be 'active' or part of a window's title, got {window!r}")
        screen = self._walk((REGISTRY, ROOT), 2, self.config.search_nodes)
        frames: Nodes = [frame for app in screen.get("children", []) for frame in app.get("children", [])]
        if window == "active":
            found = [f for f in frames if "active" in f["states"]]
            if len(found) != 1:  # no window manager tells the app it is active: ask the X server
                focused = self._windows.active()
                title = (focused or {}).get("title", "")
                found = [f for f in frames if title and f["name"] == title]
            if len(found) == 1:
                return found[0]
            listed = "; ".join(repr(f["name"]) for f in frames) or "none"
            raise ElementNotFound(f"no focused window with an accessibility tree; windows on the bus: {listed}. "
                                  "Activate one (computer.windows.activate) or name it by title")
        found = [f for f in frames if window.lower() in f["name"].lower()]
        if len(found) == 1:
            return found[0]
        listed = "; ".join(repr(f["name"]) for f in (found or frames)) or "none"
        if not found:
            raise ElementNotFound(f"no window titled like {window!r} on the accessibility bus; windows: {listed}")
        raise AmbiguousElement(f"{len(found)} windows match {window!r}: {listed}; use more of the title")

    def _walk(self, start: tuple[str, str], max_depth: int, max_nodes: int) -> Node:
        """Breadth-first, one batch of calls per level; apps that do not answer are skipped after one wait."""
        self._connect()  # first: a missing bus (or jeepney) is reported before anything else
        top: Node = {"id": start[0] + start[1], "children": []}
        level: list[tuple[Node, int]] = [(top, 0)]
        listed = 1
        silent: set[str] = set()  # bus names that did not answer
        while level:
            level = [(n, d) for n, d in level if _bus_of(n) not in silent or _mark(n, self.config.call_timeout)]
            self._describe([n for n, _ in level], [d < max_depth for _, d in level], silent)
            self._extents([n for n, _ in level], silent)
            following: list[tuple[Node, int]] = []
            for node, depth in level:
                kids = node.pop("_children", [])
                for ref in kids:
                    if listed >= max_nodes:
                        break
                    child: Node = {"id": ref[0] + ref[1], "children": []}
                    node["children"].append(child)
                    following.append((child, depth + 1))
                    listed += 1
                left_out = max(node.pop("_count", 0), len(kids)) - len(node["children"])
                if left_out > 0:
                    node["more"] = left_out
            level = following
        return _ordered(top)

    def _describe(self, nodes: Nodes, expand: list[bool], silent: set[str]) -> None:
        """Role, name, states, interfaces (and children where `expand`) of every node, in one batch."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import Properties

        messages, slots = [], []
        for node, more in zip(nodes, expand, strict=True):
            bus, path = _split(node["id"])
            address = DBusAddress(path, bus_name=bus, interface=_ACCESSIBLE)
            asks = [new_method_call(address, "GetRoleName"), Properties(address).get_all(),
                    new_method_call(address, "GetState"), new_method_call(address, "GetInterfaces")]
            if more:
                asks.append(new_method_call(address, "GetChildren"))
            messages += asks
            slots.append(len(asks))
        replies = iter(self._calls(messages))
        for node, size in zip(nodes, slots, strict=True):
            role, props, state, interfaces, *children = (next(replies) for _ in range(size))
            if role is None:
                silent.add(_bus_of(node))
                _mark(node, self.config.call_timeout)
                continue
            if _failure(role):
                node.update(role="unknown", name="", states=[], error=_failure(role))
                continue
            node["role"] = str(_value(role) or "unknown")
            values = _value(props) or {}
            node["name"] = str(values.get("Name", ("s", ""))[1])
            node["states"] = _states(state)
            node["_interfaces"] = tuple(_value(interfaces) or ())
            node["_count"] = int(values.get("ChildCount", ("i", 0))[1])
            if children:
                node["_children"] = [(str(b), str(p)) for b, p in _value(children[0]) or ()]

    def _extents(self, nodes: Nodes, silent: set[str]) -> None:
        """The screen box of every node that has one (Component, not the screen or an app)."""
        from jeepney import DBusAddress, new_method_call

        boxed = [n for n in nodes if _COMPONENT in n.pop("_interfaces", ()) and n.get("role") not in
                 ("desktop frame", "application") and _bus_of(n) not in silent]
        messages = [new_method_call(DBusAddress(_split(n["id"])[1], bus_name=_split(n["id"])[0], interface=_COMPONENT),
                                    "GetExtents", "u", (0,)) for n in boxed]  # 0: screen coordinates
        for node, reply in zip(boxed, self._calls(messages) if messages else [], strict=True):
            box = _value(reply)
            if not isinstance(box, tuple) or len(box) != 4:
                continue
            left, top, width, height = (int(v) for v in box)
            if width > 0 and height > 0:
                node.update(left=left, top=top, width=width, height=height,
                            x=left + width // 2, y=top + height // 2)

    # -- clicking --------------------------------------------------------------------------------
    def _target(self, role: str | None, name: str | None, window: str | None, id: str | None) -> Node:
        if id is not None:
            if role is not None or name is not None:
                raise DeviceUsageError("give id= alone, or role= and/or name=, not both")
            if not isinstance(id, str) or "/" not in id:
                raise DeviceUsageError(f"id must be a node id from tree() or find(), e.g. ':1.5/org/a11y/atspi/"
                                       f"accessible/12', got {id!r}")
            found = [n for n in self._search(window) if n["id"] == id]
            if not found:
                raise ElementNotFound(f"no element {id!r} (any more); read the tree again")
            return found[0]
        _check_query(role, name)
        nodes = self._search(window)
        found = [n for n in nodes if _matches(n, role, name)]
        if len(found) > 1 and name is not None:
            exact = [n for n in found if n["name"].lower() == name.lower()]
            found = exact if len(exact) == 1 else found
        what = _query(role, name)
        if not found:
            named = [n for n in nodes if n.get("name") and _matches(n, None, "")]
            near = [n for n in named if role is None or n["role"] == role.lower()] or named
            listed = "; ".join(_describe(n) for n in near[:_SHOWN]) or "no named elements"
            more = f" (and {len(near) - _SHOWN} more)" if len(near) > _SHOWN else ""
            raise ElementNotFound(f"no {what} in the accessibility tree; there are: {listed}{more}")
        if len(found) > 1:
            listed = "; ".join(f"{n}. {_describe(node)} id={node['id']!r}" for n, node in enumerate(found, 1))
            raise AmbiguousElement(f"{len(found)} elements match {what}: {listed}. "
                                   "Click one by id= or by its x, y (computer.mouse.click)")
        return found[0]

    def _activate(self, node: Node) -> str:
        """Do the node's click action; "mouse" when it has none (the caller clicks its center)."""
        from jeepney import DBusAddress, new_method_call

        if "disabled" in node["states"]:
            raise DeviceUsageError(f"{_describe(node)} is disabled (greyed out): a click would do nothing")
        bus, path = _split(node["id"])
        address = DBusAddress(path, bus_name=bus, interface=_ACTION)
        (named,) = self._calls([new_method_call(address, "GetName", "i", (0,))])
        action = str(_value(named) or "")
        if action.lower() in CLICK_ACTIONS:
            (done,) = self._calls([new_method_call(address, "DoAction", "i", (0,))])
            if done is None:
                raise AccessibilityUnavailable(f"{_describe(node)} did not answer its {action!r} action within "
                                               f"{self.config.call_timeout:g} s; the app may be hung")
            if _value(done) is True:
                return f"action {action}"
        if "x" not in node or "showing" not in node["states"]:
            raise DeviceUsageError(f"{_describe(node)} has no click action and is not on the screen "
                                   "(no box, or not showing); bring it into view first")
        return "mouse"


# -- helpers --------------------------------------------------------------------------------------
def _remedy() -> str:
    missing = [name for name, there in (("dbus-daemon", shutil.which("dbus-daemon")), ("at-spi2-core",
                                        LAUNCHER.exists())) if not there]
    if missing:
        return (f"Install {' and '.join(missing)} ('{INSTALL}') and start the desktop again: lmc's virtual "
                "desktops then run an accessibility bus, and GTK/Qt apps started on them join it")
    return ("lmc's virtual desktops (VirtualDesktop) run one and publish it; on another screen start the "
            "accessibility bus (a GNOME/KDE session does, or at-spi-bus-launcher) and set AT_SPI_BUS_ADDRESS")


def _bound(name: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise DeviceUsageError(f"{name} must be a whole number >= {least}, got {value!r}")
    return value


def _check_query(role: object, name: object) -> None:
    if role is None and name is None:
        raise DeviceUsageError("give role= (e.g. 'push button') and/or name= (part of the element's label)")
    for label, value in (("role", role), ("name", name)):
        if value is not None and not isinstance(value, str):
            raise DeviceUsageError(f"{label} must be text, got {type(value).__name__}")


def _matches(node: Node, role: str | None, name: str | None) -> bool:
    if "role" not in node or node["role"] in ("desktop frame", "application"):
        return False
    return (role is None or node["role"] == role.lower()) and (name is None or name.lower() in node["name"].lower())


def _query(role: str | None, name: str | None) -> str:
    return " ".join(filter(None, [role or "element", f"named like {name!r}" if name is not None else ""]))


def _describe(node: Node) -> str:
    where = f" at x={node['x']}, y={node['y']}" if "x" in node else ""
    return f"{node.get('role', 'element')} {node.get('name', '')!r}{where}"


def _value(reply: Any) -> Any:
    """The first value of a normal reply; None for no reply, an error, or an empty body."""
    if reply is None or _failure(reply) or not reply.body:
        return None
    return reply.body[0]


def _states(reply: Any) -> list[str]:
    words = list(_value(reply) or ())
    bits = sum(int(word) << (32 * n) for n, word in enumerate(words))
    named = [STATES[n] for n in range(len(STATES)) if bits >> n & 1 and STATES[n] not in _QUIET]
    if bits and not bits >> STATES.index("enabled") & 1:
        named.append("disabled")  # greyed out: a click does nothing
    return named + (["showing"] if bits >> STATES.index("showing") & 1 else [])


def _split(node_id: str) -> tuple[str, str]:
    bus, _, path = node_id.partition("/")
    return bus, "/" + path


def _bus_of(node: Node) -> str:
    return _split(node["id"])[0]


def _mark(node: Node, timeout: float) -> bool:
    """Note on a node that its app did not answer (False: drop it from the walk)."""
    node.update(role=node.get("role", "unknown"), name=node.get("name", ""), states=node.get("states", []),
                error=f"the app did not answer within {timeout:g} s")
    node.pop("_children", None)
    node.pop("_interfaces", None)
    return False


_ORDER = ("id", "role", "name", "states", "left", "top", "width", "height", "x", "y", "error", "more")


def _ordered(node: Node) -> Node:
    """The node with its keys in reading order, children last (left out when there are none)."""
    out = {key: node[key] for key in _ORDER if key in node}
    if node.get("children"):
        out["children"] = [_ordered(child) for child in node["children"]]
    return out


def _flat(node: Node) -> Node:
    return {k: v for k, v in node.items() if k != "children"}


def _preorder(node: Node) -> Any:
    yield node
    for child in node.get("children", []):
        yield from _preorder(child)
