"""Watch the USB bus for operator keys: which are plugged in, and each one that comes or goes."""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pyudev

log = logging.getLogger(__name__)

USB_SUBSYSTEM = "usb"
USB_DEVICE = "usb_device"
"""The device type of a whole USB device, as opposed to one of its interfaces."""

_HEX4 = re.compile(r"[0-9a-f]{4}")


class UsbIdError(ValueError):
    """A USB id is not written as VVVV:PPPP."""


@dataclass(frozen=True, order=True)
class UsbId:
    """A USB vendor:product id, four lowercase hex digits each."""

    vendor: str
    product: str

    @classmethod
    def parse(cls, text: str) -> UsbId:
        """Read `1050:0407` (vendor:product, as lsusb prints it)."""
        vendor, _, product = text.strip().lower().partition(":")
        if not (_HEX4.fullmatch(vendor) and _HEX4.fullmatch(product)):
            raise UsbIdError(f"USB id {text!r}: write vendor:product in hex, e.g. 1050:0407")
        return cls(vendor, product)

    def __str__(self) -> str:
        return f"{self.vendor}:{self.product}"


YUBIKEY_5 = UsbId("1050", "0407")
"""A YubiKey 5 (OTP+FIDO+CCID), the operator key the box is sold with."""


@dataclass(frozen=True)
class UsbKey:
    """One operator key plugged into the box; `device` (its sysfs path) names it while plugged."""

    device: str
    usb_id: UsbId
    serial: str
    product: str

    def as_dict(self) -> dict[str, str]:
        """Return the key as the agent reports it."""
        return {"device": self.device, "usb_id": str(self.usb_id),
                "serial": self.serial, "product": self.product}


class KeyAction(enum.StrEnum):
    """What happened to an operator key."""

    ADDED = "add"
    REMOVED = "remove"


@dataclass(frozen=True)
class KeyEvent:
    """An operator key plugged in or pulled out."""

    action: KeyAction
    key: UsbKey


KeyListener = Callable[[KeyEvent], None]


class KeyWatch:
    """Report the operator keys (USB devices of the configured ids) present, as they come and go.

    It runs on the event loop that starts it: the udev monitor's socket is read by the loop,
    and listeners are called there, so they may touch the loop's state directly.
    """

    def __init__(self, ids: Iterable[UsbId]) -> None:
        self._ids = frozenset(ids)
        self._monitor: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._present: dict[str, UsbKey] = {}
        self._listeners: list[KeyListener] = []
        self._streams: set[asyncio.Queue[KeyEvent | None]] = set()

    async def __aenter__(self) -> KeyWatch:
        self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start watching on the running loop; keys plugged in already are present at once."""
        if self._monitor is not None:
            raise RuntimeError("the key watch is already running; stop it first")
        loop = asyncio.get_running_loop()
        context = pyudev.Context()
        monitor = pyudev.Monitor.from_netlink(context)
        monitor.filter_by(subsystem=USB_SUBSYSTEM, device_type=USB_DEVICE)
        # Listen before enumerating, so a key plugged in between the two is not missed.
        monitor.start()
        for device in context.list_devices(subsystem=USB_SUBSYSTEM, DEVTYPE=USB_DEVICE):
            key = self._key_of(device)
            if key is not None:
                self._present[key.device] = key
        loop.add_reader(monitor.fileno(), self._drain)
        self._monitor, self._loop = monitor, loop
        log.info("watching USB for operator keys %s; present: %d",
                 ", ".join(sorted(map(str, self._ids))), len(self._present))

    def stop(self) -> None:
        """Stop watching, forget the keys present and end every event stream."""
        if self._monitor is None or self._loop is None:
            return
        self._loop.remove_reader(self._monitor.fileno())
        self._monitor = self._loop = None
        self._present.clear()
        for stream in self._streams:
            stream.put_nowait(None)
        self._streams.clear()

    def present(self) -> list[UsbKey]:
        """Return the operator keys plugged in now, by device path."""
        return [self._present[device] for device in sorted(self._present)]

    def find(self, device: str) -> UsbKey | None:
        """Return the key plugged in at `device`, if it still is."""
        return self._present.get(device)

    def subscribe(self, listener: KeyListener) -> Callable[[], None]:
        """Call listener on every key event from now on; return the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def events(self) -> AsyncIterator[KeyEvent]:
        """Return the key events from now on, as an async iterator ending when the watch stops."""
        stream: asyncio.Queue[KeyEvent | None] = asyncio.Queue()
        self._streams.add(stream)
        return self._stream(stream)

    async def _stream(self, stream: asyncio.Queue[KeyEvent | None]) -> AsyncIterator[KeyEvent]:
        """Yield a stream's events until the watch stops."""
        try:
            while (event := await stream.get()) is not None:
                yield event
        finally:
            self._streams.discard(stream)

    def _drain(self) -> None:
        """Handle every event the monitor holds, without blocking."""
        while self._monitor is not None and (device := self._monitor.poll(timeout=0)) is not None:
            self._on_device(device)

    def _on_device(self, device: Any) -> None:
        """Track one udev event: an operator key added, or one of those present removed."""
        if device.action == KeyAction.ADDED:
            key = self._key_of(device)
            if key is not None and key.device not in self._present:
                self._present[key.device] = key
                self._publish(KeyEvent(KeyAction.ADDED, key))
        elif device.action == KeyAction.REMOVED:
            # A removed device's attributes are gone: it is known by its path alone.
            gone = self._present.pop(device.sys_path, None)
            if gone is not None:
                self._publish(KeyEvent(KeyAction.REMOVED, gone))

    def _key_of(self, device: Any) -> UsbKey | None:
        """Return the device as an operator key, or None if its id is not configured."""
        vendor = _attribute(device, "idVendor").lower()
        product = _attribute(device, "idProduct").lower()
        if not (_HEX4.fullmatch(vendor) and _HEX4.fullmatch(product)):
            return None
        usb_id = UsbId(vendor, product)
        if usb_id not in self._ids:
            return None
        return UsbKey(str(device.sys_path), usb_id, _attribute(device, "serial"),
                      _attribute(device, "product"))

    def _publish(self, event: KeyEvent) -> None:
        """Tell every listener and stream of a key event; a failing listener stops no other."""
        log.info("operator key %s %s (%s)", event.key.usb_id, event.action, event.key.device)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a key listener failed on %s of %s", event.action, event.key.device)
        for stream in self._streams:
            stream.put_nowait(event)


def _attribute(device: Any, name: str) -> str:
    """Return a sysfs attribute of device as text, or '' when it has none."""
    value = device.attributes.get(name)
    return value.decode(errors="replace").strip() if isinstance(value, bytes) else ""
