#!/usr/bin/env bash
# A scratch file system for bench/run.sh: ext4 with a journal (mkfs.ext4's
# defaults, what a Debian install gets) in a loop-mounted sparse image, so
# rows do not pay for the files earlier rows deleted (see README, "Rows are
# not independent"). Needs root (losetup, mount).
#
#   bench/scratch-fs.sh up   [IMG] [MNT] [SIZE]   # prints the ZCBENCH_ROOT to use
#   bench/scratch-fs.sh down [IMG] [MNT]          # unmount, delete the image
#
# Defaults: IMG=/work/zcbench.img (not under /tmp: a tmpfs /tmp would hold
# the image in memory), MNT=/mnt/zcbench, SIZE=30G (sparse: it takes only
# what the run writes).
set -euo pipefail

cmd=${1:-}
IMG=${2:-/work/zcbench.img}
MNT=${3:-/mnt/zcbench}
SIZE=${4:-30G}

case $cmd in
  up)
    if mountpoint -q "$MNT"; then
      echo "$MNT is already mounted" >&2
    else
      [ -e "$IMG" ] || { truncate -s "$SIZE" "$IMG"; mkfs.ext4 -q -F -O has_journal "$IMG"; }
      mkdir -p "$MNT"
      mount -o loop "$IMG" "$MNT"
    fi
    dev=$(basename "$(findmnt -n -o SOURCE "$MNT")")
    journal=$(cat "/sys/fs/ext4/$dev/journal_task" 2>/dev/null || echo "?")
    echo "$MNT: $IMG (ext4 journal task: $journal)" >&2
    echo "$MNT/zcbench"
    ;;
  down)
    if mountpoint -q "$MNT"; then umount "$MNT"; fi
    rm -f "$IMG"
    ;;
  *)
    echo "usage: $0 up|down [IMG] [MNT] [SIZE]" >&2
    exit 2
    ;;
esac
