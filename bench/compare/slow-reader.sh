#!/bin/sh
# The resources group's slow program: holds its message by not reading stdin until the
# benchmark releases every program at once, by opening the FIFO $1 for writing (the open
# below blocks until then); then reads the message and discards it. Copied into the run's
# scratch directory and made executable there (programs run without a shell).
: < "$1"
exec cat >/dev/null
