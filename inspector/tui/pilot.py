"""Driving the app headless as a terminal would, for its benchmarks (`bench/app.py`): keys go
in through the driver and each frame is drawn at once (Textual's test driver renders every
frame but writes it nowhere)."""

from __future__ import annotations

import asyncio
import time

from textual import events

from inspector.tui.app import InspectorApp

SIZE = (120, 40)


async def key_latencies(app: InspectorApp, presses: int) -> list[float]:
    """Per key: from the key event entering the app (as from a terminal) to the frame drawn.

    Pilot's own `press` waits for the event loop to go idle, which adds tens of
    milliseconds a real terminal does not; here the key goes in through the driver, the
    loop runs until the move happened, and the screen's update (layout, render, write to
    the headless driver) is run at once.
    """
    times = []
    async with app.run_test(size=SIZE) as pilot:
        while app.scoring != "done":
            await pilot.pause(0.01)
        await pilot.pause()
        driver = app._driver
        assert driver is not None
        for i in range(presses):
            key = "right" if (i // 50) % 2 == 0 else "left"
            before = (app.session.doc, app.session.pos)
            started = time.perf_counter()
            driver.send_message(events.Key(key, None))
            for _ in range(1000):
                await asyncio.sleep(0)
                if (app.session.doc, app.session.pos) != before:
                    break
            app.screen._on_timer_update()  # layout, render and write the new frame
            times.append(time.perf_counter() - started)
    return times
