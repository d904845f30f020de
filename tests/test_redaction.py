"""No URL password reaches a file or a message (issue 13, finding 1)."""

import pytest

from tunebench.cli import main
from tunebench.redaction import redact_argv, redact_text

PASSWORD = "s3/cr:et?x@y"


@pytest.mark.parametrize("text, expected", [
    ("postgresql://alice:secret@db.example:5432/tb", "postgresql://alice:***@db.example:5432/tb"),
    (f"postgresql://alice:{PASSWORD}@db/tb", "postgresql://alice:***@db/tb"),
    ("cannot open 'mysql+pymysql://u:p@h/d': refused", "cannot open 'mysql+pymysql://u:***@h/d': refused"),
    ("sqlite:///results/optuna.db", "sqlite:///results/optuna.db"),
    ("tcp://10.0.0.5:8786 and http://host:5000/x", "tcp://10.0.0.5:8786 and http://host:5000/x"),
])
def test_redact_text_hides_every_url_password_and_nothing_else(text, expected):
    assert redact_text(text) == expected


def test_redact_argv_covers_both_option_spellings():
    argv = ["tunebench", "run", "--optuna-storage", f"postgresql://a:{PASSWORD}@h/d", f"--mlflow=http://b:{PASSWORD}@h"]
    assert PASSWORD not in " ".join(redact_argv(argv))
    assert redact_argv(argv)[:3] == argv[:3]


def test_a_results_folder_run_with_a_password_holds_none(tiny_data_dir, tmp_path, monkeypatch):
    """The storage is unused by a random-only suite, so the run finishes and writes every file."""
    suite = tmp_path / "one.toml"
    suite.write_text('name = "one"\nseeds = [0]\nstrategies = ["random"]\n'
                     '[benchmarks.mnist-mlp]\nmax_epochs = 1\ntrials = 1\n')
    out = tmp_path / "out"
    argv = ["run", str(suite), "--data-dir", str(tiny_data_dir), "--out", str(out),
            "--optuna-storage", f"postgresql://alice:{PASSWORD}@db.example/tb"]
    monkeypatch.setattr("sys.argv", ["tunebench", *argv])
    assert main(argv) == 0
    files = [path for path in out.rglob("*") if path.is_file()]
    assert any(path.name == "manifest.json" for path in files)
    for path in files:
        assert PASSWORD.encode() not in path.read_bytes(), path
    assert "alice:***@db.example" in (out / "manifest.json").read_text()


def test_an_id_of_non_ascii_digits_exits_2(tiny_data_dir, tmp_path, capsys):
    assert main(["run", "smoke", "--benchmarks", "mnist-mlp", "--id", "²²²²²²²²", "--data-dir", str(tiny_data_dir),
                 "--out", str(tmp_path / "out")]) == 2
    assert "expected exactly 8 digits" in capsys.readouterr().err
