#!/usr/bin/env bash
# Installs, with apt, the Debian 12 packages Gennaker needs to build, test and run.
# Idempotent: when everything is installed it changes nothing and needs no network.
set -euo pipefail

# What compiling the suite needs (`--build`: all the multi-stage image's build stage installs).
BUILD_PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libpq-dev libhiredis-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev nlohmann-json3-dev libcurl4-openssl-dev libre2-dev
  # libmicrohttpd: the baseline bench/http_server_bench compares our server with
  libmicrohttpd-dev
  libcli11-dev libbenchmark-dev libssl-dev
  # Boost.Asio/Beast (headers only): the HTTP server and the local load balancer
  libboost1.74-dev
  # authentication: LDAP client library, bcrypt from libxcrypt
  libldap-dev libcrypt-dev
  # the UI bundle (scripts/build-ui.sh) needs them to fetch Deck's npm packages
  ca-certificates
)
PACKAGES=(
  "${BUILD_PACKAGES[@]}"
  clang-format
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
  # real servers used by halyard's local deployment and by the tests
  postgresql redis-server
  # kayenta's canary metrics store (the Prometheus integration tests start one)
  prometheus
  # echo and igor tests: a real Docker registry, an SMTP server, git, time zones
  docker-registry python3-aiosmtpd git tzdata
  # authentication tests: a real OpenLDAP
  slapd ldap-utils
  # rosco's bakes: Debian's packer runs every bake from the packer templates;
  # local images also need dpkg-deb, tar and coreutils (essential packages)
  packer
  # tools used by the README's examples and the benchmarks
  curl wrk procps jq binutils
  # the UI's end-to-end tests drive a real browser (playwright-core)
  chromium
  # containers (scripts/setup-containers.sh): podman with runc (Debian's crun refuses this
  # kernel's hybrid cgroups), its bridge network and DNS, compose, and debootstrap for a
  # local Debian 12 base image when no public registry is reachable
  podman runc netavark aardvark-dns iptables podman-compose debootstrap
  # the pause process of the pods `podman kube play` makes, and YAML for the kube play test
  catatonit python3-yaml
)

# --bench: also what the benchmarks under bench/ compare against (nginx, run by
# the benchmarks themselves with their own configuration on loopback ports).
# --build: only what compiling needs (the image's build stage).
BENCH=0
for arg in "$@"; do
  case "$arg" in
    --bench) BENCH=1 ;;
    --build) PACKAGES=("${BUILD_PACKAGES[@]}") ;;
    *) echo "usage: $0 [--bench] [--build]" >&2; exit 2 ;;
  esac
done
if [ "$BENCH" -eq 1 ]; then
  PACKAGES+=(nginx-light)
fi

# The UI (scripts/build-ui.sh) is built with node and npm: Debian's, unless
# some node and npm are already installed (e.g. NodeSource's node, which
# carries its own npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

# halyard deploys to Kubernetes with kubectl (its tests run it against the fake
# API server): Debian's kubernetes-client (kubectl 1.20), unless some kubectl
# is already installed (e.g. the `kubectl` package of the Kubernetes or Google
# Cloud apt repositories, which conflicts with kubernetes-client). Not needed
# to compile (--build).
case " $* " in
  *" --build "*) ;;
  *)
    if ! command -v kubectl >/dev/null 2>&1; then
      PACKAGES+=(kubernetes-client)
    fi
    ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The benchmarks start their own nginx; a packaged one installed just now must
# not keep port 80 busy on a machine with systemd.
for p in "${missing[@]}"; do
  if [ "$p" = nginx-light ] && command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
done
echo "install-deps: done"
