#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (an Ubuntu image: choose one whose
# python3 is 3.11 or newer). It installs exactly what labkit grades with, into an environment of its own: the
# pinned packages of requirements.txt, without their dependencies (every one is pinned there), and labkit's own
# wheel. No torch: the grader compares against numtorch, which the wheel holds.
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"

export DEBIAN_FRONTEND=noninteractive
apt-get update
# unshare (util-linux) builds the fence around the learner's code.
apt-get install -y --no-install-recommends python3 python3-venv util-linux

python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --no-deps -r "$SOURCE/requirements.txt"
"$ROOT/venv/bin/python" -m pip install --no-deps "$SOURCE"/numtorch-*.whl
# A pin missing for this image's Python shows here, at upload, rather than on a learner's submission.
"$ROOT/venv/bin/python" -m pip check
