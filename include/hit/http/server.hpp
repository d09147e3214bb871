#pragma once
// server: the embedded target, `hit serve`. HTTP/1.1 with keep-alive and HTTP/2 on the same stack
// as the engine, a small fixed body by default, and per-request knobs in the query string so
// tests and demos can make it misbehave on purpose:
//
//   delay=100ms   wait before responding (bare number: milliseconds)
//   status=503    respond with this status
//   size=16384    body of this many bytes
//   chunked=1     send the body with Transfer-Encoding: chunked
//   close=1       close the connection after the response
//   reset=1       reset the connection (RST) instead of responding
//   drop=1        respond as if keeping the connection alive, then close it: what a server whose
//                 keep-alive timeout just expired does to a client about to reuse it
//   halfclose=1   like drop=1, but the close is a half close: FIN, then read and discard what the
//                 client sends (up to 5 s) before closing, as servers that linger on close do; a
//                 client writing a large request meets the FIN while its write still runs
//   garbage=1     answer with bytes that are not HTTP ("NOT HTTP AT ALL\r\n\r\n"), then close
//   hangup=1      close the connection (FIN: shutdown, then close) without sending a byte
//   early=1       answer as soon as the request header is parsed, without reading the body:
//                 status= (default 413) with Connection: close, then shutdown(send), discard
//                 what arrives for up to 100 ms or until the client closes, and close; body
//                 bytes still unread then make the kernel send RST, as a real server rejecting
//                 an upload does
//   hold=3s       with early=1: after the response (and its FIN), keep the socket open without
//                 reading for this long, then close: a client that only reads once its upload
//                 is written never sees the answer
//   extra=1       send a second, unsolicited 200 response in the same write as the real one;
//                 the connection stays open (unless the request asks to close it)
//   upgrade=1     answer 101 Switching Protocols (Connection: Upgrade, Upgrade: hit-test), then
//                 never speak HTTP on the connection again: read and discard until the peer
//                 closes
//   refuse=1      HTTP/2 only (ignored on HTTP/1.1): RST_STREAM with REFUSED_STREAM instead of
//                 a response, which tells the client the request was not processed and may be
//                 sent again
//
// Of early, reset, hangup, garbage and upgrade only the first in that order acts; delay applies
// before any of them.
//
// Over TLS (server_config::tls) every knob means the same, with the TLS close spelled out. A
// close the response announces (close=1, Connection: close from the client, early=1, garbage=1,
// and the end of upgrade=1) sends close_notify, then FIN: a proper TLS close, without waiting for
// the client's close_notify. drop=1, halfclose=1 and hangup=1 close the TCP connection without
// close_notify, because that is how an idle keep-alive timeout looks to a client in practice,
// and what a client's resend-on-a-stale-connection logic meets; the client's TLS layer sees an
// unexpected EOF. reset=1 sends RST, no alert. halfclose=1 and early=1 discard what arrives after
// their FIN as raw TCP bytes, undecrypted. A failed handshake closes the connection.
//
// HTTP/2 (nghttp2's server session), chosen once per connection: over TLS when the client offers
// "h2" in ALPN (preferred to "http/1.1"); on any connection whose first bytes are the HTTP/2
// client preface (h2c with prior knowledge; no Upgrade: h2c). Everything else is HTTP/1.1 as
// above. The server advertises SETTINGS_MAX_CONCURRENT_STREAMS (server_config::max_streams) and
// large flow-control windows (16 MiB per stream, 1 GiB for the connection), so that uploads do
// not stall; request bodies are read and discarded. Per stream:
//
//   delay         waits on a timer of the connection; other streams go on meanwhile
//   status, size  as above; every response has content-length (but chunked=1, 1xx, 204, 304).
//                 status=1xx ends the stream with an informational header, which HTTP/2 has
//                 no room for: clients reset the stream (PROTOCOL_ERROR)
//   chunked=1     no content-length, and the body in two DATA frames (or more: at most 16 KiB
//                 each) rather than one, so that clients meet a frame boundary
//   reset=1       RST_STREAM with INTERNAL_ERROR instead of a response: the server failed the
//                 stream (CANCEL would say the stream is no longer needed, a client's word)
//   refuse=1      RST_STREAM with REFUSED_STREAM instead of a response
//   close=1       the response completes, then GOAWAY (NO_ERROR) with last-stream-id = this
//                 stream: requests on higher streams are not answered and are refused by the
//                 GOAWAY; the connection closes once the streams up to this one are done
//   HEAD          headers (content-length included) without a body
//
// Of reset and refuse only the first acts; delay applies before either. The other knobs (drop,
// halfclose, garbage, hangup, early, hold, extra, upgrade) are about HTTP/1.1 connections and
// are ignored on HTTP/2: the stream gets its normal response. server_config::goaway_after N
// treats the Nth stream of every connection as if it asked close=1. The stall
// (pause_at/pause_for) holds HTTP/2 streams as it holds HTTP/1.1 requests, each on its own.
// A connection ends with GOAWAY when nghttp2 finds a protocol error. After a GOAWAY the server
// closes once the client has (over TLS, close_notify first), or after 1 s, so that a late
// request does not turn the close into a RST that could destroy the GOAWAY unread.
//
// Meant for loopback tests and demos, not for production traffic.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hit/result.hpp"

namespace hit::http {

// The largest body the server builds, for size= and server_config::body_size alike.
inline constexpr std::size_t max_body_size = std::size_t{1} << 30;

// HTTPS: TLS 1.2 and 1.3 (ECDHE key exchange only), ALPN "h2" chosen when a client offers it,
// else "http/1.1" when offered; session tickets so that clients can resume.
struct tls_settings {
  bool enabled = false;  // false: plain HTTP, and the rest is ignored
  // The certificate chain (leaf first) and its private key, PEM files, unencrypted key. Both or
  // neither; neither: a self-signed certificate made in memory at startup, for localhost,
  // 127.0.0.1 and ::1 (ECDSA P-256, valid from an hour ago for 30 days).
  std::string cert_file;
  std::string key_file;
  // Not empty: clients must present a certificate that verifies against the CA certificates in
  // this PEM file (mutual TLS); a client without one fails the handshake.
  std::string client_ca_file;
  // Not empty, with the self-signed certificate only: the certificate is written here as PEM,
  // for a client to trust (curl --cacert). The key never leaves memory.
  std::string write_cert_file;
};

struct server_config {
  std::string address = "127.0.0.1";
  std::string port = "0";  // 0: an ephemeral port; local_address() tells which
  // Not empty: listen on this Unix-domain socket instead of address:port (the file is made by
  // open() and removed by the destructor; an existing one is not replaced).
  std::string unix_path;
  unsigned threads = 1;
  // Default body: "hello from hit" cut or padded to this size; at most max_body_size.
  std::size_t body_size = 14;
  // A stall, for tests and demos of coordinated omission: requests that arrive between
  // pause_at and pause_at + pause_for after the server's first request are all answered at
  // the end of that window. pause_for = 0: no stall.
  std::chrono::nanoseconds pause_at{0};
  std::chrono::nanoseconds pause_for{0};
  tls_settings tls;
  // HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS advertised on every connection; 0: 100 (h2o's
  // default, and near nginx's 128), at most max_h2_streams. nghttp2 refuses streams beyond it.
  std::uint32_t max_streams = 0;
  // HTTP/2: after this many streams on a connection, GOAWAY, as if the last of them asked
  // close=1 (nginx's keepalive_requests); 0: never.
  std::uint32_t goaway_after = 0;
};

// The largest server_config::max_streams: HTTP/2's stream identifiers are 31 bits.
inline constexpr std::uint32_t max_h2_streams = 0x7fffffff;

// What a request's query string asks of the server. Unknown keys are ignored; bad values fall
// back to the default.
struct knobs {
  std::chrono::nanoseconds delay{0};
  unsigned status = 200;   // 413 when early is set and status= is not
  std::int64_t size = -1;  // -1: the server's default body
  bool chunked = false;
  bool close = false;
  bool reset = false;
  bool drop = false;
  bool halfclose = false;
  bool garbage = false;
  bool hangup = false;
  bool early = false;
  std::chrono::nanoseconds hold{0};  // with early: keep the socket open, unread, this long
  bool extra = false;
  bool upgrade = false;
  bool refuse = false;  // HTTP/2 only
};
knobs parse_knobs(std::string_view target);

class server {
 public:
  // make(), then open(): a server listening, or the first failure.
  static result<std::unique_ptr<server>> listen(const server_config& cfg);

  // Everything but the network: checks cfg and sets up TLS (loads the certificate chain, key
  // and client CAs, or makes the self-signed certificate and writes it to write_cert_file).
  // Fails with one line: a bad address or port, a body_size above max_body_size, a max_streams
  // above max_h2_streams, or a TLS file that cannot be read, holds no PEM certificate or key,
  // or a key that does not match the certificate, e.g. "cannot read the certificate file
  // 'c.pem': No such file or directory". Never throws for those. Bad input all of them, told apart
  // from open()'s failures.
  static result<std::unique_ptr<server>> make(const server_config& cfg);
  // Binds and listens; call once, before run(). Fails with one line, e.g. "cannot listen on
  // 127.0.0.1:80: Permission denied"; never throws for that.
  result<void> open();

  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // "127.0.0.1:PORT", or "[::1]:PORT" for IPv6, or "unix:PATH". After open().
  [[nodiscard]] std::string local_address() const;
  // With TLS: the leaf certificate served, as PEM, and its SHA-256 fingerprint as `openssl x509
  // -fingerprint -sha256` prints it ("AB:CD:...", 32 pairs). Empty without TLS.
  [[nodiscard]] const std::string& certificate_pem() const;
  [[nodiscard]] const std::string& certificate_fingerprint() const;

  // Serves until stop(). Blocks the calling thread (and uses cfg.threads threads in all).
  void run();
  // Thread-safe; run() returns soon after. Open connections are closed.
  void stop();

 private:
  struct impl;
  explicit server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace hit::http
