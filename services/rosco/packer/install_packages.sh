#!/bin/bash
# Installs the bake's packages inside the machine or container being built
# (aws-ebs.json, docker.json). Environment, from rosco's packer variables:
#   repository    a deb ("https://host/repo trusty main") or yum repo URL
#   package_type  deb or rpm
#   packages      space-separated package names (name or name=version)
#   upgrade       "true": upgrade installed packages first
set -euo pipefail

repository=${repository:-}
package_type=${package_type:-deb}
packages=${packages:-}
upgrade=${upgrade:-false}

sudo_cmd() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

case $package_type in
  deb)
    export DEBIAN_FRONTEND=noninteractive
    if [ -n "$repository" ]; then
      echo "deb $repository" | sudo_cmd tee /etc/apt/sources.list.d/spinnaker.list >/dev/null
    fi
    sudo_cmd apt-get update
    if [ "$upgrade" = true ]; then sudo_cmd apt-get -y upgrade; fi
    if [ -n "$packages" ]; then
      # shellcheck disable=SC2086  # one word per package
      sudo_cmd apt-get install -y --force-yes $packages
    fi
    ;;
  rpm)
    if [ -n "$repository" ]; then
      printf '[spinnaker]\nname=spinnaker\nbaseurl=%s\ngpgcheck=0\nenabled=1\n' \
        "$repository" | sudo_cmd tee /etc/yum.repos.d/spinnaker.repo >/dev/null
    fi
    if [ "$upgrade" = true ]; then sudo_cmd yum -y update; fi
    if [ -n "$packages" ]; then
      # rpm style name-version instead of apt's name=version
      # shellcheck disable=SC2086
      sudo_cmd yum -y install ${packages//=/-}
    fi
    ;;
  *)
    echo "install_packages: unknown package_type '$package_type'" >&2
    exit 1
    ;;
esac
