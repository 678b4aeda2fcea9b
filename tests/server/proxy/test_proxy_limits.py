"""The proxy's bounds: per notebook and per session, a short wait, then Busy."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from nbpresign.server.proxy.limits import DEFAULT_LIMITS, Budget, Busy, Limits, Places

SHORT = 0.05  # seconds of waiting for a place, in these tests


async def test_places_hold_their_bound_and_forget_idle_keys() -> None:
    places = Places(2)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(places.held("nb"))
        await stack.enter_async_context(places.held("nb"))
        assert places.in_use("nb") == 2
        third = asyncio.ensure_future(stack.enter_async_context(places.held("nb")))
        await asyncio.sleep(0)
        assert not third.done()  # waits while both are held
        third.cancel()
        await asyncio.gather(third, return_exceptions=True)
    assert places.in_use("nb") == 0
    assert places._gates == {}  # no memory kept for a key nobody holds


async def test_one_session_cannot_take_a_whole_notebook() -> None:
    budget = Budget(per_notebook=3, per_session=2, wait_seconds=SHORT)
    async with budget.place("nb", "greedy"), budget.place("nb", "greedy"):
        with pytest.raises(Busy):
            async with budget.place("nb", "greedy"):
                pass
        # The greedy session's third try never held a notebook place: another gets it.
        async with budget.place("nb", "other"):
            assert budget.notebooks.in_use("nb") == 3


async def test_a_full_notebook_is_busy_for_everyone_and_others_are_not() -> None:
    budget = Budget(per_notebook=2, per_session=5, wait_seconds=SHORT)
    async with budget.place("nb", "a"), budget.place("nb", "b"):
        with pytest.raises(Busy):
            async with budget.place("nb", "c"):
                pass
        async with budget.place("other-nb", "c"):
            pass


async def test_a_place_freed_during_the_wait_is_taken() -> None:
    budget = Budget(per_notebook=1, per_session=1, wait_seconds=30)
    release = asyncio.Event()

    async def hold() -> None:
        async with budget.place("nb", "a"):
            await release.wait()

    holder = asyncio.ensure_future(hold())
    await asyncio.sleep(0)
    waiter = asyncio.ensure_future(_enter(budget, "nb", "b"))
    await asyncio.sleep(0)
    assert not waiter.done()
    release.set()
    await asyncio.wait_for(waiter, 10)
    await holder


async def _enter(budget: Budget, notebook: str, session: str) -> None:
    async with budget.place(notebook, session):
        pass


async def test_no_wait_is_an_answer_at_once() -> None:
    budget = Budget(per_notebook=1, per_session=1, wait_seconds=0)
    async with budget.place("nb", "a"):
        with pytest.raises(Busy):
            await _enter(budget, "nb", "b")
    await _enter(budget, "nb", "b")  # free again


def test_the_defaults_fit_a_team_of_50_with_10_tabs_each() -> None:
    people, websockets_each, requests_each = 50, 25, 6  # 6: a browser's connections per host
    assert DEFAULT_LIMITS.websockets_per_session >= websockets_each
    assert DEFAULT_LIMITS.websockets_per_notebook >= people * websockets_each
    assert DEFAULT_LIMITS.requests_per_session >= requests_each
    assert DEFAULT_LIMITS.requests_per_notebook >= people * requests_each
    # ... and no one browser can hold a whole notebook's places.
    assert DEFAULT_LIMITS.websockets_per_session < DEFAULT_LIMITS.websockets_per_notebook
    assert DEFAULT_LIMITS.requests_per_session < DEFAULT_LIMITS.requests_per_notebook


@pytest.mark.parametrize(
    "bad",
    [
        {"requests_per_notebook": 0},
        {"websockets_per_session": -1},
        {"wait_seconds": -0.5},
    ],
)
def test_bounds_must_be_positive(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        Limits(**bad)  # type: ignore[arg-type]
