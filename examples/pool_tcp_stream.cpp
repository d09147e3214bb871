// elastic_pool with workers that each hold a TCP stream, as in the Go seed's usage (which opens a
// gRPC stream in Before): before() connects, process() sends one line per message, after() closes.
// A burst grows the pool towards max_workers; once it is over, idle workers retire.
//
// The example starts its own line server on 127.0.0.1 (an ephemeral port) and checks that every
// message arrived exactly once. Plain POSIX sockets: flow has no network code of its own.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hit/flow/elastic_pool.hpp"

using namespace std::chrono_literals;
namespace flow = hit::flow;

namespace {

// Accepts connections and counts the lines it receives, until stopped.
class line_server {
 public:
  line_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
      throw std::runtime_error("bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::jthread([this](std::stop_token st) { serve(st); });
  }
  ~line_server() {
    thread_.request_stop();
    thread_.join();
    ::close(fd_);
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::uint64_t lines() const { return lines_.load(); }
  [[nodiscard]] std::uint64_t connections() const { return connections_.load(); }

 private:
  void serve(const std::stop_token& st) {
    std::vector<pollfd> fds{{fd_, POLLIN, 0}};
    char buf[4096];
    // Keeps polling after a stop until every client has hung up, so no line is missed.
    while (!st.stop_requested() || fds.size() > 1) {
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (std::size_t i = fds.size(); i-- > 0;) {
        if (fds[i].revents == 0) continue;
        if (i == 0) {
          const int c = ::accept(fd_, nullptr, nullptr);
          if (c >= 0) {
            fds.push_back({c, POLLIN, 0});
            ++connections_;
          }
          continue;
        }
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
          continue;
        }
        for (ssize_t k = 0; k < n; ++k) lines_ += buf[k] == '\n';
      }
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> lines_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::jthread thread_;
};

struct tagging {
  std::uint64_t id;
};

// One TCP stream per worker: the seed's taggingDispatcher.
struct stream_worker {
  using message_type = tagging;
  std::uint16_t port;
  int fd = -1;

  bool before(std::stop_token) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (fd >= 0) ::close(fd);
      fd = -1;
      return false;  // the pool logs it and retries with backoff
    }
    return true;
  }

  flow::process_result process(tagging& t) {
    // A slow downstream, so that the burst builds a backlog and the pool grows.
    std::this_thread::sleep_for(200us);
    const std::string line = "tag " + std::to_string(t.id) + "\n";
    std::size_t off = 0;
    while (off < line.size()) {
      const ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return flow::process_result::stop_worker;  // broken stream: replace the worker
      off += static_cast<std::size_t>(n);
    }
    return flow::process_result::ok;
  }

  void after() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

const char* kind_name(flow::pool_event_kind k) {
  switch (k) {
    case flow::pool_event_kind::worker_started:
      return "worker starting";
    case flow::pool_event_kind::worker_ready:
      return "worker receiving";
    case flow::pool_event_kind::before_failed:
      return "before failed";
    case flow::pool_event_kind::worker_idle:
      return "worker idle";
    case flow::pool_event_kind::process_failed:
      return "process failed";
    case flow::pool_event_kind::after_failed:
      return "after failed";
    case flow::pool_event_kind::worker_retired:
      return "worker leaving";
  }
  return "?";
}

}  // namespace

int main() {
  line_server server;
  const std::uint64_t burst = 3000;

  flow::pool_options opt;
  opt.min_workers = 1;
  opt.max_workers = 8;
  opt.queue_capacity = 256;
  opt.idle_timeout = 200ms;
  opt.on_event = [](const flow::pool_event& e) {
    if (e.kind == flow::pool_event_kind::worker_idle) return;  // too chatty for an example
    std::printf("  [worker %llu] %s%s%.*s\n", static_cast<unsigned long long>(e.worker),
                kind_name(e.kind), e.detail.empty() ? "" : ": ", static_cast<int>(e.detail.size()),
                e.detail.data());
  };
  flow::elastic_pool<stream_worker> pool(opt,
                                         [port = server.port()] { return stream_worker{port}; });

  std::printf("burst of %llu messages\n", static_cast<unsigned long long>(burst));
  std::size_t peak = 0;
  for (std::uint64_t i = 0; i < burst; ++i) {
    if (pool.submit(tagging{i}) != flow::submit_status::ok) return 1;
    peak = std::max(peak, pool.metrics().workers);
  }
  while (pool.metrics().processed < burst) std::this_thread::sleep_for(5ms);
  std::printf("burst done: peak %zu workers\n", peak);

  // Idle: the pool shrinks back to min_workers.
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (pool.metrics().workers > opt.min_workers && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  const auto m = pool.metrics();
  std::printf("after idle: %zu worker(s); started %llu, retired %llu\n", m.workers,
              static_cast<unsigned long long>(m.started),
              static_cast<unsigned long long>(m.retired));

  const auto r = pool.close();
  // Give the server a moment to read what the last streams sent before they closed.
  const auto wait_until = std::chrono::steady_clock::now() + 2s;
  while (server.lines() < burst && std::chrono::steady_clock::now() < wait_until)
    std::this_thread::sleep_for(5ms);
  std::printf("processed %llu, server received %llu lines over %llu connections\n",
              static_cast<unsigned long long>(r.processed),
              static_cast<unsigned long long>(server.lines()),
              static_cast<unsigned long long>(server.connections()));
  const bool ok =
      r.processed == burst && server.lines() == burst && peak > 1 && m.workers == opt.min_workers;
  if (!ok) {
    std::printf(
        "FAILED: expected %llu processed and received, more than 1 worker at the peak and "
        "%zu after idling\n",
        static_cast<unsigned long long>(burst), opt.min_workers);
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
