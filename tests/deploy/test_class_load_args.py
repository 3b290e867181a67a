"""bench.class_load's bounds: loopback URLs only, a bounded class."""

import pytest

from bench import class_load
from bench.st_client import check_loopback


@pytest.mark.parametrize("url", ["http://10.0.0.5:8501", "http://example.org", "https://127.0.0.1:8501"])
def test_only_loopback_http_urls_are_load_tested(url, capsys):
    with pytest.raises(ValueError):
        check_loopback(url)
    assert class_load.main(["--url", url]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["http://127.0.0.1:8501", "http://localhost:8501", "http://[::1]:8501"])
def test_loopback_urls_are_accepted(url):
    check_loopback(url)


@pytest.mark.parametrize("argv", [["--students", "0"], ["--students", "501"], ["--minutes", "0"], ["--minutes", "61"]])
def test_the_class_is_bounded(argv):
    with pytest.raises(SystemExit):
        class_load.parse_args(["--url", "http://127.0.0.1:8501", *argv])
