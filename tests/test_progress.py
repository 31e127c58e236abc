"""Progress on a pipe or in a log: a line at each quarter, never a redrawn bar (issue 18)."""

from __future__ import annotations

import io

from genai.progress import LineBar, progress_bar


def test_a_bar_written_to_a_file_is_five_whole_lines():
    stream = io.StringIO()
    bar = progress_bar(total=100, desc="work", unit="step", file=stream)
    assert isinstance(bar, LineBar)
    for _ in range(100):
        bar.update(1)
    bar.set_postfix(failed=0)
    bar.write("a message between the lines", file=stream)
    bar.close()
    *lines, said = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert all(line.startswith("work:") for line in lines) and said == "a message between the lines"
    assert [line.split("|")[2].split()[0] for line in lines] == [
        "0/100",
        "25/100",
        "50/100",
        "75/100",
        "100/100",
    ]


def test_an_unfinished_bar_says_where_it_stopped_and_a_quiet_one_says_nothing():
    stream = io.StringIO()
    with progress_bar(total=10, desc="cut", file=stream) as bar:
        bar.update(3)
    assert [line.split("|")[2].split()[0] for line in stream.getvalue().splitlines()] == [
        "0/10",
        "3/10",
    ]
    quiet = io.StringIO()
    with progress_bar(total=10, desc="quiet", file=quiet, disable=True) as bar:
        bar.update(10)
    assert quiet.getvalue() == ""
