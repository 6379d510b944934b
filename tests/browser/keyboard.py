"""Filling the console's forms from the keyboard, as a clerk does: typing, arrow keys, space.

Nothing here sets a value through the DOM: each helper focuses the field and presses keys, then
checks that the field holds what was meant (a helper that silently failed would make a test
pass on a form that was never filled).
"""

from __future__ import annotations

from typing import Any


def field(page: Any, field_id: str) -> Any:
    return page.locator(f"[id='{field_id}']")


def type_text(page: Any, field_id: str, text: str) -> None:
    """Replace the field's text by typing ``text``."""
    box = field(page, field_id)
    box.focus()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    box.press_sequentially(text)
    assert box.input_value() == text, f"{field_id}: {box.input_value()!r}"


def type_date(page: Any, field_id: str, iso: str) -> None:
    """Type a date into an <input type=date>: its segments follow the browser's locale (month,
    day, year or year, month, day), so the digits are typed in the order that takes."""
    box = field(page, field_id)
    year, month, day = iso.split("-")
    for digits in (month + day + year, year + month + day, day + month + year):
        box.evaluate("el => { el.value = '' }")  # a clean field for the order tried
        box.focus()
        page.keyboard.type(digits)
        if box.input_value() == iso:
            return
    raise AssertionError(f"{field_id}: could not type {iso}, got {box.input_value()!r}")


def choose(page: Any, field_id: str, value: str) -> None:
    """Pick an option of a <select> with the arrow keys (the list is not opened)."""
    box = field(page, field_id)
    box.focus()
    count = box.locator("option").count()
    if box.input_value() == value:
        return
    page.keyboard.press("Home")
    for _ in range(count):
        if box.input_value() == value:
            return
        page.keyboard.press("ArrowDown")
    assert box.input_value() == value, f"{field_id}: no option {value!r}"


def choose_label(page: Any, field_id: str, text: str) -> None:
    """Pick the option of a <select> whose label contains ``text``, with the arrow keys."""
    box = field(page, field_id)
    labels = box.locator("option").all_inner_texts()
    matching = [i for i, label in enumerate(labels) if text in label]
    assert len(matching) == 1, f"{field_id}: {text!r} in {labels}"
    value = box.locator("option").nth(matching[0]).get_attribute("value")
    choose(page, field_id, value or "")


def check(page: Any, field_id: str, on: bool = True) -> None:
    """Tick (or untick) a checkbox with the space bar."""
    box = field(page, field_id)
    box.focus()
    if box.is_checked() != on:
        page.keyboard.press("Space")
    assert box.is_checked() == on, field_id


def press_button(page: Any, button_id: str) -> None:
    """Activate a button from the keyboard (focus, Enter)."""
    button = field(page, button_id)
    button.focus()
    page.keyboard.press("Enter")
