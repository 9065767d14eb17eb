"""Redaction (patterns, every place a credential can enter the record), the .gitignore of new .prov
folders, and what an unnamed kernel does. Real kernels through jupyter_client."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import time
import warnings
from pathlib import Path

import pytest
from kernels import Kernel

from nbprov import redact
from nbprov.identity import gitignore_text, write_identity
from nbprov.journal import JournalWriter, read_journal
from nbprov.outputs import TEXT_LIMIT

GHP = "ghp_" + "Zq9x" * 9
PAT = "github_pat_" + "11ABCDEFG0" * 3 + "_xyz"
GLPAT = "glpat-" + "x-Y_z" * 4
HF = "hf_" + "abcdEFGH" * 4 + "zz"
SK = "sk-proj-" + "Q" * 24
AWS = "AKIA" + "ABCDEFGHIJ234567"
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\nAAAA/+==\n-----END OPENSSH PRIVATE KEY-----"
MIB = 1 << 20


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"token is {GHP}.", "github_token"),
        ("gho_" + "a" * 36, "github_token"),
        (PAT, "github_pat"),
        (f"?private_token={GLPAT}&x=1", "gitlab_token"),
        (f"HF_TOKEN={HF}", "huggingface_token"),
        (SK, "secret_key"),
        (f"aws {AWS}", "aws_access_key"),
        (f"key:\n{PEM}\n", "private_key"),
        ("password=hunter2", "assignment"),
        ("export GITHUB_TOKEN=abc123", "assignment"),
        ("db:\n  password: s3cret\n", "assignment"),
        ('{"api_key": "abc def"}', "assignment"),
        (f"TOKEN = '{GHP}'", "github_token"),
    ],
)
def test_each_default_kind_is_redacted(text: str, kind: str) -> None:
    redacted, count = redact.Redactor().redact(text)
    assert f"[redacted:{kind}]" in redacted and count >= 1
    assert redact.Redactor().redact(redacted) == (redacted, 0)  # twice changes nothing
    for secret in (GHP, PAT, GLPAT, HF, SK, AWS, "hunter2", "abc123", "s3cret", "abc def", "b3BlbnNzaC1rZXktdjE="):
        assert secret not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "ghp_tooshort",
        "AKIA1234",
        "sk-learn and hf_hub_download",
        'token = os.environ["HF_TOKEN"]',
        "tokenizer = AutoTokenizer(); max_tokens=5; password == other",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
        "loss=0.25 accuracy=0.9",
    ],
)
def test_near_misses_are_kept(text: str) -> None:
    assert redact.Redactor().redact(text) == (text, 0)


@pytest.mark.parametrize(
    "text",
    [
        "a" * MIB,
        "-----BEGIN PRIVATE KEY-----" * (MIB // 27),
        "token=" * (MIB // 6),
        "password: " * (MIB // 10),
        "ghp_" + "a" * MIB,
        "sk-" * (MIB // 3),
        ("epoch 3 loss 0.1234 acc 0.98\n" * 40000)[:MIB],
    ],
    ids=["letters", "pem-openings", "token=", "password:", "long-ghp", "sk-", "training-log"],
)
def test_huge_and_adversarial_inputs_stay_linear(text: str) -> None:
    started = time.thread_time()
    redact.Redactor().redact(text)
    assert time.thread_time() - started < 1.0


@pytest.mark.parametrize("pattern", ["(a+)+b", "(x+x+)+y", "(\\w+ ?)+X", "([0-9]+)*z", "(a|aa)+$"])
def test_a_catastrophic_pattern_is_reported_and_skipped_quickly(pattern: str) -> None:
    started = time.monotonic()
    with pytest.warns(RuntimeWarning, match="too slow.*default patterns stay in use"):
        redactor = redact.Redactor([{"kind": "evil", "pattern": pattern}])
    assert time.monotonic() - started < 2.0
    assert "evil" not in [kind for kind, _ in redactor.patterns]
    assert redactor.redact(GHP) == ("[redacted:github_token]", 1)


def test_invalid_patterns_give_a_clear_message_and_the_defaults_stay() -> None:
    with pytest.warns(RuntimeWarning) as caught:
        redactor = redact.Redactor(
            [
                {"kind": "broken", "pattern": "(unclosed"},
                {"kind": "bad kind!", "pattern": "x"},
                {"pattern": 3},
                {"kind": "ok", "pattern": "ACME-[0-9]{6}"},
            ]
        )
    messages = [str(w.message) for w in caught]
    assert any("'broken' is not a valid regular expression" in m for m in messages)
    assert len(redactor.problems) == 3
    assert redactor.redact(f"ACME-123456 {HF}") == ("[redacted:ok] [redacted:huggingface_token]", 2)


def test_a_pattern_slow_on_real_texts_is_dropped_after_two(monkeypatch: pytest.MonkeyPatch) -> None:
    redactor = redact.Redactor([{"kind": "mine", "pattern": "MINE-[0-9]+"}])
    clock = iter([0.0, 1.0, 1.0, 2.0, 2.0, 3.0])  # every call of the user pattern "takes" a second
    monkeypatch.setattr(redact.time, "thread_time", lambda: next(clock))
    assert redactor.redact("MINE-1")[0] == "[redacted:mine]"
    with pytest.warns(RuntimeWarning, match="'mine' took .* skipped from now on"):
        assert redactor.redact("MINE-2")[0] == "[redacted:mine]"
    monkeypatch.undo()
    assert redactor.redact("MINE-3") == ("MINE-3", 0)


def test_the_comm_listener_and_the_file_get_only_redacted_records(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "journal", "s")
    heard: list[dict] = []
    writer.add_listener(heard.append)
    writer.append("param", run="r", key="api", value=f"use {GHP}", value_type="str", role="input")
    writer.append("metrics", run="r", batch=1, series=[{"metric": f"loss {HF}", "n": 0, "steps": b""}])
    writer.flush()
    writer.close()
    text = (tmp_path / "journal" / "k-s.jsonl").read_text()
    assert GHP not in text and HF not in text and GHP not in json.dumps(heard, default=str)
    assert [r.get("redacted") for r in heard] == [1, 1]


def test_truncation_never_leaves_half_a_token() -> None:
    from nbprov.outputs import _StreamText, text_item

    for offset in range(0, 40, 3):
        text = "x" * (TEXT_LIMIT - 10 - offset) + " " + GHP + " tail" * 10
        kept = text_item({"output_type": "stream"}, text)["text"]
        stream = _StreamText("stdout")
        stream.add(text[: TEXT_LIMIT // 2])
        stream.add(text[TEXT_LIMIT // 2 :])
        for head in (kept, stream.item()["text"]):
            assert GHP[4:14] not in redact.redact(head)[0]


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


def _iopub_text(kernel: Kernel, code: str) -> str:
    """Runs a cell and returns what nbprov sent over iopub meanwhile (comm messages with their
    buffers); the cell's own stream and error messages are Jupyter's, not nbprov's."""
    msg_id = kernel.client.execute(code)
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            message = kernel.client.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            continue
        if message["msg_type"].startswith("comm_"):
            seen.append(json.dumps(message["content"], default=str))
            seen.extend(bytes(buffer).decode("latin-1") for buffer in message.get("buffers", []))
        if (
            message["parent_header"].get("msg_id") == msg_id
            and message["msg_type"] == "status"
            and message["content"]["execution_state"] == "idle"
        ):
            return "\n".join(seen)
    raise TimeoutError(code)


def test_a_kernel_records_no_token_anywhere(tmp_path: Path) -> None:
    """A token in a cell source, its output, a run name, a param, a tag, a text and a dict
    artifact, and a configured extra pattern: none reaches the journal, the files or the comm."""
    custom = "ACME-778899"
    cells = [
        "%load_ext nbprov",
        f"import nbprov\nnbprov.configure(redact=[{{'kind': 'acme', 'pattern': 'ACME-[0-9]{{6}}'}}])\nTOKEN = '{GHP}'",
        "print('hello', TOKEN, flush=True)",
        f"with nbprov.run(name='run {HF}', params={{'key': '{SK}'}}, tags={{'aws': '{AWS}'}}) as run:\n"
        f"    run.log_metric('loss', 0.5)\n"
        f"    run.log_text('notes', 'password=hunter2 and {custom}')\n"
        f"    run.log_dict('cfg', {{'token': '{GLPAT}', 'n': 1}})",
        "raise ValueError(TOKEN)",
    ]
    with Kernel(tmp_path, "nb.ipynb") as kernel:
        comm = [_iopub_text(kernel, cell) for cell in cells]
    folder = tmp_path / "nb.prov"
    everything = _all_text(folder)
    for secret in (GHP, HF, SK, AWS, GLPAT, "hunter2", custom):
        assert secret not in everything, secret
        assert all(secret not in text for text in comm), secret
    assert "[redacted:github_token]" in "".join(comm)  # the comm did carry the records
    records = read_journal(folder / "journal")
    outputs = [r for r in records if r["type"] == "kernel_output" and r["outputs"]]
    assert any("[redacted:github_token]" in item.get("text", "") for r in outputs for item in r["outputs"])
    start = next(r for r in records if r["type"] == "run_start")
    assert start["name"] == "run [redacted:huggingface_token]" and start["redacted"] == 1
    param = next(r for r in records if r["type"] == "param")
    assert param["value"] == "[redacted:secret_key]"
    artifacts = {r["name"]: r for r in records if r["type"] == "artifact"}
    assert artifacts["notes"]["redacted"] == 2 and artifacts["cfg"]["redacted"] == 1
    notes = (folder / artifacts["notes"]["stored"]).read_text()
    assert notes == "password=[redacted:assignment] and [redacted:acme]"
    assert json.loads((folder / artifacts["cfg"]["stored"]).read_text()) == {"token": "[redacted:gitlab_token]", "n": 1}


def test_the_pages_patterns_and_the_users_both_apply_in_the_kernel(tmp_path: Path) -> None:
    """The page hands its `redact` setting to the kernel (service.ts: at load, and when the setting
    changes); the user's own patterns stay in use beside it, whichever came first."""
    page_patterns = json.dumps([{"kind": "project", "pattern": "PRJ-[0-9]{4}"}])
    cells = [
        "%load_ext nbprov",
        "import nbprov\nnbprov.configure(redact=[{'kind': 'acme', 'pattern': 'ACME-[0-9]{6}'}])",
        # What the page runs silently (service.ts, tellRedaction).
        "import sys\n"
        f"sys.modules['nbprov.redact'].configure(__import__('json').loads({page_patterns!r}), source='page')",
        "print('codes ACME-123456 PRJ-1234', flush=True)",
        "nbprov.configure(redact=[])",
        "print('again ACME-123456 PRJ-5678', flush=True)",
    ]
    with Kernel(tmp_path, "nb.ipynb") as kernel:
        for cell in cells:
            kernel.ok(cell)
    everything = _all_text(tmp_path / "nb.prov")
    assert "PRJ-1234" not in everything and "PRJ-5678" not in everything
    assert "codes [redacted:acme] [redacted:project]" in everything
    # The user's patterns cleared: the page's stay.
    assert "again ACME-123456 [redacted:project]" in everything


def test_redaction_patterns_come_from_the_user_or_the_page() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        redact.configure([], source="elsewhere")


def test_configure_redact_rejects_a_string() -> None:
    import nbprov

    with pytest.raises(TypeError, match="list of"):
        nbprov.configure(redact="ghp_.*")


def test_redaction_cost_on_a_1_mib_output_is_reported() -> None:
    """The figure quoted in the README (kernel side, CPU time of the journal thread's redaction)."""
    text = ("epoch 3 loss 0.1234 accuracy 0.98 lr 1e-4\n" * 30000)[:MIB]
    redactor = redact.Redactor()
    redactor.redact(text)
    best = min(_cpu(redactor, text) for _ in range(5))
    print(f"\nredaction of a 1 MiB training log: {best * 1000:.1f} ms")
    assert best < 0.5


def _cpu(redactor: redact.Redactor, text: str) -> float:
    started = time.thread_time()
    redactor.redact(text)
    return time.thread_time() - started


# .gitignore


def test_a_new_prov_folder_gets_a_gitignore_and_an_existing_one_is_never_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBPROV_GITIGNORE", raising=False)
    write_identity(tmp_path / "a.prov", "0" * 32, "a.ipynb")
    assert (tmp_path / "a.prov" / ".gitignore").read_text() == gitignore_text()
    assert gitignore_text().splitlines()[-2:] == ["journal/", "blobs/"]
    edited = "journal/\n# mine\n"
    (tmp_path / "a.prov" / ".gitignore").write_text(edited)
    write_identity(tmp_path / "a.prov", "0" * 32, "a.ipynb")
    assert (tmp_path / "a.prov" / ".gitignore").read_text() == edited
    (tmp_path / "a.prov" / "journal").mkdir()
    (tmp_path / "a.prov" / "journal" / "k-0.jsonl").write_text("")
    (tmp_path / "a.prov" / ".gitignore").unlink()
    write_identity(tmp_path / "a.prov", "0" * 32, "a.ipynb")  # deleted from a folder with history: stays deleted
    assert not (tmp_path / "a.prov" / ".gitignore").exists()
    (tmp_path / "page.prov" / "journal").mkdir(parents=True)  # created by the page: no kernel journal yet
    (tmp_path / "page.prov" / "journal" / "f-0-0000.jsonl").write_text("")
    write_identity(tmp_path / "page.prov", "2" * 32, "page.ipynb")
    assert (tmp_path / "page.prov" / ".gitignore").read_text() == gitignore_text()
    monkeypatch.setenv("NBPROV_GITIGNORE", "0")
    write_identity(tmp_path / "b.prov", "1" * 32, "b.ipynb")
    assert not (tmp_path / "b.prov" / ".gitignore").exists()


def test_git_sees_the_export_but_not_the_history(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
        ).stdout

    git("init", "-q")
    with Kernel(tmp_path, "nb.ipynb") as kernel:
        kernel.ok("%load_ext nbprov")
        kernel.ok("print('x')")
    folder = tmp_path / "nb.prov"
    assert (folder / "journal").is_dir()
    (folder / "blobs").mkdir(exist_ok=True)
    (folder / "blobs" / "ab").write_text("x")
    (folder / "prov.json").write_text("{}")
    status = git("status", "--porcelain", "--untracked-files=all")
    assert "nb.prov/prov.json" in status and "nb.prov/.gitignore" in status
    assert "journal" not in status and "blobs" not in status


# Unnamed kernels


def test_an_unnamed_kernel_records_nothing_until_the_notebook_is_named(tmp_path: Path) -> None:
    with Kernel(tmp_path, "") as kernel:
        first = kernel.ok("%load_ext nbprov")
        assert "records nothing" in first and "NBPROV_NOTEBOOK" in first
        assert "records nothing" not in kernel.ok(
            "import nbprov\nwith nbprov.run(name='lost') as r:\n    r.log_metric('m', 1.0)"
        )
        kernel.ok("print('x')")
        assert list(tmp_path.iterdir()) == []
        (tmp_path / "named.ipynb").write_text("{}")
        kernel.ok("nbprov.configure(notebook='named.ipynb')")
        kernel.ok("with nbprov.run(name='kept') as r:\n    r.log_metric('m', 2.0)")
    records = read_journal(tmp_path / "named.prov" / "journal")
    assert [r["name"] for r in records if r["type"] == "run_start"] == ["kept"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["named.ipynb", "named.prov"]


def test_warnings_module_is_quiet_for_valid_configuration() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert redact.Redactor([{"kind": "x", "pattern": "XYZ-[0-9]{3}", "flags": "i"}]).redact("xyz-123") == (
            "[redacted:x]",
            1,
        )
