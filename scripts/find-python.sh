#!/usr/bin/env bash
# Prints the newest CPython >= 3.11 on this machine: python3.N on PATH, or under pyenv (whose
# shims answer only with PYENV_VERSION set, so its versions are looked up by path). Newer
# CPython runs this server faster (make bench measures it); 3.11 is the floor.
set -euo pipefail
candidates=()
for n in 15 14 13 12 11; do
  command -v "python3.$n" >/dev/null 2>&1 && candidates+=("$(command -v "python3.$n")")
done
root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
for exe in "$root"/versions/3.*/bin/python3.[0-9]*; do
  case "$exe" in *-config) continue ;; esac
  [ -x "$exe" ] && candidates+=("$exe")
done
command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")
best="" best_version=0
for exe in "${candidates[@]}"; do
  # A pyenv shim without a matching version exits non-zero here and is skipped.
  version="$("$exe" -c 'import sys, platform; v = sys.version_info; print(v[0] * 10000 + v[1] * 100 + v[2] if platform.python_implementation() == "CPython" else 0)' 2>/dev/null)" || continue
  if [ "$version" -ge 31100 ] && [ "$version" -gt "$best_version" ]; then
    best="$exe" best_version="$version"
  fi
done
if [ -z "$best" ]; then
  echo "Need CPython 3.11 or newer (python3.11, python3.12, python3.13 on PATH, or under pyenv)." >&2
  exit 1
fi
echo "$best"
