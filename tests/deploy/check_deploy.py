#!/usr/bin/env python3
"""Offline checks of hit's deployment files (deploy/), run by CTest as deploy_check.

No container or cluster can be started where hit is developed, so this checks what holds without
one:
- deploy/kubernetes/*.yaml: every document parses. The Job is an Indexed batch/v1 Job whose N
  agrees in completions, parallelism and HIT_SHARDS; it never restarts or retries a shard; its
  command starts hit at a common --start-at, saves the results, judges no threshold per shard,
  and parses as shell (sh -n). Every manifest field in docs/distributed.md's table exists in it.
- deploy/Dockerfile: every FROM is Debian 12. The last stage (the image) installs the Debian
  package of every shared library the built hit links (ldd, dpkg -S), except those every Debian
  image has; it runs hit as a numeric non-root user. The build stage installs the package of every
  library and file the configure found (CMakeCache.txt, with --cmake-cache).

Exit 0 when every check holds; otherwise 1, with one line per failed check.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

# In every Debian image (apt itself needs them), so the Dockerfile need not name them.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
# Sanitizer runtimes, linked by the asan/tsan presets only: not what the image builds.
SANITIZER = re.compile(r"^lib(a|ub|t|l|hwa)san\d+$")
# What the build stage must install: the files its configure found, by CMake cache entry.
CACHE_ENTRIES = [
    "Boost_DIR", "CLI11_DIR", "fmt_DIR", "nlohmann_json_DIR", "HIT_DYGRAPHS_DIR",
    "OPENSSL_SSL_LIBRARY", "OPENSSL_CRYPTO_LIBRARY", "pkgcfg_lib_NGHTTP2_nghttp2",
]
DEBIAN_12 = re.compile(r"^debian:(12|bookworm)(-slim)?(@sha256:[0-9a-f]{64})?$")


class Checks:
    def __init__(self):
        self.total = 0
        self.failed = 0

    def __call__(self, ok, what):
        self.total += 1
        if not ok:
            self.failed += 1
            print(f"deploy_check: FAIL: {what}")
        return ok


check = Checks()


# ---- Kubernetes ---------------------------------------------------------------------------------

def resolve(node, path):
    """The value at a path like spec.template.spec.containers[hit].env[HIT_SHARDS].value, where
    [n] indexes a list and [name] picks the item whose name is name; None when it is absent."""
    for key, index in re.findall(r"([^.\[\]]+)|\[([^\]]+)\]", path):
        if key:
            node = node.get(key) if isinstance(node, dict) else None
        elif isinstance(node, list) and index.isdigit():
            node = node[int(index)] if int(index) < len(node) else None
        elif isinstance(node, list):
            node = next((i for i in node if isinstance(i, dict) and i.get("name") == index), None)
        else:
            node = None
        if node is None:
            return None
    return node


def documented_fields(doc):
    """The YAML paths in the first column of docs/distributed.md's "manifest field" table."""
    fields, in_table = [], False
    for line in doc.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == "manifest field":
            in_table = True
        elif in_table and line.startswith("|"):
            fields += re.findall(r"^`([^`]+)`$", cells[0])
        elif in_table:
            break
    return fields


def check_kubernetes(root):
    files = sorted((root / "deploy/kubernetes").glob("*.yaml"))
    check(files, "deploy/kubernetes has no .yaml file")
    jobs = []
    for f in files:
        name = f.relative_to(root)
        try:
            docs = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
        except yaml.YAMLError as e:
            check(False, f"{name} does not parse: {e}".replace("\n", " "))
            continue
        for d in docs:
            if check(isinstance(d, dict) and "apiVersion" in d and "kind" in d,
                     f"{name}: a document without apiVersion and kind"):
                if d["kind"] == "Job":
                    jobs.append((name, d))
                if d["kind"] == "PersistentVolumeClaim":
                    check("ReadWriteMany" in (resolve(d, "spec.accessModes") or []),
                          f"{name}: the results volume is not ReadWriteMany (shards on many nodes)")
    if not check(len(jobs) == 1, f"deploy/kubernetes: {len(jobs)} Jobs, expected one"):
        return
    name, job = jobs[0]
    check(job["apiVersion"] == "batch/v1", f"{name}: apiVersion is not batch/v1")
    check(resolve(job, "spec.completionMode") == "Indexed", f"{name}: completionMode is not Indexed")
    n = resolve(job, "spec.completions")
    check(isinstance(n, int) and n >= 1, f"{name}: spec.completions is not a count")
    check(resolve(job, "spec.parallelism") == n,
          f"{name}: parallelism differs from completions (shards must all run at once)")
    check(resolve(job, "spec.backoffLimit") == 0,
          f"{name}: backoffLimit is not 0 (a retried shard starts late)")
    check(resolve(job, "spec.template.spec.restartPolicy") == "Never",
          f"{name}: restartPolicy is not Never")
    containers = resolve(job, "spec.template.spec.containers") or []
    if not check(len(containers) == 1, f"{name}: expected one container"):
        return
    c = containers[0]
    env = {e.get("name"): e.get("value") for e in c.get("env", [])}
    check(env.get("HIT_SHARDS") == str(n), f"{name}: env HIT_SHARDS is not completions ({n})")
    check("START_AT" in env, f"{name}: no env START_AT")
    command = [str(a) for a in c.get("command", []) + c.get("args", [])]
    line = " ".join(command)
    for option in ("--start-at", "--save"):
        check(option in line, f"{name}: hit is not given {option}")
    check("--threshold" not in line,
          f"{name}: --threshold on a shard judges only its part; give it to hit report")
    check("--shard " not in line and "--shards" not in line,
          f"{name}: the shard comes from JOB_COMPLETION_INDEX and HIT_SHARDS, not options")
    if command[:2] == ["/bin/sh", "-c"] and len(command) > 2:
        r = subprocess.run(["sh", "-n", "-c", command[2]], capture_output=True, text=True)
        check(r.returncode == 0, f"{name}: the container's script is not valid sh: {r.stderr.strip()}")
    fields = documented_fields(root / "docs/distributed.md")
    check(fields, "docs/distributed.md has no 'manifest field' table")
    for field in fields:
        check(resolve(job, field) is not None,
              f"docs/distributed.md describes {field}, which {name} does not have")


# ---- Dockerfile ---------------------------------------------------------------------------------

def instructions(text):
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and current):
            continue
        current += " " + line
        if current.endswith("\\"):
            current = current[:-1]
            continue
        if current.strip():
            word, _, rest = current.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
        current = ""
    return out


def stages(text):
    """One dict per FROM: its image, its name (AS), and its instructions."""
    result = []
    for word, rest in instructions(text):
        if word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            result.append({"image": parts[0] if parts else "", "name": name, "lines": []})
        elif result:
            result[-1]["lines"].append((word, rest))
    return result


def apt_packages(stage):
    packages = set()
    for word, rest in stage["lines"]:
        if word != "RUN":
            continue
        for segment in re.split(r"&&|\|\||;|\|", rest):
            tokens = shlex.split(segment)
            for i, t in enumerate(tokens[:-1]):
                if t in ("apt-get", "apt") and "install" in tokens[i + 1:]:
                    after = tokens[tokens.index("install", i) + 1:]
                    packages |= {p.split("=")[0] for p in after if not p.startswith("-")}
    return packages


def owner(path):
    """The Debian package owning a file, trying the /usr-merged aliases; None if none does."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            candidates.append("/usr" + p)
    for p in candidates:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.splitlines()[0].split(": ")[0].split(",")[0].split(":")[0].strip()
    return None


def linked_libraries(exe):
    r = subprocess.run(["ldd", exe], capture_output=True, text=True)
    if not check(r.returncode == 0, f"ldd {exe} failed: {r.stderr.strip()}"):
        return []
    libs = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+)(?: => (\S+))?", line)
        if not m or m.group(1).startswith("linux-vdso"):
            continue
        path = m.group(2) or m.group(1)
        if check(path != "not", f"{exe} needs {m.group(1)}, which is not found"):
            libs.append(path)
    return libs


def check_dockerfile(root, exe, cache):
    name = "deploy/Dockerfile"
    all_stages = stages((root / name).read_text())
    if not check(len(all_stages) >= 2, f"{name}: expected a build stage and an image stage"):
        return
    names = set()
    for s in all_stages:
        check(DEBIAN_12.match(s["image"]) or s["image"] in names,
              f"{name}: FROM {s['image']} is not Debian 12 (debian:12, debian:bookworm[-slim])")
        names.add(s["name"])
    image = all_stages[-1]
    runtime = apt_packages(image)
    check("ca-certificates" in runtime, f"{name}: the image lacks ca-certificates (https)")
    for lib in linked_libraries(exe):
        package = owner(lib)
        if check(package, f"dpkg -S finds no package owning {lib}") and \
                package not in BASE_PACKAGES and not SANITIZER.match(package):
            check(package in runtime, f"{name}: hit links {lib}, but the image does not install "
                                      f"its package {package}")
    lines = image["lines"]
    copied = [re.search(r"--from=(\S+)", r) for w, r in lines if w == "COPY"]
    check(any(copied), f"{name}: the image copies nothing from a build stage")
    user = [r for w, r in lines if w == "USER"]
    check(user and re.match(r"^[1-9]\d*(:\d+)?$", user[-1]),
          f"{name}: the image's USER is not a numeric non-root user (runAsNonRoot checks the number)")
    check(('ENTRYPOINT', '["hit"]') in lines, f'{name}: the image\'s ENTRYPOINT is not ["hit"]')
    if cache:
        source = next((m.group(1) for m in copied if m), None)
        build = next((s for s in all_stages if s["name"] == source), all_stages[0])
        check_build_stage(name, apt_packages(build), cache)


def check_build_stage(name, packages, cache):
    values = dict(re.findall(r"^([A-Za-z0-9_]+):[A-Z]+=(.*)$", Path(cache).read_text(), re.M))
    for entry in CACHE_ENTRIES:
        path = values.get(entry)
        if not check(path and os.path.exists(path), f"{cache}: no {entry} (the build changed? "
                                                     "update CACHE_ENTRIES)"):
            continue
        if os.path.isdir(path):
            files = sorted(f for f in os.listdir(path) if os.path.isfile(os.path.join(path, f)))
            path = os.path.join(path, files[0]) if files else path
        package = owner(path)
        if check(package, f"dpkg -S finds no package owning {path} ({entry})"):
            check(package in packages, f"{name}: the configure found {entry}={values[entry]}, "
                                       f"but the build stage does not install {package}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, type=Path, help="the repository")
    parser.add_argument("--hit", required=True, help="a built hit, for its shared libraries")
    parser.add_argument("--cmake-cache", help="that build's CMakeCache.txt: check the build stage")
    args = parser.parse_args()
    check_kubernetes(args.root)
    check_dockerfile(args.root, args.hit, args.cmake_cache)
    script = args.root / "deploy/kubernetes/collect.sh"
    r = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    check(r.returncode == 0, f"{script.name} is not valid bash: {r.stderr.strip()}")
    print(f"deploy_check: {check.total - check.failed} passed, {check.failed} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
