#!/bin/sh
# `redis-server ARGS` or just `ARGS` starting with '-' (as Kubernetes `args` give them): all
# interfaces, protected mode off (the public image's defaults).
set -eu
if [ "${1#-}" != "${1:-}" ]; then
  set -- redis-server "$@"
fi
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server --bind '* -::*' --protected-mode no "$@"
fi
exec "$@"
