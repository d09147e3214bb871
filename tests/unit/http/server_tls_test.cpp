// hit serve over TLS, in process: an asio::ssl client on 127.0.0.1 checks the handshake (the
// certificate, ALPN, versions, resumption, client certificates), the answers, and how each knob
// closes the connection.

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../flow/watchdog.hpp"
#include "hit/http/server.hpp"
#include "raw_http.hpp"
#include "test_pki.hpp"

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using hit::flow::test::watchdog;
using hit::http::server;
using hit::http::server_config;
using hit::test::test_pki;
using tls_stream = ssl::stream<tcp::socket>;

using hit::test::hello;
using hit::test::port_of;

std::string get(std::string_view target) {
  return hit::test::get(target, "localhost");
}

// The SHA-256 fingerprint of the certificate the client was shown, "AB:CD:...".
std::string peer_fingerprint(tls_stream& s) {
  X509* x = SSL_get0_peer_certificate(s.native_handle());
  if (x == nullptr) return "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(x, EVP_sha256(), md, &n);
  std::string out;
  char pair[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(pair, sizeof pair, i == 0 ? "%02X" : ":%02X", md[i]);
    out += pair;
  }
  return out;
}

// How a client connects: whom it trusts, what it offers, what it presents.
struct client_options {
  std::string trust_pem{};  // CA certificates, PEM; empty: verify nothing
  std::string verify_host = "localhost";
  int max_version = 0;            // e.g. TLS1_2_VERSION; 0: the highest
  std::string alpn{};             // wire format, e.g. "\x02h2\x08http/1.1"
  std::string cert_file{};        // a client certificate...
  std::string key_file{};         // ...and its key
  SSL_SESSION* resume = nullptr;  // a session to resume
  std::string ciphers{};          // TLS 1.2 suites offered; empty: OpenSSL's default
  std::string groups{};           // key-exchange groups offered; empty: OpenSSL's default
};

// A TLS server on 127.0.0.1:0 served by its own thread, and blocking TLS clients to it. A hang
// fails through the watchdog; the server is stopped and joined whatever the test's outcome.
class server_tls_test : public ::testing::Test {
 protected:
  void start(server_config cfg = {}) {
    cfg.tls.enabled = true;
    auto listening = server::listen(cfg);
    ASSERT_TRUE(listening) << listening.error();
    srv_ = std::move(*listening);
    serving_ = std::thread([this] { srv_->run(); });
  }
  void TearDown() override {
    if (!srv_) return;
    srv_->stop();
    serving_.join();
  }

  // A client connected to the server; `ec` says how the handshake went.
  std::unique_ptr<tls_stream> connect(const client_options& o, error_code& ec) {
    ctx_.emplace(ssl::context::tls_client);
    if (!o.trust_pem.empty()) {
      ctx_->add_certificate_authority(asio::buffer(o.trust_pem));
      ctx_->set_verify_mode(ssl::verify_peer);
      ctx_->set_verify_callback(ssl::host_name_verification(o.verify_host));
    }
    if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx_->native_handle(), o.max_version);
    if (!o.ciphers.empty()) SSL_CTX_set_cipher_list(ctx_->native_handle(), o.ciphers.c_str());
    if (!o.groups.empty()) SSL_CTX_set1_groups_list(ctx_->native_handle(), o.groups.c_str());
    if (!o.cert_file.empty()) {
      ctx_->use_certificate_chain_file(o.cert_file);
      ctx_->use_private_key_file(o.key_file, ssl::context::pem);
    }
    auto s = std::make_unique<tls_stream>(io_, *ctx_);
    SSL* ssl_handle = s->native_handle();
    SSL_set_tlsext_host_name(ssl_handle, "localhost");
    if (!o.alpn.empty())
      SSL_set_alpn_protos(ssl_handle, reinterpret_cast<const unsigned char*>(o.alpn.data()),
                          static_cast<unsigned int>(o.alpn.size()));
    if (o.resume != nullptr) SSL_set_session(ssl_handle, o.resume);
    s->next_layer().connect({asio::ip::make_address("127.0.0.1"), port_of(srv_->local_address())});
    s->handshake(ssl::stream_base::client, ec);
    return s;
  }
  std::unique_ptr<tls_stream> connect_trusting_the_server() {
    error_code ec;
    auto s = connect({.trust_pem = srv_->certificate_pem()}, ec);
    EXPECT_FALSE(ec) << ec.message();
    return s;
  }

  // Everything the server sends until it closes; ec says how it closed: eof after
  // close_notify, ssl::error::stream_truncated after a FIN without one.
  static std::string read_to_end(tls_stream& s, error_code& ec) {
    std::string got;
    asio::read(s, asio::dynamic_buffer(got), ec);
    return got;
  }
  static std::string read_exactly(tls_stream& s, std::size_t n) {
    std::string got(n, '\0');
    asio::read(s, asio::buffer(got));
    return got;
  }

  watchdog wd_{20s};
  asio::io_context io_;
  std::optional<ssl::context> ctx_;
  std::unique_ptr<server> srv_;
  std::thread serving_;
};

TEST_F(server_tls_test, answers_over_tls_with_a_certificate_for_localhost_and_127_0_0_1) {
  start();
  for (const char* host : {"localhost", "127.0.0.1"}) {
    error_code ec;
    auto s = connect({.trust_pem = srv_->certificate_pem(), .verify_host = host}, ec);
    ASSERT_FALSE(ec) << host << ": " << ec.message();
    asio::write(*s, asio::buffer(get("/")));
    EXPECT_EQ(read_exactly(*s, hello.size()), hello);
    EXPECT_EQ(SSL_version(s->native_handle()), TLS1_3_VERSION);
    EXPECT_EQ(peer_fingerprint(*s), srv_->certificate_fingerprint());
  }
  // Verified against anything else, the certificate fails.
  error_code ec;
  connect({.trust_pem = srv_->certificate_pem(), .verify_host = "example.com"}, ec);
  EXPECT_TRUE(ec);
}

TEST_F(server_tls_test, the_fingerprint_is_the_sha256_of_the_certificate_served) {
  start();
  const std::string& fp = srv_->certificate_fingerprint();
  ASSERT_EQ(fp.size(), 32u * 3 - 1) << fp;
  auto s = connect_trusting_the_server();
  EXPECT_EQ(peer_fingerprint(*s), fp);
  // A new server, a new certificate.
  server_config cfg;
  cfg.tls.enabled = true;
  auto other = server::make(cfg);
  ASSERT_TRUE(other) << other.error();
  EXPECT_NE((*other)->certificate_fingerprint(), fp);
}

TEST_F(server_tls_test, alpn_prefers_h2_then_http_1_1_and_nothing_otherwise) {
  start();
  auto alpn_of = [](tls_stream& s) {
    const unsigned char* p = nullptr;
    unsigned int n = 0;
    SSL_get0_alpn_selected(s.native_handle(), &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
  };
  error_code ec;
  // Our order, not the client's: h2 even when the client lists it second.
  auto both = connect({.trust_pem = srv_->certificate_pem(), .alpn = "\x08http/1.1\x02h2"}, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(alpn_of(*both), "h2");
  auto h1_only = connect({.trust_pem = srv_->certificate_pem(), .alpn = "\x08http/1.1"}, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(alpn_of(*h1_only), "http/1.1");
  asio::write(*h1_only, asio::buffer(get("/")));
  EXPECT_EQ(read_exactly(*h1_only, hello.size()), hello);
  auto neither = connect({.trust_pem = srv_->certificate_pem(), .alpn = "\x08spdy/3.1"}, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(alpn_of(*neither), "");
  asio::write(*neither, asio::buffer(get("/")));
  EXPECT_EQ(read_exactly(*neither, hello.size()), hello);
}

TEST_F(server_tls_test, tls_1_2_clients_get_an_ecdhe_suite) {
  start();
  error_code ec;
  auto s = connect({.trust_pem = srv_->certificate_pem(), .max_version = TLS1_2_VERSION}, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(SSL_version(s->native_handle()), TLS1_2_VERSION);
  const std::string cipher = SSL_get_cipher_name(s->native_handle());
  EXPECT_EQ(cipher.rfind("ECDHE-", 0), 0u) << cipher;
  asio::write(*s, asio::buffer(get("/")));
  EXPECT_EQ(read_exactly(*s, hello.size()), hello);
}

TEST_F(server_tls_test, a_client_resumes_its_session_on_a_new_connection) {
  server_config cfg;
  cfg.threads = 2;
  start(cfg);
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    error_code ec;
    auto first = connect({.trust_pem = srv_->certificate_pem(), .max_version = version}, ec);
    ASSERT_FALSE(ec) << ec.message();
    // A TLS 1.3 ticket comes after the handshake: reading the response takes it in.
    asio::write(*first, asio::buffer(get("/")));
    EXPECT_EQ(read_exactly(*first, hello.size()), hello);
    SSL_SESSION* session = SSL_get1_session(first->native_handle());
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(SSL_session_reused(first->native_handle()), 0);
    auto second = connect(
        {.trust_pem = srv_->certificate_pem(), .max_version = version, .resume = session}, ec);
    SSL_SESSION_free(session);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(SSL_session_reused(second->native_handle()), 1) << "version " << std::hex << version;
    asio::write(*second, asio::buffer(get("/")));
    EXPECT_EQ(read_exactly(*second, hello.size()), hello);
  }
}

TEST_F(server_tls_test, status_size_and_chunked_answer_on_one_connection) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?status=503&size=100000") + get("/?chunked=1") +
                               get("/?status=201&size=3")));
  const std::string big_header =
      "HTTP/1.1 503 Service Unavailable\r\nServer: hit\r\nContent-Type: text/plain\r\n"
      "Content-Length: 100000\r\n\r\n";
  const std::string got = read_exactly(*s, big_header.size() + 100000);
  EXPECT_EQ(got.substr(0, big_header.size()), big_header);
  EXPECT_EQ(got.substr(big_header.size(), 14), "hello from hit");
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nServer: hit\r\nContent-Type: text/plain\r\n"
      "Transfer-Encoding: chunked\r\n\r\n7\r\nhello f\r\n7\r\nrom hit\r\n0\r\n\r\n";
  EXPECT_EQ(read_exactly(*s, chunked.size()), chunked);
  const std::string created =
      "HTTP/1.1 201 Created\r\nServer: hit\r\nContent-Type: text/plain\r\n"
      "Content-Length: 3\r\n\r\nhel";
  EXPECT_EQ(read_exactly(*s, created.size()), created);
}

TEST_F(server_tls_test, close_ends_with_close_notify) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?close=1")));
  error_code ec;
  const auto got = read_to_end(*s, ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();  // close_notify, then FIN
  EXPECT_EQ(got,
            "HTTP/1.1 200 OK\r\nServer: hit\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            "Content-Length: 14\r\n\r\nhello from hit");
}

TEST_F(server_tls_test, a_client_asking_to_close_gets_close_notify) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(std::string_view("GET / HTTP/1.1\r\nHost: localhost\r\n"
                                                "Connection: close\r\n\r\n")));
  error_code ec;
  EXPECT_NE(read_to_end(*s, ec).find("hello from hit"), std::string::npos);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
}

TEST_F(server_tls_test, drop_closes_after_the_response_without_close_notify) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?drop=1")));
  error_code ec;
  EXPECT_EQ(read_to_end(*s, ec), hello);                        // a keep-alive response...
  EXPECT_EQ(ec, ssl::error::stream_truncated) << ec.message();  // ...then FIN, no alert
}

TEST_F(server_tls_test, hangup_closes_without_a_byte_or_close_notify) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?hangup=1")));
  error_code ec;
  EXPECT_EQ(read_to_end(*s, ec), "");
  EXPECT_EQ(ec, ssl::error::stream_truncated) << ec.message();
}

TEST_F(server_tls_test, reset_sends_rst) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?reset=1")));
  error_code ec;
  EXPECT_EQ(read_to_end(*s, ec), "");
  EXPECT_EQ(ec, asio::error::connection_reset) << ec.message();
}

TEST_F(server_tls_test, halfclose_sends_fin_without_close_notify_and_reads_on) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?halfclose=1")));
  error_code ec;
  EXPECT_EQ(read_to_end(*s, ec), hello);
  EXPECT_EQ(ec, ssl::error::stream_truncated) << ec.message();
  // The server still reads what comes (and drops it): writing on does not meet a reset, as it
  // would soon after a full close. (16 MiB: more than the kernel's buffers take.)
  const std::string chunk(1 << 16, 'x');
  ec = {};
  for (int i = 0; i < 256 && !ec; ++i) asio::write(s->next_layer(), asio::buffer(chunk), ec);
  EXPECT_FALSE(ec) << ec.message();
}

TEST_F(server_tls_test, garbage_is_sent_inside_tls_then_close_notify) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?garbage=1")));
  error_code ec;
  EXPECT_EQ(read_to_end(*s, ec), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
}

TEST_F(server_tls_test, extra_sends_an_unsolicited_response_and_keeps_the_connection) {
  constexpr std::string_view unsolicited =
      "HTTP/1.1 200 OK\r\nServer: hit\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
      "unsolicited";
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?extra=1&delay=20ms")));
  EXPECT_EQ(read_exactly(*s, hello.size() + unsolicited.size()),
            std::string(hello) + std::string(unsolicited));
  asio::write(*s, asio::buffer(get("/")));
  EXPECT_EQ(read_exactly(*s, hello.size()), hello);
}

TEST_F(server_tls_test, upgrade_discards_until_the_client_closes_then_answers_its_close_notify) {
  constexpr std::string_view switching =
      "HTTP/1.1 101 Switching Protocols\r\nServer: hit\r\nConnection: Upgrade\r\n"
      "Upgrade: hit-test\r\n\r\n";
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(get("/?upgrade=1")));
  EXPECT_EQ(read_exactly(*s, switching.size()), switching);
  asio::write(*s, asio::buffer(get("/")));  // bytes to discard now
  // A full TLS shutdown: ours, then waiting for the server's close_notify.
  error_code ec;
  s->shutdown(ec);
  EXPECT_FALSE(ec) << ec.message();
}

TEST_F(server_tls_test, early_answers_after_the_header_then_closes_with_close_notify) {
  start();
  auto s = connect_trusting_the_server();
  asio::write(*s, asio::buffer(std::string_view("POST /upload?early=1 HTTP/1.1\r\nHost: x\r\n"
                                                "Content-Length: 10000000\r\n\r\nabc")));
  error_code ec;
  EXPECT_EQ(read_to_end(*s, ec),
            "HTTP/1.1 413 Payload Too Large\r\nServer: hit\r\nContent-Type: text/plain\r\n"
            "Connection: close\r\nContent-Length: 14\r\n\r\nhello from hit");
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
}

TEST_F(server_tls_test, plain_http_to_the_tls_port_gets_no_http_answer) {
  start();
  tcp::socket s(io_);
  s.connect({asio::ip::make_address("127.0.0.1"), port_of(srv_->local_address())});
  asio::write(s, asio::buffer(get("/")));
  std::string got;
  error_code ec;
  asio::read(s, asio::dynamic_buffer(got), ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(got.find("HTTP/"), std::string::npos) << got;
}

// ---- Certificates from files, and client certificates -----------------------------------

class server_tls_files_test : public hit::test::with_pki<server_tls_test> {};

TEST_F(server_tls_files_test, serves_a_chain_from_files_that_clients_verify_up_to_the_root) {
  server_config cfg;
  cfg.tls.cert_file = pki_->path("server-chain.pem");
  cfg.tls.key_file = pki_->path("server.key");
  start(cfg);
  EXPECT_EQ(srv_->certificate_pem(), pki_->read("server.pem"));
  error_code ec;
  auto s = connect({.trust_pem = pki_->read("root.pem")}, ec);  // the intermediate comes along
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(peer_fingerprint(*s), srv_->certificate_fingerprint());
  asio::write(*s, asio::buffer(get("/?status=204")));
  const std::string no_content =
      "HTTP/1.1 204 No Content\r\nServer: hit\r\nContent-Type: text/plain\r\n\r\n";
  EXPECT_EQ(read_exactly(*s, no_content.size()), no_content);
}

TEST_F(server_tls_files_test, with_client_ca_a_client_without_a_certificate_is_refused) {
  server_config cfg;
  cfg.tls.client_ca_file = pki_->path("root.pem");
  start(cfg);
  // TLS 1.3 finishes the client's side of the handshake before the server checks it: the
  // refusal shows on the first read at the latest.
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    error_code ec;
    auto s = connect({.trust_pem = srv_->certificate_pem(), .max_version = version}, ec);
    std::string got;
    if (!ec) {
      asio::write(*s, asio::buffer(get("/?close=1")), ec);  // served, the read would end
      got = read_to_end(*s, ec);
    }
    EXPECT_TRUE(ec) << "version " << std::hex << version;
    EXPECT_EQ(got, "");
    EXPECT_EQ(ec.category(), asio::error::get_ssl_category()) << ec.message();
  }
}

TEST_F(server_tls_files_test, with_client_ca_a_certificate_from_another_issuer_is_refused) {
  server_config cfg;
  cfg.tls.client_ca_file = pki_->path("root.pem");
  start(cfg);
  error_code ec;
  auto s = connect({.trust_pem = srv_->certificate_pem(),
                    .cert_file = pki_->path("stranger.pem"),
                    .key_file = pki_->path("stranger.key")},
                   ec);
  std::string got;
  if (!ec) {
    asio::write(*s, asio::buffer(get("/?close=1")), ec);
    got = read_to_end(*s, ec);
  }
  EXPECT_TRUE(ec);
  EXPECT_EQ(got, "");
}

TEST_F(server_tls_files_test, with_client_ca_a_client_certificate_it_issued_is_served) {
  server_config cfg;
  cfg.tls.client_ca_file = pki_->path("root.pem");
  start(cfg);
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    error_code ec;
    auto s = connect({.trust_pem = srv_->certificate_pem(),
                      .max_version = version,
                      .cert_file = pki_->path("client.pem"),
                      .key_file = pki_->path("client.key")},
                     ec);
    ASSERT_FALSE(ec) << ec.message();
    asio::write(*s, asio::buffer(get("/?close=1")));
    EXPECT_NE(read_to_end(*s, ec).find("hello from hit"), std::string::npos);
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
    // Resumption works under client verification too (it needs a session id context).
    SSL_SESSION* session = SSL_get1_session(s->native_handle());
    ASSERT_NE(session, nullptr);
    auto again = connect({.trust_pem = srv_->certificate_pem(),
                          .max_version = version,
                          .cert_file = pki_->path("client.pem"),
                          .key_file = pki_->path("client.key"),
                          .resume = session},
                         ec);
    SSL_SESSION_free(session);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(SSL_session_reused(again->native_handle()), 1) << "version " << std::hex << version;
    asio::write(*again, asio::buffer(get("/")));
    EXPECT_EQ(read_exactly(*again, hello.size()), hello);
  }
}

TEST_F(server_tls_files_test, key_exchange_is_ecdhe_only) {
  server_config cfg;
  cfg.tls.cert_file = pki_->path("rsa-server.pem");
  cfg.tls.key_file = pki_->path("rsa-server.key");
  start(cfg);
  const std::string trust = pki_->read("rsa-server.pem");
  error_code ec;
  // TLS 1.2: RSA key exchange (no forward secrecy) is refused; ECDHE with the RSA key is served.
  connect({.trust_pem = trust, .max_version = TLS1_2_VERSION, .ciphers = "AES128-GCM-SHA256"}, ec);
  EXPECT_TRUE(ec);
  auto rsa = connect(
      {.trust_pem = trust, .max_version = TLS1_2_VERSION, .ciphers = "ECDHE-RSA-AES128-GCM-SHA256"},
      ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_STREQ(SSL_get_cipher_name(rsa->native_handle()), "ECDHE-RSA-AES128-GCM-SHA256");
  // TLS 1.3: finite-field groups are refused; elliptic curves are served.
  connect({.trust_pem = trust, .groups = "ffdhe2048"}, ec);
  EXPECT_TRUE(ec);
  auto p256 = connect({.trust_pem = trust, .groups = "P-256"}, ec);
  ASSERT_FALSE(ec) << ec.message();
  asio::write(*p256, asio::buffer(get("/")));
  EXPECT_EQ(read_exactly(*p256, hello.size()), hello);
}

TEST_F(server_tls_files_test, the_self_signed_certificate_is_written_where_asked) {
  server_config cfg;
  cfg.tls.enabled = true;
  cfg.tls.write_cert_file = pki_->path("written.pem");
  auto made = server::make(cfg);
  ASSERT_TRUE(made) << made.error();
  EXPECT_EQ(pki_->read("written.pem"), (*made)->certificate_pem());
  EXPECT_EQ((*made)->certificate_pem().rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
}

// Every bad TLS setting fails in make(), before anything listens, with one line naming the file.
TEST_F(server_tls_files_test, bad_files_fail_in_make_with_one_line) {
  struct bad_case {
    std::string cert, key, client_ca, write_cert;
    std::string says;
  };
  const std::string missing = pki_->path("missing.pem");
  pki_->write("junk.pem", "not a certificate\n");
  const std::vector<bad_case> cases = {
      {missing, pki_->path("server.key"), "", "",
       "cannot read the certificate file '" + missing + "': No such file or directory"},
      {pki_->path("server.pem"), missing, "", "",
       "cannot read the key file '" + missing + "': No such file or directory"},
      {pki_->path("junk.pem"), pki_->path("server.key"), "", "",
       "the certificate file '" + pki_->path("junk.pem") + "' holds no PEM certificate"},
      {pki_->path("server.pem"), pki_->path("server.pem"), "", "",
       "the key file '" + pki_->path("server.pem") + "' holds no PEM private key"},
      {pki_->path("server.pem"), pki_->path("other.key"), "", "",
       "the key in '" + pki_->path("other.key") + "' does not match the certificate in '" +
           pki_->path("server.pem") + "'"},
      {pki_->path("server.pem"), "", "", "", "give both or neither"},
      {"", pki_->path("server.key"), "", "", "give both or neither"},
      {pki_->path("server.pem"), pki_->path("server.key"), "", pki_->path("w.pem"),
       "not with a certificate file"},
      {"", "", missing, "",
       "cannot read the client CA file '" + missing + "': No such file or directory"},
      {"", "", pki_->path("junk.pem"), "", "holds no PEM certificate"},
      {"", "", "", pki_->path("no-such-dir/cert.pem"), "cannot write the certificate to"},
      {pki_->path(""), pki_->path("server.key"), "", "", "cannot read the certificate file"},
  };
  for (const auto& c : cases) {
    server_config cfg;
    cfg.tls = {true, c.cert, c.key, c.client_ca, c.write_cert};
    const auto made = server::make(cfg);
    ASSERT_FALSE(made) << c.says;
    EXPECT_NE(made.error().find(c.says), std::string::npos) << made.error();
    EXPECT_EQ(made.error().find('\n'), std::string::npos) << made.error();
  }
}

}  // namespace
