/* One DNS exchange with a server, blocking, for a worker thread: UDP on a
 * connected socket (so only the server's datagrams arrive), answers to
 * other ids ignored, TCP when asked or when the UDP answer is truncated.
 * Every wait is bounded by poll(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rfc2136_int.h"

#define UDP_MAX 4096 /* we send no EDNS, so servers answer at most 512 */

/* Monotonic milliseconds: deadlines must not move with the wall clock. */
int64_t r2136_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (>= 0). */
static int left(int64_t deadline) {
  int64_t ms = deadline - r2136_mono_ms();
  return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* 1 when fd is ready for events before deadline, 0 on timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = events};
    int ms = left(deadline);
    int r = poll(&p, 1, ms);
    if (r > 0)
      return 1;
    if (r == 0)
      return ms == 0 || left(deadline) == 0 ? 0 : 1;
    if (errno != EINTR)
      return -1;
  }
}

static int sock_open(const struct r2136_srv *srv, int type) {
  int fd = socket(srv->ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) != 0 &&
      errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* 1 if the answer is for id and is a response. */
static int answers(const uint8_t *a, size_t n, uint16_t id) {
  return n >= 12 && ((a[0] << 8) | a[1]) == id && (a[2] & 0x80) != 0;
}

/* One UDP try. 0 with *out set, 1 when truncated (try TCP), -1 with errno
 * (ETIMEDOUT on no answer). */
static int udp_try(const struct r2136_srv *srv, const uint8_t *q, size_t qlen,
                   int64_t deadline, uint8_t **out, size_t *outlen) {
  uint16_t id = (uint16_t)((q[0] << 8) | q[1]);
  uint8_t buf[UDP_MAX];
  int fd = sock_open(srv, SOCK_DGRAM), rc = -1;
  if (fd < 0)
    return -1;
  if (send(fd, q, qlen, 0) != (ssize_t)qlen)
    goto out;
  for (;;) {
    int w = wait_fd(fd, POLLIN, deadline);
    if (w <= 0) {
      errno = w == 0 ? ETIMEDOUT : errno;
      goto out;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n < 0)
      goto out;
    if (!answers(buf, (size_t)n, id))
      continue; /* a stale or forged answer: keep waiting */
    if (buf[2] & 0x02) {
      rc = 1;
      goto out;
    }
    if ((*out = malloc((size_t)n)) == NULL) {
      errno = ENOMEM;
      goto out;
    }
    memcpy(*out, buf, (size_t)n);
    *outlen = (size_t)n;
    rc = 0;
    goto out;
  }
out:
  if (rc < 0) {
    int e = errno;
    close(fd);
    errno = e;
  } else {
    close(fd);
  }
  return rc;
}

/* Writes or reads exactly n bytes before deadline. */
static int io_all(int fd, uint8_t *p, size_t n, int writing, int64_t deadline) {
  while (n > 0) {
    int w = wait_fd(fd, writing ? POLLOUT : POLLIN, deadline);
    if (w <= 0) {
      errno = w == 0 ? ETIMEDOUT : errno;
      return -1;
    }
    ssize_t r = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (r <= 0) {
      errno = r == 0 ? ECONNRESET : errno;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int tcp_connected(int fd, int64_t deadline) {
  int w = wait_fd(fd, POLLOUT, deadline), soerr = 0;
  socklen_t sl = sizeof(soerr);
  if (w <= 0) {
    errno = w == 0 ? ETIMEDOUT : errno;
    return -1;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
    return -1;
  if (soerr != 0) {
    errno = soerr;
    return -1;
  }
  return 0;
}

/* One TCP try: 0 with *out set, -1 with errno. */
static int tcp_try(const struct r2136_srv *srv, const uint8_t *q, size_t qlen,
                   int64_t deadline, uint8_t **out, size_t *outlen) {
  uint16_t id = (uint16_t)((q[0] << 8) | q[1]);
  uint8_t hdr[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen};
  uint8_t *buf = NULL;
  int fd = sock_open(srv, SOCK_STREAM), e;
  if (fd < 0)
    return -1;
  if (tcp_connected(fd, deadline) != 0 || io_all(fd, hdr, 2, 1, deadline) ||
      io_all(fd, (uint8_t *)q, qlen, 1, deadline) ||
      io_all(fd, hdr, 2, 0, deadline))
    goto fail;
  size_t n = (size_t)((hdr[0] << 8) | hdr[1]);
  if ((buf = malloc(n > 0 ? n : 1)) == NULL) {
    errno = ENOMEM;
    goto fail;
  }
  if (io_all(fd, buf, n, 0, deadline) != 0)
    goto fail;
  if (!answers(buf, n, id)) {
    errno = EPROTO;
    goto fail;
  }
  close(fd);
  *out = buf;
  *outlen = n;
  return 0;
fail:
  e = errno;
  free(buf);
  close(fd);
  errno = e;
  return -1;
}

static int failed(const struct r2136_srv *srv, const struct r2136_lim *lim,
                  int e, struct byoca_err *err) {
  if (e == ETIMEDOUT)
    return byoca_err_set(err, BYOCA_E_TIMEOUT, BYOCA_CLASS_RETRYABLE,
                         "no answer from DNS server %s (%d tries of %lld ms)",
                         srv->text, lim->tries, (long long)lim->timeout_ms);
  if (e == ENOMEM)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  byoca_err_set(err, BYOCA_E_NET, BYOCA_CLASS_RETRYABLE,
                "cannot reach DNS server %s: %s", srv->text, strerror(e));
  byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
  return BYOCA_E_NET;
}

int r2136_exchange(const struct r2136_srv *srv, const uint8_t *q, size_t qlen,
                   int tcp, const struct r2136_lim *lim, uint8_t **out,
                   size_t *outlen, struct byoca_err *err) {
  int e = ETIMEDOUT;
  if (qlen < 12 || qlen > R2136_MAX_MSG)
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "DNS message of %zu bytes", qlen);
  for (int i = 0; i < (lim->tries > 0 ? lim->tries : 1); i++) {
    int64_t deadline = r2136_mono_ms() + lim->timeout_ms;
    int r = tcp ? -1 : udp_try(srv, q, qlen, deadline, out, outlen);
    if (r == 0)
      return 0;
    if (tcp || r == 1) {
      tcp = 1;
      if (tcp_try(srv, q, qlen, deadline, out, outlen) == 0)
        return 0;
    }
    e = errno;
    if (e == ENOMEM)
      break;
    if (e != ETIMEDOUT && i + 1 < lim->tries) {
      struct timespec pause = {.tv_nsec = 200000000}; /* do not spin */
      nanosleep(&pause, NULL);
    }
  }
  return failed(srv, lim, e, err);
}
