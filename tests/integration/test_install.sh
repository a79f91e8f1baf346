#!/usr/bin/env bash
# make install's layout under PREFIX/DESTDIR, and a program built against
# the installed library with pkg-config.
source "$(dirname "$0")/common.sh"
env_init install
dest=$ENV_DIR/dest
DESTDIR=$dest cmake --install "$BYOCA_BUILD" --prefix /opt/byoca >/dev/null
for f in bin/byoca lib/libbyoca.a lib/pkgconfig/byoca.pc include/byoca/acme.h \
  include/byoca/util.h share/man/man1/byoca.1; do
  [ -e "$dest/opt/byoca/$f" ] || fail "not installed: $f"
done
"$dest/opt/byoca/bin/byoca" --version | grep -q '^byoca ' || fail "installed binary"
# the example hooks: every one of contrib/hooks, executable, and their README
n=0
for h in "$BYOCA_SRC"/contrib/hooks/*.sh; do
  f=$dest/opt/byoca/share/byoca/hooks/$(basename "$h")
  [ -x "$f" ] && [ -f "$f" ] || fail "hook not installed executable: $f"
  cmp -s "$h" "$f" || fail "installed hook differs: $f"
  n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n hooks in contrib/hooks"
[ -f "$dest/opt/byoca/share/byoca/hooks/README.md" ] || fail "hooks README not installed"
[ "$(stat -c %a "$dest/opt/byoca/share/byoca/hooks/nsupdate.sh")" = 755 ] ||
  fail "nsupdate.sh mode $(stat -c %a "$dest/opt/byoca/share/byoca/hooks/nsupdate.sh")"
cat >"$ENV_DIR/consumer.c" <<'C'
#include <byoca/crypto.h>
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  struct byoca_key *k;
  char *t;
  if (byoca_key_generate(BYOCA_KEY_EC256, &k, NULL) != 0 ||
      byoca_jwk_thumbprint(k, &t) != 0)
    return 1;
  puts(t);
  free(t);
  byoca_key_free(k);
  return 0;
}
C
export PKG_CONFIG_PATH=$dest/opt/byoca/lib/pkgconfig
san=
# the sanitizer build installs an instrumented archive: link it the same way
if nm "$dest/opt/byoca/lib/libbyoca.a" 2>/dev/null | grep __asan_ >/dev/null; then
  san="-fsanitize=address,undefined"
fi
cc -std=c11 $san "$ENV_DIR/consumer.c" $(pkg-config --cflags --libs byoca) -o "$ENV_DIR/consumer" ||
  fail "cannot build against the installed library"
[ "$("$ENV_DIR/consumer" | wc -c)" = 44 ] || fail "consumer output"
pass "install layout (with the example hooks) and pkg-config"
