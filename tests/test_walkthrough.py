"""The README's walkthrough, pasted in order by a newcomer against a fresh ./scripts/run.

Every ```sh block of the "Walkthrough" section runs, in order, in one bash with `set -euo pipefail`;
each `# => STATUS path=value ...` comment checks the answer of the curl just above it (`data.id=6`,
`meta.total=2`, `data.0.id=6`), so an example that stops working fails here.
"""

import ast
import re
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import requests

from tests.live import ROOT, Run, free_port, newcomer_environment, run_data_folder, stop_run_database, wait_until

WALKTHROUGH_HEADING = "## Walkthrough"
DOCS_URL = "http://127.0.0.1:8000"

# Loaded by the generated script: curl keeps each answer's body and status for `expect`.
PRELUDE = r"""
set -euo pipefail
PEERLY_BODY="$(mktemp)"; PEERLY_STATUS="$(mktemp)"
curl() {
  command curl -sS -o "$PEERLY_BODY" -w '%{http_code}' "$@" >"$PEERLY_STATUS"
  cat "$PEERLY_BODY"; echo
}
expect() {
  python3 - "$(cat "$PEERLY_STATUS")" "$PEERLY_BODY" "$@" <<'PY'
import json, sys
status, body, want_status, *fields = sys.argv[1:]
text = open(body).read()
assert status == want_status, f"expected {want_status}, got {status}: {text}"
for field in fields:
    path, want = field.split("=", 1)
    value = json.loads(text)
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    got = json.dumps(value) if not isinstance(value, str) else value
    assert got == want, f"{path}: expected {want}, got {got}: {text}"
print("  ok:", want_status, *fields)
PY
}
"""


def walkthrough_blocks(readme: str) -> list[str]:
    section = readme.split(f"\n{WALKTHROUGH_HEADING}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def walkthrough_script(readme: str, url: str) -> str:
    lines = [PRELUDE]
    for block in walkthrough_blocks(readme):
        for line in block.replace(DOCS_URL, url).splitlines():
            expectation = re.match(r"\s*# => (\d{3})(.*)$", line)
            lines.append(f"expect {expectation[1]} {expectation[2].strip()}" if expectation else line)
    return "\n".join(lines) + "\n"


def test_the_walkthrough_has_steps_and_checks():
    blocks = walkthrough_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 5
    for block in blocks:
        assert "# => " in block, f"a walkthrough step without an expected answer:\n{block}"
        assert "issue_token" in "".join(blocks[: blocks.index(block) + 1])


def test_the_walkthrough_runs_against_a_fresh_demo():
    folder = Path(tempfile.mkdtemp(prefix="peerly-walkthrough-"))
    data = run_data_folder(folder)
    port = free_port()
    env = newcomer_environment(data, port)
    url = f"http://127.0.0.1:{port}"
    script = walkthrough_script((ROOT / "README.md").read_text(), url)
    (folder / "walkthrough.sh").write_text(script)

    # given ./scripts/run serving a fresh demo
    run = Run(env)
    try:
        wait_until(
            lambda: run.process.poll() is None and requests.get(f"{url}/health", timeout=2).ok,
            timeout=180,
            what=f"./scripts/run:\n{run.output()}",
        )
        # when the walkthrough is pasted in another shell, in order
        result = subprocess.run(
            ["bash", str(folder / "walkthrough.sh")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        run.ctrl_c()
        stop_run_database(data)
        shutil.rmtree(folder, ignore_errors=True)

    # then every step answered what the README says
    report = textwrap.indent(f"{result.stdout}\n{result.stderr}", "  ")
    assert result.returncode == 0, report
    assert result.stdout.count("  ok: ") == script.count("\nexpect "), report


def environment_variables_read() -> set[str]:
    """Every variable settings.py (env_*("NAME")), gunicorn.conf.py, the commands and scripts/ read."""
    names = set()
    settings = ast.parse((ROOT / "peerly" / "settings.py").read_text())
    for node in ast.walk(settings):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("env_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    assert {"DJANGO_SECRET_KEY", "PEERLY_JWT_ISSUER"} <= names  # the parse finds them
    python = [ROOT / "gunicorn.conf.py", *ROOT.glob("*/management/commands/*.py")]
    for path in python:
        names |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\"([A-Z_]+)\"", path.read_text()))
    for path in (ROOT / "scripts").iterdir():
        names |= set(re.findall(r"\$\{([A-Z_]+):-", path.read_text()))
    return names


def test_the_configuration_table_lists_every_variable_read():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.M))
    assert environment_variables_read() - documented == set(), "add these to the README's configuration table"


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_the_docs_links_lead_somewhere():
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").glob("*.md")]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists() or (anchor and anchor not in anchors(linked.read_text())):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []


def test_the_security_section_cites_tests_that_exist_and_run():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
    cited = set(re.findall(r"`([\w/]+/test_\w+\.py)`", section))
    assert len(cited) >= 10
    testpaths = re.search(r"^testpaths = (.+)$", (ROOT / "pytest.ini").read_text(), flags=re.M).group(1).split()
    missing = {path for path in cited if not (ROOT / path).is_file() or path.split("/")[0] not in testpaths}
    assert missing == set()
