"""The lexicon is data staff can tune, and the resources a patient sees are right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moderation import Detector, LexiconError, crisis_resources, load_lexicon
from moderation.lexicon import DEFAULT_PATH

REPO = Path(__file__).resolve().parents[2]


def _write(path: Path, data: dict) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _override(**extra: object) -> dict:
    return {"version": "staff-1", "reviewed_by": "Dr. Test", "date": "2025-06-02", **extra}


def test_default_lexicon_is_versioned_reviewed_and_bilingual() -> None:
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert data["version"] and data["reviewed_by"] and data["date"]
    assert len(data["entries"]) >= 300
    assert {e["language"] for e in data["entries"]} == {"en", "es"}
    lexicon = load_lexicon()
    assert lexicon.version == data["version"]


def test_override_adds_a_term_staff_asked_for(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "override.json",
        _override(
            entries=[{"term": "going to the train tracks", "category": "suicide", "severity": "high", "language": "en"}]
        ),
    )
    detector = Detector(load_lexicon(path))
    assert detector.scan("im going to the train tracks tonight").severity == "high"
    assert detector.lexicon.version.endswith("+staff-1")


def test_override_disables_a_misfiring_phrase(tmp_path: Path) -> None:
    base = Detector(load_lexicon())
    assert base.scan("i'm craving a drink so bad").flagged
    path = _write(
        tmp_path / "override.json", _override(disable=["(want|need) a drink (so bad|so badly|right now|rn)", "craving"])
    )
    tuned = Detector(load_lexicon(path))
    assert not tuned.scan("i want a drink so bad").flagged
    assert not tuned.scan("craving").flagged
    assert tuned.scan("i want to kill myself").severity == "high"  # everything else still there


def test_override_disable_of_an_unknown_term_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "override.json", _override(disable=["no such term"]))
    with pytest.raises(LexiconError, match=r"override\.json.*no such term"):
        load_lexicon(path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"term": "x y", "category": "sadness", "severity": "high", "language": "en"}, "category 'sadness'"),
        ({"term": "x y", "category": "suicide", "severity": "urgent", "language": "en"}, "severity 'urgent'"),
        ({"term": "x y", "category": "suicide", "severity": "high", "language": "fr"}, "language 'fr'"),
        ({"term": "", "category": "suicide", "severity": "high", "language": "en"}, "'term' is required"),
        ({"term": "(a|(b|c))", "category": "suicide", "severity": "high", "language": "en"}, "bad term"),
        ({"term": "x", "category": "suicide", "severity": "high", "language": "en", "severty": "x"}, "unknown keys"),
        ({"term": "!!!", "category": "suicide", "severity": "high", "language": "en"}, "normalises to nothing"),
    ],
)
def test_invalid_lexicon_entry_raises_an_error_naming_file_and_entry(tmp_path: Path, entry: dict, message: str) -> None:
    path = _write(
        tmp_path / "bad.json",
        _override(entries=[{"term": "fine one", "category": "suicide", "severity": "low", "language": "en"}, entry]),
    )
    with pytest.raises(LexiconError) as info:
        load_lexicon(path)
    assert "bad.json" in str(info.value)
    assert "entries[1]" in str(info.value)
    assert message in str(info.value)


def test_unreadable_or_malformed_lexicon_file_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"broken\.json: not valid JSON"):
        load_lexicon(str(broken))
    with pytest.raises(LexiconError, match="'version' is required"):
        load_lexicon(_write(tmp_path / "noversion.json", {"reviewed_by": "x", "date": "y"}))


@pytest.mark.parametrize("language", ["en", "es"])
def test_crisis_resources_include_every_required_number(language: str) -> None:
    message, resources = crisis_resources(language, "+1 555 0100")
    contacts = " ".join(r["contact"] + " " + r["note"] for r in resources)
    assert message
    for required in ("988", "AYUDA", "741741", "HOME", "911", "1-800-222-1222", "+1 555 0100"):
        assert required in contacts, required
    assert all(set(r) == {"name", "contact", "note"} for r in resources)


@pytest.mark.parametrize("language", ["en", "es"])
def test_samhsa_is_listed_last_as_treatment_referral_never_as_crisis_line(language: str) -> None:
    _, resources = crisis_resources(language, None)
    samhsa = [r for r in resources if "662-4357" in r["contact"]]
    assert len(samhsa) == 1 and resources[-1] is samhsa[0]
    assert "988" in samhsa[0]["note"]  # points to the real crisis line
    assert "not a crisis line" in samhsa[0]["note"] or "No es una línea de crisis" in samhsa[0]["note"]
    assert resources[0]["contact"].startswith(("Call or text 988", "Llama al 988"))


def test_unknown_language_falls_back_to_english_and_no_clinic_line_without_a_number() -> None:
    message, resources = crisis_resources("fr", None)
    assert message == crisis_resources("en", None)[0]
    assert not any("clinic" in r["name"].lower() for r in resources)
    assert crisis_resources("es-MX", None)[0] == crisis_resources("es", None)[0]


def test_resources_are_fresh_copies() -> None:
    _, first = crisis_resources("en", None)
    first[0]["contact"] = "tampered"
    assert crisis_resources("en", None)[1][0]["contact"] == "Call or text 988"


def test_moderation_imports_nothing_from_server() -> None:
    for path in (REPO / "moderation").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "from server" not in source and "import server" not in source, path


def test_eval_command_exits_zero_on_the_eval_set_and_nonzero_on_failure(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "moderation", "eval", str(Path(__file__).with_name("eval_set.jsonl"))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "recall high" in ok.stdout and "false alarms" in ok.stdout
    failing = tmp_path / "fail.jsonl"
    failing.write_text(
        json.dumps({"id": "x1", "text": "hello there", "expected": "high", "kind": "t", "lang": "en"}) + "\n"
    )
    bad = subprocess.run(
        [sys.executable, "-m", "moderation", "eval", str(failing)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "x1" in bad.stdout
