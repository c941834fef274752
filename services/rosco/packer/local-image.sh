#!/bin/sh
# Builds one local image (Gennaker's image store format) from packages:
#   <S>/images/<hex>/{rootfs/,manifest.json}  content-addressed, read-only
#   <S>/names/<imageName>.json                 the name this bake produced
# <hex> is the sha256 of the canonical text: one line per package
# "<name> <version> <sha256 of the file>", sorted, then "command <json>".
# Same packages + same command => same image: an existing complete image
# (manifest.json present) is reused, not unpacked again.
#
# Input (environment, set by local.json from rosco's packer variables):
#   ROSCO_PACKAGES       space-separated "name" (newest, sort -V) or "name=version"
#   ROSCO_PACKAGE_REPO   dir of <name>_<version>_<arch>.deb / <name>-<version>.tar.gz
#   ROSCO_ARTIFACT_DIR   dir of package files rosco fetched from artifacts (optional)
#   ROSCO_IMAGE_STORE    the image store <S>
#   ROSCO_IMAGE_NAME     the image name ([A-Za-z0-9._-])
#   ROSCO_COMMAND_B64    the entry command as a compact JSON array, base64
#                        (packer would interpolate the "{{port}}" of a plain one);
#                        empty/[]: usr/share/<first package>/command.json of
#                        the package, if it has one
#   ROSCO_BASE_OS, ROSCO_TAGS_B64, ROSCO_BUILD_INFO_B64  for the names file
#                        (JSON objects, base64)
# Output (parsed by rosco): "Image: sha256:<hex>" and "ImageName: <name>".
# Needs only POSIX sh, coreutils, dpkg-deb and tar.
set -eu

fail() {
  echo "local-image: $*" >&2
  exit 1
}

S=${ROSCO_IMAGE_STORE:?ROSCO_IMAGE_STORE is required}
R=${ROSCO_PACKAGE_REPO:-}
A=${ROSCO_ARTIFACT_DIR:-}
NAME=${ROSCO_IMAGE_NAME:?ROSCO_IMAGE_NAME is required}
# base64 JSON from rosco, or the default when unset.
decode() {
  if [ -n "$1" ]; then printf '%s' "$1" | base64 -d; else printf '%s' "$2"; fi
}
COMMAND=$(decode "${ROSCO_COMMAND_B64:-}" '[]')
case $NAME in
  *[!A-Za-z0-9._-]* | .* ) fail "image name '$NAME' has characters outside [A-Za-z0-9._-]" ;;
esac

# Only names and versions that are safe in JSON and file names.
safe() {
  case $1 in
    '' | *[!A-Za-z0-9.+~:_-]*) return 1 ;;
  esac
  return 0
}

# A package's command.json goes verbatim into manifest.json: only the simple
# form ["word", "word", ...] whose strings hold no '"', '\' or control
# characters (so nothing in it can end a string or add a key).
valid_command() {
  printf '%s' "$1" | LC_ALL=C grep -Eq \
    '^\[[[:space:]]*"[^"\[:cntrl:]]*"([[:space:]]*,[[:space:]]*"[^"\[:cntrl:]]*")*[[:space:]]*\]$'
}

mkdir -p "$S/images" "$S/names"
WORK=$(mktemp -d "$S/images/.work-XXXXXX")
cleanup() {
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
: >"$WORK/packages"   # lines: name<TAB>version<TAB>path

# Versions of `name` in the repository, one per line.
versions_of() {
  for f in "$R/$1"_*.deb; do
    [ -e "$f" ] || continue
    b=${f##*/}
    rest=${b#"$1"_}
    echo "${rest%_*.deb}"
  done
  for f in "$R/$1"-*.tar.gz; do
    [ -e "$f" ] || continue
    b=${f##*/}
    v=${b#"$1"-}
    v=${v%.tar.gz}
    case $v in [0-9]*) echo "$v" ;; esac
  done
}

# The file of name/version in the repository (deb first).
file_of() {
  for f in "$R/$1_$2"_*.deb "$R/$1-$2.tar.gz"; do
    if [ -e "$f" ]; then
      echo "$f"
      return 0
    fi
  done
  return 1
}

for entry in ${ROSCO_PACKAGES:-}; do
  case $entry in
    *=*) pname=${entry%%=*}; pversion=${entry#*=} ;;
    *) pname=$entry; pversion= ;;
  esac
  safe "$pname" || fail "package name '$pname' is not valid"
  [ -n "$R" ] || fail "no package repository to resolve '$pname' from"
  if [ -z "$pversion" ]; then
    pversion=$(versions_of "$pname" | sort -V | tail -n 1)
    [ -n "$pversion" ] || fail "package '$pname' is not in the repository $R"
  fi
  safe "$pversion" || fail "version '$pversion' of '$pname' is not valid"
  pfile=$(file_of "$pname" "$pversion") ||
    fail "package '$pname' version '$pversion' is not in the repository $R"
  printf '%s\t%s\t%s\n' "$pname" "$pversion" "$pfile" >>"$WORK/packages"
done

if [ -n "$A" ] && [ -d "$A" ]; then
  for f in "$A"/*; do
    [ -f "$f" ] || continue
    b=${f##*/}
    case $b in
      *.deb)
        pname=$(dpkg-deb -f "$f" Package)
        pversion=$(dpkg-deb -f "$f" Version)
        ;;
      *.tar.gz)
        v=${b%.tar.gz}
        pname=${v%%-[0-9]*}
        pversion=${v#"$pname"}
        pversion=${pversion#-}
        [ -n "$pversion" ] || pversion=0
        ;;
      *) fail "artifact '$b' is neither a .deb nor a .tar.gz" ;;
    esac
    safe "$pname" && safe "$pversion" || fail "artifact '$b' has an invalid name or version"
    printf '%s\t%s\t%s\n' "$pname" "$pversion" "$f" >>"$WORK/packages"
  done
fi

[ -s "$WORK/packages" ] || fail "nothing to install: no packages and no package artifacts"

# name version sha256 path, sorted by the canonical line.
while IFS="$(printf '\t')" read -r pname pversion pfile; do
  sum=$(sha256sum "$pfile" | cut -d' ' -f1)
  printf '%s %s %s\t%s\n' "$pname" "$pversion" "$sum" "$pfile"
done <"$WORK/packages" | LC_ALL=C sort >"$WORK/resolved"

{
  cut -f1 "$WORK/resolved"
  printf 'command %s\n' "$COMMAND"
} >"$WORK/canonical"
HEX=$(sha256sum "$WORK/canonical" | cut -d' ' -f1)
IMAGE="$S/images/$HEX"
NOW=$(date +%s%3N)

if [ -f "$IMAGE/manifest.json" ]; then
  echo "local-image: reusing sha256:$HEX (already in the store)"
else
  mkdir "$WORK/image" "$WORK/image/rootfs"
  pkgjson=
  while IFS="$(printf '\t')" read -r line pfile; do
    set -- $line
    case $pfile in
      *.deb) dpkg-deb -x "$pfile" "$WORK/image/rootfs" ;;
      *.tar.gz) tar -xzf "$pfile" -C "$WORK/image/rootfs" --no-same-owner ;;
    esac
    echo "local-image: unpacked $1 $2 (${pfile##*/})"
    pkgjson="$pkgjson${pkgjson:+,}{\"name\":\"$1\",\"version\":\"$2\",\"file\":\"${pfile##*/}\",\"sha256\":\"$3\"}"
  done <"$WORK/resolved"
  # No command in the request: the first package may name its own, as a
  # one-line JSON array in usr/share/<package>/command.json.
  if [ "$COMMAND" = '[]' ]; then
    first=$(head -n 1 "$WORK/packages" | cut -f1)
    own="$WORK/image/rootfs/usr/share/$first/command.json"
    if [ -f "$own" ]; then
      c=$(cat "$own")
      nl='
'
      case $c in
        *"$nl"*) fail "usr/share/$first/command.json must be one line" ;;
      esac
      valid_command "$c" ||
        fail "usr/share/$first/command.json is not a one-line JSON array of strings (no quotes, backslashes or control characters inside them)"
      COMMAND=$c
      echo "local-image: entry command from $first: $c"
    fi
  fi
  chmod -R a-w "$WORK/image/rootfs"
  printf '{"schemaVersion":1,"imageId":"sha256:%s","packages":[%s],"command":%s,"createdAt":%s}\n' \
    "$HEX" "$pkgjson" "$COMMAND" "$NOW" >"$WORK/image/manifest.json.tmp"
  mv "$WORK/image/manifest.json.tmp" "$WORK/image/manifest.json"
  # A half-written directory (never renamed into place by us) is replaced.
  if [ -e "$IMAGE" ] && [ ! -f "$IMAGE/manifest.json" ]; then
    chmod -R u+w "$IMAGE" && rm -rf "$IMAGE"
  fi
  if mv -T "$WORK/image" "$IMAGE" 2>/dev/null; then
    echo "local-image: stored sha256:$HEX"
  elif [ -f "$IMAGE/manifest.json" ]; then
    echo "local-image: reusing sha256:$HEX (an identical bake stored it first)"
  else
    fail "could not move the image into $IMAGE"
  fi
fi

TAGS=$(decode "${ROSCO_TAGS_B64:-}" '{}')
BUILD_INFO=$(decode "${ROSCO_BUILD_INFO_B64:-}" '{}')
BASE_OS=${ROSCO_BASE_OS:-}
case $BASE_OS in *[!A-Za-z0-9._-]*) fail "base os '$BASE_OS' is not valid" ;; esac
printf '{"imageName":"%s","imageId":"sha256:%s","createdAt":%s,"baseOs":"%s","tags":%s,"buildInfo":%s}\n' \
  "$NAME" "$HEX" "$NOW" "$BASE_OS" "$TAGS" "$BUILD_INFO" \
  >"$WORK/name.json"
mv -f "$WORK/name.json" "$S/names/$NAME.json"

echo "Image: sha256:$HEX"
echo "ImageName: $NAME"
