# Hebrew names are the subject of some of these tests.
"""The roster parser (classrooms/roster_import.py): plain Python, no database."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from classrooms import roster_import as ri
from classrooms.roster_import import parse_csv, parse_pasted


def _errors(result: ri.ImportResult) -> list[tuple[int, str]]:
    return [(error.line, error.code) for error in result.errors]


def _names(result: ri.ImportResult) -> list[str]:
    return [row.name for row in result.rows]


# --- Pasted names ----------------------------------------------------------------------------------


def test_it_reads_one_name_per_line_and_skips_blank_lines() -> None:
    result = parse_pasted("Dana\n\n  Eli  \r\nNoa   Levi\n\n")
    assert result.ok
    assert _names(result) == ["Dana", "Eli", "Noa Levi"]
    assert [row.line for row in result.rows] == [1, 3, 4]
    assert result.errors == []


def test_it_gives_each_bad_pasted_line_its_own_error_with_its_line_number() -> None:
    text = "\n".join(["Dana", "x" * 81, "dana", "Eli", "Maya", "  DANA "])
    result = parse_pasted(text, existing_names=["Maya"])
    assert _names(result) == ["Dana", "Eli"]
    assert _errors(result) == [
        (2, ri.NAME_TOO_LONG),
        (3, ri.DUPLICATE_IN_FILE),
        (5, ri.DUPLICATE_IN_ROSTER),
        (6, ri.DUPLICATE_IN_FILE),
    ]
    assert result.errors[0].params == {"length": 81, "limit": 80}
    assert result.errors[1].params["first_line"] == 1


def test_it_accepts_a_name_of_exactly_80_characters() -> None:
    assert _names(parse_pasted("y" * 80)) == ["y" * 80]


def test_it_keeps_commas_in_pasted_names_and_reads_a_tab_as_the_group_column() -> None:
    result = parse_pasted("Cohen, Dana\nEli\tBlue\nNoa\tBlue\tExtra")
    assert [(row.name, row.group_label) for row in result.rows] == [("Cohen, Dana", ""), ("Eli", "Blue")]
    assert _errors(result) == [(3, ri.TOO_MANY_COLUMNS)]


def test_it_skips_a_pasted_heading_copied_from_a_spreadsheet() -> None:
    assert _names(parse_pasted("Name\nDana\nEli")) == ["Dana", "Eli"]


def test_it_reads_hebrew_names_and_compares_them_after_normalising() -> None:
    result = parse_pasted("דנה\nאלי\nדנה ")
    assert _names(result) == ["דנה", "אלי"]
    assert _errors(result) == [(3, ri.DUPLICATE_IN_FILE)]


def test_it_refuses_more_than_500_pasted_names() -> None:
    result = parse_pasted("\n".join(f"Student {n}" for n in range(501)))
    assert result.file_error == ri.FileError(ri.TOO_MANY_ROWS, {"count": 501, "limit": 500})
    assert result.rows == []


def test_it_accepts_exactly_500_names() -> None:
    assert len(parse_pasted("\n".join(f"Student {n}" for n in range(500))).rows) == 500


def test_it_says_when_there_are_no_names() -> None:
    assert parse_pasted("\n  \n").file_error == ri.FileError(ri.EMPTY_FILE)


# --- CSV files -------------------------------------------------------------------------------------


def test_it_reads_a_csv_with_a_header_and_group_labels() -> None:
    result = parse_csv(b"name,group\nDana,Blue\nEli,Green\nNoa,\n")
    assert [(row.line, row.name, row.group_label) for row in result.rows] == [
        (2, "Dana", "Blue"),
        (3, "Eli", "Green"),
        (4, "Noa", ""),
    ]


def test_it_reads_a_csv_without_a_header() -> None:
    result = parse_csv(b"Dana,Blue\nEli\n")
    assert [(row.line, row.name, row.group_label) for row in result.rows] == [(1, "Dana", "Blue"), (2, "Eli", "")]


def test_it_reads_utf8_with_a_byte_order_mark_as_excel_saves_it() -> None:
    data = "\ufeffname,group\nדנה,כחול\nEli,Green\n".encode()
    result = parse_csv(data)
    assert result.ok
    assert [(row.name, row.group_label) for row in result.rows] == [("דנה", "כחול"), ("Eli", "Green")]


def test_it_refuses_a_file_that_is_not_utf8_with_a_clear_reason() -> None:
    for data in ("name\nZoë\nRené\n".encode("cp1252"), "שם\nדנה\nאלי\n".encode("cp1255")):
        result = parse_csv(data)
        assert result.file_error is not None
        assert result.file_error.code == ri.NOT_UTF8
        assert result.rows == []


def test_it_refuses_utf16_as_not_utf8() -> None:
    assert parse_csv("name\nDana\n".encode("utf-16")).file_error == ri.FileError(ri.NOT_UTF8)


def test_it_refuses_binary_content() -> None:
    assert parse_csv(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").file_error == ri.FileError(ri.BINARY)
    assert parse_csv(bytes(range(1, 32)) * 10).file_error == ri.FileError(ri.BINARY)


def test_it_recognises_an_excel_file_uploaded_instead_of_a_csv() -> None:
    assert parse_csv(b"PK\x03\x04" + b"\x00" * 100).file_error == ri.FileError(ri.SPREADSHEET)


def test_it_refuses_a_file_over_one_megabyte() -> None:
    data = b"Dana\n" * (ri.MAX_BYTES // 5 + 1)
    result = parse_csv(data)
    assert result.file_error == ri.FileError(ri.FILE_TOO_LARGE, {"limit_mb": 1})


def test_it_refuses_more_than_500_rows_not_counting_the_header() -> None:
    body = "\n".join(f"Student {n}" for n in range(500))
    assert parse_csv(("name\n" + body).encode()).ok
    result = parse_csv(("name\n" + body + "\nOne more").encode())
    assert result.file_error == ri.FileError(ri.TOO_MANY_ROWS, {"count": 501, "limit": 500})


def test_it_reports_every_bad_csv_row_with_its_line_and_reason() -> None:
    data = "\n".join(
        [
            "name,group",  # 1
            "Dana,Blue",  # 2
            ",Blue",  # 3 empty name
            "Eli,Green,extra",  # 4 too many columns
            "dana,Green",  # 5 duplicate of line 2
            "Maya,Blue",  # 6 already on the roster
            "z" * 81 + ",Blue",  # 7 too long
            "Noa," + "g" * 41,  # 8 group too long
            "Ari,Blue,,",  # 9 trailing empty cells are fine
        ]
    ).encode()
    result = parse_csv(data, existing_names=["maya"])
    assert _names(result) == ["Dana", "Ari"]
    assert _errors(result) == [
        (3, ri.EMPTY_NAME),
        (4, ri.TOO_MANY_COLUMNS),
        (5, ri.DUPLICATE_IN_FILE),
        (6, ri.DUPLICATE_IN_ROSTER),
        (7, ri.NAME_TOO_LONG),
        (8, ri.GROUP_TOO_LONG),
    ]
    assert result.errors[1].params == {"count": 3}
    assert result.errors[0].text == ",Blue"


def test_it_reads_semicolon_and_tab_separated_exports() -> None:
    assert [(r.name, r.group_label) for r in parse_csv(b"Dana;Blue\nEli;Green").rows] == [
        ("Dana", "Blue"),
        ("Eli", "Green"),
    ]
    assert [(r.name, r.group_label) for r in parse_csv(b"Dana\tBlue").rows] == [("Dana", "Blue")]


def test_it_counts_lines_correctly_after_a_quoted_field_with_a_line_break() -> None:
    result = parse_csv(b'name,group\n"Dana\nLevi",Blue\n,Green\n')
    assert _names(result) == ["Dana Levi"]
    assert _errors(result) == [(4, ri.EMPTY_NAME)]


def test_it_refuses_a_csv_with_only_a_header() -> None:
    assert parse_csv(b"name,group\n").file_error == ri.FileError(ri.EMPTY_FILE)


# --- Properties ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_it_never_crashes_on_arbitrary_bytes(data: bytes) -> None:
    result = parse_csv(data)
    assert result.file_error is not None or result.rows or result.errors


names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=0, max_size=100)


@settings(max_examples=200, deadline=None)
@given(st.lists(names, max_size=60), st.lists(names, max_size=5))
def test_it_accounts_for_every_non_blank_line_once_and_keeps_good_rows_valid(
    lines: list[str], existing: list[str]
) -> None:
    text = "\n".join(line.replace("\t", " ") for line in lines)
    result = parse_pasted(text, existing_names=existing)
    if result.file_error is not None:
        return
    non_blank = [n for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    reported = sorted([row.line for row in result.rows] + [error.line for error in result.errors])
    header = 1 if non_blank and ri.name_key(text.split("\n")[non_blank[0] - 1]) in ri.HEADER_NAMES else 0
    assert reported == non_blank[header:]
    keys = [ri.name_key(row.name) for row in result.rows]
    assert len(keys) == len(set(keys))
    assert not set(keys) & {ri.name_key(name) for name in existing}
    assert all(0 < len(row.name) <= ri.MAX_NAME_LENGTH for row in result.rows)
