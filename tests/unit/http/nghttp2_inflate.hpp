#pragma once
// A header block decoded by nghttp2's public HPACK inflater (a decoder nobody on the project
// wrote), for the tests of hit's encoders.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace hit::test {

using fields = std::vector<std::pair<std::string, std::string>>;

// Decodes one whole block with `in` (whose table it updates); throws on a decoding error.
inline fields inflate(nghttp2_hd_inflater* in, const std::vector<std::uint8_t>& block) {
  fields out;
  const std::uint8_t* p = block.data();
  std::size_t left = block.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const auto r = nghttp2_hd_inflate_hd2(in, &nv, &flags, p, left, 1);
    if (r < 0) throw std::runtime_error(nghttp2_strerror(static_cast<int>(r)));
    p += r;
    left -= static_cast<std::size_t>(r);
    if (flags & NGHTTP2_HD_INFLATE_EMIT)
      out.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                       std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(in);
      return out;
    }
  }
}

}  // namespace hit::test
