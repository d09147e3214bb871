#pragma once
// What the server tests send and expect on a raw socket, plain or TLS: the default response,
// a GET, and the port of an "ADDRESS:PORT" the server reports.

#include <string>
#include <string_view>

namespace hit::test {

inline constexpr std::string_view hello =
    "HTTP/1.1 200 OK\r\nServer: hit\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"
    "hello from hit";

inline std::string get(std::string_view target, std::string_view host) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
}

inline unsigned short port_of(const std::string& address) {
  return static_cast<unsigned short>(std::stoul(address.substr(address.rfind(':') + 1)));
}

}  // namespace hit::test
