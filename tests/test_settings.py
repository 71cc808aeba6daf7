from pathlib import Path

import pytest

from perspective_local.settings import Settings, SettingsError


def test_flags_beat_environment_which_beats_the_file(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('device = "cpu"\nbatch_size = 8\nlog_format = "json"\n')
    env = {"PERSPECTIVE_LOCAL_BATCH_SIZE": "16", "PERSPECTIVE_LOCAL_LOG_LEVEL": "info"}
    settings = Settings.load(config_file=config, environ=env, batch_size=64, device=None)
    assert settings.device == "cpu"  # file (flag None means "not given")
    assert settings.log_level == "INFO"  # environment
    assert settings.batch_size == 64  # flag
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
        ({"batch_size": 0}, "batch_size: must be at least 1"),
        ({"log_level": "loud"}, "log_level"),
    ],
)
def test_bad_values_name_the_setting(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(environ={}, **kwargs)


def test_bad_sources_are_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="environment PERSPECTIVE_LOCAL_BATCH_SIZE"):
        Settings.load(environ={"PERSPECTIVE_LOCAL_BATCH_SIZE": "many"})
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'blue'\n")
    with pytest.raises(SettingsError, match="unknown keys colour"):
        Settings.load(config_file=bad, environ={})
    with pytest.raises(SettingsError, match="does not exist"):
        Settings.load(config_file=tmp_path / "none.toml", environ={})


def test_server_settings_from_file_env_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('grpc_port = 6000\napi_keys = ["a", "b"]\nmax_wait_ms = 5\n')
    env = {"PERSPECTIVE_LOCAL_HTTP_PORT": "9000", "PERSPECTIVE_LOCAL_MAX_QUEUE": "64"}
    settings = Settings.load(config_file=config, environ=env, max_batch_size=16)
    assert (settings.grpc_port, settings.http_port, settings.max_queue) == (6000, 9000, 64)
    assert settings.api_keys == ("a", "b")
    assert settings.max_wait_ms == 5.0 and settings.max_batch_size == 16
    assert Settings.load(environ={"PERSPECTIVE_LOCAL_API_KEYS": "x, y,"}).api_keys == ("x", "y")
    defaults = Settings.load(environ={})
    assert (defaults.host, defaults.grpc_port, defaults.http_port) == ("127.0.0.1", 50051, 8080)
    assert defaults.max_comment_bytes == 20480 and defaults.api_keys == ()
    assert Settings.load(environ={}, api_keys="secret").as_dict()["api_keys"] == ["se***"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grpc_port": 70000}, "grpc_port: 70000 is not a port"),
        ({"max_batch_size": 0}, "max_batch_size: must be at least 1"),
        ({"max_wait_ms": -1}, "max_wait_ms: must not be negative"),
        ({"max_queue": 8}, r"max_queue \(8\) must be at least max_batch_size \(128\)"),
        ({"http_port": "eighty"}, "http_port \\(flag\\): 'eighty' is not an integer"),
    ],
)
def test_bad_server_values_name_the_setting(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(environ={}, **kwargs)
