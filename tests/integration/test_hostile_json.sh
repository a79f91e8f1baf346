#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), JSON and directory: nesting 100,000
# deep, invalid UTF-8, numbers for strings, duplicate keys, a directory
# without newNonce, with http:// URLs, with URLs to other hosts, private
# addresses and file://. byoca refuses each naming the server's fault,
# sends nothing to the addresses named (canaries), writes nothing.
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init json "$@"

hostile_expect_fail json_deep "directory" "is not JSON" "maximum parsing depth"
hostile_expect_fail json_bad_utf8 "is not JSON" "unable to decode byte 0xff"
hostile_expect_fail json_numbers "order"
hostile_expect_fail json_dup_keys "is not JSON" "duplicate"
hostile_expect_fail dir_no_newnonce "newNonce"
hostile_expect_fail dir_http_urls "non-https"
hostile_expect_fail dir_other_host "10.0.0.1"
hostile_expect_fail dir_private_addr "169.254.169.254"
hostile_expect_fail dir_file_url "file:"
pass "JSON and directory scenarios"
