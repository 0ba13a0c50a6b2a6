#!/usr/bin/env bash
# Build MMBox's OCI image FROM scratch, without a container daemon: a root file system
# unpacked from Debian bookworm packages (image/packages.txt), the wheels pinned in
# requirements.lock and the project's own wheel, pruned (image/prune.txt), packed as one
# reproducible tarball and turned into an image by buildah from Dockerfile.scratch.
#
# usage: image/build-image.sh [--refresh]
#   --refresh   re-read Debian's package lists (otherwise the cached lists decide versions)
# MMBOX_VENDOR_PUB names the vendor public key that licenses must verify against (baked in at
# /etc/mmbox/vendor.pub); by default the development vendor's, .devvendor/vendor.pub, which
# is created when absent.
#
# Downloads are cached in build/cache. Output: build/image/oci (OCI layout, tag mmbox),
# build/image/mmbox-oci.tar (oci-archive), build/image/digest, and build/image/sources.sha256
# (digest of the repository files the image was built from; written last).
set -euo pipefail
umask 022
export LC_ALL=C.UTF-8

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
PY="$REPO/.venv/bin/python"
BUILD="$REPO/build"
CACHE="$BUILD/cache"
OUT="$BUILD/image"
WORK="$BUILD/image-work"
ROOTFS="$WORK/rootfs"
STORE="$BUILD/buildah"
TAG=mmbox
# Debian's python3.11 searches this folder (checked after unpacking).
SITE=/usr/lib/python3/dist-packages
# A fixed date when the repository has no commit yet: 2024-01-01T00:00:00Z.
FALLBACK_EPOCH=1704067200
# bookworm's glibc is 2.36: a manylinux wheel for any glibc up to it runs in the image.
GLIBC_MINOR=36

REFRESH=false
case "${1:-}" in
  --refresh) REFRESH=true ;;
  "") ;;
  *) echo "usage: image/build-image.sh [--refresh]" >&2; exit 2 ;;
esac

STARTED=$SECONDS
log() { printf '\033[1m[image %3ds]\033[0m %s\n' "$((SECONDS - STARTED))" "$*" >&2; }

# Pip sees only the lock: no user or site configuration, no extra indexes or local wheels.
pip_clean() {
  env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$PY" -m pip "$@"
}

# Run one of the image's own programs on the root, as the image will see it; bwrap options
# (extra binds under the private /tmp) may come before the command.
in_root() {
  bwrap --unshare-all --bind "$ROOTFS" / --proc /proc --dev /dev --tmpfs /tmp --chdir / \
    --clearenv --setenv PATH /usr/bin --setenv LANG C.UTF-8 --setenv PYTHONDONTWRITEBYTECODE 1 \
    "$@"
}

# The wheel tags the image's interpreter accepts, as pip options.
wheel_tags() {
  local n
  printf -- '%s\n' --only-binary=:all: --python-version 3.11 --implementation cp \
    --abi cp311 --abi abi3 --abi none
  for n in $(seq "$GLIBC_MINOR" -1 5); do
    printf -- '--platform\nmanylinux_%s_x86_64\n' "2_$n"
  done
  printf -- '--platform\n%s\n' manylinux2014_x86_64 manylinux2010_x86_64 manylinux1_x86_64
}

source_date_epoch() {
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    echo "$SOURCE_DATE_EPOCH"
  elif git -C "$REPO" rev-parse -q --verify HEAD >/dev/null 2>&1; then
    git -C "$REPO" log -1 --format=%ct
  else
    echo "$FALLBACK_EPOCH"
  fi
}

# --- Debian packages ------------------------------------------------------------------------

# A private apt: its own sources, lists, cache and an empty dpkg status, never the host's.
apt_setup() {
  local dir="$CACHE/apt"
  mkdir -p "$dir"/{etc/apt.conf.d,etc/preferences.d,etc/sources.list.d,lists/partial} \
    "$dir"/{archives/partial,log}
  : >"$dir/status"
  # The machine's own Debian sources (the image is bookworm, like the build machine).
  : >"$dir/etc/sources.list"
  if [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$dir/etc/sources.list"; fi
  find "$dir/etc/sources.list.d" -mindepth 1 -delete
  find /etc/apt/sources.list.d -maxdepth 1 \( -name '*.sources' -o -name '*.list' \) \
    -exec cp -t "$dir/etc/sources.list.d" {} +
  cat >"$dir/apt.conf" <<EOF
Dir::Etc "$dir/etc";
Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "$dir/etc/sources.list.d";
Dir::Etc::Parts "$dir/etc/apt.conf.d";
Dir::Etc::PreferencesParts "$dir/etc/preferences.d";
Dir::State "$dir";
Dir::State::Lists "$dir/lists";
Dir::State::status "$dir/status";
Dir::Cache "$dir";
Dir::Cache::Archives "$dir/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Log "$dir/log";
APT::Architecture "amd64";
APT::Architectures "amd64";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
EOF
  export APT_CONFIG="$dir/apt.conf"
  if $REFRESH || ! compgen -G "$dir/lists/*_Packages*" >/dev/null; then
    log "reading Debian's package lists"
    apt-get update -qq
  fi
}

wanted_packages() { grep -Ev '^\s*(#|-|$)' "$HERE/packages.txt"; }
excluded_packages() { sed -n 's/^-\([^[:space:]]*\).*/\1/p' "$HERE/packages.txt"; }

# Print name, version and architecture of every package apt resolves, less the excluded ones.
resolve_debs() {
  local -a wanted
  mapfile -t wanted < <(wanted_packages)
  apt-get install -qq --download-only -y "${wanted[@]}" >/dev/null
  apt-get install -s -y "${wanted[@]}" |
    sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*\[\([a-z0-9]*\)\])\( \[\]\)\{0,1\}$/\1 \2 \3/p' |
    awk 'NR == FNR { skip[$1]; next } !($1 in skip)' <(excluded_packages) - |
    sort
}

unpack_debs() {
  local name version arch deb dir count=0
  mkdir -p "$ROOTFS"/usr/{bin,sbin,lib,lib64} "$ROOTFS/var/lib/dpkg/status.d"
  # Merged /usr, as bookworm installs it: /bin, /sbin, /lib, /lib64 are links into /usr.
  for dir in bin sbin lib lib64; do ln -s "usr/$dir" "$ROOTFS/$dir"; done
  resolve_debs >"$WORK/debs.txt"
  while read -r name version arch; do
    deb="$CACHE/apt/archives/${name}_${version//:/%3a}_${arch}.deb"
    dpkg-deb --fsys-tarfile "$deb" |
      tar -x -C "$ROOTFS" --keep-directory-symlink --no-same-owner
    # What is installed, for vulnerability scanners (the distroless layout).
    { dpkg-deb -f "$deb"; echo "Status: install ok installed"; } \
      >"$ROOTFS/var/lib/dpkg/status.d/$name"
    count=$((count + 1))
  done <"$WORK/debs.txt"
  log "unpacked $count Debian packages"
}

# --- System files ---------------------------------------------------------------------------

configure_system() {
  install -d -m 1777 "$ROOTFS/tmp"
  install -d -m 0700 "$ROOTFS/root"
  install -d -m 0755 "$ROOTFS"/{data,dev,proc,sys,run}
  printf '%s\n' "root:x:0:0:root:/root:/usr/sbin/nologin" \
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin" >"$ROOTFS/etc/passwd"
  printf '%s\n' "root:x:0:" "nogroup:x:65534:" >"$ROOTFS/etc/group"
  printf '%s\n' "127.0.0.1 localhost" "::1 localhost ip6-localhost ip6-loopback" \
    >"$ROOTFS/etc/hosts"
  printf '%s\n' "passwd: files" "group: files" "shadow: files" "hosts: files dns" \
    "networks: files" "protocols: files" "services: files" >"$ROOTFS/etc/nsswitch.conf"
  # What softhsm2-common's maintainer script installs: SoftHSM2's default configuration.
  install -m 0644 "$ROOTFS/usr/share/softhsm/softhsm2.conf" "$ROOTFS/etc/softhsm/softhsm2.conf"
  # What update-ca-certificates would write: every trusted certificate in one bundle,
  # which OpenSSL's default CA file points to.
  mkdir -p "$ROOTFS/etc/ssl/certs" "$ROOTFS/usr/lib/ssl"
  find "$ROOTFS/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat \
    >"$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  ln -sfn /etc/ssl/certs/ca-certificates.crt "$ROOTFS/usr/lib/ssl/cert.pem"
}

# The vendor public key the supervisor verifies licenses against.
vendor_public_key() {
  if [ -n "${MMBOX_VENDOR_PUB:-}" ]; then
    if [ ! -f "$MMBOX_VENDOR_PUB" ]; then
      echo "build-image.sh: MMBOX_VENDOR_PUB=$MMBOX_VENDOR_PUB is not a file;" \
        "point it at the vendor's vendor.pub" >&2
      exit 1
    fi
    echo "$MMBOX_VENDOR_PUB"
    return
  fi
  (cd "$REPO" && "$PY" -m provisioning.vendor init --dir "$REPO/.devvendor" >&2)
  echo "$REPO/.devvendor/vendor.pub"
}

bake_vendor_key() {
  install -D -m 0644 "$VENDOR_PUB" "$ROOTFS/etc/mmbox/vendor.pub"
}

# --- Python packages ------------------------------------------------------------------------

fetch_wheels() {
  local dir="$CACHE/wheels" want
  mkdir -p "$dir"
  want=$({ cat "$REPO/requirements.lock"; wheel_tags; } | sha256sum | cut -d' ' -f1)
  [ "$(cat "$dir/.lock.sha256" 2>/dev/null)" = "$want" ] && return 0
  log "downloading the locked wheels"
  local -a tags
  mapfile -t tags < <(wheel_tags)
  pip_clean download -q --no-deps --require-hashes "${tags[@]}" \
    -r "$REPO/requirements.lock" -d "$dir"
  echo "$want" >"$dir/.lock.sha256"
}

# Build the project's wheel from a copy of exactly the files the source digest covers.
build_project_wheel() {
  local src="$WORK/src" wheel
  mkdir -p "$src" "$WORK/dist"
  "$PY" "$HERE/sources.py" list | tar -C "$REPO" --null -T - -cf - | tar -C "$src" -xf -
  pip_clean wheel -q --no-deps --no-build-isolation -w "$WORK/dist" "$src"
  wheel=$(find "$WORK/dist" -name '*.whl')
  # The project is pinned by its hash too, so one --require-hashes install takes everything.
  cp "$REPO/requirements.lock" "$WORK/requirements.txt"
  basename "$wheel" | awk -F- -v hash="$(sha256sum "$wheel" | cut -d' ' -f1)" \
    '{ print $1 "==" $2 " --hash=sha256:" hash }' >>"$WORK/requirements.txt"
}

# pip runs inside the root with the image's interpreter (from the locked pip wheel), so the
# wheels are checked against that interpreter and no build path ends up in what it writes.
install_wheels() {
  local pip_wheel
  pip_wheel=$(sed -n 's/^pip==\([^ ]*\).*/pip-\1-py3-none-any.whl/p' "$REPO/requirements.lock")
  if [ -z "$pip_wheel" ] || [ ! -f "$CACHE/wheels/$pip_wheel" ]; then
    echo "build-image.sh: requirements.lock pins no pip wheel, which installs the others;" \
      "keep pip in the lock" >&2
    exit 1
  fi
  mkdir -p "$ROOTFS$SITE"
  in_root --ro-bind "$CACHE/wheels" /tmp/wheels --ro-bind "$WORK/dist" /tmp/dist \
    --ro-bind "$WORK/requirements.txt" /tmp/requirements.txt \
    /usr/bin/python3.11 "/tmp/wheels/$pip_wheel/pip" install -q --no-index --no-cache-dir \
    --disable-pip-version-check --root-user-action=ignore --no-warn-script-location \
    --find-links /tmp/wheels --find-links /tmp/dist --only-binary=:all: --no-deps \
    --require-hashes --no-compile --target "$SITE" -r /tmp/requirements.txt
  log "installed $(find "$ROOTFS$SITE" -maxdepth 1 -name '*.dist-info' | wc -l) wheels"
}

# The hot paths, compiled with the locked Cython against the headers of the same python3.11
# the image runs; each shared object replaces its module's source in the root.
compile_hot_paths() {
  local module rel package name so
  mkdir -p "$WORK/cython"
  while read -r module; do
    rel=${module%.py}
    package=$(dirname "$rel")
    name=$(basename "$rel")
    mkdir -p "$WORK/cython/$package"
    cp "$REPO/$module" "$WORK/cython/$package/"
    [ -f "$REPO/$rel.pxd" ] && cp "$REPO/$rel.pxd" "$WORK/cython/$package/"
    so="$package/$name$(/usr/bin/python3.11 -c \
      'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
    (cd "$WORK/cython" && "$PY" -m cython -3 --module-name "${rel//\//.}" \
      -o "$rel.c" "$module" && gcc -shared -fPIC -O2 -ffile-prefix-map="$WORK/cython/=" \
      $(/usr/bin/python3.11-config --includes) -o "$so" "$rel.c")
    cp "$WORK/cython/$so" "$ROOTFS$SITE/$so"
    rm -f "$ROOTFS$SITE/$module" "$ROOTFS$SITE/$rel.pxd"
  done < <(grep -Ev '^\s*(#|$)' "$HERE/hot-paths.txt")
  log "compiled $(grep -cEv '^\s*(#|$)' "$HERE/hot-paths.txt") hot paths with Cython"
}

# --- Finishing the root ---------------------------------------------------------------------

strip_shared_objects() {
  find "$ROOTFS$SITE" -type f -name '*.so*' -print0 | xargs -0 -r strip --strip-unneeded
}

# The loader's cache (pyudev finds libudev through `ldconfig -p`), then a check that every
# program and shared object finds its libraries.
link_libraries() {
  in_root /sbin/ldconfig
  rm -rf "$ROOTFS/var/cache/ldconfig"
  in_root /usr/bin/python3.11 - <"$HERE/linkcheck.py"
}

compile_bytecode() {
  if ! in_root /usr/bin/python3.11 -c "import sys; sys.exit('$SITE' not in sys.path)"; then
    echo "build-image.sh: the image's python3.11 does not search $SITE" >&2
    exit 1
  fi
  # unchecked-hash: the root is read-only, so a .pyc never goes stale, and no mtime is in it.
  in_root /usr/bin/python3.11 -m compileall -q -f -j 0 --invalidation-mode unchecked-hash \
    /usr/lib/python3.11 "$SITE"
}

pack_rootfs() {
  mkdir -p "$WORK/context"
  tar -C "$ROOTFS" --sort=name --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --numeric-owner --owner=0 --group=0 --mtime="@$SDE" -cf - . |
    gzip -n -1 >"$WORK/context/rootfs.tar.gz"
}

# --- The OCI image --------------------------------------------------------------------------

build_oci() {
  local policy="$WORK/policy.json"
  echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$policy"
  rm -rf "$STORE" "$OUT/oci" "$OUT/mmbox-oci.tar"
  mkdir -p "$OUT"
  local -a store=(--root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs)
  buildah "${store[@]}" bud -q --isolation chroot --timestamp "$SDE" --format oci \
    --signature-policy "$policy" -f "$REPO/Dockerfile.scratch" -t "$TAG" "$WORK/context" \
    >/dev/null
  buildah "${store[@]}" push -q --signature-policy "$policy" --digestfile "$OUT/digest" \
    "$TAG" "oci:$OUT/oci:$TAG"
  skopeo copy -q --policy "$policy" "oci:$OUT/oci:$TAG" "oci-archive:$OUT/mmbox-oci.tar:$TAG"
  rm -rf "$STORE"
}

report() {
  local unpacked compressed
  unpacked=$(du -sb --apparent-size "$ROOTFS" | cut -f1)
  compressed=$(find "$OUT/oci/blobs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
  log "image $TAG: $(numfmt --to=iec-i --suffix=B "$compressed") compressed," \
    "$(numfmt --to=iec-i --suffix=B "$unpacked") unpacked"
  log "digest $(cat "$OUT/digest")"
  log "layout $OUT/oci:$TAG, archive $OUT/mmbox-oci.tar"
}

main() {
  SDE=$(source_date_epoch)
  rm -rf "$WORK" "$OUT/sources.sha256"
  mkdir -p "$WORK" "$CACHE"
  VENDOR_PUB=$(vendor_public_key)
  local sources
  sources=$("$PY" "$HERE/sources.py" digest --baked "$VENDOR_PUB")
  apt_setup
  unpack_debs
  configure_system
  bake_vendor_key
  fetch_wheels
  build_project_wheel
  install_wheels
  compile_hot_paths
  log "pruning"
  "$PY" "$HERE/prune.py" "$ROOTFS" "$HERE/prune.txt"
  strip_shared_objects
  link_libraries
  log "compiling bytecode"
  compile_bytecode
  log "packing the root file system"
  pack_rootfs
  log "building the OCI image"
  build_oci
  report
  rm -rf "$WORK"
  echo "$sources" >"$OUT/sources.sha256"
}

main
