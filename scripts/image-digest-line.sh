#!/usr/bin/env bash
# Print the block to append to the allowed-images file for a newly built image
# (runbook: "Add your new block of images on the end after a date_separator
# line with the date at the end of the line"), then validate the result:
#   scripts/image-digest-line.sh <acct>.dkr.ecr.us-west-2.amazonaws.com/cd/env_test@sha256:<digest> [more refs]
exec "$(dirname "${BASH_SOURCE[0]}")/../run_tests.sh" --image-digest-line "$@"
