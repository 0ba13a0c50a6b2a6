"""Operator keys come and go on the USB bus, and the watch says so: pyudev driven by umockdev."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hsm.usb import YUBIKEY_5, KeyAction, KeyEvent, KeyWatch, UsbId, UsbIdError, UsbKey
from tests.hsm.operator_bed import (
    UsbBed,
    needs_umockdev,
    next_event,
    run_under_umockdev,
    spawns_umockdev,
)


def test_usb_ids_read_as_lsusb_prints_them() -> None:
    assert UsbId.parse("1050:0407") == YUBIKEY_5
    assert str(UsbId.parse(" 20A0:4108 ")) == "20a0:4108"
    for wrong in ("yubikey", "1050-0407", "1050:407", "10500:0407", "1050:04g7"):
        with pytest.raises(UsbIdError, match="write vendor:product in hex"):
            UsbId.parse(wrong)


@spawns_umockdev
def test_usb_events_under_umockdev() -> None:
    run_under_umockdev(__file__, "TestKeyWatchOnUsb")


@pytest.fixture
def usb() -> Iterator[UsbBed]:
    """Yield a bed of fake USB devices with none plugged in; unplug what is left after."""
    bed = UsbBed()
    yield bed
    bed.clear()


@needs_umockdev
class TestKeyWatchOnUsb:
    """Keys plugged in and pulled out through umockdev, seen through pyudev."""

    async def test_keys_plugged_in_before_the_start_are_present(self, usb: UsbBed) -> None:
        key = usb.plug(serial="0012345678", product="YubiKey OTP+FIDO+CCID")
        usb.plug("046d:c52b", product="USB Receiver")
        async with KeyWatch([YUBIKEY_5]) as watch:
            assert watch.present() == [
                UsbKey(key, YUBIKEY_5, "0012345678", "YubiKey OTP+FIDO+CCID")
            ]
            assert watch.find(key) == watch.present()[0]

    async def test_a_key_plugged_in_is_announced_and_listed(self, usb: UsbBed) -> None:
        heard: list[KeyEvent] = []
        async with KeyWatch([YUBIKEY_5, UsbId.parse("20a0:4108")]) as watch:
            watch.subscribe(heard.append)
            events = watch.events()
            usb.plug("046d:c52b", product="USB Receiver")
            key = usb.plug(serial="0012345678")
            event = await next_event(events)
            assert event == KeyEvent(KeyAction.ADDED, UsbKey(key, YUBIKEY_5, "0012345678",
                                                             "YubiKey"))
            assert heard == [event]
            assert watch.present() == [event.key]

    async def test_a_key_pulled_out_is_announced_and_unlisted(self, usb: UsbBed) -> None:
        kept, pulled = usb.plug(serial="1"), usb.plug(serial="2")
        async with KeyWatch([YUBIKEY_5]) as watch:
            events = watch.events()
            usb.announce_removal(pulled)
            event = await next_event(events)
            usb.unplug(pulled)
            assert (event.action, event.key.device, event.key.serial) == (
                KeyAction.REMOVED, pulled, "2")
            assert [key.device for key in watch.present()] == [kept]
            assert watch.find(pulled) is None

    async def test_a_failing_listener_does_not_silence_the_others(self, usb: UsbBed) -> None:
        heard: list[KeyEvent] = []

        def broken(event: KeyEvent) -> None:
            raise RuntimeError("listener bug")

        async with KeyWatch([YUBIKEY_5]) as watch:
            watch.subscribe(broken)
            watch.subscribe(heard.append)
            events = watch.events()
            usb.plug()
            event = await next_event(events)
            assert heard == [event]

    async def test_an_unsubscribed_listener_hears_nothing(self, usb: UsbBed) -> None:
        heard: list[KeyEvent] = []
        async with KeyWatch([YUBIKEY_5]) as watch:
            unsubscribe = watch.subscribe(heard.append)
            unsubscribe()
            events = watch.events()
            usb.plug()
            await next_event(events)
            assert heard == []

    async def test_stopping_ends_the_streams_and_forgets_the_keys(self, usb: UsbBed) -> None:
        usb.plug()
        watch = KeyWatch([YUBIKEY_5])
        watch.start()
        events = watch.events()
        assert len(watch.present()) == 1
        watch.stop()
        assert [event async for event in events] == []
        assert watch.present() == []
        watch.start()
        assert len(watch.present()) == 1
        watch.stop()
