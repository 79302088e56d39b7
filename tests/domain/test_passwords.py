"""New passwords: zxcvbn's breached-password and word lists, and the account's own name and e-mail."""

from __future__ import annotations

import pytest

from countersign.domain import passwords
from countersign.domain.mail_text import display_name_problem, one_line


@pytest.mark.parametrize("password, fragment", [
    ("short", "at least 10"),
    ("password123", "common"),
    ("P@ssw0rd2024", "commonly used"),
    ("qwertyuiop", "stronger"),
    ("aaaaaaaaaaaa", "stronger"),
    ("sonyrep12345", "e-mail address or name"),
    ("Jane Doe 1 2 3 4", "e-mail address or name"),
])
def test_weak_or_own_passwords_are_refused(password, fragment):
    assert fragment in passwords.problem(password, "rep.sony@example.com", "Jane Doe")


@pytest.mark.parametrize("password", ["correct horse battery", "Tr0ub4dor&3x!", "plinth velvet orbit 42"])
def test_strong_passwords_pass(password):
    assert passwords.problem(password, "rep.sony@example.com", "Jane Doe") is None


def test_header_values_are_one_line_and_names_carry_no_markup():
    assert one_line("Title\r\nBcc: x@example.com\u2028more\x00") == "Title Bcc: x@example.com more"
    assert len(one_line("x" * 500)) == 200
    assert display_name_problem("Jane\nBcc: x@example.com")
    assert display_name_problem('<a href="https://evil.example">Jane</a>')
    assert display_name_problem("Jane Doe") is None
