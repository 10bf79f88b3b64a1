import pytest

from accounts.handles import (
    HandleInvalid,
    HandleReserved,
    HandleTooLong,
    HandleTooShort,
    handle_normalize,
    handle_skeleton,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Alice", "alice"), ("@bob_1", "bob_1"), ("\uff21\uff4c\uff49\uff43\uff45", "alice")],
)
def test_normalize_canonical(raw, expected):
    assert handle_normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("ab", HandleTooShort),
        ("a" * 31, HandleTooLong),
        ("al ice", HandleInvalid),
        ("al-ice", HandleInvalid),
        ("al\x00ice", HandleInvalid),
        ("caf\u00e9", HandleInvalid),
        ("\u0430lice", HandleInvalid),  # Cyrillic a: not in the alphabet
        ("admin", HandleReserved),
        ("ADM1N", HandleReserved),
        ("supp0rt", HandleReserved),
        ("payments", HandleReserved),
    ],
)
def test_normalize_rejects(raw, error):
    with pytest.raises(error) as exc:
        handle_normalize(raw)
    assert exc.value.code == error.code


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("alice", "a1ice"),
        ("alice", "al1ce"),
        ("bob", "b0b"),
        ("modern", "rnodern"),
        ("vvill", "will"),
    ],
)
def test_skeleton_folds_look_alikes(a, b):
    assert handle_skeleton(a) == handle_skeleton(b)


def test_skeleton_keeps_different_handles_apart():
    assert handle_skeleton("alice") != handle_skeleton("alina")
