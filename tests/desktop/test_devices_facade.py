"""The computer.* dispatcher: the whitelist, argument checks, and results that travel as msgpack."""

from __future__ import annotations

import pytest
from desktop_app import AppState

from devices import errors
from devices.desktop import VirtualDesktop
from devices.facade import CALLS, Devices
from lmc import codec
from lmc.messages import ERROR_KINDS, Message
from orchestrator.ray.device_actor import DeviceHost, DeviceHostConfig


def test_unknown_calls_list_the_known_ones(devices: Devices) -> None:
    with pytest.raises(errors.UnknownCall) as caught:
        devices.call("mouse.clik", [], {})
    assert str(caught.value).startswith("unknown computer call 'mouse.clik'; known: display.view,")
    assert "mouse.click" in str(caught.value)
    with pytest.raises(errors.UnknownCall):
        devices.call("display.__init__", [], {})


def test_bad_arguments_show_the_signature(devices: Devices) -> None:
    with pytest.raises(errors.DeviceUsageError, match=r"bad arguments for computer.mouse.click: .*'txt'.*expected"):
        devices.call("mouse.click", [], {"txt": "Submit"})


def test_results_are_plain_msgpack_values(devices: Devices, app: AppState) -> None:
    assert devices.call("display.size", [], {}) == [1280, 800]
    found = devices.call("display.find_text", ["Submit"], {})
    assert isinstance(found, list) and len(found) == 1
    assert set(found[0]) == {"text", "left", "top", "width", "height", "x", "y", "confidence"}
    clicked = devices.call("mouse.click", [], {"text": "Cancel"})
    app.wait(lambda s: s["clicks"].get("Cancel@160") == 1)
    assert codec.unpack(codec.pack([found, clicked])) == [found, clicked]
    image = devices.call("display.view", [], {"format": "jpeg"})
    assert isinstance(image, Message) and image.format == "jpeg"
    assert codec.decode_message(codec.encode(image)) == image


def test_every_whitelisted_call_is_a_documented_method(devices: Devices) -> None:
    for path in CALLS:
        method = devices.method(path)
        assert callable(method) and method.__doc__, path


def test_every_error_class_has_an_lmc_error_kind() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.DeviceError)]
    assert len(classes) >= 15
    for cls in classes:
        assert cls.kind in ERROR_KINDS, cls
    assert issubclass(errors.OffScreen, ValueError) and issubclass(errors.TextNotFound, LookupError)


def test_a_host_screen_is_driven_in_place_and_cannot_be_restarted(desktop: VirtualDesktop) -> None:
    host = DeviceHost(DeviceHostConfig(desktop=None, display=desktop.display))
    try:
        assert host.call("display.size") == [1280, 800]
        assert host.health()["virtual"] is False
        assert host.env() == {"DISPLAY": desktop.display}
        with pytest.raises(errors.DeviceUsageError, match="only a virtual desktop can be restarted"):
            host.restart()
    finally:
        host.close()
