// What bench/floor's HTTP/1.1 (floor.cpp) and HTTP/2 (floor_h2.cpp) clients share: the options,
// a connection over TCP or TLS, and its blocking set-up. See floor.cpp for what the floor is.
#pragma once

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hit_floor {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string io = "epoll";
  int connections = 50;
  double seconds = 5;
  bool h2 = false;
  int streams = 10;          // --h2: streams in flight per connection
  bool refill_each = false;  // --h2: new streams after every read, not once half are free
  sockaddr_in address{};
  bool tls = false;
  std::string path, authority;
  std::string request;  // HTTP/1.1's bytes
};

struct result {
  long requests = 0;
  double seconds = 0;
};

// One line on stderr, exit 1.
[[noreturn]] void die(const std::string& what);
[[noreturn]] void die_errno(const std::string& what);

// A connection: the socket and, over https, its OpenSSL session.
struct link {
  int fd = -1;
  SSL* ssl = nullptr;
};

// TLS 1.3, no verification, read-ahead, ALPN h2 or http/1.1.
SSL_CTX* tls_context(bool h2);
// Connects (and over https shakes hands) blocking; the socket is left blocking, with 5 s
// limits on its blocking sends and receives.
link connect_to(const options& o, SSL_CTX* ctx);
void close_link(link& l);
// Sends every byte; on a non-blocking socket a full send buffer is waited for, 5 s at most.
void send_all(const link& l, std::string_view bytes);
// Bytes received, or -1 when none are there yet. A closed connection or an error ends the run.
long receive(const link& l, char* buf, std::size_t size);

// The sockets of a run, watched with epoll (level-triggered, for reading).
class poller {
 public:
  explicit poller(std::size_t connections);
  ~poller();
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;
  // Makes `fd` non-blocking; its readiness reports `index`.
  void add(int fd, std::size_t index);
  // The indexes of the sockets readable within 1 s (none when the second passes first).
  std::span<const std::size_t> wait();

 private:
  int ep_;
  std::vector<epoll_event> events_;
  std::vector<std::size_t> ready_;
};

// HTTP/2 (floor_h2.cpp).
result run_h2(const options& o, SSL_CTX* ctx);

}  // namespace hit_floor
