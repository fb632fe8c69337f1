"""OS mode: the Interpreter driving a screen (`lmc --os`).

The session gets a screen, either a fresh virtual desktop (Xvfb) or the host's,
and its Computer reaches it as `computer.*` from sandboxed code. After every
action a screenshot is shown to a vision model (old ones are pruned first when
the context fills); a text-only model (the embedded one) is shown the screen's
words with their positions instead (OCR) and the window list, is told so in its
prompt, and the CLI says so when it starts (`screen_notice`). `icon=` targets are
located by the session's own vision model. With `record` (`--record FILE`) the
screen is recorded to a video until the session ends. Code still asks for
confirmation unless -y; Ctrl-C stops it.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from executors.sandbox.languages.base import error_chunk
from lmc.assembly import assemble
from lmc.errors import LMCError
from lmc.messages import Chunk, Message
from orchestrator.computer import Computer
from orchestrator.errors import SettingsError
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

OS_PROMPT = """You are in OS mode: you operate this computer's graphical desktop for the user.
Drive it from python with the `computer` object:
- computer.display.view() shows you the screen; computer.display.get_text() lists the words on it with
  their boxes; computer.display.find_text("Save") finds one.
- computer.display.marks() shows the screen with numbered boxes and lists them; mouse.click(mark=3) clicks box 3.
- computer.mouse.click("Save") clicks visible text; computer.mouse.click(x, y) clicks a point;
  computer.mouse.click(icon="a gear icon") asks a vision model to find an icon; also double_click,
  right_click, drag(x, y, to_x, to_y), scroll(dy=3) (down; dy=-3 up), down(x, y) / up().
- computer.keyboard.write("text"), computer.keyboard.press("enter"), computer.keyboard.hotkey("ctrl", "s").
- computer.windows.list(), activate("title"), move / resize / close(window).
- computer.accessibility.tree("active") lists the focused window's elements (role, name, box) in apps
  that expose them (GTK, Qt); computer.accessibility.click(role="push button", name="Save") presses one.
- computer.clipboard.view() / copy(text) / paste().
Start programs from the shell in the background (e.g. `xterm &`); they appear on this desktop.
Work in small steps: act, then look at the screenshot you get after each code block, then act again.
When the task is done, say so in one sentence and stop writing code."""

#: OS_PROMPT's lines about seeing the screen, for a model that cannot see images.
TEXT_ONLY = (
    ("computer.display.view() shows you the screen; ", ""),
    ("marks() shows the screen with numbered boxes and lists them", "marks() lists numbered boxes on the screen"),
    ("look at the screenshot you get after each code block",
     "read the screen's text you get after each code block (you cannot see images: every word on the screen "
     "comes as text@x,y, its center, which computer.mouse.click(x, y) clicks, the windows are listed "
     "with their titles, and in apps that expose them the focused window's elements come as role 'name'@x,y, "
     "which computer.accessibility.click(role=..., name=...) presses)"),
)
#: At most this many words of the screen are shown to a text-only model after a step.
OCR_WORDS = 400
#: At most this many windows are listed for a text-only model after a step.
WINDOWS = 30
#: At most this many elements of the focused window's accessibility tree are shown to a text-only model.
ELEMENTS = 120

DESKTOPS = ("virtual", "host")


def os_prompt(vision: bool) -> str:
    """OS mode's instructions, for a model that sees screenshots or one that reads the screen's text."""
    prompt = OS_PROMPT
    if not vision:
        for old, new in TEXT_ONLY:
            prompt = prompt.replace(old, new)
    return prompt


def window_text(windows: list[dict[str, Any]]) -> str:
    """The screen's windows, one a line: title, app, position and size, which one is active."""
    if not windows:
        return "Windows: none.\n"
    lines = [f"{w.get('title') or '(untitled)'!r} ({w.get('app') or 'unknown app'}) at {w.get('x')},{w.get('y')} "
             f"{w.get('width')}x{w.get('height')}{', active' if w.get('active') else ''}" for w in windows[:WINDOWS]]
    return "Windows:\n" + "\n".join(lines) + "\n"


def element_text(tree: dict[str, Any]) -> str:
    """The focused window's accessibility elements, one a line, indented by depth: role 'name'@x,y and the
    states a model acts on; unnamed containers are left out (their children move up)."""
    lines: list[str] = []
    shown = ("focused", "checked", "selected", "expanded", "disabled", "editable")

    def walk(node: dict[str, Any], depth: int) -> None:
        if len(lines) >= ELEMENTS:
            return
        name = str(node.get("name") or "")
        child_depth = depth
        if name or node.get("states") and "focused" in node["states"]:
            where = f"@{node['x']},{node['y']}" if "x" in node else ""
            states = [s for s in node.get("states", []) if s in shown]
            lines.append("  " * depth + f"{node.get('role', 'element')} {name!r}{where}"
                         + (f" [{', '.join(states)}]" if states else ""))
            child_depth = depth + 1
        for child in node.get("children", []):
            walk(child, child_depth)

    walk(tree, 0)
    if not lines:
        return ""
    cut = " (the first ones)" if len(lines) >= ELEMENTS else ""
    return "Focused window's elements (accessibility)" + cut + ":\n" + "\n".join(lines) + "\n"


def screen_text(boxes: list[Any], windows: list[dict[str, Any]] | None = None,
                elements: dict[str, Any] | None = None) -> str:
    """The words on the screen as rows of `text@x,y` (their centers), top to bottom, for a text-only model;
    then the windows, and the focused window's accessibility elements, when given."""
    words = [b.to_dict() if hasattr(b, "to_dict") else dict(b) for b in boxes][:OCR_WORDS]
    listed = window_text(windows) if windows is not None else ""
    listed += element_text(elements) if elements else ""
    if not words:
        return "Screen text (OCR): no text on the screen.\n" + listed
    rows: list[list[dict[str, Any]]] = []
    for word in sorted(words, key=lambda w: (int(w["top"]), int(w["left"]))):
        if rows and abs(int(rows[-1][0]["top"]) - int(word["top"])) <= max(4, int(word["height"]) // 2):
            rows[-1].append(word)
        else:
            rows.append([word])
    lines = [" ".join(f"{w['text']}@{int(w['left']) + int(w['width']) // 2},{int(w['top']) + int(w['height']) // 2}"
                      for w in sorted(row, key=lambda w: int(w["left"]))) for row in rows]
    return "Screen text (OCR) after this step, as text@x,y:\n" + "\n".join(lines) + "\n" + listed


class ScreenComputer(Computer):
    """A Computer with a screen: after every run, a screenshot (vision models) or the screen's text joins the stream."""

    def __init__(self, sandbox: Any = "local", *, host: Any, screenshots: bool = True, config: Any = None) -> None:
        super().__init__(sandbox, config=config, devices=host)
        self.screenshots = screenshots
        #: without screenshots, show the screen's words and positions after each run (a text-only model)
        self.ocr = False

    def run(self, language: str, code: str, *, stream: bool = False, **options: Any) -> Any:
        """Run code, then (screenshots on) show the screen as it is now."""
        chunks = self._then_screen(super().run(language, code, stream=True, **options))
        return chunks if stream else assemble(chunks)

    def _then_screen(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        yield from chunks
        if not self.screenshots and not self.ocr:
            return
        what = "display.view" if self.screenshots else "display.get_text"
        try:
            seen = self.devices.call(what, [], {})
        except LMCError as exc:
            yield error_chunk("sandbox", f"no {'screenshot' if self.screenshots else 'screen text'} after this "
                                         f"step: {exc}")
            return
        if isinstance(seen, Message):
            yield Chunk.whole(seen)
        elif isinstance(seen, list):
            windows, elements = self._windows(), self._elements()
            yield Chunk.whole(Message("computer", "console", screen_text(seen, windows, elements), "output"))

    def _windows(self) -> list[dict[str, Any]] | None:
        """The screen's windows for a text-only model; None (left out) when they cannot be listed."""
        found = self._optional("windows.list", [], {}, logging.INFO)
        return [w for w in found if isinstance(w, dict)] if isinstance(found, list) else None

    def _elements(self) -> dict[str, Any] | None:
        """The focused window's accessibility tree for a text-only model; None when its app exposes none
        (Tk, xterm...) or the desktop has no accessibility bus."""
        found = self._optional("accessibility.tree", ["active"], {"max_nodes": ELEMENTS * 2}, logging.DEBUG)
        return found if isinstance(found, dict) else None

    def _optional(self, method: str, args: list[Any], kwargs: dict[str, Any], level: int) -> Any:
        """A device call whose answer the step can do without: None, logged at `level`, when it fails."""
        try:
            return self.devices.call(method, args, kwargs)
        except LMCError as exc:
            log.log(level, "no %s after this step: %s", method, exc)
            return None

    def close(self) -> None:
        """Free the sandbox and the screen (which finishes its recording)."""
        try:
            super().close()
        finally:
            self.devices.close()


class VisionLocator:
    """Picks the numbered box that matches an icon description, by asking a vision model."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, image_png: bytes, description: str, boxes: list[Any]) -> int | None:
        """The 1-based number of the matching box, or None when the model sees none."""
        from orchestrator.models.base import TextDelta

        url = "data:image/png;base64," + base64.b64encode(image_png).decode("ascii")
        question = (
            f"The screenshot shows {len(boxes)} numbered boxes. Which box contains {description!r}? "
            "Answer with the number only, or 0 if none does."
        )
        messages = [{"role": "user", "content": [
            {"type": "text", "text": question}, {"type": "image_url", "image_url": {"url": url}}]}]
        reply = "".join(e.text for e in self.model.stream(messages) if isinstance(e, TextDelta))
        found = re.search(r"\d+", reply)
        number = int(found.group()) if found else 0
        return number if 1 <= number <= len(boxes) else None


def screen_host(desktop: str, coordinates: str = "auto") -> Any:
    """The devices of a fresh virtual desktop, or of the host's screen, speaking `coordinates` (devices.scaling)."""
    from devices.desktop import DesktopConfig
    from devices.facade import DevicesConfig
    from devices.scaling import Scaling
    from orchestrator.ray.device_actor import DeviceHost, DeviceHostConfig

    if desktop not in DESKTOPS:
        raise ValueError(f"unknown desktop {desktop!r}; choose one of {', '.join(DESKTOPS)}")
    devices = DevicesConfig(scaling=Scaling(coordinates))
    return DeviceHost(DeviceHostConfig(desktop=DesktopConfig() if desktop == "virtual" else None, devices=devices))


def on_screen(config: Any, env: dict[str, str]) -> Any:
    """A sandbox config whose GUI programs draw on the screen of `env` (DISPLAY, XAUTHORITY); None for a
    backend that cannot (e2b: computer.* still works; its GUI programs have no screen here)."""
    from executors.docker.config import DockerConfig
    from executors.local import LocalConfig

    if isinstance(config, DockerConfig):
        return dataclasses.replace(config, display=env["DISPLAY"])
    if isinstance(config, LocalConfig):
        return config.with_env(env)
    return None


def sandbox_for(settings: Settings, host: Any) -> Any:
    """The session's sandbox, with GUI programs drawing on the session's screen.

    With a device actor's screen (RemoteDevices, under Ray) the sandbox is owned by the executor
    actor of the screen's node: its programs must reach that node's X server."""
    from executors.backends import default_config

    config = on_screen(default_config(settings.sandbox), host.env())
    node = getattr(host, "node_id", None)
    if node:
        from orchestrator.ray.executor_actor import RayExecutor, executor_actor

        return RayExecutor(settings.sandbox, config, actor=executor_actor(node))
    return config.create() if config is not None else settings.sandbox


def screen_notice(interpreter: Any) -> str:
    """One line saying how the model sees the screen (shown when OS mode starts)."""
    name = getattr(interpreter.model, "name", "the model")
    kind = interpreter.computer.devices.scaling.kind
    coordinates = "" if kind == "auto" else f"; its coordinates are {kind}"
    if getattr(interpreter.computer, "screenshots", False):
        return f"OS mode: {name} is shown a screenshot after each step{coordinates}"
    return (f"OS mode: {name} cannot see images; it is shown the screen's text with positions (OCR) and the window "
            f"list after each step instead of screenshots (set --model to a vision model for screenshots){coordinates}")


def os_interpreter(settings: Settings, desktop: str = "virtual", host: Any = None, record: Any = None,
                   coordinates: str = "auto", **parts: Any) -> Any:
    """An Interpreter in OS mode on a virtual desktop or the host's screen (or on `host`, a DeviceHost
    or a device actor's RemoteDevices the caller made; it is closed with the Interpreter, or here if
    making the Interpreter fails); with `record` (a .mp4 or .mkv path, on the screen's machine) the
    screen is recorded until the Interpreter's computer closes. `coordinates` is the convention the
    model's points follow (devices.scaling: auto, xga, normalized...)."""
    from orchestrator.session.interpreter import Interpreter

    user_extra = "\n\n" + settings.system_message if settings.system_message else ""
    host = host if host is not None else screen_host(desktop, coordinates)
    try:
        if record is not None:
            host.record(record)
        computer = ScreenComputer(sandbox_for(settings, host), host=host)
        interpreter = Interpreter(settings, computer=computer, **parts)
        vision = bool(interpreter.model.vision if settings.llm.vision is None else settings.llm.vision)
        scaling = host.scaling.prompt()
        interpreter.settings = dataclasses.replace(
            settings, system_message=os_prompt(vision) + (" " + scaling if scaling else "") + user_extra)
        computer.screenshots, computer.ocr = vision, not vision
        if vision:
            host.set_icon_locator(VisionLocator(interpreter.model))
        interpreter.notice = screen_notice(interpreter)
        log.info("%s", interpreter.notice)
    except BaseException:
        host.close()  # which finishes a recording started here
        raise
    return interpreter


@dataclass(frozen=True)
class ScreenPlan:
    """OS mode for a session hosted on Ray (`lmc --os --ray`): the screen its device actor opens.

    It travels in SessionParts to the orchestrator actor, which opens a device actor on a node
    with a `display` slot (a virtual desktop there, or with desktop="host" the screen of the node
    `node`, the caller's), and runs the session's sandbox on that node.
    """

    desktop: str = "virtual"  #: "virtual" (a fresh Xvfb) or "host" (the screen `display` of node `node`)
    coordinates: str = "auto"  #: the convention of the model's points (devices.scaling)
    record: str | None = None  #: record the screen into this .mp4/.mkv file, on the screen's node
    display: str | None = None  #: the host's display (desktop="host")
    node: str | None = None  #: the node whose screen it is (desktop="host"); None: any with a free slot
    #: seconds to wait for a free `display` slot (None: device_actor.PLACE_TIMEOUT); a server waits less
    place_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.desktop not in DESKTOPS:
            raise SettingsError(f"unknown desktop {self.desktop!r}; choose one of {', '.join(DESKTOPS)}")
        from devices.scaling import Scaling

        Scaling(self.coordinates)  # a bad convention fails here, in the caller, not in the actor

    def host_config(self) -> Any:
        """The device actor's DeviceHostConfig."""
        from devices.desktop import DesktopConfig
        from devices.facade import DevicesConfig
        from devices.scaling import Scaling
        from orchestrator.ray.device_actor import DeviceHostConfig

        virtual = self.desktop == "virtual"
        return DeviceHostConfig(desktop=DesktopConfig() if virtual else None, display=None if virtual else self.display,
                                devices=DevicesConfig(scaling=Scaling(self.coordinates)))

    def session(self, settings: Settings, conversation: str | None, parts: Any) -> Any:
        """The OS-mode session in the orchestrator actor: a device actor's screen, the sandbox on its node."""
        from orchestrator.ray.device_actor import PLACE_TIMEOUT, open_device_actor
        from orchestrator.session.store import ConversationStore

        host = open_device_actor(self.host_config(), node=self.node, timeout=self.place_timeout or PLACE_TIMEOUT)
        extra: dict[str, Any] = {"model": parts.model, "conversation": conversation}
        store = ConversationStore(settings.data_dir)
        if conversation is not None and store.exists(conversation):
            extra["messages"] = store.load(conversation)
        return os_interpreter(settings, self.desktop, host=host, record=self.record, **extra)
