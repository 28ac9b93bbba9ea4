#!/bin/sh
# Writes new random keys into secrets/ for a first start (never overwrites one that exists):
# SEAL_KEYS (id:base64 of 32 bytes), MAC_KEY (32 bytes) and the Redis password. The files belong
# to the bot's user (65532) with mode 600; run it with sudo, or chown them yourself.
set -eu
cd "$(dirname "$0")/secrets"
umask 077
new() { [ -s "$1" ] || { printf '%s' "$2" >"$1"; echo "wrote secrets/$1"; }; }
new SEAL_KEYS "k$(date +%Y%m%d):$(openssl rand -base64 32)"
new MAC_KEY "$(openssl rand -base64 32)"
new REDIS_PASSWORD "$(openssl rand -hex 32)"
# Compose mounts each file as it is on disk. The bot (uid 65532) reads all three; Redis (uid 999
# in the official image) reads REDIS_PASSWORD too, so that one is world-readable inside a folder
# only its owner can enter.
chmod 700 . ; chmod 644 REDIS_PASSWORD
chown 65532:65532 SEAL_KEYS MAC_KEY . 2>/dev/null || echo "chown the files to 65532:65532 (the bot's user)"
