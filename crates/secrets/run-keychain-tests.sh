#!/usr/bin/env bash
# Runs the keychain tests against a real, private gnome-keyring Secret Service.
#
#   crates/secrets/run-keychain-tests.sh                 # cargo test -p secrets
#   crates/secrets/run-keychain-tests.sh -p secrets -p providers
#
# Needs: apt-get install -y gnome-keyring libsecret-tools dbus-x11
# A throw-away HOME keeps the test keyring away from the user's real one; the
# D-Bus session and the keyring daemon end with dbus-run-session.
set -euo pipefail

for tool in dbus-run-session gnome-keyring-daemon secret-tool; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool not found: apt-get install -y gnome-keyring libsecret-tools dbus-x11" >&2
    exit 1
  }
done

cd "$(dirname "$0")/../.."
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(-p secrets)

# cargo and rustup live under the real HOME; keep finding them after HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
keyring_home="$(mktemp -d)"
trap 'rm -rf "$keyring_home"' EXIT
export HOME="$keyring_home"

dbus-run-session -- bash -c '
  echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cargo test "$@" -- --test-threads=1' bash "${packages[@]}"
