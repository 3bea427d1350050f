"""French postcodes and départements, and the parsing of what people type as their area."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import use_language
from bot.services.areas import department_of, looks_like_postcode, parse_postcode
from bot.services.volunteers import Invalid, parse_location, parse_name, parse_place
from handlers.joining_text import answer_problem


@pytest.mark.parametrize(
    ("code", "department"),
    [
        ("01000", "01"),
        ("75011", "75"),
        ("95000", "95"),
        ("20000", "2A"),
        ("20190", "2A"),
        ("20200", "2B"),
        ("20620", "2B"),
        ("97100", "971"),
        ("97400", "974"),
        ("97600", "976"),
        ("98800", "988"),
        ("20700", None),
        ("98000", None),  # Monaco is not a département
        ("00000", None),
        ("96000", None),
        ("99999", None),
        ("7501", None),
        ("750111", None),
        ("7501a", None),
    ],
)
def test_departement_of_postcodes(code: str, department: str | None) -> None:
    assert department_of(code) == department


@given(st.from_regex(r"\A[0-9]{5}\Z"))
def test_any_valid_postcode_has_a_well_formed_departement(code: str) -> None:
    department = department_of(code)
    if department is None:
        return
    if code.startswith(("97", "98")):
        assert department == code[:3]
    elif code.startswith("20"):
        assert department in ("2A", "2B")
    else:
        assert department == code[:2] and "01" <= department <= "95"


def test_spaces_in_a_postcode_are_ignored() -> None:
    postcode = parse_postcode(" 75 011 ")
    assert postcode is not None and (postcode.code, postcode.department) == ("75011", "75")
    assert looks_like_postcode("7 5") and not looks_like_postcode("Paris 75")


@settings(deadline=None)  # the first call reads the communes
@given(st.text(max_size=300))
def test_typed_places_are_stored_clean_or_refused(text: str) -> None:
    with use_language("en"):
        try:
            columns = parse_place(text)
        except Invalid as problem:
            assert str(problem)
            return
    if columns["postcode"]:
        assert department_of(columns["postcode"]) == columns["department"]
    else:
        place = columns["place"]
        assert 0 < len(place) <= 200
        assert "\u202e" not in place and "\u200b" not in place and "\n" not in place


@given(st.text(max_size=300))
def test_names_are_stored_clean_or_refused(text: str) -> None:
    with use_language("fr"):
        try:
            name = parse_name(text)
        except Invalid:
            return
    assert 0 < len(name) <= 200 and name == name.strip()
    assert not any(c in name for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2069\u200b\ufeff")


def test_impossible_coordinates_are_refused() -> None:
    # The service names the problem; the onboarding flow's presenter says it.
    with use_language("en"):
        with pytest.raises(Invalid) as refused:
            parse_location(91.0, 0.0)
        assert "postcode instead" in answer_problem(refused.value)
    assert parse_location(-21.1151, 55.5364)["latitude"] == -21.1151


def test_coordinates_typed_the_french_way_are_a_position_and_bare_numbers_no_town() -> None:
    paris = parse_place("48,8566, 2,3522")  # before: a "town abroad" named 48,8566
    assert (paris["department"], paris["latitude"], paris["longitude"]) == ("75", 48.8566, 2.3522)
    assert parse_place("48,8566; 2,3522") == paris == parse_place("48.8566, 2.3522")
    for typed in ("0, 0", "0.0, 0.0", "48, 2"):
        with pytest.raises(Invalid) as refused:
            parse_place(typed)
        assert refused.value.kind == "location.impossible", typed
    assert parse_place("London, United Kingdom")["place"] == "London, United Kingdom"
