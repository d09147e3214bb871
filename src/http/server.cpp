#include "hit/http/server.hpp"

#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "detail/server_h2.hpp"
#include "detail/server_tls.hpp"
#include "hit/printable.hpp"
#include "hit/stats/duration.hpp"

namespace hit::http {
namespace {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
using boost::beast::error_code;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using tls_stream = asio::ssl::stream<detail::server_socket>;

// The TCP socket under a connection's stream: for FIN, RST, and bytes read undecrypted.
detail::server_socket& tcp_of(detail::server_socket& s) {
  return s;
}
detail::server_socket& tcp_of(tls_stream& s) {
  return s.next_layer();
}

// garbage=1: bytes no client can take for an HTTP response.
constexpr std::string_view garbage_bytes = "NOT HTTP AT ALL\r\n\r\n";
// extra=1: a complete response that no request asked for.
constexpr std::string_view unsolicited_response =
    "HTTP/1.1 200 OK\r\nServer: hit\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
    "unsolicited";
// upgrade=1: after this, the connection no longer speaks HTTP.
constexpr std::string_view switching_protocols =
    "HTTP/1.1 101 Switching Protocols\r\nServer: hit\r\nConnection: Upgrade\r\n"
    "Upgrade: hit-test\r\n\r\n";
// After an HTTP/2 GOAWAY of ours: how long the client gets to close first, so that what it
// still sends does not make our close a RST that could destroy the GOAWAY before it is read.
constexpr auto h2_linger = std::chrono::seconds(1);
// HTTP/2's default SETTINGS_MAX_CONCURRENT_STREAMS (server_config::max_streams = 0).
constexpr std::uint32_t default_h2_streams = 100;
// early=1: how long the response gets to reach the client before close() may turn unread body
// bytes into a RST, which would make the client's kernel drop the response it has not read yet.
constexpr auto early_linger = std::chrono::milliseconds(100);

// Beast's request parser keeping the target and skipping the body.
class request_parser final : public beast_http::basic_parser<true> {
 public:
  std::string target;
  bool head = false;

 private:
  void on_request_impl(beast_http::verb method, boost::beast::string_view,
                       boost::beast::string_view t, int, error_code&) override {
    target.assign(t.data(), t.size());
    head = method == beast_http::verb::head;
  }
  void on_response_impl(int, boost::beast::string_view, int, error_code&) override {}
  void on_field_impl(beast_http::field, boost::beast::string_view, boost::beast::string_view,
                     error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view s, error_code&) override { return s.size(); }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view s, error_code&) override {
    return s.size();
  }
  void on_finish_impl(error_code&) override {}
};

// Every body is this text repeated, cut to its size.
constexpr std::string_view body_text = "hello from hit";

std::string default_body(std::size_t size) {
  std::string b;
  b.reserve(size);
  while (b.size() < size) b += body_text.substr(0, std::min(body_text.size(), size - b.size()));
  return b;
}

void append_response(std::string& out, unsigned status, const knobs& k, bool head,
                     std::string_view body, bool keep_alive) {
  out.clear();
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  const auto reason = beast_http::obsolete_reason(static_cast<beast_http::status>(status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: hit\r\nContent-Type: text/plain\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  const bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
  if (no_body) {
    out += "\r\n";
    return;
  }
  if (k.chunked) {
    out += "Transfer-Encoding: chunked\r\n\r\n";
    if (head) return;
    // Two chunks when there is enough body, so clients meet a chunk boundary.
    const std::size_t first = body.size() / 2;
    char hex[32];
    for (auto part : {body.substr(0, first), body.substr(first)}) {
      if (part.empty()) continue;
      auto r = std::to_chars(hex, hex + sizeof hex, part.size(), 16);
      out.append(hex, r.ptr);
      out += "\r\n";
      out += part;
      out += "\r\n";
    }
    out += "0\r\n\r\n";
    return;
  }
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n\r\n";
  if (!head) out += body;
}

}  // namespace

knobs parse_knobs(std::string_view target) {
  knobs k;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return k;
  std::string_view rest = target.substr(q + 1);
  bool status_given = false;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "1" : pair.substr(eq + 1);
    auto number = [&](auto& out) {
      std::from_chars(value.data(), value.data() + value.size(), out);
    };
    auto flag = [&] { return value != "0" && value != "false"; };
    if (key == "delay") {
      if (auto d = stats::parse_duration(value, std::chrono::milliseconds(1))) k.delay = *d;
    } else if (key == "status") {
      unsigned s = 0;
      number(s);
      if (s >= 100 && s <= 599) {
        k.status = s;
        status_given = true;
      }
    } else if (key == "size") {
      std::int64_t s = -1;
      number(s);
      if (s >= 0 && s <= static_cast<std::int64_t>(max_body_size)) k.size = s;
    } else if (key == "chunked") {
      k.chunked = flag();
    } else if (key == "close") {
      k.close = flag();
    } else if (key == "reset") {
      k.reset = flag();
    } else if (key == "drop") {
      k.drop = flag();
    } else if (key == "halfclose") {
      k.halfclose = flag();
    } else if (key == "garbage") {
      k.garbage = flag();
    } else if (key == "hangup") {
      k.hangup = flag();
    } else if (key == "early") {
      k.early = flag();
    } else if (key == "hold") {
      if (auto d = stats::parse_duration(value, std::chrono::milliseconds(1))) k.hold = *d;
    } else if (key == "extra") {
      k.extra = flag();
    } else if (key == "upgrade") {
      k.upgrade = flag();
    } else if (key == "refuse") {
      k.refuse = flag();
    }
  }
  if (k.early && !status_given) k.status = 413;
  return k;
}

struct server::impl {
  server_config cfg;
  std::atomic<std::int64_t> first_request_ns{-1};  // steady_clock, set by the first request
  asio::io_context io;
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor{io};
  std::string body;
  std::string canned;                                 // the default response, keep-alive
  std::string canned_head;                            // the same for HEAD
  asio::generic::stream_protocol::endpoint endpoint;  // where open() listens: TCP or Unix
  std::optional<detail::server_tls> tls;              // set: every connection speaks TLS
  bool bound_unix_path = false;  // open() made the socket file at cfg.unix_path
  detail::h2_shared h2;          // what HTTP/2 connections share

  explicit impl(const server_config& c)
      : cfg(c), io(static_cast<int>(std::max(1u, c.threads))), body(default_body(c.body_size)) {
    append_response(canned, 200, knobs{}, false, body, true);
    append_response(canned_head, 200, knobs{}, true, body, true);
    h2.max_streams = c.max_streams == 0 ? default_h2_streams : c.max_streams;
    h2.goaway_after = c.goaway_after;
    h2.default_size = c.body_size;
    h2.default_size_text = std::to_string(c.body_size);
    h2.pattern = default_body(16 * 1024 + body_text.size());
    h2.period = body_text.size();
    if (c.pause_for.count() > 0) h2.stall_left = [this] { return stall_left(); };
  }

  // How long a request arriving now waits for the configured stall to end.
  std::chrono::nanoseconds stall_left() {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::int64_t first = -1;
    first_request_ns.compare_exchange_strong(first, now);
    if (first < 0) first = now;
    const auto since = std::chrono::nanoseconds(now - first);
    const auto end = cfg.pause_at + cfg.pause_for;
    if (since < cfg.pause_at || since >= end) return std::chrono::nanoseconds(0);
    return end - since;
  }

  // The body k asks for; big_body is the connection's buffer for size=.
  std::string_view body_for(const knobs& k, std::string& big_body) const {
    if (k.size < 0) return body;
    if (big_body.size() != static_cast<std::size_t>(k.size))
      big_body = default_body(static_cast<std::size_t>(k.size));
    return big_body;
  }

  // One connection, plain or TLS: Stream is server_socket or tls_stream; both read and write
  // alike, and tcp_of() gives the socket under them.
  template <class Stream>
  asio::awaitable<void> serve(Stream stream) {
    auto& socket = tcp_of(stream);
    {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // (a Unix socket refuses it: ignored)
    }
    bool speaks_h2 = false;
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
      if (ec) co_return;
      const unsigned char* alpn = nullptr;
      unsigned alpn_size = 0;
      SSL_get0_alpn_selected(stream.native_handle(), &alpn, &alpn_size);
      speaks_h2 = alpn_size == 2 && std::memcmp(alpn, "h2", 2) == 0;
    }
    std::vector<char> buf(16384);
    std::size_t buffered = 0;
    asio::steady_timer timer(socket.get_executor());
    // HTTP/2 without ALPN: the client preface as the first bytes (prior knowledge). An HTTP/1.1
    // request differs from it in its first byte, so HTTP/1.1 waits for nothing more.
    constexpr auto preface = detail::h2_client_preface;
    while (!speaks_h2) {
      auto [ec, n] = co_await stream.async_read_some(
          asio::buffer(buf.data() + buffered, buf.size() - buffered), use_tuple);
      if (ec) co_return;
      buffered += n;
      if (std::memcmp(buf.data(), preface.data(), std::min(buffered, preface.size())) != 0) break;
      speaks_h2 = buffered >= preface.size();
    }
    if (speaks_h2) {
      const bool polite = co_await detail::serve_h2(stream, h2, buf, buffered);
      if (polite) {
        co_await send_close_notify(stream);
        co_await linger_close(socket, timer, buf, h2_linger);
      }
      error_code ignored;
      socket.close(ignored);
      co_return;
    }
    std::string out;  // responses with knobs are built here; grows once, then reused
    std::string big_body;
    bool notify = true;  // how a break out of the loop closes: with close_notify, over TLS
    for (;;) {
      std::optional<request_parser> p;
      p.emplace();
      p->eager(true);
      p->body_limit(boost::none);
      p->header_limit(static_cast<std::uint32_t>(buf.size()));
      bool header_seen = false;
      bool plain = true;  // no query string: a canned response
      knobs k;
      for (;;) {
        if (buffered > 0) {
          error_code ec;
          const auto used = p->put(asio::buffer(buf.data(), buffered), ec);
          buffered -= used;
          if (buffered > 0 && used > 0) std::memmove(buf.data(), buf.data() + used, buffered);
          // The knobs are read once the header is in, so that early=1 can answer before the
          // body is read.
          if (!header_seen && p->is_header_done()) {
            header_seen = true;
            plain = p->target.find('?') == std::string::npos;
            if (!plain) k = parse_knobs(p->target);
            if (k.early) break;
          }
          if (ec && ec != beast_http::error::need_more) co_return;  // garbage: hang up
          if (p->is_done()) break;
          if (buffered == buf.size()) co_return;
          if (used > 0 && buffered > 0) continue;
        }
        auto [ec, n] = co_await stream.async_read_some(
            asio::buffer(buf.data() + buffered, buf.size() - buffered), use_tuple);
        if (ec) co_return;
        buffered += n;
      }
      if (cfg.pause_for.count() > 0) {
        if (const auto wait = stall_left(); wait.count() > 0) {
          timer.expires_after(wait);
          co_await timer.async_wait(use_tuple);
        }
      }
      const bool client_keep_alive = p->keep_alive();
      if (plain) {
        const auto& r = p->head ? canned_head : canned;
        if (!client_keep_alive) {
          append_response(out, 200, knobs{}, p->head, body, false);
          co_await asio::async_write(stream, asio::buffer(out), use_tuple);
          break;
        }
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(r), use_tuple);
        if (ec) co_return;
        continue;
      }
      if (k.delay.count() > 0) {
        timer.expires_after(k.delay);
        co_await timer.async_wait(use_tuple);
      }
      if (k.early) {
        append_response(out, k.status, k, p->head, body_for(k, big_body), false);
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
        if (!ec) co_await send_close_notify(stream);
        if (k.hold.count() > 0) {
          error_code ignored;
          socket.shutdown(asio::socket_base::shutdown_send, ignored);
          timer.expires_after(k.hold);
          co_await timer.async_wait(use_tuple);
          socket.close(ignored);
          co_return;
        }
        co_await linger_close(socket, timer, buf, early_linger);
        co_return;
      }
      if (k.reset) {
        error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        socket.close(ignored);  // linger 0: the kernel sends RST
        co_return;
      }
      if (k.hangup) {
        notify = false;
        break;
      }
      if (k.garbage) {
        co_await asio::async_write(stream, asio::buffer(garbage_bytes), use_tuple);
        break;
      }
      if (k.upgrade) {
        auto [ec, n] =
            co_await asio::async_write(stream, asio::buffer(switching_protocols), use_tuple);
        while (!ec) std::tie(ec, n) = co_await stream.async_read_some(asio::buffer(buf), use_tuple);
        break;
      }
      const bool keep = client_keep_alive && !k.close;
      append_response(out, k.status, k, p->head, body_for(k, big_body), keep);
      if (k.extra) out += unsolicited_response;
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
      if (!ec && keep && k.halfclose) {
        co_await linger_close(socket, timer, buf, std::chrono::seconds(5));
        co_return;
      }
      if (ec || !keep || k.drop) {
        notify = !ec && !k.drop;
        break;
      }
    }
    if (notify) co_await send_close_notify(stream);
    error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_send, ignored);
    socket.close(ignored);
  }

  // Over TLS, close_notify without waiting for the client's; a plain socket has none to send.
  template <class Stream>
  static asio::awaitable<void> send_close_notify(Stream& stream) {
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      // With the client's close_notify taken as received, SSL_shutdown sends ours and is done
      // once it is written, instead of reading on for the client's.
      SSL* ssl = stream.native_handle();
      SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
      co_await stream.async_shutdown(use_tuple);
    }
    co_return;
  }

  // FIN, then read and discard until the client closes or `linger` is up, then close. Over TLS
  // the bytes read are discarded as they come, undecrypted.
  static asio::awaitable<void> linger_close(detail::server_socket& socket,
                                            asio::steady_timer& timer, std::vector<char>& buf,
                                            std::chrono::nanoseconds linger) {
    error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_send, ignored);
    timer.expires_after(linger);
    for (;;) {
      const auto r = co_await (socket.async_read_some(asio::buffer(buf), use_tuple) ||
                               timer.async_wait(use_tuple));
      if (r.index() == 1 || std::get<0>(std::get<0>(r))) break;  // time is up, or EOF or error
    }
    socket.close(ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      // Each connection on a strand of its own: its operations complete one at a time even
      // with several server threads, as a TLS stream's state and the || of a read and a timer
      // need.
      detail::server_socket socket(asio::make_strand(io));
      auto [ec] = co_await acceptor.async_accept(socket, use_tuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;  // e.g. EMFILE: keep serving the connections we have
      const auto ex = socket.get_executor();
      if (tls) {
        asio::co_spawn(ex, serve(tls_stream(std::move(socket), tls->context)), asio::detached);
      } else {
        asio::co_spawn(ex, serve(std::move(socket)), asio::detached);
      }
    }
  }
};

result<std::unique_ptr<server>> server::listen(const server_config& cfg) {
  auto made = make(cfg);
  if (!made) return made;
  if (auto opened = (*made)->open(); !opened) return failure{opened.error()};
  return made;
}

result<std::unique_ptr<server>> server::make(const server_config& cfg) {
  // Checked before impl builds the body.
  if (cfg.body_size > max_body_size)
    return failure{"body size " + std::to_string(cfg.body_size) + " is above the limit of " +
                   std::to_string(max_body_size) + " bytes"};
  if (cfg.max_streams > max_h2_streams)
    return failure{"max streams " + std::to_string(cfg.max_streams) + " is above the limit of " +
                   std::to_string(max_h2_streams)};
  auto i = std::make_unique<impl>(cfg);
  if (!cfg.unix_path.empty()) {
    constexpr std::size_t most = sizeof(sockaddr_un::sun_path) - 1;  // and a terminating NUL
    if (cfg.unix_path.empty() || cfg.unix_path.size() > most ||
        cfg.unix_path.find('\0') != std::string::npos)
      return failure{"bad socket path 'unix:" + printable(cfg.unix_path) + "': 1 to " +
                     std::to_string(most) + " bytes, no NUL"};
    i->endpoint = asio::local::stream_protocol::endpoint(cfg.unix_path);
  } else {
    error_code ec;
    const auto addr = asio::ip::make_address(cfg.address, ec);
    if (ec) return failure{"bad listen address '" + printable(cfg.address) + "'"};
    unsigned long port = 0;
    auto [ptr, perr] = std::from_chars(cfg.port.data(), cfg.port.data() + cfg.port.size(), port);
    if (perr != std::errc{} || ptr != cfg.port.data() + cfg.port.size() || port > 65535)
      return failure{"bad listen port '" + printable(cfg.port) + "'"};
    i->endpoint = tcp::endpoint(addr, static_cast<unsigned short>(port));
  }
  if (cfg.tls.enabled) {
    auto tls = detail::make_server_tls(cfg.tls);
    if (!tls) return failure{tls.error()};
    i->tls.emplace(std::move(*tls));
  }
  return std::unique_ptr<server>(new server(std::move(i)));
}

result<void> server::open() {
  const auto& ep = impl_->endpoint;
  error_code ec;
  const bool unix_socket = !impl_->cfg.unix_path.empty();
  auto cannot = [&] {
    const auto& c = impl_->cfg;
    const auto where = unix_socket                                ? "unix:" + printable(c.unix_path)
                       : c.address.find(':') != std::string::npos ? "[" + c.address + "]:" + c.port
                                                                  : c.address + ":" + c.port;
    return failure{"cannot listen on " + where + ": " + ec.message()};
  };
  auto& a = impl_->acceptor;
  if (a.open(ep.protocol(), ec); ec) return cannot();
  if (!unix_socket)
    if (a.set_option(asio::socket_base::reuse_address(true), ec); ec) return cannot();
  if (a.bind(ep, ec); ec) return cannot();
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec) return cannot();
  impl_->bound_unix_path = unix_socket;
  return {};
}

server::server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

server::~server() {
  // The socket file it made: removed, so that the next `hit serve` can bind the path again.
  if (impl_ && impl_->bound_unix_path) ::unlink(impl_->cfg.unix_path.c_str());
}

std::string server::local_address() const {
  if (!impl_->cfg.unix_path.empty()) return "unix:" + impl_->cfg.unix_path;
  const auto generic = impl_->acceptor.local_endpoint();
  tcp::endpoint ep;
  std::memcpy(ep.data(), generic.data(), std::min<std::size_t>(generic.size(), ep.capacity()));
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

const std::string& server::certificate_pem() const {
  static const std::string none;
  return impl_->tls ? impl_->tls->certificate_pem : none;
}

const std::string& server::certificate_fingerprint() const {
  static const std::string none;
  return impl_->tls ? impl_->tls->fingerprint : none;
}

void server::run() {
  auto& s = *impl_;
  asio::co_spawn(s.io, s.accept_loop(), asio::detached);
  std::vector<std::thread> extra;
  for (unsigned i = 1; i < std::max(1u, s.cfg.threads); ++i)
    extra.emplace_back([&] { s.io.run(); });
  s.io.run();
  for (auto& t : extra) t.join();
}

void server::stop() {
  impl_->io.stop();
}

}  // namespace hit::http
