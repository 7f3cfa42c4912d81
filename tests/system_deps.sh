#!/usr/bin/env bash
# Debian packages the tests need: chromium (browser tests), festival + festvox-ru,
# espeak-ng and sox (speech synthesis), asterisk-core-sounds-ru-wav (recorded Russian
# speech for the VAD tests). Installs only what is missing; needs root.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v text2wave >/dev/null || need+=(festival)
[ -d /usr/share/festival/voices/russian ] || need+=(festvox-ru)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
[ -d /usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU ] || need+=(asterisk-core-sounds-ru-wav)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root: apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
