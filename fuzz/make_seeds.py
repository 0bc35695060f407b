#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (git-ignored).

workspace_load: the demo workspace as one input, each demo file overlaid on itself, each
  tests/fixtures/invalid case and tests/fixtures/hostile/workspace case as an overlay on the demo
  workspace, each tests/fixtures/plan case as a whole workspace (its _base plus overlay).
snapshot_read: snapshots/demo.state.json, every state.json under tests/fixtures, the hostile
  snapshot cases.
plan_read: plans saved by `vend plan --out` for the demo and a few plan cases (needs a built
  `target/debug/vend`), and the hostile plan cases.
"""
import json, os, pathlib, shutil, subprocess, tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"
SEP = b"@@@ "


def files_under(base):
    out = {}
    for top in ("catalog", "blueprints"):
        d = base / top
        if d.is_dir():
            for p in sorted(d.rglob("*")):
                if p.is_file():
                    out[p.relative_to(base).as_posix()] = p.read_bytes()
    return out


def record(path, data):
    return SEP + path.encode() + b"\n" + data


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def overlay_case(case):
    data = b"+"
    overlay = case / "overlay"
    if overlay.is_dir():
        for p in sorted(overlay.rglob("*")):
            if p.is_file():
                data += record(p.relative_to(overlay).as_posix(), p.read_bytes())
    remove = case / "remove"
    if remove.is_file():
        for line in remove.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                is_dir = (ROOT / line).is_dir()
                data += SEP + b"-" + line.encode() + (b"/" if is_dir and not line.endswith("/") else b"") + b"\n"
    return data


def workspace_seeds():
    demo = files_under(ROOT)
    write("workspace_load", "demo-whole", b"".join(record(p, b) for p, b in demo.items()))
    for i, (p, b) in enumerate(demo.items()):
        write("workspace_load", f"demo-file-{i:03}", b"+" + record(p, b))
    for folder in ("tests/fixtures/invalid", "tests/fixtures/hostile/workspace"):
        d = ROOT / folder
        if d.is_dir():
            for case in sorted(d.iterdir()):
                if case.is_dir():
                    write("workspace_load", f"{d.name}-{case.name}", overlay_case(case))
    plan = ROOT / "tests/fixtures/plan"
    base = files_under(plan / "_base")
    for case in sorted(plan.iterdir()):
        if not case.is_dir() or case.name.startswith("_"):
            continue
        files = dict(base)
        files.update({k: v for k, v in files_under(case / "overlay").items()})
        write("workspace_load", f"plan-{case.name}", b"".join(record(p, b) for p, b in files.items()))


def snapshot_seeds():
    write("snapshot_read", "demo", (ROOT / "snapshots/demo.state.json").read_bytes())
    for p in sorted((ROOT / "tests/fixtures").rglob("*.json")):
        if p.name.endswith("state.json") or "hostile/snapshot" in p.as_posix():
            write("snapshot_read", p.relative_to(ROOT / "tests/fixtures").as_posix().replace("/", "-"), p.read_bytes())


def digest(doc):
    """What vend's Plan::compute_digest computes (canonical JSON without digest and approvals)."""
    import hashlib
    d = {k: v for k, v in doc.items() if k not in ("digest", "approvals")}
    text = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def approved_seed(vend):
    """A plan with an author and an approval (two operators), and a copy with `excluded`."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for top in ("catalog", "blueprints"):
            shutil.copytree(ROOT / top, tmp / top)
        shutil.copy(ROOT / "snapshots/demo.state.json", tmp / "state.json")
        settings = tmp / "catalog/vend.yaml"
        text = settings.read_text()
        if "required_approvals:" in text:
            text = "\n".join(l for l in text.splitlines() if not l.startswith("required_approvals:")) + "\n"
        settings.write_text(text + "required_approvals: 1\n")
        def run(user, *args):
            env = dict(os.environ, NO_COLOR="1", XDG_CONFIG_HOME=str(tmp / user), VEND_KEY_STORE="file", USER=user)
            subprocess.run([str(vend), "-C", str(tmp), "--state", str(tmp / "state.json"), *args],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run("alice", "plan", "--out", str(tmp / "p.json"))
        run("bob", "approve", str(tmp / "p.json"))
        if not (tmp / "p.json").exists():
            return
        plan = json.loads((tmp / "p.json").read_text())
        write("plan_read", "saved-approved", (tmp / "p.json").read_bytes())
        plan["excluded"] = [plan["changes"][0]["address"]]
        plan["digest"] = digest(plan)
        write("plan_read", "saved-approved-excluded", (json.dumps(plan, indent=2) + "\n").encode())


def plan_seeds():
    vend = ROOT / "target/debug/vend"
    if not vend.exists():
        print("no target/debug/vend: skipping saved-plan seeds")
    else:
        cases = [("demo", ROOT, ROOT / "snapshots/demo.state.json")]
        plan = ROOT / "tests/fixtures/plan"
        for name in ("11-close-account", "30-error-still-printed", "48-guardrails", "09-ou-replaced"):
            cases.append((name, plan / name, plan / name / "state.json"))
        for name, case, state in cases:
            with tempfile.TemporaryDirectory() as tmp:
                tmp = pathlib.Path(tmp)
                if case == ROOT:
                    for top in ("catalog", "blueprints"):
                        shutil.copytree(ROOT / top, tmp / top)
                else:
                    for top in ("catalog", "blueprints"):
                        shutil.copytree(plan / "_base" / top, tmp / top)
                    if (case / "overlay").is_dir():
                        shutil.copytree(case / "overlay", tmp, dirs_exist_ok=True)
                    if not state.exists():
                        state = plan / "_base" / "state.json"
                shutil.copy(state, tmp / "state.json")
                env = dict(os.environ, NO_COLOR="1")
                subprocess.run([str(vend), "-C", str(tmp), "--state", str(tmp / "state.json"), "plan",
                                "--show-unchanged", "--out", str(tmp / "p.json")],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if (tmp / "p.json").exists():
                    write("plan_read", f"saved-{name}", (tmp / "p.json").read_bytes())
        approved_seed(vend)
    hostile = ROOT / "tests/fixtures/hostile/plan"
    if hostile.is_dir():
        for p in sorted(hostile.rglob("*.json")):
            write("plan_read", "hostile-" + p.relative_to(hostile).as_posix().replace("/", "-"), p.read_bytes())


if __name__ == "__main__":
    workspace_seeds()
    snapshot_seeds()
    plan_seeds()
    for t in ("workspace_load", "snapshot_read", "plan_read"):
        d = OUT / t
        print(t, len(list(d.iterdir())) if d.is_dir() else 0, "seed(s)")
