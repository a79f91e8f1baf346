#!/usr/bin/env bash
# byoca discover against real DNS (pebble-challtestsrv) and real CAs
# (Pebble behind nginx at https://caN.byoca.test/.well-known/acme).
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/cas.sh"
env_init discover
env_gen_tls
env_start_challtestsrv
env_start_cas 4
bd() {
  "$BYOCA" discover "$@" --resolver "127.0.0.1@$PORT_DNS" --allow-net 127.0.0.0/8 \
    --ca-bundle "$ENV_CA_BUNDLE"
}
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

# the owner's priority decides; both CAs' directories are found
cts_add_caa demo.byoca.test 0 issue "ca2.byoca.test; priority=1"
cts_add_caa demo.byoca.test 0 issue "ca1.byoca.test; priority=2"
expect_rc 0 bd demo.byoca.test --json
echo "$OUT" | jq_py '
assert d["outcome"] == "try_in_order", d
c = d["candidates"]
assert [x["issuer"] for x in c] == ["ca2.byoca.test", "ca1.byoca.test"], c
assert all(x["directory"].startswith("https://127.0.0.1:") and x["error"] is None for x in c), c
assert d["groups"] == [["ca2.byoca.test"], ["ca1.byoca.test"]], d["groups"]
i = d["identifiers"][0]
assert i["status"] == "restricted" and i["relevant_domain"] == "demo.byoca.test", i
assert i["dnssec"] == "unchecked", i
# an RRset has no order: find the record by its issuer
r2 = [r for r in i["records"] if r["issuer"] == "ca2.byoca.test"]
assert len(r2) == 1 and r2[0]["parameters"] == [["priority", "1"]], i
assert sorted(i["authorized"]) == ["ca1.byoca.test", "ca2.byoca.test"], i
' || fail "priority discovery: $OUT"
expect_rc 0 bd demo.byoca.test
expect_in "$OUT" "1. ca2.byoca.test" "text output"
expect_in "$OUT" "CAA records at demo.byoca.test" "text output"
pass "priority and directories"

# a subdomain inherits the parent's records (climbing)
expect_rc 0 bd www.demo.byoca.test --json --no-directory
echo "$OUT" | jq_py 'assert d["identifiers"][0]["relevant_domain"] == "demo.byoca.test", d' ||
  fail "climbing"
pass "relevant RRset at the parent"

# a chain of redirects to the directory is followed; a directory whose
# caaIdentities lacks the issuer is refused
cts_add_caa chain.byoca.test 0 issue "ca3.byoca.test"
cts_add_caa chain.byoca.test 0 issue "ca4.byoca.test"
expect_rc 0 bd chain.byoca.test --json --seed 1
echo "$OUT" | jq_py '
c = {x["issuer"]: x for x in d["candidates"]}
assert c["ca3.byoca.test"]["directory"].startswith("https://127.0.0.1:"), c
assert c["ca4.byoca.test"]["directory"] is None, c
assert "caaIdentities" in c["ca4.byoca.test"]["error"], c
assert d["groups"] == [sorted(c)] or len(d["groups"]) == 1, d["groups"]
' || fail "redirects / caaIdentities: $OUT"
pass "redirect chain followed, caaIdentities mismatch refused"

# issue ";" forbids, with a clear reason
cts_add_caa nocerts.byoca.test 0 issue ";"
expect_rc 1 bd nocerts.byoca.test --json --no-directory
echo "$OUT" | jq_py 'assert d["outcome"] == "forbidden", d; assert d["identifiers"][0]["status"] == "forbidden"' ||
  fail "issue ; : $OUT"
expect_rc 1 bd nocerts.byoca.test --no-directory
expect_in "$OUT" "forbid issuance" "text for forbidden"
pass "forbidden"

# no records anywhere: any CA (the default)
expect_rc 0 bd free.example.test --json --no-directory
echo "$OUT" | jq_py 'assert d["outcome"] == "use_default" and d["candidates"] == [], d' ||
  fail "use_default: $OUT"
pass "unrestricted"

# SERVFAIL fails closed (D-DNS-ERR)
cts_servfail broken.byoca.test
expect_rc 1 bd broken.byoca.test --json --no-directory
echo "$OUT" | jq_py 'assert d["outcome"] == "lookup_error", d; assert d["identifiers"][0]["status"] == "lookup_error"' ||
  fail "servfail: $OUT"
pass "SERVFAIL fails closed"

# an owner checks records before publishing them
cat >"$ENV_DIR/zone.txt" <<ZONE
\$ORIGIN example.org.
@        3600 IN CAA 0 issue "ca1.example; priority=2"
@        3600 IN CAA 0 issue "ca2.example; priority=1; validationmethods=dns-01"
shop          IN CNAME shops.hoster.example.
ZONE
expect_rc 0 bd example.org shop.example.org --zone "$ENV_DIR/zone.txt" --no-directory --json --methods http-01
echo "$OUT" | jq_py '
assert [x["issuer"] for x in d["candidates"]] == ["ca1.example"], d["candidates"]
r = d["identifiers"][0]["records"]
r2 = [x for x in r if x["issuer"] == "ca2.example"][0]
assert not r2["usable"] and "dns-01" in r2["reason"], r
' || fail "zone file: $OUT"
printf 'example.org. IN A 192.0.2.1\n' >"$ENV_DIR/bad-zone.txt"
expect_rc 1 bd example.org --zone "$ENV_DIR/bad-zone.txt" --no-directory
expect_in "$ERR" "bad-zone.txt:1" "zone error with line number"
pass "zone file"
