#include "hit/http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "../flow/watchdog.hpp"
#include "raw_http.hpp"

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using hit::flow::test::watchdog;
using hit::http::server;
using hit::http::server_config;

using hit::test::hello;
using hit::test::port_of;

std::string get(std::string_view target) {
  return hit::test::get(target, "127.0.0.1");
}

// A server on 127.0.0.1:0 served by its own thread, and blocking client sockets to it. A hang
// fails through the watchdog; the server is stopped and joined whatever the test's outcome.
class server_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto listening = server::listen(server_config{});
    ASSERT_TRUE(listening) << listening.error();
    srv_ = std::move(*listening);
    serving_ = std::thread([this] { srv_->run(); });
  }
  void TearDown() override {
    if (!srv_) return;
    srv_->stop();
    serving_.join();
  }

  tcp::socket connect() {
    tcp::socket s(io_);
    s.connect({asio::ip::make_address("127.0.0.1"), port_of(srv_->local_address())});
    return s;
  }

  // Everything the server sends until it closes; ec says how it closed.
  static std::string read_to_end(tcp::socket& s, error_code& ec) {
    std::string got;
    asio::read(s, asio::dynamic_buffer(got), ec);
    return got;
  }

  static std::string read_exactly(tcp::socket& s, std::size_t n) {
    std::string got(n, '\0');
    asio::read(s, asio::buffer(got));
    return got;
  }

  watchdog wd_{10s};
  asio::io_context io_;
  std::unique_ptr<server> srv_;
  std::thread serving_;
};

TEST_F(server_test, existing_knobs_still_answer_on_one_connection) {
  auto s = connect();
  asio::write(s, asio::buffer(get("/") + get("/?status=503&close=1")));
  error_code ec;
  const auto got = read_to_end(s, ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(got.substr(0, hello.size()), hello);
  EXPECT_EQ(got.substr(hello.size()),
            "HTTP/1.1 503 Service Unavailable\r\nServer: hit\r\nContent-Type: text/plain\r\n"
            "Connection: close\r\nContent-Length: 14\r\n\r\nhello from hit");
}

TEST_F(server_test, garbage_sends_bytes_that_are_not_http_then_closes) {
  auto s = connect();
  asio::write(s, asio::buffer(get("/?garbage=1")));
  error_code ec;
  EXPECT_EQ(read_to_end(s, ec), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(server_test, hangup_closes_cleanly_without_a_byte) {
  auto s = connect();
  asio::write(s, asio::buffer(get("/?hangup=1")));
  error_code ec;
  EXPECT_EQ(read_to_end(s, ec), "");
  EXPECT_EQ(ec, asio::error::eof);  // FIN, not RST
}

TEST_F(server_test, extra_sends_an_unsolicited_response_and_keeps_the_connection) {
  constexpr std::string_view unsolicited =
      "HTTP/1.1 200 OK\r\nServer: hit\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
      "unsolicited";
  auto s = connect();
  asio::write(s, asio::buffer(get("/?extra=1")));
  const auto got = read_exactly(s, hello.size() + unsolicited.size());
  EXPECT_EQ(got.substr(0, hello.size()), hello);
  EXPECT_EQ(got.substr(hello.size()), unsolicited);
  // Still open, still HTTP: the next request gets its own response.
  asio::write(s, asio::buffer(get("/")));
  EXPECT_EQ(read_exactly(s, hello.size()), hello);
}

TEST_F(server_test, early_answers_after_the_header_without_waiting_for_the_body) {
  auto s = connect();
  // Ten megabytes announced, three sent: only a server that answers after the header replies.
  asio::write(s,
              asio::buffer(std::string_view("POST /upload?early=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                            "Content-Length: 10000000\r\n\r\nabc")));
  error_code ec;
  const auto got = read_to_end(s, ec);
  EXPECT_EQ(got,
            "HTTP/1.1 413 Payload Too Large\r\nServer: hit\r\nContent-Type: text/plain\r\n"
            "Connection: close\r\nContent-Length: 14\r\n\r\nhello from hit");
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

TEST_F(server_test, early_takes_its_status_from_status) {
  auto s = connect();
  asio::write(s, asio::buffer(std::string_view("POST /?early&status=400 HTTP/1.1\r\nHost: x\r\n"
                                               "Content-Length: 10000000\r\n\r\n")));
  error_code ec;
  EXPECT_EQ(read_to_end(s, ec).substr(0, 25), "HTTP/1.1 400 Bad Request\r");
}

TEST_F(server_test, upgrade_switches_protocols_and_never_speaks_http_again) {
  constexpr std::string_view switching =
      "HTTP/1.1 101 Switching Protocols\r\nServer: hit\r\nConnection: Upgrade\r\n"
      "Upgrade: hit-test\r\n\r\n";
  auto s = connect();
  asio::write(s, asio::buffer(get("/?upgrade=1")));
  EXPECT_EQ(read_exactly(s, switching.size()), switching);
  // An HTTP request now is just bytes to discard; the server closes only after we do.
  asio::write(s, asio::buffer(get("/")));
  s.shutdown(tcp::socket::shutdown_send);
  error_code ec;
  EXPECT_EQ(read_to_end(s, ec), "");
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(server_test, listen_on_a_port_in_use_is_a_failure_not_a_throw) {
  server_config cfg;
  cfg.port = std::to_string(port_of(srv_->local_address()));
  std::optional<hit::result<std::unique_ptr<server>>> second;
  EXPECT_NO_THROW(second.emplace(server::listen(cfg)));
  ASSERT_TRUE(second.has_value());
  ASSERT_FALSE(*second);
  EXPECT_EQ(second->error(), "cannot listen on 127.0.0.1:" + cfg.port + ": Address already in use");
}

TEST(server_listen, refuses_bad_settings_with_one_line) {
  server_config big;
  big.body_size = hit::http::max_body_size + 1;
  const auto too_big = server::listen(big);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().find('\n'), std::string::npos);

  server_config bad_address;
  bad_address.address = "not-an-address";
  const auto r = server::listen(bad_address);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "bad listen address 'not-an-address'");

  server_config bad_port;
  bad_port.port = "http";
  EXPECT_FALSE(server::listen(bad_port));

  server_config too_many_streams;
  too_many_streams.max_streams = hit::http::max_h2_streams + 1;
  const auto streams = server::listen(too_many_streams);
  ASSERT_FALSE(streams);
  EXPECT_EQ(streams.error(), "max streams 2147483648 is above the limit of 2147483647");
}

}  // namespace
