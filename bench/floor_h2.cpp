// bench/floor's HTTP/2 client: the least an HTTP/2 load generator can do per request. Each
// connection keeps -m streams open; a request is one HEADERS frame whose header block never
// changes (:method GET and :scheme from HPACK's static table, :path and :authority as literals
// that are never indexed, so the server's decoder state stays as it is), only its stream id
// does. Responses are not decoded: frames are walked by their 9-byte headers, a stream ends at
// the frame that carries END_STREAM, and each response's HEADERS must begin with HPACK's
// indexed `:status 200` (0x88), so an error page is not counted; a response counts once its
// last frame is whole. The windows are opened to 2^31-1 (the connection's topped up after every
// GiB of DATA); the server's SETTINGS are acknowledged, its PINGs answered. New streams start once
// half the connection's are free, all in one write (--refill-each: after every read that ended one,
// as h2load does): ~12% less CPU per request here, and what hit --h2 does.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "floor.hpp"

namespace hit_floor {
namespace {

constexpr std::uint8_t frame_data = 0x0, frame_headers = 0x1, frame_rst_stream = 0x3,
                       frame_settings = 0x4, frame_ping = 0x6, frame_goaway = 0x7;
constexpr std::uint8_t frame_window_update = 0x8;
constexpr std::uint8_t flag_end_stream = 0x1, flag_ack = 0x1, flag_end_headers = 0x4,
                       flag_padded = 0x8, flag_priority = 0x20;
// Our windows: 2^31-1 for every stream (SETTINGS) and the connection (WINDOW_UPDATE), the
// connection's topped up after every GiB of DATA received.
constexpr std::uint32_t window = 0x7fffffff, top_up = 1u << 30;

void put_frame_head(std::string& out, std::size_t length, std::uint8_t type, std::uint8_t flags,
                    std::uint32_t stream) {
  const unsigned char h[9] = {static_cast<unsigned char>(length >> 16),
                              static_cast<unsigned char>(length >> 8),
                              static_cast<unsigned char>(length),
                              type,
                              flags,
                              static_cast<unsigned char>(stream >> 24),
                              static_cast<unsigned char>(stream >> 16),
                              static_cast<unsigned char>(stream >> 8),
                              static_cast<unsigned char>(stream)};
  out.append(reinterpret_cast<const char*>(h), sizeof h);
}

// The request's header block: the same bytes for every request of the run.
std::string header_block(const options& o) {
  if (o.path.size() > 126 || o.authority.size() > 126) die("the URL is too long for --h2");
  std::string b;
  b += '\x82';                   // :method GET
  b += o.tls ? '\x87' : '\x86';  // :scheme https / http
  b += '\x04';                   // :path, literal without indexing (name 4)
  b += static_cast<char>(o.path.size());
  b += o.path;
  b += '\x01';  // :authority, literal without indexing, name 1
  b += static_cast<char>(o.authority.size());
  b += o.authority;
  return b;
}

// One connection's state: the next stream id, and where its reader is in the server's frames.
struct h2_connection {
  link l;
  std::uint32_t next_stream = 1;
  unsigned char head[9];
  unsigned have = 0;          // bytes of the current frame's head gathered
  std::uint32_t left = 0;     // bytes of the current frame's payload still to come
  bool check_status = false;  // the next payload byte begins a response's HEADERS block
  bool ends = false;          // the current frame ends its stream (counted once it is whole)
  std::uint8_t type = 0, flags = 0;
  unsigned char ping[8];
  unsigned pinged = 0;           // bytes of a PING's payload gathered
  std::uint64_t data_bytes = 0;  // DATA received since the connection's window was topped up
  int ended = 0;                 // streams ended and not yet replaced
};

void put_u32(std::string& out, std::uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v >> 24),
                              static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  out.append(reinterpret_cast<const char*>(b), sizeof b);
}

}  // namespace

result run_h2(const options& o, SSL_CTX* ctx) {
  const std::string block = header_block(o);
  const int refill_at = o.refill_each ? 1 : (o.streams + 1) / 2;
  std::vector<h2_connection> conns(static_cast<std::size_t>(o.connections));
  poller sockets(conns.size());
  std::string out;
  auto queue_request = [&](h2_connection& c) {
    put_frame_head(out, block.size(), frame_headers, flag_end_stream | flag_end_headers,
                   c.next_stream);
    out += block;
    c.next_stream += 2;
  };
  for (std::size_t i = 0; i < conns.size(); ++i) {
    auto& c = conns[i];
    c.l = connect_to(o, ctx);
    out.assign("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    put_frame_head(out, 6, frame_settings, 0, 0);  // SETTINGS_INITIAL_WINDOW_SIZE = window
    out += std::string("\x00\x04", 2);
    put_u32(out, window);
    put_frame_head(out, 4, frame_window_update, 0, 0);  // the connection's: 65535 -> window
    put_u32(out, window - 65535);
    send_all(c.l, out);
    sockets.add(c.l.fd, i);
  }
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  for (auto& c : conns) {
    out.clear();
    for (int s = 0; s < o.streams; ++s) queue_request(c);
    send_all(c.l, out);
  }
  result r;
  static char buf[65536];
  for (bool sending = true; sending;) {
    const auto ready = sockets.wait();
    sending = clock_type::now() < end;
    for (const auto i : ready) {
      auto& c = conns[i];
      out.clear();
      do {  // over https, until OpenSSL holds no more read-ahead bytes
        const auto got = receive(c.l, buf, sizeof buf);
        if (got < 0) break;
        for (long at = 0; at < got;) {
          if (c.have < 9) {  // a frame's head
            c.head[c.have++] = static_cast<unsigned char>(buf[at++]);
            if (c.have < 9) continue;
            c.left = (std::uint32_t{c.head[0]} << 16) | (std::uint32_t{c.head[1]} << 8) | c.head[2];
            c.type = c.head[3];
            c.flags = c.head[4];
            const bool on_stream = (c.head[8] & 1) != 0;  // (odd: a stream we opened)
            if (c.type == frame_goaway || c.type == frame_rst_stream)
              die("the server sent GOAWAY or RST_STREAM");
            if (c.type == frame_settings && !(c.flags & flag_ack))
              put_frame_head(out, 0, frame_settings, flag_ack, 0);
            c.check_status = c.type == frame_headers && on_stream;
            // (With padding, a priority or CONTINUATION, byte 0 would not be the status.)
            if (c.check_status &&
                ((c.flags & (flag_padded | flag_priority)) || !(c.flags & flag_end_headers)))
              die("a response's HEADERS are padded, prioritised or continued: not counted here");
            c.ends = (c.type == frame_headers || c.type == frame_data) && on_stream &&
                     (c.flags & flag_end_stream);
            if (c.type == frame_data) c.data_bytes += c.left;
            if (c.type == frame_ping && !(c.flags & flag_ack) && c.left != 8)
              die("a PING whose payload is not 8 bytes");
            c.pinged = 0;
          } else {
            const auto take = std::min<std::uint32_t>(c.left, static_cast<std::uint32_t>(got - at));
            if (c.check_status && take > 0) {
              if (static_cast<unsigned char>(buf[at]) != 0x88)
                die("a response's status is not 200 (its HEADERS do not begin with 0x88)");
              c.check_status = false;
            }
            if (c.type == frame_ping && !(c.flags & flag_ack)) {
              std::memcpy(c.ping + c.pinged, buf + at, take);
              c.pinged += take;
            }
            at += take;
            c.left -= take;
          }
          if (c.have == 9 && c.left == 0) {  // the frame is over
            c.have = 0;
            if (c.check_status) die("a response's HEADERS carry no header block");
            if (c.ends) {
              ++r.requests;
              ++c.ended;
            }
            if (c.type == frame_ping && !(c.flags & flag_ack)) {
              put_frame_head(out, 8, frame_ping, flag_ack, 0);
              out.append(reinterpret_cast<const char*>(c.ping), 8);
            }
          }
        }
      } while (c.l.ssl != nullptr && SSL_has_pending(c.l.ssl));
      if (c.data_bytes >= top_up) {
        put_frame_head(out, 4, frame_window_update, 0, 0);
        put_u32(out, static_cast<std::uint32_t>(c.data_bytes));
        c.data_bytes = 0;
      }
      if (sending && c.ended >= refill_at) {
        for (; c.ended > 0; --c.ended) queue_request(c);
      }
      if (!out.empty()) send_all(c.l, out);
    }
  }
  r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  for (auto& c : conns) close_link(c.l);
  return r;
}

}  // namespace hit_floor
