from pathlib import Path

import pytest

from perspective_local.settings import Settings, SettingsError


def test_flags_beat_environment_which_beats_the_file(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('device = "cpu"\nforward_batch_windows = 8\nlog_format = "json"\n')
    env = {"PERSPECTIVE_LOCAL_FORWARD_BATCH_WINDOWS": "16", "PERSPECTIVE_LOCAL_LOG_LEVEL": "info"}
    settings = Settings.load(config_file=config, environ=env, forward_batch_windows=64, device=None)
    assert settings.device == "cpu"  # file (flag None means "not given")
    assert settings.log_level == "INFO"  # environment
    assert settings.forward_batch_windows == 64  # flag
    assert settings.log_format == "json"


def test_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text('[perspective_local]\nmodel_dir = "~/models/x"\n')
    settings = Settings.load(environ={"PERSPECTIVE_LOCAL_CONFIG": str(config)})
    assert settings.model_dir == Path("~/models/x").expanduser()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "gpu"}, "device: 'gpu'"),
        ({"forward_batch_windows": 0}, "forward_batch_windows: must be at least 1"),
        ({"log_level": "loud"}, "log_level"),
    ],
)
def test_bad_values_name_the_setting(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(environ={}, **kwargs)


def test_bad_sources_are_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="environment PERSPECTIVE_LOCAL_FORWARD_BATCH_WINDOWS"):
        Settings.load(environ={"PERSPECTIVE_LOCAL_FORWARD_BATCH_WINDOWS": "many"})
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'blue'\n")
    with pytest.raises(SettingsError, match="unknown keys colour"):
        Settings.load(config_file=bad, environ={})
    with pytest.raises(SettingsError, match="does not exist"):
        Settings.load(config_file=tmp_path / "none.toml", environ={})


def test_server_settings_from_file_env_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('grpc_port = 6000\napi_keys = ["a", "b"]\nmax_wait_ms = 5\n')
    env = {"PERSPECTIVE_LOCAL_HTTP_PORT": "9000", "PERSPECTIVE_LOCAL_MAX_ADMITTED_TEXTS": "64"}
    settings = Settings.load(config_file=config, environ=env, max_batch_texts=16)
    assert (settings.grpc_port, settings.http_port, settings.max_admitted_texts) == (6000, 9000, 64)
    assert settings.api_keys == ("a", "b")
    assert settings.max_wait_ms == 5.0 and settings.max_batch_texts == 16
    assert Settings.load(environ={"PERSPECTIVE_LOCAL_API_KEYS": "x, y,"}).api_keys == ("x", "y")
    defaults = Settings.load(environ={})
    assert (defaults.host, defaults.grpc_port, defaults.http_port) == ("127.0.0.1", 50051, 8080)
    assert defaults.max_comment_bytes == 20480 and defaults.api_keys == ()
    assert Settings.load(environ={}, api_keys="secret").as_dict()["api_keys"] == ["se***"]
    assert defaults.ui is True
    assert Settings.load(environ={"PERSPECTIVE_LOCAL_UI": "false"}).ui is False
    (tmp_path / "ui.toml").write_text("ui = false\n")
    assert Settings.load(config_file=tmp_path / "ui.toml", environ={}, ui=True).ui is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grpc_port": 70000}, "grpc_port: 70000 is not a port"),
        ({"max_batch_texts": 0}, "max_batch_texts: must be at least 1"),
        ({"max_batch_tokens": 0}, "max_batch_tokens: must be at least 1"),
        ({"max_batch_tokens": "many"}, "max_batch_tokens \\(flag\\): 'many' is not an integer"),
        ({"max_wait_ms": -1}, "max_wait_ms: must not be negative"),
        (
            {"max_admitted_texts": 8, "max_batch_texts": 16},
            r"max_admitted_texts \(8\) must be at least max_batch_texts \(16\)",
        ),
        ({"http_port": "eighty"}, "http_port \\(flag\\): 'eighty' is not an integer"),
        ({"ui": "maybe"}, "ui \\(flag\\): 'maybe' is not true or false"),
    ],
)
def test_bad_server_values_name_the_setting(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(environ={}, **kwargs)


def test_old_keys_without_units_are_read_with_a_warning_naming_the_new_key(
    tmp_path: Path,
) -> None:
    config = tmp_path / "old.toml"
    config.write_text("batch_size = 8\nmax_batch_size = 16\n")
    env = {"PERSPECTIVE_LOCAL_MAX_QUEUE": "64"}
    with pytest.warns(FutureWarning) as caught:
        settings = Settings.load(config_file=config, environ=env)
    messages = " ".join(str(w.message) for w in caught)
    assert "use forward_batch_windows" in messages and "use max_batch_texts" in messages
    assert "use PERSPECTIVE_LOCAL_MAX_ADMITTED_TEXTS" in messages
    assert (settings.forward_batch_windows, settings.max_batch_texts) == (8, 16)
    assert settings.max_admitted_texts == 64


def test_a_new_key_wins_over_its_old_name(tmp_path: Path) -> None:
    config = tmp_path / "both.toml"
    config.write_text("max_queue = 64\nmax_admitted_texts = 512\n")
    with pytest.warns(FutureWarning, match="max_queue"):
        settings = Settings.load(config_file=config, environ={})
    assert settings.max_admitted_texts == 512
