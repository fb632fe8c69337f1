"""The screen side of a Computer: display, OCR, mouse, keyboard, clipboard, virtual desktops.

One plain class per device, all bound to one X display; `Devices` bundles them
and dispatches `computer.*` calls; `VirtualDesktop` starts Xvfb displays;
`devices.actor` places one Ray actor per desktop. Importing this package loads
no heavy library: mss, pyautogui, rapidocr and ray are imported where used.
"""
