#include "hit/http/response_parser.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <optional>

namespace hit::http {
namespace {

namespace beast_http = boost::beast::http;
using boost::beast::error_code;

// Beast's parser, with every callback reduced to counting.
class counting_parser final : public beast_http::basic_parser<false> {
 public:
  unsigned status = 0;
  std::uint64_t body = 0;

 private:
  void on_request_impl(beast_http::verb, boost::beast::string_view, boost::beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, boost::beast::string_view, int, error_code&) override {
    status = static_cast<unsigned>(code);
  }
  void on_field_impl(beast_http::field, boost::beast::string_view, boost::beast::string_view,
                     error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view s, error_code&) override {
    body += s.size();
    return s.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view s, error_code&) override {
    body += s.size();
    return s.size();
  }
  void on_finish_impl(error_code&) override {}
};

}  // namespace

struct response_parser::impl {
  std::optional<counting_parser> p;
  std::size_t header_limit;
  bool head = false;

  void start() {
    p.emplace();
    p->eager(true);
    p->skip(head);
    p->body_limit(boost::none);
    p->header_limit(static_cast<std::uint32_t>(header_limit));
  }
};

response_parser::response_parser(std::size_t header_limit) : impl_(std::make_unique<impl>()) {
  impl_->header_limit = header_limit;
  impl_->start();
}
response_parser::~response_parser() = default;
response_parser::response_parser(response_parser&&) noexcept = default;
response_parser& response_parser::operator=(response_parser&&) noexcept = default;

void response_parser::reset(bool head_request) {
  impl_->head = head_request;
  impl_->start();
}

parse_status response_parser::feed(std::string_view data, std::size_t& consumed) {
  consumed = 0;
  for (;;) {
    error_code ec;
    const std::size_t n = impl_->p->put(
        boost::asio::const_buffer(data.data() + consumed, data.size() - consumed), ec);
    consumed += n;
    if (ec == beast_http::error::need_more) return parse_status::need_more;
    if (ec) return parse_status::error;
    if (!impl_->p->is_done()) {
      if (consumed == data.size()) return parse_status::need_more;
      continue;
    }
    const unsigned s = impl_->p->status;
    if (s >= 100 && s < 200 && s != 101) {
      // An interim response (100 Continue, 103 Early Hints): the final one follows.
      impl_->start();
      if (consumed == data.size()) return parse_status::need_more;
      continue;
    }
    return parse_status::done;
  }
}

parse_status response_parser::feed_eof() {
  // Beast requires some input before put_eof (an assertion in debug builds); a close before
  // any byte is simply an incomplete response. Found by tests/fuzz/parsers_fuzz.cpp.
  if (!impl_->p->got_some()) return parse_status::error;
  error_code ec;
  impl_->p->put_eof(ec);
  if (ec || !impl_->p->is_done()) return parse_status::error;
  return parse_status::done;
}

unsigned response_parser::status() const noexcept {
  return impl_->p->status;
}
bool response_parser::keep_alive() const noexcept {
  return impl_->p->keep_alive();
}
std::uint64_t response_parser::body_bytes() const noexcept {
  return impl_->p->body;
}
bool response_parser::got_header() const noexcept {
  return impl_->p->is_header_done();
}

}  // namespace hit::http
