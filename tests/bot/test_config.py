"""Settings: validation names the setting; the README table and .env.example list them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters import registry
from bot.cli import main
from bot.config import ENV_PREFIX, ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def env_names() -> set[str]:
    """The core settings and every registered channel's."""
    models = [Settings, *(spec.settings for spec in registry.SPECS)]
    return {ENV_PREFIX + name.upper() for model in models for name in model.model_fields}


def test_every_setting_is_in_the_readme_table_and_env_example() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    table = set(re.findall(r"^\| `(CARELINE_[A-Z0-9_]+)` \|", readme, re.M))
    example = set(
        re.findall(r"^#? ?(CARELINE_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text("utf-8"), re.M)
    )
    assert table == env_names()
    assert example == env_names()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CARELINE_PORT", "eighty"),
        ("CARELINE_LLM_BACKEND", "gpt"),
        ("CARELINE_OLLAMA_HOST", "localhost:11434"),
        ("CARELINE_REDIS_URL", "http://127.0.0.1:6379"),
        ("CARELINE_RATE_LIMIT", "lots"),
        ("CARELINE_VAULT_KEY", "too-short"),
        ("CARELINE_HOSPITAL_REGION", "Mars"),
    ],
)
def test_invalid_setting_fails_with_its_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert variable in str(info.value)
    assert value not in str(info.value) or value in ("gpt", "Mars")  # secrets are not echoed


def test_cli_reports_bad_setting_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARELINE_CONTEXT_TURNS", "-3")
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "CARELINE_CONTEXT_TURNS" in err and "Traceback" not in err


def test_config_command_hides_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT / "tests")
    key = "u8nN0m1ZQxJ0b3Z1Yk1XQ0x0aGZ6dUJ2cE9pQ2VvZGc="
    monkeypatch.setenv("CARELINE_VAULT_KEY", key)
    monkeypatch.setenv("CARELINE_OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("CARELINE_REDIS_URL", "redis://:hunter2@db.example:6379/0")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "CARELINE_VAULT_KEY" in out and key not in out
    assert "sk-very-secret" not in out
    assert "hunter2" not in out
    assert "CARELINE_LLM_MODEL" in out and "qwen3:4b-instruct" in out


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("CARELINE_CONTEXT_TURNS=4\nCARELINE_HOSPITAL_REGION=UK\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.context_turns == 4
    assert settings.hospital.numbers["ambulance"] == "999"
