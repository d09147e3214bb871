#pragma once
// http2_request: a request of a run as HTTP/2 sends it: its header fields, encoded once into
// an HPACK block that means the same on any connection (hpack_encode: sent before the server's
// SETTINGS) and the refs a connection's hpack_indexer encodes it from, and a body; built before
// the run.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/hpack_indexer.hpp"
#include "hit/http/request.hpp"
#include "hit/http/url.hpp"

namespace hit::http::detail {

struct http2_request {
  header_fields fields;             // pseudo-headers first, names lower case
  std::vector<std::uint8_t> block;  // the fields as an HPACK block (hpack_encode)
  // The fields for hpack_indexer (a connection's table), and their literals. Their ids are the
  // run's (number_http2_fields); until numbered, `fields_in_run` is 0 and `block` is sent.
  std::vector<hpack_ref> refs;
  std::vector<std::uint8_t> literals;
  std::uint32_t fields_in_run = 0;
  std::string body;   // sent in DATA frames; empty: HEADERS ends the stream
  bool head = false;  // HEAD: responses carry no body
};

// :method, :scheme, :authority (a user's Host header replaces the URL's), :path, then the
// user's headers in lower case, without the connection-specific ones HTTP/2 forbids
// (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE); content-length
// when there is a body or the method usually carries one, as for HTTP/1.1.
http2_request build_http2_request(const url& target, const request_spec& spec);

// Numbers the fields of a run's requests: equal fields (name and value) get the same id, so
// that a connection's table serves every request that has them.
void number_http2_fields(std::span<http2_request* const> requests);

}  // namespace hit::http::detail
