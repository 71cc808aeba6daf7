import json
import logging

import pytest

from perspective_local.logs import configure_logging


def test_json_logs_carry_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("perspective_local.test").info("scored", extra={"texts": 3, "ms": 1.5})
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["message"] == "scored" and entry["texts"] == 3 and entry["ms"] == 1.5
    assert entry["level"] == "INFO" and entry["logger"] == "perspective_local.test"
    configure_logging("WARNING", "text")
