#pragma once
// Maps a socket error to the kind the report counts it under.

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/system/error_code.hpp>

#include "hit/stats/error_kind.hpp"

namespace hit::http::detail {

inline stats::error_kind classify(const boost::system::error_code& ec, bool connecting) {
  namespace e = boost::asio::error;
  using stats::error_kind;
  if (ec == e::connection_refused) return error_kind::refused;
  if (ec == e::timed_out) return connecting ? error_kind::connect_timeout : error_kind::timeout;
  if (ec == e::connection_reset || ec == e::broken_pipe || ec == e::connection_aborted)
    return error_kind::reset;
  if (ec == e::eof) return error_kind::closed;
  if (ec.category() == e::get_ssl_category()) return error_kind::tls;  // a bad record, an alert
  return error_kind::other;
}

}  // namespace hit::http::detail
