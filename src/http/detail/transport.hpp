#pragma once
// transport: the byte stream under one connection: plain TCP, or TLS over it. Chosen once per
// run (the URL's scheme) and owned by the connection, which never asks which one it has: it
// connects the socket, calls async_handshake (at once for TCP), then reads and writes.
//
// TLS is OpenSSL driven directly on the socket's descriptor (wrk's ssl.c does the same): a
// read is one SSL_read, which recvs whole records into OpenSSL's buffer (read-ahead) and
// decrypts into the caller's; only when OpenSSL needs bytes that have not arrived does the
// transport wait for readiness (async_wait) and try again. Asio's ssl::stream was measured
// against it (docs/performance.md). Completions are posted, never invoked from inside the call
// that started the operation, as Asio's own operations do.
//
// Operations take completion handlers with an associated allocator (the connection's
// handler_memory); the transport's own intermediate operations use the same allocator.
//
// Thread safety: none; the owning loop's thread only.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <climits>
#include <string>
#include <string_view>
#include <utility>

#include "detail/tls_context.hpp"

namespace hit::http::detail {

namespace asio = boost::asio;
// Concrete executor types: no type-erased any_io_executor dispatch on the hot path.
using executor = asio::io_context::executor_type;
// A stream socket of any family: TCP, or a Unix-domain socket (--unix-socket). Its reads and
// writes are the same code as a tcp::socket's; only the endpoint type is generic.
using socket_type = asio::basic_stream_socket<asio::generic::stream_protocol, executor>;
using endpoint_type = asio::generic::stream_protocol::endpoint;

class transport {
 public:
  // `tls`: the run's TLS context, or nullptr for plain TCP. `host`: for SNI and verification.
  // `sessions`: the loop's session cache.
  transport(executor ex, const tls_context* tls, const std::string& host, session_cache& sessions)
      : socket_(ex), tls_(tls), host_(host), sessions_(sessions) {}
  ~transport() { free_ssl(); }
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  // The socket (TCP or Unix), for connect, options and FIONREAD.
  socket_type& socket() noexcept { return socket_; }
  [[nodiscard]] bool is_open() const noexcept { return socket_.is_open(); }
  [[nodiscard]] bool secure() const noexcept { return tls_ != nullptr; }
  // Closes the socket (no close_notify: a load generator's connections end abruptly or by the
  // server) and drops the TLS state; pending operations complete with operation_aborted.
  void close() noexcept {
    boost::system::error_code ignored;
    socket_.close(ignored);
    free_ssl();
  }

  // What arrived on a connection while it sat idle, read without blocking.
  enum class idle_state {
    quiet,   // nothing (TLS: or only session tickets, now taken in)
    data,    // bytes no request asked for
    closed,  // TLS: the server closed the connection (close_notify, or EOF) or sent an alert
  };
  idle_state idle_check() {
    boost::system::error_code ec;
    const std::size_t n = socket_.available(ec);
    if (ec) return idle_state::data;  // treated as unusable, as bytes would be
    if (!tls_) return n == 0 ? idle_state::quiet : idle_state::data;
    // (SSL_has_pending: records OpenSSL read ahead but has not processed count too.)
    if (n == 0 && SSL_has_pending(ssl_) == 0) return idle_state::quiet;
    // A TLS 1.3 server sends its session tickets after the handshake, and close_notify or an
    // alert before it closes: records, but no data. One non-blocking read tells them apart.
    char byte = 0;
    const int r = SSL_read(ssl_, &byte, 1);
    if (r > 0) return idle_state::data;
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return idle_state::quiet;
    make_error(err);  // empties OpenSSL's error queue
    return idle_state::closed;
  }

  // Secures a connected socket. TCP: completes at once. TLS: the client handshake. Handler:
  // void(error_code); a TLS failure has the ssl category, or eof for a close mid-handshake.
  template <class Handler>
  void async_handshake(Handler&& h) {
    if (!tls_) return post(std::forward<Handler>(h), boost::system::error_code{});
    free_ssl();
    ssl_ = tls_->new_ssl(host_, sessions_);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, socket_.native_handle()) != 1)
      return post(std::forward<Handler>(h), make_error(SSL_ERROR_SSL));
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    auto alloc = asio::get_associated_allocator(h);
    run([this] { return SSL_connect(ssl_); },
        asio::bind_allocator(alloc,
                             [h = std::forward<Handler>(h)](const boost::system::error_code& ec,
                                                            std::size_t) mutable { h(ec); }),
        alloc);
  }
  // The last handshake resumed a session (TLS only).
  [[nodiscard]] bool resumed() const noexcept { return ssl_ && SSL_session_reused(ssl_) == 1; }
  // The protocol ALPN chose in the last handshake ("h2", "http/1.1"); empty: none (or TCP).
  [[nodiscard]] std::string_view alpn() const noexcept {
    if (ssl_ == nullptr) return {};
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl_, &p, &n);
    return {reinterpret_cast<const char*>(p), n};
  }
  // Why the last handshake failed, in OpenSSL's words (TLS only).
  [[nodiscard]] tls_failure failure() const { return describe_tls_failure(ssl_, last_error_); }

  // Reads some bytes. Handler: void(error_code, std::size_t); eof at the end of the stream.
  template <class Handler>
  void async_read_some(asio::mutable_buffer b, Handler&& h) {
    if (!tls_) return socket_.async_read_some(b, std::forward<Handler>(h));
    auto alloc = asio::get_associated_allocator(h);
    run([this, b] { return SSL_read(ssl_, b.data(), clamp(b.size())); }, std::forward<Handler>(h),
        alloc);
    read_at_once_ = ran_at_once_;
  }
  // TLS: the last async_read_some found bytes at once (a record OpenSSL had read ahead): its
  // completion is already queued. (TCP: false; Asio does not say.)
  [[nodiscard]] bool read_at_once() const noexcept { return read_at_once_; }

  // Writes some bytes of a sequence of one or two buffers (TLS: of its first non-empty one).
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& bufs, Handler&& h) {
    if (!tls_) return socket_.async_write_some(bufs, std::forward<Handler>(h));
    asio::const_buffer b;
    for (auto it = asio::buffer_sequence_begin(bufs); it != asio::buffer_sequence_end(bufs); ++it)
      if (it->size() > 0) {
        b = *it;
        break;
      }
    auto alloc = asio::get_associated_allocator(h);
    run([this, b] { return SSL_write(ssl_, b.data(), clamp(b.size())); }, std::forward<Handler>(h),
        alloc);
  }

 private:
  static int clamp(std::size_t n) noexcept { return n > INT_MAX ? INT_MAX : static_cast<int>(n); }

  template <class Handler, class... Args>
  void post(Handler&& h, Args... args) {
    auto alloc = asio::get_associated_allocator(h);
    asio::post(socket_.get_executor(),
               asio::bind_allocator(
                   alloc, [h = std::forward<Handler>(h), args...]() mutable { h(args...); }));
  }

  // One OpenSSL call, retried each time the socket becomes ready for what OpenSSL wants.
  template <class Op, class Handler, class Alloc>
  void run(Op op, Handler&& h, const Alloc& alloc) {
    if (ssl_ == nullptr) {  // closed meanwhile
      return post(std::forward<Handler>(h),
                  boost::system::error_code(asio::error::operation_aborted), std::size_t{0});
    }
    // OpenSSL's error queue is empty here: make_error empties it after every failure, and no
    // other code on this thread leaves errors in it (ERR_clear_error per call cost ~400
    // instructions, 5% of a request; docs/performance.md).
    const int r = op();
    ran_at_once_ = r > 0;
    if (r > 0) return post(std::forward<Handler>(h), boost::system::error_code{}, std::size_t(r));
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      socket_.async_wait(
          err == SSL_ERROR_WANT_READ ? socket_type::wait_read : socket_type::wait_write,
          asio::bind_allocator(alloc, [this, op, alloc, h = std::forward<Handler>(h)](
                                          const boost::system::error_code& ec) mutable {
            if (ec) return h(ec, std::size_t{0});
            run(op, std::move(h), alloc);
          }));
      return;
    }
    post(std::forward<Handler>(h), make_error(err), std::size_t{0});
  }

  // The error for a failed call; leaves OpenSSL's error queue empty.
  boost::system::error_code make_error(int err) {
    const int sys = errno;
    last_error_ = ERR_peek_last_error();
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
    if (err == SSL_ERROR_SYSCALL && last_error_ == 0) {
      if (sys == 0) return asio::error::eof;
      return {sys, boost::system::system_category()};
    }
    return {static_cast<int>(last_error_ ? last_error_ : 1), asio::error::get_ssl_category()};
  }

  void free_ssl() noexcept {
    if (ssl_ == nullptr) return;
    // The connection ends without close_notify; OpenSSL would then mark its session (the one
    // the loop's cache may hold) not resumable. Declaring the shutdown done keeps it usable.
    if (SSL_is_init_finished(ssl_))
      SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);
    ssl_ = nullptr;
  }

  socket_type socket_;
  const tls_context* tls_;
  const std::string& host_;
  session_cache& sessions_;
  SSL* ssl_ = nullptr;
  unsigned long last_error_ = 0;
  bool ran_at_once_ = false;   // the last OpenSSL call of run() succeeded without waiting
  bool read_at_once_ = false;  // so did the last async_read_some's first try
};

}  // namespace hit::http::detail
