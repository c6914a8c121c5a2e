#!/bin/bash
# Builds the development dependencies' OCI images the same way as the platform's (mmdebstrap,
# umoci, no Docker, no registry), for the local cluster: PostgreSQL (Debian's server package) and
# Kafka (the jars infra/kafka/pom.xml resolves through Maven, on Debian's Java 17). Run by
# `make dev-images` (mk/image.mk).
#   build-deps.sh <tools prefix> <output folder> <kafka libs folder>
# Writes <output folder>/postgresql-<version>.oci.tar and kafka-<version>.oci.tar and prints
# their sizes and manifest digests.
set -euo pipefail
tools=$(realpath "$1")
out=$(realpath -m "$2")
kafka_libs=$(realpath "$3")
root=$(pwd)
export PATH="$tools/usr/bin:$tools/usr/sbin:$PATH"
export LD_LIBRARY_PATH="$tools/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
suite=bookworm
mirror=${MOTCUA_IMAGE_MIRROR:-http://deb.debian.org/debian}
security=${MOTCUA_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
mkdir -p "$out"

# build <name> <tag> <packages> <customize hook> <created_by> <umoci config args...>
build() {
  local name=$1 tag=$2 packages=$3 hook=$4 created_by=$5; shift 5
  local staging="$out/staging-$name"
  rm -rf "$staging" && mkdir -p "$staging"
  echo "image: $name $tag: Debian $suite root filesystem (mmdebstrap)"
  mmdebstrap --quiet --mode=root --variant=minbase --format=tar --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --essential-hook='mkdir -p "$1/usr/share/man/man1"' \
    --customize-hook="$hook" \
    "$suite" "$staging/rootfs.tar" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"
  local layout="$staging/oci"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci raw add-layer --image "$layout:$tag" --history.created "$created" \
    --history.created_by "$created_by" "$staging/rootfs.tar"
  umoci config --image "$layout:$tag" --created "$created" --history.created "$created" \
    --history.created_by "motcua $name image config" --os linux --architecture amd64 \
    --config.label "org.opencontainers.image.title=motcua-$name" \
    --config.label "org.opencontainers.image.version=$tag" \
    --config.label "org.opencontainers.image.revision=$(git rev-parse HEAD)" \
    --config.label "org.opencontainers.image.created=$created" "$@"
  umoci gc --layout "$layout"
  local archive="$out/$name-$tag.oci.tar"
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$layout" -cf "$archive.tmp" . && mv "$archive.tmp" "$archive"
  local digest
  digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$layout/index.json")
  rm -rf "$staging"
  echo "image: ${archive#"$root/"}: size $(du -h "$archive" | cut -f1), manifest $digest, tag $tag"
}

# The tree's own tools are removed as in the platform's image (no apt, no dpkg programs); the
# customize hook runs as root on the finished tree, $1 its path.
strip_tree='rm -rf "$1"/var/log/apt "$1"/var/cache/debconf/*-old "$1"/usr/share/doc/* "$1"/usr/share/man/*;
  chroot "$1" dpkg --purge --force-remove-essential --force-depends apt >/dev/null;
  rm -f "$1"/usr/bin/dpkg* "$1"/usr/sbin/dpkg* "$1"/usr/sbin/update-alternatives "$1"/usr/bin/update-alternatives'

# (the Java package's alternatives link its man pages: the folder must exist though they are
# left out.) Both images by default; MOTCUA_DEV_IMAGES="kafka" builds one.
wanted=" ${MOTCUA_DEV_IMAGES:-postgresql kafka} "

# PostgreSQL 15, Debian's server, as its own user (uid/gid 999, fixed for pods' securityContext).
pg_major=15
if [[ $wanted == *" postgresql "* ]]; then
  build postgresql "$pg_major" "postgresql-$pg_major" \
    "chroot \"\$1\" usermod -u 999 postgres && chroot \"\$1\" groupmod -g 999 postgres &&
     install -m 0755 \"$root/infra/image/postgresql-entrypoint.sh\" \"\$1/usr/local/bin/motcua-postgresql\" &&
     install -d -o 999 -g 999 \"\$1/var/lib/postgresql/data\" \"\$1/var/run/postgresql\" && $strip_tree" \
    "mmdebstrap $suite minbase + postgresql-$pg_major" \
    --config.user 999:999 --config.workingdir /var/lib/postgresql \
    --config.env PATH=/usr/lib/postgresql/$pg_major/bin:/usr/local/bin:/usr/bin:/bin \
    --config.env PGDATA=/var/lib/postgresql/data/pgdata --config.env LANG=C.UTF-8 \
    --config.entrypoint /usr/local/bin/motcua-postgresql
fi

# Kafka in KRaft combined mode on Debian's Java 17: the same jars the local stack runs.
kafka_version=$(basename "$(ls "$kafka_libs"/kafka_2.13-*.jar | grep -v -- '-test' | head -1)" .jar)
kafka_version=${kafka_version#kafka_2.13-}
if [[ $wanted == *" kafka "* ]]; then
  build kafka "$kafka_version" openjdk-17-jre-headless \
    "install -d \"\$1/opt/kafka\" && cp -a \"$kafka_libs\" \"\$1/opt/kafka/libs\" &&
     install -m 0644 \"$root/infra/kafka/log4j.properties\" \"\$1/opt/kafka/log4j.properties\" &&
     install -m 0755 \"$root/infra/image/kafka-entrypoint.sh\" \"\$1/usr/local/bin/motcua-kafka\" &&
     echo 'kafka:x:1001:1001:kafka:/nonexistent:/usr/sbin/nologin' >>\"\$1/etc/passwd\" &&
     echo 'kafka:x:1001:' >>\"\$1/etc/group\" &&
     install -d -o 1001 -g 1001 \"\$1/var/lib/kafka\" && $strip_tree" \
    "mmdebstrap $suite minbase + openjdk-17-jre-headless + Kafka $kafka_version's jars" \
    --config.user 1001:1001 --config.workingdir /var/lib/kafka \
    --config.env LANG=C.UTF-8 --config.env KAFKA_DATA=/var/lib/kafka/data \
    --config.entrypoint /usr/local/bin/motcua-kafka
fi
