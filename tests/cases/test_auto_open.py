"""Cases the rules open, through a real NATS, core, case service and server: one per
survey session (also when re-sent), with what the mystery shopper heard linked."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.cases import (
    cases_stack,
    encounter,
    nps,
    publish_feedback,
    publish_voice,
    utterance,
    wait_case,
)
from tests.support.network import now_ms

COMMENT = "Ждал 40 минут в очереди, кассир Ольга нагрубила. Мой телефон +7 916 123-45-67"


async def test_a_detractor_with_a_comment_opens_exactly_one_linked_case(tmp_path: Path) -> None:
    async with cases_stack(tmp_path) as stack:
        t = now_ms()
        await publish_voice(stack, utterance(
            "msk-a", "desk-2", t - 60_000, "Позовите менеджера! Меня зовут Иван Петров", 0.86,
            ("позовите менеджера",)))
        rating = nps("msk-a", 3, COMMENT, session="s-1")
        await publish_feedback(stack, rating)
        [case] = await wait_case(stack, lambda items: len(items) == 1, location="msk-a")
        assert (case["source"], case["status"], case["category"]) == ("auto", "open", "service")
        assert case["who"] == "auto:detractor" and case["severity"] == "normal"
        assert "[телефон]" in case["text"] and "916" not in case["text"]
        assert "Ольга" not in case["text"]
        assert case["linked"]["session"] == "s-1" and case["linked"]["feedback_id"] == rating["id"]
        assert case["due"] >= case["opened"] > 0

        # the voice worker closes the encounter on the rating a few seconds later
        await publish_voice(stack, encounter("msk-a", "desk-2", t - 62_000, t - 58_000,
                                             rating["ts"] + 5_000, anger_max=0.86))
        [case] = await wait_case(stack, lambda items: items and items[0]["linked"]["encounter"],
                                 location="msk-a")
        heard = case["linked"]["encounter"]
        assert (heard["mic"], heard["greeting"], heard["closed_by"]) == (
            "desk-2", False, "feedback")
        assert heard["anger_max"] == 0.86 and heard["escalation_words"] == ["позовите менеджера"]
        assert "Позовите менеджера" in heard["transcript"] and "Иван" not in heard["transcript"]
        assert [s["action"] for s in case["steps"]] == ["open", "comment"]

        # the same answer re-sent after the duplicate window, and the session's next answer
        await publish_feedback(stack, rating, msg_id="msk-a:resent-" + rating["id"])
        await publish_feedback(stack, {**nps("msk-a", 1, "Ужасно", session="s-1"),
                                       "type": "csat"})
        await asyncio.sleep(1.0)
        assert await stack.running_core.wait_idle(10)
        cases = await wait_case(stack, lambda items: True, location="msk-a")
        assert len(cases) == 1 and stack.cases.worker.counts["opened"] == 3
        metrics = await stack.metrics("msk-a")
        assert metrics["incidents"]["opened"] == 1
        assert metrics["incidents"]["by_source"]["auto"]["opened"] == 1


async def test_rules_that_do_not_match_open_nothing(tmp_path: Path) -> None:
    async with cases_stack(tmp_path) as stack:
        await publish_feedback(stack, nps("msk-a", 3),  # no comment
                               nps("msk-a", 9, "Всё отлично, спасибо"),  # a promoter
                               nps("msk-b", 8, "Нормально"))
        await asyncio.sleep(1.0)
        assert await stack.running_core.wait_idle(10)
        assert await wait_case(stack, lambda items: True) == []


async def test_an_urgent_comment_and_a_voice_escalation_open_high_cases(tmp_path: Path) -> None:
    async with cases_stack(tmp_path) as stack:
        t = now_ms()
        await publish_feedback(stack, nps("ekb", 8, "Подам в суд, это мошенничество"))
        angry = utterance("msk-b", "desk-1", t - 5_000, "Верните деньги!", 0.9, ("верните деньги",))
        angry["escalation"] = {"episode": f"vi-msk-b-desk-1-{t - 5_000}", "category": "claim",
                               "reason": "escalation words «верните деньги»", "anger": 0.9,
                               "words": ["верните деньги"]}
        await publish_voice(stack, angry)
        items = await wait_case(stack, lambda items: len(items) == 2)
        by_loc = {c["location"]: c for c in items}
        assert by_loc["ekb"]["who"] == "auto:urgent-comment" and by_loc["ekb"]["severity"] == "high"
        voice = by_loc["msk-b"]
        assert (voice["channel"], voice["category"], voice["severity"]) == (
            "voice", "claim", "high")
        assert voice["who"] == "auto:voice-escalation" and "Верните деньги" in voice["text"]
