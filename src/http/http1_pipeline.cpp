#include "detail/http1_pipeline.hpp"

#include <algorithm>
#include <cstring>

namespace hit::http::detail {

http1_pipeline::http1_pipeline(const std::vector<prepared_request>& requests, std::size_t depth,
                               std::size_t template_size)
    : requests_(requests),
      ring_(depth),
      rendered_(template_size > 0 ? std::make_unique_for_overwrite<char[]>(depth * template_size)
                                  : nullptr),
      template_size_(template_size),
      stage_(std::make_unique_for_overwrite<char[]>(stage_size)),
      parser_(buffer_size),
      in_(buffer_size) {}

void http1_pipeline::push(const in_flight& rec, std::uint64_t& random) {
  const auto at = index(count_);
  auto& e = ring_[at];
  e.rec = rec;
  e.rec.sent = {};
  e.rec.first_byte = {};
  e.rec.bytes_in = 0;
  const auto& r = requests_[rec.target];
  if (r.varies) {
    char* out = rendered_.get() + at * template_size_;
    e.head = {out, r.varies->render({rec.seq, &random}, out)};
    e.body = r.varies->fixed_body();
  } else {
    e.head = r.http1.head;
    e.body = r.http1.body;
  }
  end_ += e.head.size() + e.body.size();
  e.end = end_;
  ++count_;
}

void http1_pipeline::pop() noexcept {
  head_ = index(1);
  --count_;
  if (copying_ > 0) --copying_;
  parsing_ = false;
}

in_flight http1_pipeline::take_front() noexcept {
  const auto rec = ring_[head_].rec;
  pop();
  if (count_ == 0) {
    end_ = copied_ = written_ = 0;
    copying_ = 0;
    out_begin_ = out_end_ = 0;
  }
  return rec;
}

void http1_pipeline::stage(clock::time_point now) noexcept {
  if (out_begin_ < out_end_) return;  // the last staging is still being written
  out_begin_ = out_end_ = 0;
  while (copied_ < end_ && out_end_ < stage_size) {
    auto& e = ring_[index(copying_)];
    const auto size = e.head.size() + e.body.size();
    const std::size_t at = copied_ - (e.end - size);  // how much of it is staged already
    if (at == 0) {
      e.rec.sent = now;
      // Latency runs from the first send (unpaced, nothing else is due): a request resent on a
      // new connection was waited for since then.
      if (e.rec.due == clock::time_point{}) e.rec.due = now;
    }
    const auto n = std::min(size - at, stage_size - out_end_);
    // The part of [at, at + n) in the head, then in the body.
    std::size_t done = 0;
    if (at < e.head.size()) {
      done = std::min(n, e.head.size() - at);
      std::memcpy(stage_.get() + out_end_, e.head.data() + at, done);
    }
    if (done < n)
      std::memcpy(stage_.get() + out_end_ + done, e.body.data() + (at + done - e.head.size()),
                  n - done);
    out_end_ += n;
    copied_ += n;
    if (copied_ == e.end) ++copying_;
  }
}

boost::asio::mutable_buffer http1_pipeline::read_buffer() noexcept {
  if (begin_in_ > 0) {
    const auto held = end_in_ - begin_in_;
    if (held > 0) std::memmove(in_.data(), in_.data() + begin_in_, held);
    begin_in_ = 0;
    end_in_ = held;
  }
  return {in_.data() + end_in_, in_.size() - end_in_};
}

parse_status http1_pipeline::parse() {
  if (!parsing_) {
    parser_.reset(requests_[front().target].head);
    parsing_ = true;
  }
  if (!buffered()) return parse_status::need_more;
  std::size_t used = 0;
  const auto st = parser_.feed({in_.data() + begin_in_, end_in_ - begin_in_}, used);
  begin_in_ += used;
  front().bytes_in += used;
  if (begin_in_ == end_in_) begin_in_ = end_in_ = 0;
  // A header that fills the whole buffer and still is not complete will never fit.
  if (st == parse_status::need_more && begin_in_ == 0 && end_in_ == in_.size())
    return parse_status::error;
  return st;
}

parse_status http1_pipeline::eof() {
  if (parsing_ && parser_.feed_eof() == parse_status::done) return parse_status::done;
  // Part of an answer (a header the parser has taken, or bytes it has not yet) is cut off.
  if ((parsing_ && parser_.got_header()) || buffered()) return parse_status::error;
  return parse_status::need_more;
}

void http1_pipeline::reset() noexcept {
  begin_in_ = end_in_ = 0;
  parsing_ = false;
}

}  // namespace hit::http::detail
