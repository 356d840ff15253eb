#!/bin/sh
# The held-large group's slow program: holds its message by not reading stdin until the
# benchmark releases every program at once (it opens the FIFO $1 for writing once every
# message is in flight; the open below blocks until then), then reads stdin to EOF and
# appends its SHA-256 to $2 (one short line: an O_APPEND write, atomic among programs).
# Copied into the run's scratch directory and made executable there (no shell runs it).
: < "$1"
exec sha256sum >> "$2"
