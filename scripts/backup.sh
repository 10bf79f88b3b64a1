#!/usr/bin/env bash
# make backup: the database in pg_dump's custom format plus the uploaded files, side by side
# in BACKUP_DIR (default .data/backups), named by UTC time. Needs pg_dump of the server's
# major version or newer.
#
#   DATABASE_URL  the database to back up (required)
#   MEDIA_ROOT    uploads on the file system (default .data/media); skipped when
#                 MEDIA_S3_BUCKET is set (keep versioning on in the bucket instead)
#   BACKUP_DIR    where the files go (default .data/backups)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
BACKUP_DIR="${BACKUP_DIR:-.data/backups}"
MEDIA_ROOT="${MEDIA_ROOT:-.data/media}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$BACKUP_DIR"
dump="$BACKUP_DIR/socialpay-$stamp.dump"

# --no-owner/--no-privileges: restorable under another role; custom format: compressed,
# restorable selectively and in parallel.
pg_dump --format=custom --no-owner --no-privileges --file="$dump.partial" "$DATABASE_URL"
mv "$dump.partial" "$dump"
echo "database: $dump ($(du -h "$dump" | cut -f1))"

if [ -n "${MEDIA_S3_BUCKET:-}" ]; then
  echo "media: in the S3 bucket $MEDIA_S3_BUCKET (not copied; keep bucket versioning on)"
elif [ -d "$MEDIA_ROOT" ]; then
  tar -czf "$BACKUP_DIR/socialpay-$stamp-media.tar.gz.partial" -C "$MEDIA_ROOT" .
  mv "$BACKUP_DIR/socialpay-$stamp-media.tar.gz.partial" "$BACKUP_DIR/socialpay-$stamp-media.tar.gz"
  echo "media: $BACKUP_DIR/socialpay-$stamp-media.tar.gz"
else
  echo "media: $MEDIA_ROOT does not exist, nothing to copy"
fi
