// floor: the least CPU a keep-alive HTTP/1.1 request-response on loopback can cost a client on
// this machine, so that hit's and the peers' CPU per request can be quoted as a fraction of it.
//
// It does nothing a load generator cannot skip: C connections to one IPv4 address, one request
// in flight on each, the same request bytes every time, and responses that are only counted. Their
// length is learnt from the first response (nginx's `return 200 "..."` answers are all as long:
// its Date header has a fixed width) and every later one is checked to start with the same status
// line, so a server that changes the length is caught rather than miscounted. No latency is
// recorded, nothing is parsed: what is left is the system calls, the wake-ups and, over
// https, OpenSSL's cost per record.
//
//   floor [--io epoll|uring] [--h2 [-m STREAMS] [--refill-each]] [-c N] [-d SECONDS] URL
//
//   --io epoll   one recv and one send per request, one epoll_wait per batch of ready sockets:
//                the least a readiness-based client (wrk, hit, h2load) can do
//   --io uring   io_uring: a multishot receive per connection with a ring of provided buffers,
//                sends queued as submissions; one io_uring_enter per loop turn submits every send
//                and waits for the next completions; no system call per request
//   https://     (epoll only) TLS 1.3 through OpenSSL on the non-blocking socket, read-ahead on,
//                the certificate not verified (as wrk and h2load do not), one SSL_write and one
//                SSL_read per request; the handshakes are made before the run, blocking
//   --h2         (epoll only) HTTP/2, h2c with prior knowledge or h2 over TLS (ALPN), -m
//                streams per connection (10), refilled once half are free (--refill-each:
//                after every read): floor_h2.cpp
//
// Prints `requests: N`, `seconds: S`, `rps: R`, `cpu_us_per_req: C` (this process's user + system
// time). bench/peers runs it as the peers `floor` and `floor-uring`; figures in
// docs/performance.md. Only ever point it at a server of your own on loopback.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "floor.hpp"

#ifdef HIT_FLOOR_URING
#include <liburing.h>
#endif

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace hit_floor {

void die(const std::string& what) {
  std::fprintf(stderr, "floor: %s\n", what.c_str());
  std::exit(1);
}

void die_errno(const std::string& what) {
  die(what + ": " + std::strerror(errno));
}

// A whole decimal number in [lo, hi], or one line and exit 1.
long number(std::string_view text, long lo, long hi, const char* what) {
  long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
    die(std::string(what) + " is " + std::to_string(lo) + " to " + std::to_string(hi));
  return v;
}

options parse(int argc, char** argv) {
  options o;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (a == "--io")
      o.io = value();
    else if (a == "-c")
      o.connections = static_cast<int>(number(value(), 1, 10000, "-c"));
    else if (a == "-d")
      o.seconds = std::strtod(value().c_str(), nullptr);
    else if (a == "--h2")
      o.h2 = true;
    else if (a == "--refill-each")
      o.refill_each = true;
    else if (a == "-m")
      o.streams = static_cast<int>(number(value(), 1, 1000, "-m"));
    else if (a.starts_with("http://") || a.starts_with("https://"))
      url = a;
    else
      die("usage: floor [--io epoll|uring] [--h2 [-m STREAMS] [--refill-each]] [-c N] [-d S] "
          "http[s]://IPv4:PORT/PATH");
  }
  if (o.io != "epoll" && o.io != "uring") die("--io is epoll or uring");
  if (!(o.seconds > 0 && o.seconds < 86400)) die("-d is seconds, more than 0 and less than a day");
  if (o.h2 && o.io != "epoll") die("--h2 is --io epoll only");
  if (url.empty()) die("no URL (http[s]://IPv4:PORT/PATH)");
  o.tls = url.starts_with("https://");
  if (o.tls && o.io != "epoll") die("https is --io epoll only");
  const auto rest = std::string_view(url).substr(o.tls ? 8 : 7);
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  const auto path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) die("the URL must be http[s]://IPv4:PORT/PATH");
  const std::string host(authority.substr(0, colon));
  o.address.sin_family = AF_INET;
  o.address.sin_port =
      htons(static_cast<std::uint16_t>(number(authority.substr(colon + 1), 1, 65535, "the port")));
  if (inet_pton(AF_INET, host.c_str(), &o.address.sin_addr) != 1)
    die("not an IPv4 address: " + host);
  o.path = path;
  o.authority = authority;
  o.request =
      "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(authority) + "\r\n\r\n";
  return o;
}

SSL_CTX* tls_context(bool h2) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) die("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_read_ahead(ctx, 1);
  static const unsigned char http1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static const unsigned char http2[] = {2, 'h', '2'};
  if (h2)
    SSL_CTX_set_alpn_protos(ctx, http2, sizeof http2);
  else
    SSL_CTX_set_alpn_protos(ctx, http1, sizeof http1);
  return ctx;
}

link connect_to(const options& o, SSL_CTX* ctx) {
  link l;
  l.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (l.fd < 0) die_errno("socket");
  // The blocking steps (connect, handshake, the first exchange) give up after 5 s.
  const timeval limit{5, 0};
  ::setsockopt(l.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(l.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  if (::connect(l.fd, reinterpret_cast<const sockaddr*>(&o.address), sizeof o.address) != 0)
    die_errno("connect");
  const int one = 1;
  ::setsockopt(l.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (ctx != nullptr) {
    l.ssl = SSL_new(ctx);
    SSL_set_fd(l.ssl, l.fd);
    if (SSL_connect(l.ssl) != 1) die("the TLS handshake failed");
    const unsigned char* chosen = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(l.ssl, &chosen, &length);
    if (o.h2 && std::string_view(reinterpret_cast<const char*>(chosen), length) != "h2")
      die("the server did not agree to h2 (ALPN)");
  }
  return l;
}

void close_link(link& l) {
  if (l.ssl != nullptr) SSL_free(l.ssl);
  ::close(l.fd);
}

void send_all(const link& l, std::string_view bytes) {
  while (!bytes.empty()) {
    long n = 0;
    bool full = false;  // the socket's send buffer is full
    if (l.ssl != nullptr) {
      n = SSL_write(l.ssl, bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0 && SSL_get_error(l.ssl, static_cast<int>(n)) != SSL_ERROR_WANT_WRITE)
        die("SSL_write failed");
      full = n <= 0;
    } else {
      n = ::send(l.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) die_errno("send");
      full = n < 0;
    }
    if (n > 0) bytes.remove_prefix(static_cast<std::size_t>(n));
    pollfd p{l.fd, POLLOUT, 0};
    if (full && ::poll(&p, 1, 5000) == 0) die("the server stopped reading for 5 s");
  }
}

// Bytes received, or -1 when none are there yet. A closed connection or an error ends the run.
long receive(const link& l, char* buf, std::size_t size) {
  if (l.ssl != nullptr) {
    const int n = SSL_read(l.ssl, buf, static_cast<int>(size));
    if (n > 0) return n;
    if (SSL_get_error(l.ssl, n) == SSL_ERROR_WANT_READ) return -1;
    die("SSL_read failed or the server closed a connection");
  }
  const auto n = ::recv(l.fd, buf, size, 0);
  if (n > 0) return n;
  if (n < 0 && errno == EAGAIN) return -1;
  die(n == 0 ? "the server closed a connection" : "recv: " + std::string(std::strerror(errno)));
}

// One exchange with blocking calls before the run: the length of every response.
std::size_t learn_response_length(const options& o, SSL_CTX* ctx) {
  link l = connect_to(o, ctx);
  send_all(l, o.request);
  std::string got;
  char buf[65536];
  for (;;) {
    const auto n = receive(l, buf, sizeof buf);
    if (n < 0) die("no answer to the first request within 5 s");
    got.append(buf, static_cast<std::size_t>(n));
    const auto end = got.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    if (!got.starts_with("HTTP/1.1 200")) die("the server's answer is not 200 OK");
    std::string lower = got.substr(0, end);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const auto cl = lower.find("\r\ncontent-length:");
    if (cl == std::string::npos) die("the response has no Content-Length");
    const auto total = end + 4 + std::strtoul(lower.c_str() + cl + 17, nullptr, 10);
    if (got.size() < total) continue;
    close_link(l);
    return total;
  }
}

// Counts whole responses in a connection's byte stream: `offset` is how far into the current one.
struct counter {
  std::size_t length;
  std::string_view status;  // what every response starts with

  // Returns whether the bytes completed the one response in flight.
  bool feed(std::size_t& offset, const char* data, std::size_t n) const {
    if (offset == 0 && (n < status.size() || std::memcmp(data, status.data(), status.size()) != 0))
      die("a response does not start with '" + std::string(status) +
          "' (floor needs 200 responses all of one length)");
    offset += n;
    if (offset < length) return false;
    if (offset > length)
      die("more bytes than one response (floor needs 200 responses all of one length)");
    offset = 0;
    return true;
  }
};

poller::poller(std::size_t connections) : ep_(::epoll_create1(0)), events_(connections) {
  if (ep_ < 0) die_errno("epoll_create1");
}

poller::~poller() {
  ::close(ep_);
}

void poller::add(int fd, std::size_t index) {
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  epoll_event ev{EPOLLIN, {.u64 = index}};
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die_errno("epoll_ctl");
}

std::span<const std::size_t> poller::wait() {
  const int n = ::epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), 1000);
  if (n < 0 && errno != EINTR) die_errno("epoll_wait");
  ready_.clear();
  for (int k = 0; k < n; ++k) ready_.push_back(events_[static_cast<std::size_t>(k)].data.u64);
  return ready_;
}

result run_epoll(const options& o, const counter& count, SSL_CTX* ctx) {
  std::vector<link> links(static_cast<std::size_t>(o.connections));
  std::vector<std::size_t> offset(links.size(), 0);
  poller sockets(links.size());
  for (std::size_t i = 0; i < links.size(); ++i) {
    links[i] = connect_to(o, ctx);
    sockets.add(links[i].fd, i);
  }
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  for (const auto& l : links) send_all(l, o.request);
  result r;
  static char buf[65536];
  for (bool sending = true; sending;) {
    const auto ready = sockets.wait();
    sending = clock_type::now() < end;
    for (const auto i : ready) {
      bool done = false;
      do {  // over https, until OpenSSL holds no more read-ahead bytes
        const auto got = receive(links[i], buf, sizeof buf);
        if (got < 0) break;
        done = count.feed(offset[i], buf, static_cast<std::size_t>(got));
      } while (!done && links[i].ssl != nullptr && SSL_has_pending(links[i].ssl));
      if (!done) continue;
      ++r.requests;
      if (sending) send_all(links[i], o.request);
    }
  }
  r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  for (auto& l : links) close_link(l);
  return r;
}

#ifdef HIT_FLOOR_URING
result run_uring(const options& o, const counter& count) {
  io_uring ring;
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  const unsigned entries = 4096;
  if (int e = io_uring_queue_init_params(entries, &ring, &params); e < 0) {
    params = {};  // kernels before 6.1: without the flags
    if ((e = io_uring_queue_init_params(entries, &ring, &params)) < 0)
      die(std::string("io_uring_queue_init: ") + std::strerror(-e));
  }
  const std::size_t n = static_cast<std::size_t>(o.connections);
  std::vector<int> fds(n);
  std::vector<std::size_t> offset(n, 0);
  for (auto& fd : fds) fd = connect_to(o, nullptr).fd;
  if (int e = io_uring_register_files(&ring, fds.data(), static_cast<unsigned>(n)); e < 0)
    die(std::string("io_uring_register_files: ") + std::strerror(-e));

  // Provided buffers for the multishot receives: 16 KiB each, twice as many as connections.
  constexpr unsigned buffer_size = 16384;
  unsigned buffers = 1;
  while (buffers < 2 * n) buffers <<= 1;
  const std::size_t ring_bytes = buffers * sizeof(io_uring_buf);
  void* mem =
      ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) die_errno("mmap");
  auto* br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
  reg.ring_entries = buffers;
  reg.bgid = 0;
  if (int e = io_uring_register_buf_ring(&ring, &reg, 0); e < 0)
    die(std::string("io_uring_register_buf_ring: ") + std::strerror(-e));
  io_uring_buf_ring_init(br);
  std::vector<char> storage(std::size_t{buffers} * buffer_size);
  const int mask = io_uring_buf_ring_mask(buffers);
  for (unsigned b = 0; b < buffers; ++b)
    io_uring_buf_ring_add(br, storage.data() + std::size_t{b} * buffer_size, buffer_size,
                          static_cast<unsigned short>(b), mask, static_cast<int>(b));
  io_uring_buf_ring_advance(br, static_cast<int>(buffers));

  // user_data: the connection's index, and whether the completion is a send's.
  constexpr std::uint64_t send_bit = std::uint64_t{1} << 63;
  auto sqe = [&] {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {  // the submission queue is full: hand it over and take a fresh one
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    return s;
  };
  auto arm_receive = [&](std::size_t i) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, static_cast<int>(i), nullptr, 0, 0);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    s->buf_group = 0;
    io_uring_sqe_set_data64(s, i);
  };
  auto queue_send = [&](std::size_t i) {
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, static_cast<int>(i), o.request.data(), o.request.size(), MSG_NOSIGNAL);
    s->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(s, i | send_bit);
  };

  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  for (std::size_t i = 0; i < n; ++i) {
    arm_receive(i);
    queue_send(i);
  }
  result r;
  for (bool sending = true; sending;) {
    __kernel_timespec second{1, 0};  // (so that a stalled server cannot hold the run past -d)
    io_uring_cqe* first = nullptr;
    if (int e = io_uring_submit_and_wait_timeout(&ring, &first, 1, &second, nullptr);
        e < 0 && e != -EINTR && e != -ETIME)
      die(std::string("io_uring_submit_and_wait: ") + std::strerror(-e));
    sending = clock_type::now() < end;
    unsigned head, seen = 0;
    int returned = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const auto data = io_uring_cqe_get_data64(cqe);
      const std::size_t i = data & ~send_bit;
      if (data & send_bit) {
        if (cqe->res != static_cast<int>(o.request.size()))
          die(cqe->res < 0 ? "send: " + std::string(std::strerror(-cqe->res)) : "a short send");
        continue;
      }
      if (cqe->res == -ENOBUFS) {  // every buffer taken: receive again once they are back
        arm_receive(i);
        continue;
      }
      if (cqe->res <= 0)
        die(cqe->res == 0 ? "the server closed a connection"
                          : "recv: " + std::string(std::strerror(-cqe->res)));
      const unsigned b = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      char* bytes = storage.data() + std::size_t{b} * buffer_size;
      const bool done = count.feed(offset[i], bytes, static_cast<std::size_t>(cqe->res));
      io_uring_buf_ring_add(br, bytes, buffer_size, static_cast<unsigned short>(b), mask,
                            returned++);
      if (!(cqe->flags & IORING_CQE_F_MORE)) arm_receive(i);
      if (!done) continue;
      ++r.requests;
      if (sending) queue_send(i);
    }
    io_uring_buf_ring_advance(br, returned);
    io_uring_cq_advance(&ring, seen);
  }
  r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  io_uring_queue_exit(&ring);
  for (int fd : fds) ::close(fd);
  ::munmap(mem, ring_bytes);
  return r;
}
#endif

}  // namespace hit_floor

int main(int argc, char** argv) {
  using namespace hit_floor;
  const options o = parse(argc, argv);
  SSL_CTX* ctx = o.tls ? tls_context(o.h2) : nullptr;
  result r;
  if (o.h2) {
    r = run_h2(o, ctx);
  } else if (const counter count{learn_response_length(o, ctx), "HTTP/1.1 200"}; o.io == "epoll") {
    r = run_epoll(o, count, ctx);
  } else {
#ifdef HIT_FLOOR_URING
    r = run_uring(o, count);
#else
    die("built without liburing (apt-get install liburing-dev): --io uring is not here");
#endif
  }
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const double cpu = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                     static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  std::printf("requests: %ld\nseconds: %.3f\nrps: %.0f\ncpu_us_per_req: %.2f\n", r.requests,
              r.seconds, static_cast<double>(r.requests) / r.seconds,
              r.requests > 0 ? cpu * 1e6 / static_cast<double>(r.requests) : 0.0);
  if (r.requests == 0) die("no response in " + std::to_string(o.seconds) + " s");
  return 0;
}
