"""Every stable error code in the codebase has a human sentence in ``core.error_messages``.

The codes are found, not listed: every ``DomainError`` and ``ProcessorError`` subclass of
every module of the project, every ``code="..."`` given to an exception where it is raised
or built, every ``failure_code=`` / ``decline_code=`` written in code, the sandbox's card
declines and payout failures, and the kinds of ``limit_exceeded``. A new code without a
sentence fails here."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

from core import error_messages
from core.error_messages import (
    DECLINE_MESSAGES,
    LIMIT_MESSAGES,
    MESSAGES,
    PAYOUT_FAILURE_MESSAGES,
    error_message,
)
from core.exceptions import DomainError

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "accounts", "posts", "payments", "ledger")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _modules():
    for app in APPS:
        package = importlib.import_module(app)
        yield package.__name__
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".tests" in info.name or ".migrations" in info.name:
                continue
            yield info.name


def _subclasses(cls) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _error_classes() -> set[type]:
    from payments.processors.base import ProcessorError

    for name in _modules():
        importlib.import_module(name)
    return _subclasses(DomainError) | _subclasses(ProcessorError) | {DomainError}


def _source_files():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).parts  # not the checkout's own folder names
            if "tests" in parts or "migrations" in parts:
                continue
            yield path


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _codes_in_source() -> tuple[set[str], set[str]]:
    """(error codes given to exceptions, failure/decline codes written as literals)."""
    errors, failures = set(), set()
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            for kw in node.keywords:
                if not isinstance(kw.value, ast.Constant) or not isinstance(kw.value.value, str):
                    continue
                value = kw.value.value
                if kw.arg == "code" and (
                    name.endswith(("Error", "Declined", "Failed", "Unavailable"))
                    or name.startswith("_invalid")
                ):
                    errors.add(value)
                elif kw.arg in {"failure_code", "decline_code"} and value:
                    failures.add(value)
    return errors, failures


def test_every_domain_and_processor_error_class_has_a_message():
    codes = {cls.code for cls in _error_classes()}
    # The walk really found the codebase's codes (a broken walk would pass vacuously).
    assert {"insufficient_funds", "quote_expired", "card_declined", "handle_taken"} <= codes
    assert len(codes) > 80
    missing = sorted(c for c in codes if c not in MESSAGES)
    assert not missing, f"add these codes to core/error_messages.py MESSAGES: {missing}"


def test_every_code_raised_inline_has_a_message():
    errors, failures = _codes_in_source()
    assert {"payment_intent_unexpected_state", "stale_webhook"} <= errors
    missing = sorted(c for c in errors if c not in MESSAGES)
    assert not missing, f"add these codes to core/error_messages.py MESSAGES: {missing}"
    missing = sorted(
        c
        for c in failures
        if c not in MESSAGES and c not in DECLINE_MESSAGES | PAYOUT_FAILURE_MESSAGES
    )
    assert not missing, f"add these failure codes to core/error_messages.py: {missing}"


def test_every_card_decline_and_payout_failure_of_the_processor_has_a_message():
    from payments.processors.sandbox.engine import CARD_DECLINES, PAYOUT_FAILURES

    for code, decline_code, _text in CARD_DECLINES.values():
        assert code in MESSAGES, code
        assert decline_code in DECLINE_MESSAGES, decline_code
    assert set(PAYOUT_FAILURES) <= set(PAYOUT_FAILURE_MESSAGES)


def test_every_kind_of_limit_has_a_message():
    source = (ROOT / "payments" / "wallets" / "limits.py").read_text()
    kinds = set(re.findall(r'"limit":\s*"(\w+)"', source))
    assert kinds == {"per_transfer", "weekly_send", "velocity"}
    assert kinds <= set(LIMIT_MESSAGES)


@pytest.mark.parametrize(
    "catalogue", [MESSAGES, DECLINE_MESSAGES, PAYOUT_FAILURE_MESSAGES, LIMIT_MESSAGES]
)
def test_messages_are_sentences_for_people(catalogue):
    for code, message in catalogue.items():
        text = str(message)
        assert CODE.match(code), code
        assert text[0].isupper() and text.endswith("."), (code, text)
        assert "_" not in text, f"{code}: a sentence, not a code: {text}"


def test_error_message_picks_the_most_precise_sentence():
    from payments.wallets.errors import CardDeclined, LimitExceeded, VelocityExceeded

    expired = CardDeclined(details={"decline_code": "expired_card"})
    assert error_message(expired) == str(DECLINE_MESSAGES["expired_card"])
    assert error_message(CardDeclined()) == str(MESSAGES["card_declined"])
    weekly = LimitExceeded(details={"limit": "weekly_send"})
    assert error_message(weekly) == str(LIMIT_MESSAGES["weekly_send"])
    assert error_message(VelocityExceeded(details={"limit": "velocity"})).startswith("Too many")
    assert error_message("quote_expired") == str(MESSAGES["quote_expired"])
    # An unknown code never shows technical text.
    assert error_message("something_new") == str(error_messages.FALLBACK)
